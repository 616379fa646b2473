//! The architect role: a triaged ticket becomes a spec with a confidence
//! score, stored on the ticket; then the spec gate. In guided mode a person
//! approves the spec; in full autonomy it approves itself when the confidence
//! reaches the threshold. A rejected spec comes back here with its reason.
//!
//! Idempotent by the ticket's state: `triaged` plans, `planned` (a pass that
//! stopped after planning) decides the gate, `awaiting_spec_approval` makes
//! sure its approval request exists.

use crate::approvals;
use crate::transition::apply;
use crate::{Deps, RoleError, RoleResult, TicketMessage};
use nightshift_agent::budget::Budgeted;
use nightshift_agent::git::GitWorkspace;
use nightshift_agent::governance::planner::{Rejection, SpecAnswer, prompt, rules_spec};
use nightshift_agent::governance::{AskError, ask_json};
use nightshift_agent::session::repo_map;
use nightshift_core::approval::{ApprovalKind, ApprovalStatus};
use nightshift_core::governance::Spec;
use nightshift_core::llm::LlmError;
use nightshift_core::queue::names;
use nightshift_core::settings::governance::Autonomy;
use nightshift_core::state::{TicketEvent, TicketState};
use nightshift_core::ticket::Ticket;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum PlanOutcome {
    /// Waiting for a person to approve the spec.
    AwaitingApproval { confidence: u8 },
    /// Approved by full autonomy's threshold, and on to the dispatcher.
    AutoApproved { confidence: u8 },
    /// Not the planner's turn (another state): nothing done.
    Skipped { state: TicketState },
    /// The model ran out of the ticket's budget.
    BudgetExhausted,
}

/// Plans ticket `ticket_id` (see the module docs).
pub async fn plan(deps: &Deps, ticket_id: &str) -> RoleResult<PlanOutcome> {
    let mut ticket = deps.stores.tickets.get_ticket(ticket_id).await?;
    if ticket.state == TicketState::Triaged {
        let rejections = rejections(deps, &ticket).await?;
        let round = rejections.len() as u32 + 1;
        let spec = match write_spec(deps, &ticket, &rejections, round).await {
            Ok(spec) => spec,
            Err(SpecError::Budget(message)) => {
                let t = deps.stores.tickets.get_ticket(ticket_id).await?;
                apply(
                    deps,
                    &t,
                    TicketEvent::ExhaustBudget,
                    "planner",
                    serde_json::json!({ "reason": message }),
                    |t| t.state_reason = Some(message.clone()),
                )
                .await?;
                return Ok(PlanOutcome::BudgetExhausted);
            }
            Err(SpecError::Role(e)) => return Err(e),
        };
        let detail = serde_json::json!({
            "confidence": spec.confidence, "by": spec.by, "round": spec.round, "files": spec.files,
        });
        ticket = apply(deps, &ticket, TicketEvent::Plan, "planner", detail, |t| {
            t.state_reason = Some(format!(
                "spec round {} by {}, confidence {}/10",
                spec.round, spec.by, spec.confidence
            ));
            t.spec = Some(spec.clone());
        })
        .await?;
    }
    match ticket.state {
        TicketState::Planned => spec_gate(deps, &ticket).await,
        TicketState::AwaitingSpecApproval => {
            approvals::ensure_requested(deps, &ticket, ApprovalKind::Spec, "planner").await?;
            Ok(PlanOutcome::AwaitingApproval {
                confidence: ticket.spec.as_ref().map_or(0, |s| s.confidence),
            })
        }
        state => Ok(PlanOutcome::Skipped { state }),
    }
}

/// Full autonomy with enough confidence approves; anything else asks a person.
async fn spec_gate(deps: &Deps, ticket: &Ticket) -> RoleResult<PlanOutcome> {
    let gov = &deps.settings.governance;
    let policy = gov.policy(&ticket.context.repo);
    let confidence = ticket.spec.as_ref().map_or(0, |s| s.confidence);
    if policy.autonomy == Autonomy::Full && confidence >= gov.min_confidence {
        let detail = serde_json::json!({
            "autonomy": "full", "confidence": confidence, "min_confidence": gov.min_confidence,
        });
        approvals::auto_approve(deps, ticket, ApprovalKind::Spec, detail).await?;
        return Ok(PlanOutcome::AutoApproved { confidence });
    }
    let why = match policy.autonomy {
        Autonomy::Guided => "guided autonomy: a person approves every spec".to_string(),
        Autonomy::Full => format!(
            "confidence {confidence}/10 is below full autonomy's {}",
            gov.min_confidence
        ),
    };
    let t = apply(
        deps,
        ticket,
        TicketEvent::RequestSpecApproval,
        "planner",
        serde_json::json!({ "why": why, "autonomy": policy.autonomy.as_str() }),
        |t| t.state_reason = Some(format!("spec waits for approval: {why}")),
    )
    .await?;
    approvals::ensure_requested(deps, &t, ApprovalKind::Spec, "planner").await?;
    Ok(PlanOutcome::AwaitingApproval { confidence })
}

/// Earlier specs of this ticket that a person rejected, oldest first.
async fn rejections(deps: &Deps, ticket: &Ticket) -> RoleResult<Vec<Rejection>> {
    let all = deps
        .stores
        .approvals
        .approvals_for_ticket(&ticket.id)
        .await?;
    Ok(all
        .into_iter()
        .filter(|a| a.kind == ApprovalKind::Spec && a.status == ApprovalStatus::Rejected)
        .map(|a| Rejection {
            by: a.decided_by.unwrap_or_default(),
            reason: a.reason.unwrap_or_default(),
            approach: None,
        })
        .collect())
}

enum SpecError {
    Budget(String),
    Role(RoleError),
}

/// The model's spec, or the rules' when no model is configured. A model that
/// fails for another reason fails the message (retried), so a spec is never
/// silently downgraded to the rules'.
async fn write_spec(
    deps: &Deps,
    ticket: &Ticket,
    rejections: &[Rejection],
    round: u32,
) -> Result<Spec, SpecError> {
    let Some(models) = &deps.llm else {
        return Ok(rules_spec(ticket, round));
    };
    let map = repository_map(deps, ticket).await;
    let (system, user) = prompt(ticket, map.as_deref(), rejections);
    let llm = Budgeted::new(
        models.for_role("planner"),
        deps.stores.budget.clone(),
        deps.clock.clone(),
        &ticket.id,
    );
    match ask_json::<SpecAnswer>(&llm, system, user, 2048).await {
        Ok((answer, usage)) => {
            tracing::info!(ticket_id = %ticket.id, tokens = usage.total(), "spec written");
            Ok(answer.into_spec(ticket, "planner model", round))
        }
        Err(AskError::Llm(LlmError::BudgetExhausted { .. })) => Err(SpecError::Budget(
            "budget exhausted while planning".to_string(),
        )),
        Err(e) => Err(SpecError::Role(RoleError::Agent(format!(
            "the planner could not write a spec: {e}"
        )))),
    }
}

/// A map of the repository's files for the architect, from a fresh clone in a
/// scratch directory; `None` when the repository cannot be read.
async fn repository_map(deps: &Deps, ticket: &Ticket) -> Option<String> {
    let access = deps.forge.access(&ticket.context.repo).await.ok()?;
    let scratch = deps.settings.data_dir.join("scratch");
    std::fs::create_dir_all(&scratch).ok()?;
    let dir = tempfile::Builder::new()
        .prefix("plan-")
        .tempdir_in(&scratch)
        .ok()?;
    let checkout = dir.path().join("repo");
    match GitWorkspace::clone(&access, &checkout).await {
        Ok(_) => tokio::task::spawn_blocking(move || {
            let map = repo_map(&checkout, 300);
            drop(dir);
            map
        })
        .await
        .ok(),
        Err(e) => {
            tracing::warn!(repo = %ticket.context.repo, error = %e, "the planner could not clone");
            None
        }
    }
}

/// Announces the ticket to the planner.
pub async fn announce(deps: &Deps, ticket_id: &str) -> RoleResult<()> {
    deps.queue
        .send(names::PLAN, &TicketMessage::body(ticket_id), Duration::ZERO)
        .await?;
    Ok(())
}
