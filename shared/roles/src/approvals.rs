//! The approval gates: the spec gate after the planner, the merge gate after
//! the reviewer. A person (API, CLI, or a `/nightshift approve` comment from a
//! writer on GitHub) or full autonomy's thresholds decide, once. A rejection's
//! reason goes back to the role that asked: the planner plans again, the
//! builder answers it; when the rounds run out the ticket is rejected for good.
//!
//! Deciding is two writes: the approval (conditional on `pending`, so a second
//! decision gets a conflict) and then the ticket's transition (conditional on
//! the version the approval was asked at, so a decision on a ticket that moved
//! on changes nothing). [`settle`] makes the second write from the first, so a
//! crash between them is repaired by the reaper calling it again.

use crate::transition::apply;
use crate::{Deps, RoleError, RoleResult, TicketMessage};
use nightshift_core::StoreError;
use nightshift_core::approval::{Approval, ApprovalKind, ApprovalStatus, Decision};
use nightshift_core::forge::{ForgeError, PrState};
use nightshift_core::queue::names;
use nightshift_core::state::{TicketEvent, TicketState};
use nightshift_core::ticket::{InputError, Ticket};
use std::time::Duration;

/// The longest rejection reason kept.
pub const MAX_REASON_CHARS: usize = 2000;

/// The states in which a `kind` approval can still be decided.
fn open_states(kind: ApprovalKind) -> &'static [TicketState] {
    match kind {
        ApprovalKind::Spec => &[TicketState::Planned, TicketState::AwaitingSpecApproval],
        ApprovalKind::Merge => &[TicketState::AwaitingMergeApproval],
    }
}

/// The pending request for `kind` at the ticket's current version, made if missing.
pub async fn ensure_requested(
    deps: &Deps,
    ticket: &Ticket,
    kind: ApprovalKind,
    by: &str,
) -> RoleResult<Approval> {
    let a = Approval::pending(&ticket.id, kind, ticket.version, by, deps.now());
    Ok(deps.stores.approvals.request_approval(&a).await?)
}

/// Full autonomy's decision: recorded as an approval decided by `autonomy`,
/// with the thresholds it met in the ticket's audit trail, then applied.
pub async fn auto_approve(
    deps: &Deps,
    ticket: &Ticket,
    kind: ApprovalKind,
    detail: serde_json::Value,
) -> RoleResult<Ticket> {
    let a = ensure_requested(deps, ticket, kind, "autonomy").await?;
    if a.status == ApprovalStatus::Pending {
        let reason = format!("thresholds met: {detail}");
        match deps
            .stores
            .approvals
            .decide(
                &a.id,
                Decision::Approve,
                "autonomy",
                Some(&reason),
                deps.now(),
            )
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(settle(deps, ticket)
        .await?
        .unwrap_or_else(|| ticket.clone()))
}

/// What a decision did.
#[derive(Debug, Clone)]
pub struct Decided {
    pub approval: Approval,
    pub ticket: Ticket,
}

fn conflict(kind: &'static str, id: &str, message: String) -> RoleError {
    RoleError::Store(StoreError::conflict(kind, id, message))
}

/// A person's decision on approval `id`. A second decision, or one on a
/// ticket that has moved on since the request, is a conflict.
pub async fn decide(
    deps: &Deps,
    id: &str,
    decision: Decision,
    actor: &str,
    reason: Option<&str>,
) -> RoleResult<Decided> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if decision == Decision::Reject && reason.is_none() {
        return Err(InputError::new(
            "reason",
            "a rejection needs a reason: it goes back to the role that asked",
        )
        .into());
    }
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err(
            InputError::new("reason", format!("at most {MAX_REASON_CHARS} characters")).into(),
        );
    }
    let a = deps.stores.approvals.get_approval(id).await?;
    if a.status != ApprovalStatus::Pending {
        return Err(conflict(
            "approval",
            id,
            format!(
                "already {} by {}",
                a.status.as_str(),
                a.decided_by.as_deref().unwrap_or("?")
            ),
        ));
    }
    let ticket = deps.stores.tickets.get_ticket(&a.ticket_id).await?;
    if ticket.version != a.ticket_version || !open_states(a.kind).contains(&ticket.state) {
        return Err(conflict(
            "approval",
            id,
            format!(
                "the ticket has moved on since the request: it is {} at version {} (asked at version {})",
                ticket.state, ticket.version, a.ticket_version
            ),
        ));
    }
    let approval = deps
        .stores
        .approvals
        .decide(id, decision, actor, reason, deps.now())
        .await?;
    let ticket = settle(deps, &ticket).await?.unwrap_or(ticket);
    Ok(Decided { approval, ticket })
}

/// The pending approval of a ticket (for the CLI and GitHub comments, which
/// name tickets rather than approvals).
pub async fn pending_for_ticket(deps: &Deps, ticket_id: &str) -> RoleResult<Approval> {
    let ticket = deps.stores.tickets.get_ticket(ticket_id).await?;
    deps.stores
        .approvals
        .approvals_for_ticket(ticket_id)
        .await?
        .into_iter()
        .rev()
        .find(|a| a.status == ApprovalStatus::Pending && a.ticket_version == ticket.version)
        .ok_or_else(|| {
            conflict(
                "ticket",
                ticket_id,
                format!("nothing waits for approval: the ticket is {}", ticket.state),
            )
        })
}

/// Applies the decided approval made at `ticket`'s current version, if there
/// is one; returns the moved ticket. Safe to call again: once the ticket moved
/// its version differs and nothing matches.
pub async fn settle(deps: &Deps, ticket: &Ticket) -> RoleResult<Option<Ticket>> {
    let ticket = deps.stores.tickets.get_ticket(&ticket.id).await?;
    let all = deps
        .stores
        .approvals
        .approvals_for_ticket(&ticket.id)
        .await?;
    let Some(a) = all.iter().find(|a| {
        a.ticket_version == ticket.version
            && a.status != ApprovalStatus::Pending
            && open_states(a.kind).contains(&ticket.state)
    }) else {
        return Ok(None);
    };
    let actor = a.decided_by.clone().unwrap_or_else(|| "unknown".into());
    let reason = a.reason.clone().unwrap_or_default();
    let detail =
        serde_json::json!({ "approval": a.id, "decision": a.status.as_str(), "reason": reason });
    let moved = match (a.kind, a.status) {
        (ApprovalKind::Spec, ApprovalStatus::Approved) => {
            let t = apply(
                deps,
                &ticket,
                TicketEvent::ApproveSpec,
                &actor,
                detail,
                |t| {
                    t.state_reason = Some(format!("spec approved by {actor}"));
                },
            )
            .await?;
            announce(deps, names::DISPATCH, &t.id).await?;
            t
        }
        (ApprovalKind::Spec, _) => {
            let rejected = all
                .iter()
                .filter(|x| x.kind == ApprovalKind::Spec && x.status == ApprovalStatus::Rejected)
                .count() as u32;
            let max = deps.settings.governance.max_spec_rounds;
            if rejected >= max {
                apply(deps, &ticket, TicketEvent::Abandon, &actor, detail, |t| {
                    t.state_reason = Some(format!(
                        "spec rejected {rejected} times (the limit is {max}); last by {actor}: {reason}"
                    ));
                })
                .await?
            } else {
                let t = apply(
                    deps,
                    &ticket,
                    TicketEvent::RejectSpec,
                    &actor,
                    detail,
                    |t| {
                        t.state_reason = Some(format!("spec rejected by {actor}: {reason}"));
                    },
                )
                .await?;
                announce(deps, names::PLAN, &t.id).await?;
                t
            }
        }
        (ApprovalKind::Merge, ApprovalStatus::Approved) => {
            merge(deps, &ticket, &actor, detail).await?
        }
        (ApprovalKind::Merge, _) => {
            let max = deps.settings.dispatcher.max_review_rounds;
            if ticket.build_rounds > max {
                apply(deps, &ticket, TicketEvent::Abandon, &actor, detail, |t| {
                    t.state_reason = Some(format!(
                        "merge rejected after {max} review rounds; last by {actor}: {reason}"
                    ));
                })
                .await?
            } else {
                if let Some(pr) = ticket.review.as_ref().map(|v| v.pr) {
                    let note = format!("Merge rejected by {actor}:\n\n{reason}");
                    if let Err(e) = deps.forge.comment(&ticket.context.repo, pr, &note).await {
                        tracing::warn!(ticket_id = %ticket.id, error = %e, "could not comment the rejection");
                    }
                }
                let t = apply(
                    deps,
                    &ticket,
                    TicketEvent::RejectMerge,
                    &actor,
                    detail,
                    |t| {
                        t.state_reason = Some(format!("merge rejected by {actor}: {reason}"));
                    },
                )
                .await?;
                announce(deps, names::DISPATCH, &t.id).await?;
                t
            }
        }
    };
    Ok(Some(moved))
}

/// Merges the ticket's pull request, then records the merge. A forge that
/// refuses (a conflict with the base, a closed PR) fails the ticket with its
/// reason; a forge that is down leaves it for the next try.
async fn merge(
    deps: &Deps,
    ticket: &Ticket,
    actor: &str,
    detail: serde_json::Value,
) -> RoleResult<Ticket> {
    let repo = &ticket.context.repo;
    let number = match ticket.review.as_ref().map(|v| v.pr) {
        Some(n) => n,
        None => match crate::builder::open_pr_of(deps, ticket).await {
            Some(pr) => pr.number,
            None => {
                return fail(deps, ticket, actor, "approved, but it has no pull request").await;
            }
        },
    };
    let message = format!("{} ({})", ticket.title, ticket.id);
    match deps.forge.merge_pr(repo, number, &message).await {
        Ok(pr) if pr.state == PrState::Merged => {
            apply(deps, ticket, TicketEvent::Merge, actor, detail, |t| {
                t.state_reason = Some(format!(
                    "pull request #{number} merged, approved by {actor}"
                ));
            })
            .await
        }
        Ok(pr) => Err(RoleError::Agent(format!(
            "the forge says pull request #{} is {:?} after merging",
            pr.number, pr.state
        ))),
        Err(ForgeError::Refused { message, .. }) => {
            fail(
                deps,
                ticket,
                actor,
                &format!("approved, but the merge was refused: {message}"),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn fail(deps: &Deps, ticket: &Ticket, actor: &str, reason: &str) -> RoleResult<Ticket> {
    let reason = reason.to_string();
    apply(
        deps,
        ticket,
        TicketEvent::Fail,
        actor,
        serde_json::json!({ "reason": reason }),
        |t| t.state_reason = Some(reason.clone()),
    )
    .await
}

async fn announce(deps: &Deps, queue: &str, ticket_id: &str) -> RoleResult<()> {
    deps.queue
        .send(queue, &TicketMessage::body(ticket_id), Duration::ZERO)
        .await?;
    Ok(())
}

/// Which pending spec approvals a night-shift batch approves.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Only tickets with this label; `None` means the ready label
    /// (`ready-for-robot`) unless `all` is set.
    pub label: Option<String>,
    /// Every pending spec approval, whatever its labels.
    #[serde(default)]
    pub all: bool,
    /// Only this repository.
    pub repo: Option<String>,
}

/// What a batch did, ticket by ticket.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct BatchResult {
    pub approved: Vec<String>,
    /// `ticket: why`, for pending approvals that could not be decided.
    pub skipped: Vec<String>,
}

/// Night shift: approves the pending *spec* approvals of the queue at once,
/// so the dispatcher works through them overnight under its concurrency cap,
/// in priority order. Merges are never batch-approved.
pub async fn approve_batch(deps: &Deps, batch: &Batch, actor: &str) -> RoleResult<BatchResult> {
    let label = batch
        .label
        .clone()
        .unwrap_or_else(|| deps.settings.api.ready_label.clone());
    let mut out = BatchResult::default();
    for a in deps.stores.approvals.pending_approvals().await? {
        if a.kind != ApprovalKind::Spec {
            continue;
        }
        let Ok(t) = deps.stores.tickets.get_ticket(&a.ticket_id).await else {
            continue;
        };
        if batch.repo.as_ref().is_some_and(|r| *r != t.context.repo)
            || (!batch.all && !t.labels.iter().any(|l| *l == label))
        {
            continue;
        }
        match decide(
            deps,
            &a.id,
            Decision::Approve,
            actor,
            Some("night shift batch"),
        )
        .await
        {
            Ok(_) => out.approved.push(t.id),
            Err(RoleError::Store(e)) if e.is_conflict() => {
                out.skipped.push(format!("{}: {e}", t.id))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
