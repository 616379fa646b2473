//! The reaper, every five minutes: requeues jobs whose worker lost its lease,
//! fails jobs past their deadline (stopping their process), and clears expired
//! locks, and re-announces tickets stuck in `new`. Expiry is checked in each
//! write's condition; this is clean-up.

use crate::{Deps, RoleResult, TicketMessage};
use nightshift_core::audit::NewAuditEvent;
use nightshift_core::job::{Job, Reaped};
use nightshift_core::ports::TicketFilter;
use nightshift_core::queue::names;
use nightshift_core::state::TicketState;
use std::time::Duration;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReapReport {
    pub requeued: Vec<String>,
    pub failed: Vec<String>,
    pub locks_released: Vec<String>,
    /// Tickets still `new` long after intake, announced to triage again (their
    /// first message may have been lost between the store and the queue).
    pub reannounced: Vec<String>,
}

fn job_event(action: &str, job: &Job) -> NewAuditEvent {
    let ev = NewAuditEvent::new("reaper", action).detail(
        serde_json::json!({ "job_id": job.id, "attempt": job.attempt, "reason": job.reason }),
    );
    match &job.ticket_id {
        Some(t) => ev.ticket(t),
        None => ev,
    }
}

pub async fn reap(deps: &Deps) -> RoleResult<ReapReport> {
    let now = deps.now();
    let mut report = ReapReport::default();
    for reaped in deps.stores.jobs.reap_jobs(now).await? {
        match reaped {
            Reaped::Requeued { job } => {
                deps.stores
                    .audit
                    .append(job_event("job_requeued", &job), now)
                    .await?;
                report.requeued.push(job.id);
            }
            Reaped::Failed { job } => {
                if let Some(handle) = &job.launch_handle {
                    let reason = job.reason.as_deref().unwrap_or("reaped");
                    if let Err(e) = deps.launcher.stop(handle, reason).await {
                        tracing::warn!(job_id = %job.id, error = %e, "could not stop the job's process");
                    }
                }
                deps.stores
                    .audit
                    .append(job_event("job_failed", &job), now)
                    .await?;
                crate::jobs::on_job_finished(deps, &job).await?;
                report.failed.push(job.id);
            }
        }
    }
    for lock in deps.stores.locks.release_expired(now).await? {
        let ev = NewAuditEvent::new("reaper", "lock_expired").detail(serde_json::json!({
            "lock": lock.name, "owner": lock.owner, "expired_at": lock.expires_at,
        }));
        deps.stores.audit.append(ev, now).await?;
        report.locks_released.push(lock.name);
    }
    let stale_before =
        now - chrono::Duration::seconds(2 * deps.settings.queue.visibility_timeout_secs as i64);
    let fresh = deps
        .stores
        .tickets
        .list_tickets(&TicketFilter {
            state: Some(TicketState::New),
            limit: Some(1000),
            ..Default::default()
        })
        .await?;
    for t in fresh.into_iter().filter(|t| t.updated_at < stale_before) {
        deps.queue
            .send(names::TRIAGE, &TicketMessage::body(&t.id), Duration::ZERO)
            .await?;
        report.reannounced.push(t.id);
    }
    if report != ReapReport::default() {
        tracing::info!(
            requeued = report.requeued.len(),
            failed = report.failed.len(),
            locks = report.locks_released.len(),
            "reaped"
        );
    }
    Ok(report)
}
