use crate::{StoreFixture, t0};
use nightshift_core::audit::{NewAuditEvent, verify_chain};

pub async fn audit_chain_verifies_in_pages(f: StoreFixture) {
    let a = &f.stores.audit;
    let tasks: Vec<_> = (0..4)
        .map(|w| {
            let a = a.clone();
            tokio::spawn(async move {
                for i in 0..10 {
                    let ev = NewAuditEvent::new("contract", "poke")
                        .ticket(&format!("t{}", i % 3))
                        .detail(serde_json::json!({"writer": w, "i": i}));
                    a.append(ev, t0()).await.unwrap();
                }
            })
        })
        .collect();
    futures::future::join_all(tasks).await;
    let mut head = None;
    let mut after = 0;
    let mut n = 0;
    loop {
        let page = a.events_after(after, 7).await.unwrap();
        if page.is_empty() {
            break;
        }
        head = verify_chain(&page, head).expect("the chain verifies");
        after = page.last().unwrap().seq;
        n += page.len();
    }
    assert_eq!(n, 40);
    assert_eq!(head.unwrap().0, 40);
    let t0_events = a.events_for_ticket("t0").await.unwrap();
    assert_eq!(t0_events.len(), 16);
    assert!(t0_events.windows(2).all(|w| w[0].seq < w[1].seq));
}
