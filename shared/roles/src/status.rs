//! What the factory is doing and what it waits for: the answer behind
//! `nightshift status` and `GET /status`.

use crate::{Deps, RoleResult};
use nightshift_core::queue::{QueueStats, names};
use nightshift_core::state::TicketState;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatusReport {
    /// Tickets per state (states with none are left out).
    pub tickets: BTreeMap<String, u64>,
    /// Per queue: visible, in flight, dead-lettered.
    pub queues: BTreeMap<String, QueueStats>,
    pub active_jobs: u64,
    pub max_concurrent_jobs: u64,
    pub pending_approvals: u64,
    pub tokens_committed: u64,
    /// Whether `[llm]` names providers and routes.
    pub llm_configured: bool,
    /// Plain sentences about work that is waiting, and why.
    pub waiting: Vec<String>,
}

/// What to say, everywhere, when no LLM is set up.
pub const NO_LLM: &str = "no LLM is configured: tickets are triaged and planned by rules and wait for a person to approve the spec; building waits for a model, and review runs only the deterministic gates; add [[llm.providers]] and [llm.routes] to nightshift.toml (see README, Settings)";

pub async fn status(deps: &Deps) -> RoleResult<StatusReport> {
    let counts = deps.stores.tickets.count_by_state().await?;
    let mut queues = BTreeMap::new();
    for q in names::ALL {
        queues.insert(q.to_string(), deps.queue.stats(q).await?);
    }
    let count = |s: TicketState| {
        counts
            .iter()
            .find(|(st, _)| *st == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let mut waiting = Vec::new();
    let llm_configured = deps.settings.llm.is_configured();
    if !llm_configured {
        waiting.push(NO_LLM.to_string());
    }
    let triaged = count(TicketState::Triaged) + count(TicketState::Planned);
    if triaged > 0 {
        waiting.push(format!(
            "{triaged} ticket(s) wait for the planner (architect role)"
        ));
    }
    let spec = count(TicketState::AwaitingSpecApproval) + count(TicketState::AwaitingMergeApproval);
    if spec > 0 {
        waiting.push(format!(
            "{spec} ticket(s) wait for a person's approval: `nightshift approvals`, GET /approvals, or /nightshift approve on GitHub"
        ));
    }
    let ready = count(TicketState::Ready);
    let active = deps.stores.jobs.count_active_jobs().await?;
    let cap = deps.settings.dispatcher.max_concurrent_jobs;
    if ready > 0 && active >= cap {
        waiting.push(format!(
            "{ready} ready ticket(s) wait for a free job slot ({active} of {cap} in use)"
        ));
    }
    for (q, s) in &queues {
        if s.dead > 0 {
            waiting.push(format!("{} message(s) in the {q} dead letter queue need a look (`nightshift dlq list {q}`)", s.dead));
        }
    }
    Ok(StatusReport {
        tickets: counts
            .into_iter()
            .map(|(s, n)| (s.as_str().to_string(), n))
            .collect(),
        queues,
        active_jobs: active,
        max_concurrent_jobs: cap,
        pending_approvals: deps.stores.approvals.pending_approvals().await?.len() as u64,
        tokens_committed: deps.stores.budget.total_committed().await?,
        llm_configured,
        waiting,
    })
}
