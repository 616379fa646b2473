//! Triage by rules, the PM role's deterministic half (used when no LLM is set):
//! close duplicates of active tickets, assign a priority where none was given,
//! and hand the ticket to the planner.

use crate::transition::apply;
use crate::{Deps, RoleResult, TicketMessage};
use nightshift_core::queue::names;
use nightshift_core::state::{TicketEvent, TicketState};
use nightshift_core::ticket::{Priority, Ticket, TicketType};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriageOutcome {
    Triaged {
        priority: Priority,
    },
    /// Closed: the same work is already tracked by `of`.
    Duplicate {
        of: String,
    },
    /// Not in `new` any more (a repeated message): nothing to do.
    Skipped {
        state: TicketState,
    },
}

/// The priority rules: a given priority stands; labels `priority:<p>` or
/// `security` raise it; bugs with error logs are high, other bugs and features
/// medium, chores low.
pub fn rule_priority(t: &Ticket) -> Priority {
    if t.priority_given {
        return t.priority;
    }
    for l in &t.labels {
        let l = l.to_lowercase();
        match l.strip_prefix("priority:").map(str::trim) {
            Some("high") => return Priority::High,
            Some("medium") => return Priority::Medium,
            Some("low") => return Priority::Low,
            _ if l == "security" => return Priority::High,
            _ => {}
        }
    }
    match t.kind {
        TicketType::Bug if !t.context.error_logs.is_empty() => Priority::High,
        TicketType::Bug | TicketType::Feature => Priority::Medium,
        TicketType::Chore => Priority::Low,
    }
}

/// Triage one ticket. Idempotent: a ticket no longer `new` is left alone.
pub async fn triage(deps: &Deps, ticket_id: &str) -> RoleResult<TriageOutcome> {
    let ticket = deps.stores.tickets.get_ticket(ticket_id).await?;
    if ticket.state != TicketState::New {
        return Ok(TriageOutcome::Skipped {
            state: ticket.state,
        });
    }
    // The oldest active ticket with this fingerprint is the original; any later
    // one is a duplicate. Two triages racing agree on which is which.
    let same = deps
        .stores
        .tickets
        .tickets_by_fingerprint(&ticket.fingerprint)
        .await?;
    let original = same
        .iter()
        .filter(|t| t.id != ticket.id)
        .find(|t| (t.created_at, &t.id) < (ticket.created_at, &ticket.id));
    if let Some(orig) = original {
        let of = orig.id.clone();
        apply(
            deps,
            &ticket,
            TicketEvent::Close,
            "triage",
            serde_json::json!({ "duplicate_of": of }),
            |t| {
                t.duplicate_of = Some(of.clone());
                t.state_reason = Some(format!("duplicate of {of}"));
            },
        )
        .await?;
        return Ok(TriageOutcome::Duplicate { of });
    }
    let priority = rule_priority(&ticket);
    let stored = apply(
        deps,
        &ticket,
        TicketEvent::Triage,
        "triage",
        serde_json::json!({ "priority": priority, "by": "rules" }),
        |t| t.priority = priority,
    )
    .await?;
    deps.queue
        .send(
            names::PLAN,
            &TicketMessage::body(&stored.id),
            Duration::ZERO,
        )
        .await?;
    Ok(TriageOutcome::Triaged { priority })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nightshift_core::ticket::{NewTicket, Source, TicketContext};

    fn t(kind: TicketType, priority: Option<Priority>, labels: &[&str], logs: bool) -> Ticket {
        NewTicket {
            id: None,
            kind,
            priority,
            title: Some("x".into()),
            description: None,
            context: TicketContext {
                repo: "r".into(),
                filepaths: vec![],
                error_logs: if logs { vec!["boom".into()] } else { vec![] },
            },
            acceptance_criteria: vec!["y".into()],
            source: None,
            source_ref: None,
            labels: labels.iter().map(|s| s.to_string()).collect(),
            budget: None,
        }
        .into_ticket("id".into(), Source::Api, 1, chrono::Utc::now())
    }

    #[test]
    fn priority_rules() {
        assert_eq!(
            rule_priority(&t(TicketType::Chore, Some(Priority::High), &[], false)),
            Priority::High
        );
        assert_eq!(
            rule_priority(&t(TicketType::Bug, None, &[], true)),
            Priority::High
        );
        assert_eq!(
            rule_priority(&t(TicketType::Bug, None, &[], false)),
            Priority::Medium
        );
        assert_eq!(
            rule_priority(&t(TicketType::Feature, None, &[], false)),
            Priority::Medium
        );
        assert_eq!(
            rule_priority(&t(TicketType::Chore, None, &[], false)),
            Priority::Low
        );
        assert_eq!(
            rule_priority(&t(TicketType::Chore, None, &["Priority: High"], false)),
            Priority::High
        );
        assert_eq!(
            rule_priority(&t(TicketType::Feature, None, &["security"], false)),
            Priority::High
        );
    }
}
