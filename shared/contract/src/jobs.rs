use crate::{StoreFixture, secs, t0};
use nightshift_core::job::{Job, JobKind, JobOutcome, JobState, Reaped};
use nightshift_core::ports::JobFilter;
use nightshift_core::ticket::Priority;
use std::collections::HashSet;
use std::time::Duration;

const LEASE: Duration = Duration::from_secs(60);

pub fn job(id: &str, priority: Priority, max_attempts: u32) -> Job {
    Job::new(
        id.into(),
        Some(format!("t-{id}")),
        JobKind::Build,
        priority,
        max_attempts,
        None,
        t0(),
    )
}

fn done(tokens: u64) -> JobOutcome {
    JobOutcome {
        state: JobState::Succeeded,
        reason: None,
        tokens_used: tokens,
    }
}

pub async fn jobs_claim_next_by_priority_then_age(f: StoreFixture) {
    let j = &f.stores.jobs;
    for (id, p) in [
        ("a", Priority::Low),
        ("b", Priority::High),
        ("c", Priority::Medium),
        ("d", Priority::High),
    ] {
        let (_, created) = j.create_job(&job(id, p, 3)).await.unwrap();
        assert!(created);
    }
    assert!(
        !j.create_job(&job("a", Priority::High, 3)).await.unwrap().1,
        "create is idempotent"
    );
    assert_eq!(j.count_active_jobs().await.unwrap(), 4);
    let mut order = vec![];
    while let Some((claimed, lease)) = j.claim_next("w", LEASE, t0()).await.unwrap() {
        assert_eq!(claimed.state, JobState::Running);
        assert_eq!(lease.until, t0() + secs(60));
        order.push(claimed.id);
    }
    assert_eq!(order, ["b", "d", "c", "a"]);
    let running = j
        .list_jobs(&JobFilter {
            states: vec![JobState::Running],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(running.len(), 4);
    let for_b = j
        .list_jobs(&JobFilter {
            ticket_id: Some("t-b".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(for_b.len(), 1);
}

pub async fn jobs_claim_is_exclusive(f: StoreFixture) {
    let j = &f.stores.jobs;
    j.create_job(&job("x", Priority::Medium, 3)).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let j = j.clone();
            tokio::spawn(async move { j.claim_job("x", &format!("w{i}"), LEASE, t0()).await })
        })
        .collect();
    let results = futures::future::join_all(tasks).await;
    let wins = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(wins, 1);
    for r in results {
        if let Err(e) = r.unwrap() {
            assert!(e.is_conflict(), "{e}");
        }
    }
    assert!(
        j.claim_job("missing", "w", LEASE, t0())
            .await
            .unwrap_err()
            .is_not_found()
    );
}

pub async fn jobs_lost_lease_cannot_heartbeat_or_complete(f: StoreFixture) {
    let j = &f.stores.jobs;
    j.create_job(&job("x", Priority::Medium, 3)).await.unwrap();
    let (_, old) = j.claim_job("x", "w1", LEASE, t0()).await.unwrap();
    let old = j.heartbeat(&old, LEASE, t0() + secs(30)).await.unwrap();
    assert_eq!(old.until, t0() + secs(90), "a heartbeat extends the lease");
    // w1 goes silent; the reaper requeues; w2 claims.
    assert!(
        j.reap_jobs(t0() + secs(89)).await.unwrap().is_empty(),
        "not yet expired"
    );
    let reaped = j.reap_jobs(t0() + secs(91)).await.unwrap();
    assert!(
        matches!(&reaped[..], [Reaped::Requeued { job }] if job.attempt == 2 && job.state == JobState::Queued)
    );
    let (_, new) = j
        .claim_job("x", "w2", LEASE, t0() + secs(92))
        .await
        .unwrap();
    assert!(
        j.heartbeat(&old, LEASE, t0() + secs(93))
            .await
            .unwrap_err()
            .is_conflict()
    );
    assert!(
        j.complete_job(&old, &done(1), t0() + secs(93))
            .await
            .unwrap_err()
            .is_conflict()
    );
    let fin = j
        .complete_job(&new, &done(42), t0() + secs(94))
        .await
        .unwrap();
    assert_eq!((fin.state, fin.tokens_used), (JobState::Succeeded, 42));
    // The same completion again is answered, not repeated.
    assert_eq!(
        j.complete_job(&new, &done(42), t0() + secs(95))
            .await
            .unwrap()
            .state,
        JobState::Succeeded
    );
    assert!(
        j.heartbeat(&new, LEASE, t0() + secs(95))
            .await
            .unwrap_err()
            .is_conflict()
    );
    assert_eq!(j.count_active_jobs().await.unwrap(), 0);
}

pub async fn jobs_reaper_requeues_then_fails_on_last_attempt(f: StoreFixture) {
    let j = &f.stores.jobs;
    j.create_job(&job("x", Priority::Medium, 2)).await.unwrap();
    j.claim_job("x", "w1", LEASE, t0()).await.unwrap();
    let r = j.reap_jobs(t0() + secs(61)).await.unwrap();
    assert!(matches!(&r[..], [Reaped::Requeued { .. }]));
    j.claim_job("x", "w2", LEASE, t0() + secs(62))
        .await
        .unwrap();
    let r = j.reap_jobs(t0() + secs(200)).await.unwrap();
    let [Reaped::Failed { job }] = &r[..] else {
        panic!("expected a failure, got {r:?}")
    };
    assert_eq!(job.state, JobState::Failed);
    assert!(
        job.reason.as_deref().unwrap().contains("w2"),
        "{:?}",
        job.reason
    );
    assert!(
        j.reap_jobs(t0() + secs(300)).await.unwrap().is_empty(),
        "reaping is idempotent"
    );
}

pub async fn jobs_reaper_fails_past_deadline(f: StoreFixture) {
    let j = &f.stores.jobs;
    let mut x = job("x", Priority::Medium, 3);
    x.deadline = Some(t0() + secs(100));
    j.create_job(&x).await.unwrap();
    let mut y = job("y", Priority::Medium, 3);
    y.deadline = Some(t0() + secs(1000));
    j.create_job(&y).await.unwrap();
    let (_, lease) = j.claim_job("x", "w", LEASE, t0()).await.unwrap();
    j.heartbeat(&lease, Duration::from_secs(500), t0() + secs(50))
        .await
        .unwrap();
    let r = j.reap_jobs(t0() + secs(101)).await.unwrap();
    let [Reaped::Failed { job }] = &r[..] else {
        panic!("expected the deadline to fail x, got {r:?}")
    };
    assert_eq!(job.id, "x");
    assert!(job.reason.as_deref().unwrap().contains("deadline"));
    assert_eq!(j.get_job("y").await.unwrap().state, JobState::Queued);
}

pub async fn jobs_launch_is_recorded_per_attempt(f: StoreFixture) {
    let j = &f.stores.jobs;
    j.create_job(&job("x", Priority::Medium, 3)).await.unwrap();
    assert!(j.get_job("x").await.unwrap().needs_launch());
    let rec = j.record_launch("x", 1, "handle-1", t0()).await.unwrap();
    assert_eq!(rec.launch_handle.as_deref(), Some("handle-1"));
    assert!(!rec.needs_launch());
    j.claim_job("x", "w", LEASE, t0()).await.unwrap();
    j.reap_jobs(t0() + secs(61)).await.unwrap();
    let requeued = j.get_job("x").await.unwrap();
    assert!(
        requeued.needs_launch(),
        "a requeued attempt needs a new launch"
    );
    assert!(
        j.record_launch("x", 1, "late", t0())
            .await
            .unwrap_err()
            .is_conflict(),
        "stale attempt"
    );
    j.record_launch("x", 2, "handle-2", t0()).await.unwrap();
    let outcome = JobOutcome {
        state: JobState::Cancelled,
        reason: Some("stop".into()),
        tokens_used: 0,
    };
    assert_eq!(
        j.finish_job("x", &outcome, t0()).await.unwrap().state,
        JobState::Cancelled
    );
    assert_eq!(
        j.finish_job("x", &outcome, t0()).await.unwrap().state,
        JobState::Cancelled,
        "idempotent"
    );
}

/// A small version of the exactly-once test every adapter must pass.
pub async fn jobs_concurrent_claimers_take_each_job_once(f: StoreFixture) {
    let j = &f.stores.jobs;
    for i in 0..200 {
        j.create_job(&job(&format!("j{i:04}"), Priority::Medium, 3))
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..16)
        .map(|w| {
            let j = j.clone();
            tokio::spawn(async move {
                let mut mine = vec![];
                while let Some((job, lease)) =
                    j.claim_next(&format!("w{w}"), LEASE, t0()).await.unwrap()
                {
                    j.complete_job(&lease, &done(1), t0()).await.unwrap();
                    mine.push(job.id);
                }
                mine
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut total = 0;
    for r in futures::future::join_all(tasks).await {
        for id in r.unwrap() {
            total += 1;
            assert!(seen.insert(id.clone()), "{id} claimed twice");
        }
    }
    assert_eq!((total, seen.len()), (200, 200));
    assert_eq!(j.count_active_jobs().await.unwrap(), 0);
}
