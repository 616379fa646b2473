use crate::{StoreFixture, t0};
use nightshift_core::StoreError;
use nightshift_core::budget::ReservationState;

pub async fn budget_reserve_commit_release(f: StoreFixture) {
    let b = &f.stores.budget;
    assert!(b.account("t1").await.unwrap_err().is_not_found());
    let acc = b.open_account("t1", 1000).await.unwrap();
    assert_eq!((acc.limit, acc.reserved, acc.committed), (1000, 0, 0));
    assert_eq!(
        b.open_account("t1", 5).await.unwrap().limit,
        1000,
        "opening again keeps the account"
    );
    let r1 = b.reserve("t1", "r1", 300, t0()).await.unwrap();
    assert_eq!(r1.state, ReservationState::Held);
    assert_eq!(
        b.reserve("t1", "r1", 300, t0()).await.unwrap(),
        r1,
        "the same reservation id is idempotent"
    );
    b.reserve("t1", "r2", 200, t0()).await.unwrap();
    assert_eq!(b.account("t1").await.unwrap().reserved, 500);
    let c = b.commit("r1", 120).await.unwrap();
    assert_eq!(
        (c.state, c.actual),
        (ReservationState::Committed, Some(120))
    );
    assert_eq!(
        b.commit("r1", 999).await.unwrap().actual,
        Some(120),
        "commit is idempotent"
    );
    b.release("r2").await.unwrap();
    b.release("r2").await.unwrap();
    let acc = b.account("t1").await.unwrap();
    assert_eq!(
        (acc.reserved, acc.committed, acc.available()),
        (0, 120, 880)
    );
    assert!(
        b.commit("r2", 1).await.unwrap_err().is_conflict(),
        "a released reservation cannot be committed"
    );
    assert_eq!(
        b.release("r1").await.unwrap().state,
        ReservationState::Committed,
        "release leaves committed alone"
    );
    assert_eq!(b.reservations("t1").await.unwrap().len(), 2);
    b.open_account("t2", 50).await.unwrap();
    b.reserve("t2", "r3", 50, t0()).await.unwrap();
    b.commit("r3", 30).await.unwrap();
    assert_eq!(b.total_committed().await.unwrap(), 150);
    assert_eq!(b.set_limit("t2", 80).await.unwrap().available(), 50);
}

pub async fn budget_fails_closed_over_the_limit(f: StoreFixture) {
    let b = &f.stores.budget;
    b.open_account("t1", 100).await.unwrap();
    b.reserve("t1", "a", 60, t0()).await.unwrap();
    let err = b.reserve("t1", "b", 41, t0()).await.unwrap_err();
    match err {
        StoreError::BudgetExhausted {
            asked,
            available,
            limit,
            ..
        } => assert_eq!((asked, available, limit), (41, 40, 100)),
        other => panic!("expected BudgetExhausted, got {other}"),
    }
    assert_eq!(
        b.account("t1").await.unwrap().reserved,
        60,
        "a refused reservation holds nothing"
    );
    assert!(b.reserve("t1", "b", 40, t0()).await.is_ok());
    assert!(
        b.reserve("nope", "c", 1, t0())
            .await
            .unwrap_err()
            .is_not_found()
    );
}

pub async fn budget_concurrent_reservations_never_overspend(f: StoreFixture) {
    let b = &f.stores.budget;
    b.open_account("t1", 1000).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let b = b.clone();
            tokio::spawn(async move { b.reserve("t1", &format!("r{i}"), 100, t0()).await })
        })
        .collect();
    let mut ok = 0;
    for r in futures::future::join_all(tasks).await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::BudgetExhausted { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(b.account("t1").await.unwrap().reserved, 1000);
}
