//! The reaper, every five minutes: requeues jobs whose worker lost its lease
//! (stopping the old process), fails jobs past their deadline and jobs whose
//! worker died before claiming them, settles tickets whose job ended unsettled,
//! clears expired locks, and re-announces tickets stuck in `new`. Expiry is checked in each
//! write's condition; this is clean-up.

use crate::{Deps, RoleResult, TicketMessage};
use nightshift_core::approval::ApprovalKind;
use nightshift_core::audit::NewAuditEvent;
use nightshift_core::job::{Job, JobOutcome, JobState, Reaped};
use nightshift_core::ports::{JobFilter, LaunchState, TicketFilter};
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
    /// Branches, audit events and job directories past their time.
    pub retention: crate::retention::RetentionReport,
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

async fn stop(deps: &Deps, job: &Job, reason: &str) {
    if let Some(handle) = &job.launch_handle
        && let Err(e) = deps.launcher.stop(handle, reason).await
    {
        tracing::warn!(job_id = %job.id, error = %e, "could not stop the job's process");
    }
}

/// Records a finished job and settles its ticket and budget. Errors are logged,
/// not returned: one job must not keep the others from being handled, and the
/// sweep in [`reap`] settles this one on the next run.
async fn settle(deps: &Deps, action: &str, job: &Job, report: &mut ReapReport) {
    let now = deps.now();
    if let Err(e) = deps.stores.audit.append(job_event(action, job), now).await {
        tracing::warn!(job_id = %job.id, error = %e, "could not audit the reaped job");
    }
    if let Err(e) = crate::jobs::on_job_finished(deps, job).await {
        tracing::warn!(job_id = %job.id, error = %e, "could not settle the reaped job; the next run will");
    }
    report.failed.push(job.id.clone());
}

pub async fn reap(deps: &Deps) -> RoleResult<ReapReport> {
    let now = deps.now();
    let mut report = ReapReport::default();
    for reaped in deps.stores.jobs.reap_jobs(now).await? {
        match reaped {
            Reaped::Requeued { job } => {
                // The old attempt's process may still be alive: it must not work on.
                stop(deps, &job, "its lease expired; the job was requeued").await;
                if let Err(e) = deps
                    .stores
                    .audit
                    .append(job_event("job_requeued", &job), now)
                    .await
                {
                    tracing::warn!(job_id = %job.id, error = %e, "could not audit the requeue");
                }
                report.requeued.push(job.id);
            }
            Reaped::Failed { job } => {
                stop(deps, &job, job.reason.as_deref().unwrap_or("reaped")).await;
                settle(deps, "job_failed", &job, &mut report).await;
            }
        }
    }
    sweep_launches(deps, &mut report).await?;
    sweep_building(deps).await?;
    for lock in deps.stores.locks.release_expired(now).await? {
        let ev = NewAuditEvent::new("reaper", "lock_expired").detail(serde_json::json!({
            "lock": lock.name, "owner": lock.owner, "expired_at": lock.expires_at,
        }));
        deps.stores.audit.append(ev, now).await?;
        report.locks_released.push(lock.name);
    }
    sweep_stuck(deps, now, &mut report).await?;
    report.retention = crate::retention::sweep(deps).await?;
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

/// Up to 1,000 tickets in `state`.
async fn in_state(
    deps: &Deps,
    state: TicketState,
) -> RoleResult<Vec<nightshift_core::ticket::Ticket>> {
    Ok(deps
        .stores
        .tickets
        .list_tickets(&TicketFilter {
            state: Some(state),
            limit: Some(1000),
            ..Default::default()
        })
        .await?)
}

/// Tickets that sit in a state whose role is driven by a message, long after
/// the message should have been handled, are announced again (the message
/// may have been lost between the store and the queue; every role is
/// idempotent). Approval states settle a decision that was recorded but not
/// applied, and make sure their request exists.
async fn sweep_stuck(
    deps: &Deps,
    now: nightshift_core::Timestamp,
    report: &mut ReapReport,
) -> RoleResult<()> {
    let visibility = 2 * deps.settings.queue.visibility_timeout_secs as i64;
    // A review runs the tests: give it the job deadline before asking again.
    let review = visibility.max(deps.settings.dispatcher.job_deadline_secs as i64);
    let announced = [
        (TicketState::New, names::TRIAGE, visibility),
        (TicketState::Triaged, names::PLAN, visibility),
        (TicketState::Planned, names::PLAN, visibility),
        (TicketState::InReview, names::REVIEW, review),
    ];
    for (state, queue, after_secs) in announced {
        let stale_before = now - chrono::Duration::seconds(after_secs);
        for t in in_state(deps, state)
            .await?
            .into_iter()
            .filter(|t| t.updated_at < stale_before)
        {
            deps.queue
                .send(queue, &TicketMessage::body(&t.id), Duration::ZERO)
                .await?;
            report.reannounced.push(t.id);
        }
    }
    for (state, kind) in [
        (TicketState::AwaitingSpecApproval, ApprovalKind::Spec),
        (TicketState::AwaitingMergeApproval, ApprovalKind::Merge),
    ] {
        for t in in_state(deps, state).await? {
            match crate::approvals::settle(deps, &t).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    crate::approvals::ensure_requested(deps, &t, kind, "reaper").await?;
                }
                Err(e) => {
                    tracing::warn!(ticket_id = %t.id, error = %e, "could not settle a decision")
                }
            }
        }
    }
    Ok(())
}

/// Queued jobs whose launched process ended (or vanished) without claiming the
/// job would wait for their deadline; fail them now, saying why.
async fn sweep_launches(deps: &Deps, report: &mut ReapReport) -> RoleResult<()> {
    let grace = chrono::Duration::seconds(deps.settings.dispatcher.job_lease_secs as i64);
    let queued = deps
        .stores
        .jobs
        .list_jobs(&JobFilter {
            states: vec![JobState::Queued],
            limit: Some(1000),
            ..Default::default()
        })
        .await?;
    for job in queued {
        let (Some(handle), false) = (&job.launch_handle, job.needs_launch()) else {
            continue;
        };
        if deps.now() - job.updated_at < grace {
            continue;
        }
        let why = match deps.launcher.status(handle).await {
            Ok(LaunchState::Exited { code }) => {
                format!("its worker exited with status {code} before claiming it")
            }
            Ok(LaunchState::Stopped { reason }) => {
                format!("its worker was stopped before claiming it: {reason}")
            }
            Ok(LaunchState::Unknown) => "its worker vanished before claiming it".to_string(),
            Ok(LaunchState::Pending | LaunchState::Running) => continue,
            Err(e) => {
                tracing::warn!(job_id = %job.id, error = %e, "could not ask the launcher about the job");
                continue;
            }
        };
        let outcome = JobOutcome {
            state: JobState::Failed,
            reason: Some(format!("{why} (launch {handle})")),
            tokens_used: 0,
        };
        match deps
            .stores
            .jobs
            .finish_job(&job.id, &outcome, deps.now())
            .await
        {
            Ok(failed) => settle(deps, "job_failed", &failed, report).await,
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// A `building` ticket whose current job finished but whose ticket was never
/// settled (the process settling it died) is settled now. Idempotent.
async fn sweep_building(deps: &Deps) -> RoleResult<()> {
    for (_, job) in crate::dispatcher::building_with_jobs(deps).await? {
        if let Some(job) = job.filter(|j| j.state.is_finished())
            && let Err(e) = crate::jobs::on_job_finished(deps, &job).await
        {
            tracing::warn!(job_id = %job.id, error = %e, "could not settle a finished job");
        }
    }
    Ok(())
}
