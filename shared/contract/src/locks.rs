use crate::{StoreFixture, secs, t0};
use std::time::Duration;

const TTL: Duration = Duration::from_secs(30);

pub async fn locks_are_exclusive_until_expiry(f: StoreFixture) {
    let l = &f.stores.locks;
    let held = l.acquire("repo:acme/api", "a", TTL, t0()).await.unwrap();
    assert_eq!(held.expires_at, t0() + secs(30));
    let err = l
        .acquire("repo:acme/api", "b", TTL, t0() + secs(29))
        .await
        .unwrap_err();
    assert!(
        err.is_conflict() && err.to_string().contains("held by a"),
        "{err}"
    );
    // The same owner renews; the acquisition time stays.
    let renewed = l
        .acquire("repo:acme/api", "a", TTL, t0() + secs(20))
        .await
        .unwrap();
    assert_eq!(
        (renewed.acquired_at, renewed.expires_at),
        (t0(), t0() + secs(50))
    );
    // Expiry is checked in the acquire itself, before any clean-up ran.
    let taken = l
        .acquire("repo:acme/api", "b", TTL, t0() + secs(50))
        .await
        .unwrap();
    assert_eq!(taken.owner, "b");
    assert!(
        !l.release("repo:acme/api", "a").await.unwrap(),
        "a no longer holds it"
    );
    assert!(l.release("repo:acme/api", "b").await.unwrap());
    l.acquire("x", "a", TTL, t0()).await.unwrap();
    l.acquire("y", "a", Duration::from_secs(300), t0())
        .await
        .unwrap();
    let reaped = l.release_expired(t0() + secs(31)).await.unwrap();
    assert_eq!(
        reaped.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["x"]
    );
    assert_eq!(l.list_locks().await.unwrap().len(), 1);
}

pub async fn locks_concurrent_acquire_has_one_winner(f: StoreFixture) {
    let l = &f.stores.locks;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let l = l.clone();
            tokio::spawn(async move { l.acquire("dispatcher", &format!("o{i}"), TTL, t0()).await })
        })
        .collect();
    let wins = futures::future::join_all(tasks)
        .await
        .into_iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(wins, 1);
}
