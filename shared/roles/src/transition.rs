//! The only way a ticket changes state: the state machine says whether the event
//! is legal, and the store writes it conditionally on the version, with its audit
//! event, in one atomic write.

use crate::{Deps, RoleResult};
use nightshift_core::audit::NewAuditEvent;
use nightshift_core::state::{TicketEvent, next};
use nightshift_core::ticket::Ticket;

/// Applies `event` to `ticket` as `actor`, with `change` made to the ticket in the
/// same write. Returns the stored ticket. A `Conflict` means someone else wrote
/// first: reload and decide again.
pub async fn apply(
    deps: &Deps,
    ticket: &Ticket,
    event: TicketEvent,
    actor: &str,
    detail: serde_json::Value,
    change: impl FnOnce(&mut Ticket),
) -> RoleResult<Ticket> {
    let to = next(ticket.state, event)?;
    let mut updated = ticket.clone();
    change(&mut updated);
    updated.state = to;
    updated.version = ticket.version + 1;
    updated.updated_at = deps.now();
    let mut ev = NewAuditEvent::new(actor, event.as_str()).detail(detail);
    ev.from_state = Some(ticket.state);
    ev.to_state = Some(to);
    let (stored, _) = deps
        .stores
        .tickets
        .update_ticket(&updated, ticket.version, ev)
        .await?;
    tracing::info!(ticket_id = %stored.id, from = %ticket.state, to = %stored.state, actor, "ticket moved");
    Ok(stored)
}
