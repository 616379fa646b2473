//! The reaper's housekeeping: branches of finished tickets deleted from the
//! forge, audit events and job logs kept for their retention and no longer.
//! Each sweep is idempotent and logs (never returns) per-item failures, so one
//! stubborn branch does not stop the rest.

use crate::{Deps, RoleResult};
use nightshift_core::audit::NewAuditEvent;
use nightshift_core::forge::{ForgeError, PrState};

/// Pull requests closed or merged this long ago are no longer looked at: their
/// branches were deleted long since (or could not be).
const BRANCH_LOOKBACK_DAYS: i64 = 7;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetentionReport {
    /// `repo:branch` deleted.
    pub branches_deleted: Vec<String>,
    pub audit_events_pruned: u64,
    /// Job ids whose sandbox directory and logs were deleted.
    pub job_dirs_deleted: Vec<String>,
}

pub async fn sweep(deps: &Deps) -> RoleResult<RetentionReport> {
    let mut report = RetentionReport::default();
    let now = deps.now();
    branches(deps, now, &mut report).await?;
    let days = i64::from(deps.settings.retention.audit_days);
    report.audit_events_pruned = deps
        .stores
        .audit
        .prune_before(now - chrono::Duration::days(days), now)
        .await?;
    job_dirs(deps, now, &mut report).await?;
    Ok(report)
}

/// The head branches of pull requests that are merged or closed, whose
/// ticket is merged or closed, are deleted (protected branches never are).
async fn branches(
    deps: &Deps,
    now: nightshift_core::Timestamp,
    report: &mut RetentionReport,
) -> RoleResult<()> {
    let prs = match deps.forge.list_prs(None).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "could not list pull requests for branch clean-up");
            return Ok(());
        }
    };
    let since = now - chrono::Duration::days(BRANCH_LOOKBACK_DAYS);
    for pr in prs
        .into_iter()
        .filter(|p| p.state != PrState::Open && p.updated_at > since)
    {
        let Some(tid) = &pr.ticket_id else { continue };
        let Ok(t) = deps.stores.tickets.get_ticket(tid).await else {
            continue;
        };
        if !t.state.is_terminal() {
            continue;
        }
        match deps.forge.delete_branch(&pr.repo, &pr.head).await {
            Ok(()) => {
                let ev = NewAuditEvent::new("reaper", "branch_deleted")
                    .ticket(tid)
                    .detail(
                        serde_json::json!({ "repo": pr.repo, "branch": pr.head, "pr": pr.number }),
                    );
                deps.stores.audit.append(ev, now).await?;
                report
                    .branches_deleted
                    .push(format!("{}:{}", pr.repo, pr.head));
            }
            // Gone already, or protected: nothing to do.
            Err(ForgeError::NotFound { .. } | ForgeError::Refused { .. }) => {}
            Err(e) => {
                tracing::warn!(repo = %pr.repo, branch = %pr.head, error = %e, "could not delete a branch")
            }
        }
    }
    Ok(())
}

/// Finished jobs' directories (sandbox, logs) older than the retention go;
/// directories of jobs the store does not know go once they are that old.
async fn job_dirs(
    deps: &Deps,
    now: nightshift_core::Timestamp,
    report: &mut RetentionReport,
) -> RoleResult<()> {
    let dir = deps.settings.jobs_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    let cutoff = now - chrono::Duration::days(i64::from(deps.settings.retention.job_logs_days));
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let old = match deps.stores.jobs.get_job(&name).await {
            Ok(job) => job.state.is_finished() && job.updated_at < cutoff,
            Err(e) if e.is_not_found() => entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|m| chrono::DateTime::<chrono::Utc>::from(m) < cutoff)
                .unwrap_or(false),
            Err(e) => return Err(e.into()),
        };
        if old {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => report.job_dirs_deleted.push(name),
                Err(e) => {
                    tracing::warn!(job_id = %name, error = %e, "could not delete a job's directory")
                }
            }
        }
    }
    Ok(())
}
