//! `nightshift bench queue`: claim throughput and latency on the SQLite store.
//! Each run uses a fresh database with `items` queued jobs and `claimers`
//! concurrent tasks claiming until the queue is empty.

use crate::SqliteStore;
use nightshift_core::job::{Job, JobKind, JobOutcome, JobState};
use nightshift_core::ports::JobStore;
use nightshift_core::ticket::Priority;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ClaimBench {
    pub claimers: usize,
    pub items: usize,
    pub elapsed: Duration,
    /// Sorted claim latencies.
    pub latencies: Vec<Duration>,
    /// Jobs still queued or running at the end (must be 0).
    pub left_active: u64,
}

impl ClaimBench {
    pub fn claims_per_sec(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64()
    }
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }
}

/// Queues `items` jobs in a fresh store under `dir`, then claims and completes
/// them with `claimers` tasks. Only the claim is timed per call; the elapsed
/// time covers claims and completions.
pub async fn claims(
    dir: &std::path::Path,
    items: usize,
    claimers: usize,
) -> Result<ClaimBench, nightshift_core::StoreError> {
    let store = Arc::new(SqliteStore::open(dir.join(format!("bench-{claimers}.db")))?);
    let now = chrono::Utc::now();
    for i in 0..items {
        let p = [Priority::Low, Priority::Medium, Priority::High][i % 3];
        store
            .create_job(&Job::new(
                format!("j{i:07}"),
                None,
                JobKind::Build,
                p,
                3,
                None,
                now,
            ))
            .await?;
    }
    let start = Instant::now();
    let tasks: Vec<_> = (0..claimers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let owner = format!("bench-{w}");
                loop {
                    let t = Instant::now();
                    let claimed = store
                        .claim_next(&owner, Duration::from_secs(300), chrono::Utc::now())
                        .await?;
                    lat.push(t.elapsed());
                    let Some((_, lease)) = claimed else {
                        return Ok::<_, nightshift_core::StoreError>(lat);
                    };
                    let done = JobOutcome {
                        state: JobState::Succeeded,
                        reason: None,
                        tokens_used: 0,
                    };
                    store
                        .complete_job(&lease, &done, chrono::Utc::now())
                        .await?;
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(items + claimers);
    for t in tasks {
        let mut l = t
            .await
            .map_err(|e| nightshift_core::StoreError::backend("bench task", e))??;
        l.pop(); // the final empty claim
        latencies.extend(l);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let left_active = store.count_active_jobs().await?;
    Ok(ClaimBench {
        claimers,
        items,
        elapsed,
        latencies,
        left_active,
    })
}
