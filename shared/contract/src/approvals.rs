use crate::{StoreFixture, secs, t0};
use nightshift_core::approval::{Approval, ApprovalKind, ApprovalStatus, Decision};

pub async fn approvals_request_is_idempotent(f: StoreFixture) {
    let a = &f.stores.approvals;
    let req = Approval::pending("t1", ApprovalKind::Spec, 3, "planner", t0());
    let first = a.request_approval(&req).await.unwrap();
    let mut again = req.clone();
    again.requested_by = "someone else".into();
    assert_eq!(a.request_approval(&again).await.unwrap(), first);
    a.request_approval(&Approval::pending(
        "t1",
        ApprovalKind::Merge,
        7,
        "reviewer",
        t0() + secs(1),
    ))
    .await
    .unwrap();
    a.request_approval(&Approval::pending(
        "t2",
        ApprovalKind::Spec,
        2,
        "planner",
        t0() + secs(2),
    ))
    .await
    .unwrap();
    assert_eq!(a.pending_approvals().await.unwrap().len(), 3);
    let for_t1 = a.approvals_for_ticket("t1").await.unwrap();
    assert_eq!(
        for_t1.iter().map(|x| x.kind).collect::<Vec<_>>(),
        [ApprovalKind::Spec, ApprovalKind::Merge]
    );
    assert!(a.get_approval("nope").await.unwrap_err().is_not_found());
}

pub async fn approvals_are_decided_once(f: StoreFixture) {
    let a = &f.stores.approvals;
    let req = a
        .request_approval(&Approval::pending(
            "t1",
            ApprovalKind::Spec,
            3,
            "planner",
            t0(),
        ))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let a = a.clone();
            let id = req.id.clone();
            let d = if i % 2 == 0 {
                Decision::Approve
            } else {
                Decision::Reject
            };
            tokio::spawn(async move {
                a.decide(
                    &id,
                    d,
                    &format!("human{i}"),
                    Some("because"),
                    t0() + secs(5),
                )
                .await
            })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners: Vec<&Approval> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one decision lands");
    let stored = a.get_approval(&req.id).await.unwrap();
    assert_eq!(&stored, winners[0]);
    assert_ne!(stored.status, ApprovalStatus::Pending);
    assert_eq!(stored.reason.as_deref(), Some("because"));
    assert_eq!(stored.decided_at, Some(t0() + secs(5)));
    for r in &results {
        if let Err(e) = r {
            assert!(e.is_conflict() && e.to_string().contains("already"), "{e}");
        }
    }
    assert!(a.pending_approvals().await.unwrap().is_empty());
    assert!(
        a.decide("nope", Decision::Approve, "h", None, t0())
            .await
            .unwrap_err()
            .is_not_found()
    );
}
