//! Intake: a checked ticket becomes a stored ticket in `new`, with its budget
//! account, and a message to triage. Submitting the same id twice is harmless.

use crate::{Deps, RoleResult, TicketMessage};
use nightshift_core::StoreError;
use nightshift_core::audit::NewAuditEvent;
use nightshift_core::queue::names;
use nightshift_core::state::TicketState;
use nightshift_core::ticket::{InputError, NewTicket, Source, Ticket};
use std::time::Duration;

/// Stores `input` (already parsed and validated) and hands it to triage.
/// Returns the ticket and whether it was new. The same id submitted again with
/// the same content returns the stored ticket; with other content, `AlreadyExists`.
pub async fn submit(
    deps: &Deps,
    input: NewTicket,
    source: Source,
    actor: &str,
) -> RoleResult<(Ticket, bool)> {
    input.validate()?;
    if matches!(source, Source::Api | Source::Cli) {
        // People submit as api or cli; GitHub, discovery and janitor tickets are
        // made by Nightshift itself, and their ids are derived, not chosen.
        if let Some(claimed) = input
            .source
            .filter(|s| !matches!(s, Source::Api | Source::Cli))
        {
            let name = serde_json::to_value(claimed)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            return Err(InputError::new(
                "source",
                format!("`{name}` tickets are made by Nightshift itself; leave source out, or use api or cli"),
            )
            .into());
        }
        if input.id.as_deref().is_some_and(|id| id.starts_with("d_")) {
            return Err(InputError::new(
                "id",
                "ids starting with `d_` are reserved for discovery's tickets",
            )
            .into());
        }
    }
    let id = input
        .id
        .clone()
        .unwrap_or_else(|| nightshift_core::new_id("t"));
    let ticket = input.into_ticket(
        id,
        source,
        deps.settings.budget.default_ticket_tokens,
        deps.now(),
    );
    let event = NewAuditEvent::new(actor, "created").detail(serde_json::json!({
        "source": ticket.source,
        "type": ticket.kind,
        "repo": ticket.context.repo,
    }));
    let (stored, created) = deps.stores.tickets.create_ticket(&ticket, event).await?;
    if !created && stored.fingerprint != ticket.fingerprint {
        // The same id with other content is a different ticket, not a retry.
        return Err(StoreError::AlreadyExists {
            kind: "ticket",
            id: stored.id,
        }
        .into());
    }
    deps.stores
        .budget
        .open_account(&stored.id, stored.budget.limit_tokens)
        .await?;
    // Announce it. On a repeat submission of a ticket still in `new`, announce
    // again: the first announcement may have been lost, and triage is idempotent.
    if stored.state == TicketState::New {
        deps.queue
            .send(
                names::TRIAGE,
                &TicketMessage::body(&stored.id),
                Duration::ZERO,
            )
            .await?;
    }
    if created {
        tracing::info!(ticket_id = %stored.id, repo = %stored.context.repo, "ticket created");
    }
    Ok((stored, created))
}
