//! The idempotency port's contract: one handling per key, however often and
//! however concurrently it is delivered.

use crate::{IdempotencyFixture, secs, t0};
use nightshift_core::ports::Claim;
use std::time::Duration;

const HALF_MINUTE: Duration = Duration::from_secs(30);

pub async fn idempotency_claims_once_then_remembers_the_result(f: IdempotencyFixture) {
    let s = &f.store;
    assert_eq!(
        s.claim("msg-1", HALF_MINUTE, t0()).await.unwrap(),
        Claim::Acquired
    );
    assert_eq!(
        s.claim("msg-1", HALF_MINUTE, t0()).await.unwrap(),
        Claim::InProgress
    );
    s.complete("msg-1", Some("ticket t_1 triaged"), t0() + secs(3600))
        .await
        .unwrap();
    assert_eq!(
        s.claim("msg-1", HALF_MINUTE, t0() + secs(60))
            .await
            .unwrap(),
        Claim::Done(Some("ticket t_1 triaged".into()))
    );
    // Another key is its own.
    assert_eq!(
        s.claim("msg-2", HALF_MINUTE, t0()).await.unwrap(),
        Claim::Acquired
    );
}

pub async fn idempotency_a_dead_handlers_claim_expires_and_a_release_frees_it(
    f: IdempotencyFixture,
) {
    let s = &f.store;
    assert_eq!(
        s.claim("k", HALF_MINUTE, t0()).await.unwrap(),
        Claim::Acquired
    );
    assert_eq!(
        s.claim("k", HALF_MINUTE, t0() + secs(29)).await.unwrap(),
        Claim::InProgress
    );
    // The handler died: after its in-progress time, the next delivery takes over.
    assert_eq!(
        s.claim("k", HALF_MINUTE, t0() + secs(31)).await.unwrap(),
        Claim::Acquired
    );
    // A handler that failed gives it back at once.
    s.release("k").await.unwrap();
    assert_eq!(
        s.claim("k", HALF_MINUTE, t0() + secs(32)).await.unwrap(),
        Claim::Acquired
    );
    // A done record is kept until its time, then forgotten.
    s.complete("k", None, t0() + secs(3600)).await.unwrap();
    s.release("k").await.unwrap();
    assert_eq!(
        s.claim("k", HALF_MINUTE, t0() + secs(3599)).await.unwrap(),
        Claim::Done(None)
    );
    assert_eq!(
        s.claim("k", HALF_MINUTE, t0() + secs(3601)).await.unwrap(),
        Claim::Acquired
    );
}

pub async fn idempotency_three_concurrent_deliveries_have_one_effect(f: IdempotencyFixture) {
    let tasks: Vec<_> = (0..16)
        .flat_map(|k| (0..3).map(move |_| k))
        .map(|k| {
            let s = f.store.clone();
            tokio::spawn(async move {
                let key = format!("delivery-{k}");
                match s.claim(&key, HALF_MINUTE, t0()).await.unwrap() {
                    Claim::Acquired => {
                        s.complete(&key, Some("done"), t0() + secs(600))
                            .await
                            .unwrap();
                        Some(k)
                    }
                    Claim::InProgress | Claim::Done(_) => None,
                }
            })
        })
        .collect();
    let mut effects: Vec<i32> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .collect();
    effects.sort();
    assert_eq!(
        effects,
        (0..16).collect::<Vec<_>>(),
        "each key handled exactly once"
    );
}
