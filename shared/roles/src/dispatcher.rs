//! The dispatcher: takes ready tickets in priority order, while fewer than the
//! cap of jobs are active; reserves each job's budget (fail closed), moves the
//! ticket to `building`, creates its job and launches it.
//!
//! Every step is idempotent and keyed by the job id (`<ticket>-b<round>`), so a
//! pass that dies halfway is finished by the next: the reservation, the job and
//! the launch are each made once, and a `building` ticket without its job gets one.

use crate::transition::apply;
use crate::{Deps, RoleError, RoleResult};
use nightshift_core::StoreError;
use nightshift_core::job::{Job, JobKind, JobState};
use nightshift_core::ports::{JobFilter, LaunchRequest, TicketFilter};
use nightshift_core::state::{TicketEvent, TicketState};
use nightshift_core::ticket::Ticket;
use std::time::Duration;

/// The lock that keeps two passes (two Lambdas, two processes) from racing.
pub const LOCK: &str = "dispatcher";
const LOCK_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DispatchReport {
    /// Job ids launched for tickets this pass.
    pub launched: Vec<String>,
    /// Jobs launched again (requeued by the reaper, or a launch left unfinished).
    pub relaunched: Vec<String>,
    /// Tickets moved to `budget_exhausted`.
    pub exhausted: Vec<String>,
    /// Ready tickets left waiting because the cap was reached.
    pub waiting_for_capacity: usize,
    /// Another pass held the lock; this one did nothing.
    pub skipped: bool,
}

pub fn job_id(ticket: &Ticket, round: u32) -> String {
    format!("{}-b{round}", ticket.id)
}

/// One dispatch pass. `owner` names this process for the lock.
pub async fn dispatch(deps: &Deps, owner: &str) -> RoleResult<DispatchReport> {
    match deps
        .stores
        .locks
        .acquire(LOCK, owner, LOCK_TTL, deps.now())
        .await
    {
        Ok(_) => {}
        Err(e) if e.is_conflict() => {
            return Ok(DispatchReport {
                skipped: true,
                ..Default::default()
            });
        }
        Err(e) => return Err(e.into()),
    }
    let result = pass(deps).await;
    if let Err(e) = deps.stores.locks.release(LOCK, owner).await {
        tracing::warn!(error = %e, "could not release the dispatcher lock; it expires by itself");
    }
    result
}

async fn pass(deps: &Deps) -> RoleResult<DispatchReport> {
    let mut report = DispatchReport::default();
    repair_building(deps, &mut report).await?;
    let queued = deps
        .stores
        .jobs
        .list_jobs(&JobFilter {
            states: vec![JobState::Queued],
            limit: Some(1000),
            ..Default::default()
        })
        .await?;
    for job in queued.into_iter().filter(|j| j.needs_launch()) {
        launch(deps, &job).await?;
        report.relaunched.push(job.id);
    }
    let cap = deps.settings.dispatcher.max_concurrent_jobs;
    let active = deps.stores.jobs.count_active_jobs().await?;
    let free = cap.saturating_sub(active) as usize;
    // Ready tickets and tickets whose review asked for changes, best first.
    let mut ready = deps.stores.tickets.ready_tickets(free + 1000).await?;
    ready.extend(
        deps.stores
            .tickets
            .list_tickets(&TicketFilter {
                state: Some(TicketState::ChangesRequested),
                limit: Some(1000),
                ..Default::default()
            })
            .await?,
    );
    ready.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id))
    });
    for ticket in ready.iter().take(free) {
        start(deps, ticket, &mut report).await?;
    }
    report.waiting_for_capacity = ready.len().saturating_sub(free);
    Ok(report)
}

/// Reserve, move to building, create the job, launch: for one ready ticket.
async fn start(deps: &Deps, ticket: &Ticket, report: &mut DispatchReport) -> RoleResult<()> {
    let round = ticket.build_rounds + 1;
    let max_reviews = deps.settings.dispatcher.max_review_rounds;
    if ticket.state == TicketState::ChangesRequested && ticket.build_rounds > max_reviews {
        let reason = format!(
            "review asked for changes after {max_reviews} rounds of answering it; a person should take over"
        );
        match apply(
            deps,
            ticket,
            TicketEvent::Fail,
            "dispatcher",
            serde_json::json!({ "reason": reason }),
            |t| t.state_reason = Some(reason.clone()),
        )
        .await
        {
            Ok(_) | Err(RoleError::Store(StoreError::Conflict { .. })) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    let jid = job_id(ticket, round);
    let amount = deps
        .settings
        .budget
        .job_reservation_tokens
        .min(ticket.budget.limit_tokens);
    deps.stores
        .budget
        .open_account(&ticket.id, ticket.budget.limit_tokens)
        .await?;
    match deps
        .stores
        .budget
        .reserve(&ticket.id, &jid, amount, deps.now())
        .await
    {
        Ok(_) => {}
        Err(StoreError::BudgetExhausted {
            asked,
            available,
            limit,
            ..
        }) => {
            let reason = format!(
                "budget exhausted: the next job needs {asked} tokens, {available} of {limit} are left; raise budget.limit_tokens and retry"
            );
            match apply(
                deps,
                ticket,
                TicketEvent::ExhaustBudget,
                "dispatcher",
                serde_json::json!({ "reason": reason }),
                |t| t.state_reason = Some(reason.clone()),
            )
            .await
            {
                Ok(_) => report.exhausted.push(ticket.id.clone()),
                Err(RoleError::Store(e)) if e.is_conflict() => {}
                Err(e) => return Err(e),
            }
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    let moved = apply(
        deps,
        ticket,
        TicketEvent::StartBuild,
        "dispatcher",
        serde_json::json!({ "job_id": jid, "reserved_tokens": amount }),
        |t| {
            t.build_rounds = round;
            t.state_reason = None;
        },
    )
    .await;
    let moved = match moved {
        Ok(t) => t,
        Err(RoleError::Store(e)) if e.is_conflict() => {
            // Someone else moved it. If nobody started this round, give the budget back.
            let now = deps.stores.tickets.get_ticket(&ticket.id).await?;
            if now.build_rounds < round {
                deps.stores.budget.release(&jid).await?;
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    // Review feedback is answered on the same branch; anything else (a first
    // build, a retry after a failure) builds afresh.
    let kind = if ticket.state == TicketState::ChangesRequested {
        JobKind::AddressReview
    } else {
        JobKind::Build
    };
    let job = create_job(deps, &moved, round, kind).await?;
    launch(deps, &job).await?;
    report.launched.push(job.id);
    Ok(())
}

pub(crate) async fn create_job(
    deps: &Deps,
    ticket: &Ticket,
    round: u32,
    kind: JobKind,
) -> RoleResult<Job> {
    let now = deps.now();
    let d = &deps.settings.dispatcher;
    let deadline = now + chrono::Duration::seconds(d.job_deadline_secs as i64);
    let job = Job::new(
        match kind {
            JobKind::Review => crate::reviewer::job_id(ticket, round),
            _ => job_id(ticket, round),
        },
        Some(ticket.id.clone()),
        kind,
        ticket.priority,
        d.max_attempts,
        Some(deadline),
        now,
    );
    let (job, created) = deps.stores.jobs.create_job(&job).await?;
    if created {
        deps.stores
            .audit
            .append(
                nightshift_core::audit::NewAuditEvent::new("dispatcher", "job_created")
                    .ticket(&ticket.id)
                    .detail(serde_json::json!({ "job_id": job.id, "kind": job.kind, "deadline": job.deadline })),
                now,
            )
            .await?;
    }
    Ok(job)
}

pub(crate) async fn launch(deps: &Deps, job: &Job) -> RoleResult<()> {
    let handle = deps
        .launcher
        .launch(&LaunchRequest {
            job_id: job.id.clone(),
            attempt: job.attempt,
        })
        .await?;
    match deps
        .stores
        .jobs
        .record_launch(&job.id, job.attempt, &handle, deps.now())
        .await
    {
        Ok(_) => {}
        // The job moved on meanwhile (claimed, finished): the launch stands as it is.
        Err(e) if e.is_conflict() => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(job_id = %job.id, attempt = job.attempt, %handle, "job launched");
    Ok(())
}

/// Every `building` ticket with its current job, if that job exists.
pub async fn building_with_jobs(deps: &Deps) -> RoleResult<Vec<(Ticket, Option<Job>)>> {
    let filter = TicketFilter {
        state: Some(TicketState::Building),
        limit: Some(1000),
        ..Default::default()
    };
    let mut out = Vec::new();
    for t in deps.stores.tickets.list_tickets(&filter).await? {
        let job = match deps.stores.jobs.get_job(&job_id(&t, t.build_rounds)).await {
            Ok(j) => Some(j),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        };
        out.push((t, job));
    }
    Ok(out)
}

/// A `building` ticket whose job was never created (a pass died after the
/// transition) gets it now.
async fn repair_building(deps: &Deps, report: &mut DispatchReport) -> RoleResult<()> {
    for (t, job) in building_with_jobs(deps).await? {
        if job.is_none() {
            // The state it left is not known here; a fresh build is the safe reading.
            let job = create_job(deps, &t, t.build_rounds, JobKind::Build).await?;
            launch(deps, &job).await?;
            report.relaunched.push(job.id);
        }
    }
    Ok(())
}
