//! The reaper, every five minutes: requeues jobs whose worker lost its lease,
//! fails jobs past their deadline (stopping their process), and clears expired
//! locks. Expiry is checked in each write's condition; this is clean-up.

use crate::{Deps, RoleResult};
use nightshift_core::audit::NewAuditEvent;
use nightshift_core::job::{Job, Reaped};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReapReport {
    pub requeued: Vec<String>,
    pub failed: Vec<String>,
    pub locks_released: Vec<String>,
}

fn job_event(action: &str, job: &Job) -> NewAuditEvent {
    let ev = NewAuditEvent::new("reaper", action)
        .detail(serde_json::json!({ "job_id": job.id, "attempt": job.attempt, "reason": job.reason }));
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
                deps.stores.audit.append(job_event("job_requeued", &job), now).await?;
                report.requeued.push(job.id);
            }
            Reaped::Failed { job } => {
                if let Some(handle) = &job.launch_handle {
                    let reason = job.reason.as_deref().unwrap_or("reaped");
                    if let Err(e) = deps.launcher.stop(handle, reason).await {
                        tracing::warn!(job_id = %job.id, error = %e, "could not stop the job's process");
                    }
                }
                deps.stores.audit.append(job_event("job_failed", &job), now).await?;
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
    if report != ReapReport::default() {
        tracing::info!(requeued = report.requeued.len(), failed = report.failed.len(), locks = report.locks_released.len(), "reaped");
    }
    Ok(report)
}
