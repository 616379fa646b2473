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

pub async fn audit_prune_keeps_a_verifiable_chain(f: StoreFixture) {
    use nightshift_core::audit::{ChainVerifier, PRUNED};
    let a = &f.stores.audit;
    let day = chrono::Duration::days(1);
    for i in 0..5 {
        let ev = NewAuditEvent::new("contract", "poke").detail(serde_json::json!({ "i": i }));
        a.append(ev, t0() + day * i).await.unwrap();
    }
    // Nothing is older than the first event: nothing goes.
    assert_eq!(a.prune_before(t0(), t0() + day * 5).await.unwrap(), 0);
    // Events 1-3 are older than day 3.
    assert_eq!(
        a.prune_before(t0() + day * 3, t0() + day * 5)
            .await
            .unwrap(),
        3
    );
    let all = a.events_after(0, 100).await.unwrap();
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [4, 5, 6]);
    assert_eq!(all[2].action, PRUNED);
    assert_eq!(all[2].detail["through_seq"], 3);
    let mut v = ChainVerifier::default();
    v.feed(&all).unwrap();
    let (n, head) = v.finish().expect("a pruned log still verifies");
    assert_eq!((n, head.unwrap().0), (3, 6));
    // A log whose start is missing without a prune record does not.
    let mut v = ChainVerifier::default();
    v.feed(&all[1..2]).unwrap();
    assert!(
        v.finish()
            .unwrap_err()
            .reason
            .contains("no audit_pruned record")
    );
    // The newest event always stays, whatever the cutoff.
    assert_eq!(
        a.prune_before(t0() + day * 100, t0() + day * 100)
            .await
            .unwrap(),
        2
    );
    let left = a.events_after(0, 100).await.unwrap();
    assert_eq!(left.iter().map(|e| e.seq).collect::<Vec<_>>(), [6, 7]);
    let mut v = ChainVerifier::default();
    v.feed(&left).unwrap();
    v.finish().unwrap();
}
