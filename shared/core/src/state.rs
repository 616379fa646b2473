//! The ticket state machine: one table of legal transitions. Every change of a
//! ticket's state goes through [`next`]; nothing else decides what may follow what.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    New,
    Triaged,
    Planned,
    AwaitingSpecApproval,
    Ready,
    Building,
    InReview,
    ChangesRequested,
    AwaitingMergeApproval,
    Merged,
    Closed,
    Rejected,
    Failed,
    BudgetExhausted,
}

impl TicketState {
    pub const ALL: [TicketState; 14] = [
        Self::New,
        Self::Triaged,
        Self::Planned,
        Self::AwaitingSpecApproval,
        Self::Ready,
        Self::Building,
        Self::InReview,
        Self::ChangesRequested,
        Self::AwaitingMergeApproval,
        Self::Merged,
        Self::Closed,
        Self::Rejected,
        Self::Failed,
        Self::BudgetExhausted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Triaged => "triaged",
            Self::Planned => "planned",
            Self::AwaitingSpecApproval => "awaiting_spec_approval",
            Self::Ready => "ready",
            Self::Building => "building",
            Self::InReview => "in_review",
            Self::ChangesRequested => "changes_requested",
            Self::AwaitingMergeApproval => "awaiting_merge_approval",
            Self::Merged => "merged",
            Self::Closed => "closed",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::BudgetExhausted => "budget_exhausted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Merged and closed tickets never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Merged | Self::Closed)
    }
}

impl std::fmt::Display for TicketState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to a ticket. Roles raise events; the table says where they lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketEvent {
    /// The PM role (or the rules) triaged it.
    Triage,
    /// The architect wrote a spec.
    Plan,
    /// The autonomy mode wants a human to approve the spec.
    RequestSpecApproval,
    /// A human, or full autonomy's thresholds, approved the spec.
    ApproveSpec,
    /// A person rejected the spec with a reason: the planner plans again.
    RejectSpec,
    /// The dispatcher launched a builder job (first build or review feedback).
    StartBuild,
    /// The builder opened (or updated) its pull request.
    OpenPr,
    /// The reviewer or a gate asked for changes.
    RequestChanges,
    /// Review and deterministic gates passed.
    PassReview,
    /// The merge was approved and done.
    Merge,
    /// A person rejected the merge with a reason: the builder answers it.
    RejectMerge,
    /// A gate was rejected once more than its rounds allow: rejected for good.
    Abandon,
    /// Something failed for good (with a reason).
    Fail,
    /// A budget reservation failed: fail closed.
    ExhaustBudget,
    /// Try the build again (after a failure, or a raised budget).
    Retry,
    /// Start over from planning, carrying the reason it ended.
    Reopen,
    /// Closed by a person, or as a duplicate.
    Close,
}

impl TicketEvent {
    pub const ALL: [TicketEvent; 17] = [
        Self::Triage,
        Self::Plan,
        Self::RequestSpecApproval,
        Self::ApproveSpec,
        Self::RejectSpec,
        Self::StartBuild,
        Self::OpenPr,
        Self::RequestChanges,
        Self::PassReview,
        Self::Merge,
        Self::RejectMerge,
        Self::Abandon,
        Self::Fail,
        Self::ExhaustBudget,
        Self::Retry,
        Self::Reopen,
        Self::Close,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triage => "triage",
            Self::Plan => "plan",
            Self::RequestSpecApproval => "request_spec_approval",
            Self::ApproveSpec => "approve_spec",
            Self::RejectSpec => "reject_spec",
            Self::StartBuild => "start_build",
            Self::OpenPr => "open_pr",
            Self::RequestChanges => "request_changes",
            Self::PassReview => "pass_review",
            Self::Merge => "merge",
            Self::RejectMerge => "reject_merge",
            Self::Abandon => "abandon",
            Self::Fail => "fail",
            Self::ExhaustBudget => "exhaust_budget",
            Self::Retry => "retry",
            Self::Reopen => "reopen",
            Self::Close => "close",
        }
    }
}

use TicketEvent as E;
use TicketState as S;

/// Where work can still fail or run out of budget: every state with a role at work.
const WORKING: [TicketState; 7] = [
    S::New,
    S::Triaged,
    S::Planned,
    S::Ready,
    S::Building,
    S::InReview,
    S::ChangesRequested,
];

/// The forward path and its side exits, one row per legal transition; the rows
/// every working or open state shares are added in [`transitions`].
pub const TABLE: &[(TicketState, TicketEvent, TicketState)] = &[
    (S::New, E::Triage, S::Triaged),
    (S::Triaged, E::Plan, S::Planned),
    (S::Planned, E::RequestSpecApproval, S::AwaitingSpecApproval),
    (S::Planned, E::ApproveSpec, S::Ready),
    (S::AwaitingSpecApproval, E::ApproveSpec, S::Ready),
    (S::AwaitingSpecApproval, E::RejectSpec, S::Triaged),
    (S::AwaitingSpecApproval, E::Abandon, S::Rejected),
    (S::Ready, E::StartBuild, S::Building),
    (S::ChangesRequested, E::StartBuild, S::Building),
    (S::Building, E::OpenPr, S::InReview),
    (S::InReview, E::RequestChanges, S::ChangesRequested),
    (S::InReview, E::PassReview, S::AwaitingMergeApproval),
    (S::AwaitingMergeApproval, E::Merge, S::Merged),
    (
        S::AwaitingMergeApproval,
        E::RejectMerge,
        S::ChangesRequested,
    ),
    (S::AwaitingMergeApproval, E::Abandon, S::Rejected),
    // Approved, but the forge refused the merge (a conflict with the base).
    (S::AwaitingMergeApproval, E::Fail, S::Failed),
    (S::Failed, E::Retry, S::Ready),
    (S::BudgetExhausted, E::Retry, S::Ready),
    (S::Rejected, E::Reopen, S::Triaged),
    (S::Failed, E::Reopen, S::Triaged),
    (S::BudgetExhausted, E::Reopen, S::Triaged),
];

/// Every legal transition: the table's rows, plus fail / exhaust budget from every
/// working state and close from every non-terminal one. Built once.
static TRANSITIONS: std::sync::LazyLock<Vec<(TicketState, TicketEvent, TicketState)>> =
    std::sync::LazyLock::new(|| {
        let mut all = TABLE.to_vec();
        for s in WORKING {
            all.push((s, E::Fail, S::Failed));
            all.push((s, E::ExhaustBudget, S::BudgetExhausted));
        }
        for s in TicketState::ALL {
            if !s.is_terminal() {
                all.push((s, E::Close, S::Closed));
            }
        }
        all
    });

pub fn transitions() -> &'static [(TicketState, TicketEvent, TicketState)] {
    &TRANSITIONS
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a ticket in state {from} cannot {event}", event = .event.as_str())]
pub struct IllegalTransition {
    pub from: TicketState,
    pub event: TicketEvent,
}

/// The state `event` leads to from `from`, or why it may not happen.
pub fn next(from: TicketState, event: TicketEvent) -> Result<TicketState, IllegalTransition> {
    TRANSITIONS
        .iter()
        .find(|(f, e, _)| *f == from && *e == event)
        .map(|(_, _, to)| *to)
        .ok_or(IllegalTransition { from, event })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashSet, VecDeque};

    #[test]
    fn walks_every_legal_transition_and_refuses_every_other() {
        let legal: HashSet<(TicketState, TicketEvent)> =
            transitions().iter().map(|(f, e, _)| (*f, *e)).collect();
        for &(from, event, to) in transitions() {
            assert_eq!(
                next(from, event),
                Ok(to),
                "{from} --{}--> {to}",
                event.as_str()
            );
        }
        let mut refused = 0;
        for from in TicketState::ALL {
            for event in TicketEvent::ALL {
                if !legal.contains(&(from, event)) {
                    assert_eq!(next(from, event), Err(IllegalTransition { from, event }));
                    refused += 1;
                }
            }
        }
        assert_eq!(
            legal.len() + refused,
            TicketState::ALL.len() * TicketEvent::ALL.len()
        );
        assert!(
            refused > 150,
            "the table should be narrow, refused only {refused}"
        );
    }

    #[test]
    fn every_state_is_reachable_from_new_and_terminals_are_final() {
        let mut seen = HashSet::from([TicketState::New]);
        let mut todo = VecDeque::from([TicketState::New]);
        while let Some(s) = todo.pop_front() {
            for e in TicketEvent::ALL {
                if let Ok(t) = next(s, e)
                    && seen.insert(t)
                {
                    todo.push_back(t);
                }
            }
        }
        assert_eq!(seen.len(), TicketState::ALL.len());
        for s in [TicketState::Merged, TicketState::Closed] {
            assert!(TicketEvent::ALL.iter().all(|e| next(s, *e).is_err()));
        }
    }

    #[test]
    fn the_happy_path_in_guided_mode() {
        let path = [
            E::Triage,
            E::Plan,
            E::RequestSpecApproval,
            E::ApproveSpec,
            E::StartBuild,
            E::OpenPr,
            E::RequestChanges,
            E::StartBuild,
            E::OpenPr,
            E::PassReview,
            E::Merge,
        ];
        let end = path.iter().try_fold(S::New, |s, e| next(s, *e)).unwrap();
        assert_eq!(end, S::Merged);
    }

    #[test]
    fn names_round_trip() {
        for s in TicketState::ALL {
            assert_eq!(TicketState::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for e in TicketEvent::ALL {
            assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
        }
    }
}
