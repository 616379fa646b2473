//! Exactly-once claims under contention, and recovery from a worker that dies
//! holding a lease.

use crate::helpers::{SLEEPER, backend, manual_clock, roles_with};
use nightshift_core::job::{Job, JobKind, JobOutcome, JobState};
use nightshift_core::ticket::Priority;
use nightshift_roles::reaper;
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_claimers_process_ten_thousand_items_exactly_once() {
    const ITEMS: usize = 10_000;
    const CLAIMERS: usize = 64;
    let b = backend();
    let now = chrono::Utc::now();
    for i in 0..ITEMS {
        let p = [Priority::Low, Priority::Medium, Priority::High][i % 3];
        b.stores
            .jobs
            .create_job(&Job::new(
                format!("j{i:05}"),
                None,
                JobKind::Build,
                p,
                3,
                None,
                now,
            ))
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..CLAIMERS)
        .map(|w| {
            let jobs = b.stores.jobs.clone();
            tokio::spawn(async move {
                let mut processed = Vec::new();
                let owner = format!("claimer-{w}");
                while let Some((job, lease)) = jobs
                    .claim_next(&owner, Duration::from_secs(600), chrono::Utc::now())
                    .await
                    .unwrap()
                {
                    let done = JobOutcome {
                        state: JobState::Succeeded,
                        reason: None,
                        tokens_used: 0,
                    };
                    jobs.complete_job(&lease, &done, chrono::Utc::now())
                        .await
                        .unwrap();
                    processed.push(job.id);
                }
                processed
            })
        })
        .collect();
    let mut times: HashMap<String, usize> = HashMap::new();
    let mut busy_claimers = 0;
    for t in tasks {
        let got = t.await.unwrap();
        busy_claimers += usize::from(!got.is_empty());
        for id in got {
            *times.entry(id).or_default() += 1;
        }
    }
    let doubled: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "processed more than once: {doubled:?}");
    assert_eq!(times.len(), ITEMS, "{} items lost", ITEMS - times.len());
    assert!(busy_claimers > 1, "the claimers really ran side by side");
    assert_eq!(b.stores.jobs.count_active_jobs().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_lease_is_requeued_by_the_reaper_and_completed_once() {
    let clock = manual_clock();
    let r = roles_with(clock.clone(), SLEEPER, |_| {});
    let d = r.deps.clone();
    let lease_len = Duration::from_secs(60);
    d.stores
        .jobs
        .create_job(&Job::new(
            "job-1".into(),
            None,
            JobKind::Build,
            Priority::High,
            3,
            None,
            d.now(),
        ))
        .await
        .unwrap();
    let completions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));

    // Worker A claims, heartbeats once, and is killed mid-work.
    let (_, lease_a) = d
        .stores
        .jobs
        .claim_next("worker-a", lease_len, d.now())
        .await
        .unwrap()
        .unwrap();
    let worker_a = {
        let (d, lease, completions) = (d.clone(), lease_a.clone(), completions.clone());
        tokio::spawn(async move {
            let lease = d
                .stores
                .jobs
                .heartbeat(&lease, lease_len, d.now())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(3600)).await; // the work it never finishes
            let done = JobOutcome {
                state: JobState::Succeeded,
                reason: None,
                tokens_used: 0,
            };
            d.stores
                .jobs
                .complete_job(&lease, &done, d.now())
                .await
                .unwrap();
            completions.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    worker_a.abort();
    assert!(worker_a.await.unwrap_err().is_cancelled());

    // Before the lease runs out nobody can take the job, and the reaper leaves it.
    assert!(
        d.stores
            .jobs
            .claim_next("worker-b", lease_len, d.now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(reaper::reap(&d).await.unwrap().requeued.is_empty());
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(reaper::reap(&d).await.unwrap().requeued, ["job-1"]);

    // Worker B picks it up and finishes it.
    let (job, lease_b) = d
        .stores
        .jobs
        .claim_next("worker-b", lease_len, d.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempt, 2);
    let done = JobOutcome {
        state: JobState::Succeeded,
        reason: None,
        tokens_used: 7,
    };
    d.stores
        .jobs
        .complete_job(&lease_b, &done, d.now())
        .await
        .unwrap();
    completions.fetch_add(1, std::sync::atomic::Ordering::SeqCst);

    // Had A come back, its completion would be refused.
    assert!(
        d.stores
            .jobs
            .complete_job(&lease_a, &done, d.now())
            .await
            .unwrap_err()
            .is_conflict()
    );
    assert!(reaper::reap(&d).await.unwrap().requeued.is_empty());
    let job = d.stores.jobs.get_job("job-1").await.unwrap();
    assert_eq!(
        (job.state, job.attempt, job.lease_owner.as_deref()),
        (JobState::Succeeded, 2, Some("worker-b"))
    );
    assert_eq!(completions.load(std::sync::atomic::Ordering::SeqCst), 1);
}
