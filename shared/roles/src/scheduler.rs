//! The in-process scheduler for `nightshift up`: runs each scheduled role at the
//! times its expression gives, from the same list the AWS rules are made from.

use nightshift_core::clock::Clock;
use nightshift_core::schedule::{Schedule, ScheduleEntry};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub type BoxedRun = Pin<Box<dyn Future<Output = ()> + Send>>;
pub type Job = Arc<dyn Fn() -> BoxedRun + Send + Sync>;

/// Runs `job` at every firing of `entry` until `shutdown`. A run that overlaps the
/// next firing delays it rather than running twice at once.
pub async fn run(
    entry: ScheduleEntry,
    clock: Arc<dyn Clock>,
    job: Job,
    shutdown: CancellationToken,
) {
    let schedule = match Schedule::parse(entry.expression) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(schedule = entry.name, error = %e, "schedule not started");
            return;
        }
    };
    tracing::info!(
        schedule = entry.name,
        expression = entry.expression,
        "schedule started"
    );
    let mut last = clock.now();
    while let Some(next) = schedule.next_after(last) {
        let wait = (next - clock.now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
        tracing::debug!(schedule = entry.name, "firing");
        job().await;
        last = next.max(clock.now());
    }
}
