//! The job-events role: what a finished job means for its ticket and its budget.
//! Called when a worker reports, when the reaper fails a job, and (in AWS) when
//! ECS says a task stopped. Idempotent: the ticket's state decides.

use crate::transition::apply;
use crate::{Deps, RoleError, RoleResult};
use nightshift_core::job::{Job, JobKind, JobState};
use nightshift_core::state::{TicketEvent, TicketState};

/// Settles the job's budget reservation and, if the job failed while its ticket
/// was building, fails the ticket with the job's reason.
pub async fn on_job_finished(deps: &Deps, job: &Job) -> RoleResult<()> {
    if !job.state.is_finished() {
        return Ok(());
    }
    // The dispatcher reserved under the job id; settle it with what was spent.
    match deps.stores.budget.commit(&job.id, job.tokens_used).await {
        Ok(_) => {}
        Err(e) if e.is_not_found() || e.is_conflict() => {}
        Err(e) => return Err(e.into()),
    }
    let Some(ticket_id) = &job.ticket_id else {
        return Ok(());
    };
    if job.state == JobState::Succeeded {
        // The builder moves its ticket on itself (it opened the PR).
        return Ok(());
    }
    let ticket = deps.stores.tickets.get_ticket(ticket_id).await?;
    // A build fails its building ticket; a review that could not be made
    // fails the ticket in review. Older rounds' jobs change nothing.
    let (state, current) = if job.kind == JobKind::Review {
        (
            TicketState::InReview,
            crate::reviewer::job_id(&ticket, ticket.build_rounds),
        )
    } else {
        (
            TicketState::Building,
            crate::dispatcher::job_id(&ticket, ticket.build_rounds),
        )
    };
    if ticket.state != state || current != job.id {
        return Ok(());
    }
    let reason = format!(
        "job {} {}: {}",
        job.id,
        job.state.as_str(),
        job.reason.as_deref().unwrap_or("no reason given")
    );
    match apply(
        deps,
        &ticket,
        TicketEvent::Fail,
        "job-events",
        serde_json::json!({ "job_id": job.id, "reason": reason }),
        |t| t.state_reason = Some(reason.clone()),
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(RoleError::Store(e)) if e.is_conflict() => Ok(()),
        Err(e) => Err(e),
    }
}
