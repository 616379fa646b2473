use crate::{MAX_RECEIVES, QueueFixture};
use std::collections::HashSet;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);
const NOW: Duration = Duration::ZERO;

pub async fn queue_send_receive_delete(f: QueueFixture) {
    let q = &f.queue;
    q.send("a", "one", NOW).await.unwrap();
    q.send("a", "two", NOW).await.unwrap();
    q.send("b", "other queue", NOW).await.unwrap();
    let got = q.receive("a", 10, LONG).await.unwrap();
    assert_eq!(
        got.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert!(got.iter().all(|m| m.receive_count == 1));
    assert!(
        q.receive("a", 10, LONG).await.unwrap().is_empty(),
        "received messages are hidden"
    );
    for m in &got {
        q.delete("a", &m.receipt).await.unwrap();
        q.delete("a", &m.receipt).await.unwrap();
    }
    let s = q.stats("a").await.unwrap();
    assert_eq!((s.visible, s.in_flight, s.dead), (0, 0, 0));
    assert_eq!(q.stats("b").await.unwrap().visible, 1);
}

pub async fn queue_visibility_hides_then_reveals(f: QueueFixture) {
    let q = &f.queue;
    q.send("a", "m", NOW).await.unwrap();
    q.send("a", "later", Duration::from_secs(1)).await.unwrap();
    let first = q.receive("a", 10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(first.len(), 1, "a delayed message is not visible yet");
    assert_eq!(q.stats("a").await.unwrap().in_flight, 2);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let again = q.receive("a", 10, LONG).await.unwrap();
    let mut bodies: Vec<_> = again
        .iter()
        .map(|m| (m.body.as_str(), m.receive_count))
        .collect();
    bodies.sort();
    assert_eq!(bodies, [("later", 1), ("m", 2)]);
    assert_ne!(
        again.iter().find(|m| m.body == "m").unwrap().receipt,
        first[0].receipt,
        "a new receive, a new receipt"
    );
    // The old receipt no longer deletes anything.
    q.delete("a", &first[0].receipt).await.unwrap();
    assert_eq!(q.stats("a").await.unwrap().in_flight, 2);
}

pub async fn queue_release_counts_receives_and_keeps_order(f: QueueFixture) {
    let q = &f.queue;
    q.send("a", "m", NOW).await.unwrap();
    let m = q.receive("a", 1, LONG).await.unwrap().remove(0);
    q.release("a", &m.receipt, NOW, "transient").await.unwrap();
    let m2 = q.receive("a", 1, LONG).await.unwrap().remove(0);
    assert_eq!((m2.id.as_str(), m2.receive_count), (m.id.as_str(), 2));
    assert!(
        q.release("a", &m.receipt, NOW, "stale")
            .await
            .unwrap_err()
            .is_conflict()
    );
}

pub async fn queue_poison_goes_to_dlq_with_reason_without_blocking(f: QueueFixture) {
    let q = &f.queue;
    q.send("a", "{not json", NOW).await.unwrap();
    for i in 0..3 {
        q.send("a", &format!("good {i}"), NOW).await.unwrap();
    }
    let mut good = vec![];
    loop {
        let batch = q.receive("a", 1, LONG).await.unwrap();
        let Some(m) = batch.into_iter().next() else {
            break;
        };
        if m.body.starts_with('{') {
            q.dead_letter("a", &m.receipt, "body is not JSON: expected a ticket id")
                .await
                .unwrap();
        } else {
            good.push(m.body.clone());
            q.delete("a", &m.receipt).await.unwrap();
        }
    }
    assert_eq!(good, ["good 0", "good 1", "good 2"]);
    let dead = q.dead_letters("a", 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "{not json");
    assert_eq!(dead[0].reason, "body is not JSON: expected a ticket id");
    assert_eq!(q.stats("a").await.unwrap().dead, 1);
}

pub async fn queue_receive_limit_dead_letters_with_reason(f: QueueFixture) {
    let q = &f.queue;
    q.send("a", "flaky", NOW).await.unwrap();
    for n in 1..=MAX_RECEIVES {
        let m = q.receive("a", 1, LONG).await.unwrap().remove(0);
        assert_eq!((m.body.as_str(), m.receive_count), ("flaky", n));
        q.release("a", &m.receipt, NOW, &format!("handler failed on try {n}"))
            .await
            .unwrap();
    }
    q.send("a", "fine", NOW).await.unwrap();
    // Over the limit: the next receive moves it aside and delivers the rest.
    let next = q.receive("a", 10, LONG).await.unwrap();
    assert_eq!(
        next.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["fine"]
    );
    let dead = q.dead_letters("a", 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "flaky");
    assert!(dead[0].reason.contains("receive"), "{}", dead[0].reason);
    assert!(
        dead[0]
            .reason
            .contains(&format!("handler failed on try {MAX_RECEIVES}")),
        "the last error is kept: {}",
        dead[0].reason
    );
}

pub async fn queue_redrive_returns_dead_letters(f: QueueFixture) {
    let q = &f.queue;
    q.send("a", "m", NOW).await.unwrap();
    let m = q.receive("a", 1, LONG).await.unwrap().remove(0);
    q.dead_letter("a", &m.receipt, "fixed later").await.unwrap();
    assert_eq!(q.redrive("a", 10).await.unwrap(), 1);
    assert!(q.dead_letters("a", 10).await.unwrap().is_empty());
    let back = q.receive("a", 1, LONG).await.unwrap();
    assert_eq!(back[0].body, "m");
}

pub async fn queue_concurrent_receivers_get_each_message_once(f: QueueFixture) {
    let q = &f.queue;
    for i in 0..200 {
        q.send("a", &i.to_string(), NOW).await.unwrap();
    }
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move {
                let mut mine = vec![];
                loop {
                    let batch = q.receive("a", 5, LONG).await.unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    for m in batch {
                        q.delete("a", &m.receipt).await.unwrap();
                        mine.push(m.body);
                    }
                }
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for r in futures::future::join_all(tasks).await {
        for b in r.unwrap() {
            assert!(seen.insert(b.clone()), "{b} delivered twice");
        }
    }
    assert_eq!(seen.len(), 200);
}
