//! Tickets: every write is conditional on the stored version and goes in one
//! transaction with its audit event and the chain head.

use super::audit::Appended;
use super::table::{GSI1, GSI2, GSI3, GSI4, ord};
use super::{DynamoStore, Item, Query, body, n, s, to_json};
use async_trait::async_trait;
use nightshift_core::audit::{AuditEvent, NewAuditEvent};
use nightshift_core::ports::{TicketFilter, TicketStore};
use nightshift_core::state::TicketState;
use nightshift_core::ticket::Ticket;
use nightshift_core::{StoreError, StoreResult, millis};
use std::collections::HashMap;

const MAX_LIST: usize = 1000;
const SK: &str = "TICKET";

fn pk(id: &str) -> String {
    format!("TICKET#{id}")
}

/// `<created>#<id>`: oldest first, ties by id.
fn by_age(t: &Ticket) -> String {
    format!("{}#{}", ord(millis(t.created_at)), t.id)
}

/// The ticket as an item: the JSON body, the attributes conditions use, and
/// the index attributes its state calls for (and no others, so leaving
/// `ready` drops it from the ready queue).
fn ticket_item(t: &Ticket) -> Item {
    let mut item = HashMap::from([
        ("pk".to_string(), s(pk(&t.id))),
        ("sk".to_string(), s(SK)),
        ("id".to_string(), s(&t.id)),
        ("state".to_string(), s(t.state.as_str())),
        ("priority".to_string(), n(t.priority.rank())),
        ("repo".to_string(), s(&t.context.repo)),
        ("fingerprint".to_string(), s(&t.fingerprint)),
        ("version".to_string(), n(t.version)),
        ("created_ms".to_string(), n(millis(t.created_at))),
        ("body".to_string(), s(to_json(t))),
        (
            GSI3.pk.to_string(),
            s(format!("TICKETS#STATE#{}", t.state.as_str())),
        ),
        (GSI3.sk.to_string(), s(by_age(t))),
        (GSI4.pk.to_string(), s("TICKETS")),
        (GSI4.sk.to_string(), s(by_age(t))),
    ]);
    if t.state == TicketState::Ready {
        item.insert(GSI1.pk.into(), s("TICKETS#READY"));
        item.insert(
            GSI1.sk.into(),
            s(format!("{}#{}", ord(-t.priority.rank()), by_age(t))),
        );
    }
    if !t.state.is_terminal() {
        item.insert(GSI2.pk.into(), s(format!("TICKETS#FP#{}", t.fingerprint)));
        item.insert(GSI2.sk.into(), s(by_age(t)));
    }
    item
}

fn decode(item: &Item) -> StoreResult<Ticket> {
    body("ticket", item)
}

fn decode_all(items: Vec<Item>) -> StoreResult<Vec<Ticket>> {
    items.iter().map(decode).collect()
}

/// The audit event for a ticket write, with the ticket's id and states filled in.
fn event_for(ticket: &Ticket, from: Option<TicketState>, mut ev: NewAuditEvent) -> NewAuditEvent {
    ev.ticket_id = Some(ticket.id.clone());
    ev.from_state = ev.from_state.or(from);
    ev.to_state = ev.to_state.or(Some(ticket.state));
    ev
}

fn stale(id: &str, expected: u64, cur: &Ticket) -> StoreError {
    StoreError::conflict(
        "ticket",
        id,
        format!(
            "expected version {expected}, found {} (state {})",
            cur.version, cur.state
        ),
    )
}

impl DynamoStore {
    async fn read_ticket(&self, id: &str) -> StoreResult<Option<Ticket>> {
        self.get(&pk(id), SK)
            .await?
            .as_ref()
            .map(decode)
            .transpose()
    }
}

#[async_trait]
impl TicketStore for DynamoStore {
    async fn create_ticket(
        &self,
        ticket: &Ticket,
        event: NewAuditEvent,
    ) -> StoreResult<(Ticket, bool)> {
        let put = self.tx_put(
            ticket_item(ticket),
            Some("attribute_not_exists(#pk)"),
            vec![],
        )?;
        match self
            .append_with(vec![put], event_for(ticket, None, event), ticket.created_at)
            .await?
        {
            Appended::Done(_) => Ok((ticket.clone(), true)),
            Appended::Refused(reasons) => {
                let existing = match reasons.first().and_then(|r| r.item.as_ref()) {
                    Some(item) => decode(item)?,
                    None => self
                        .read_ticket(&ticket.id)
                        .await?
                        .ok_or_else(|| StoreError::not_found("ticket", &ticket.id))?,
                };
                Ok((existing, false))
            }
        }
    }

    async fn get_ticket(&self, id: &str) -> StoreResult<Ticket> {
        self.read_ticket(id)
            .await?
            .ok_or_else(|| StoreError::not_found("ticket", id))
    }

    async fn list_tickets(&self, filter: &TicketFilter) -> StoreResult<Vec<Ticket>> {
        let limit = filter.limit.unwrap_or(100).min(MAX_LIST);
        let mut q = match filter.state {
            Some(state) => Query::new(GSI3, format!("TICKETS#STATE#{}", state.as_str())),
            None => Query::new(GSI4, "TICKETS"),
        }
        .backward()
        .limit(limit);
        if let Some(repo) = &filter.repo {
            q = q.filter("#repo = :repo", vec![(":repo", s(repo))]);
        }
        decode_all(self.query(q).await?)
    }

    async fn ready_tickets(&self, limit: usize) -> StoreResult<Vec<Ticket>> {
        let q = Query::new(GSI1, "TICKETS#READY").limit(limit.min(MAX_LIST));
        decode_all(self.query(q).await?)
    }

    async fn tickets_by_fingerprint(&self, fingerprint: &str) -> StoreResult<Vec<Ticket>> {
        let q = Query::new(GSI2, format!("TICKETS#FP#{fingerprint}"));
        let mut out = decode_all(self.query(q).await?)?;
        // The index lags a moment behind the table: drop what it still shows
        // of a ticket that was just closed.
        out.retain(Ticket::is_active);
        Ok(out)
    }

    async fn update_ticket(
        &self,
        ticket: &Ticket,
        expected_version: u64,
        event: NewAuditEvent,
    ) -> StoreResult<(Ticket, AuditEvent)> {
        if ticket.version != expected_version + 1 {
            return Err(StoreError::conflict(
                "ticket",
                &ticket.id,
                format!(
                    "a write at version {expected_version} must carry version {}",
                    expected_version + 1
                ),
            ));
        }
        // The state it leaves goes into the audit event, whose hash is sealed
        // before the write: read it (the write is conditional on the version
        // all the same, so this read decides nothing).
        let cur = self
            .read_ticket(&ticket.id)
            .await?
            .ok_or_else(|| StoreError::not_found("ticket", &ticket.id))?;
        if cur.version != expected_version {
            return Err(stale(&ticket.id, expected_version, &cur));
        }
        let put = self.tx_put(
            ticket_item(ticket),
            Some("#version = :expected"),
            vec![(":expected", n(expected_version))],
        )?;
        let event = event_for(ticket, Some(cur.state), event);
        match self
            .append_with(vec![put], event, ticket.updated_at)
            .await?
        {
            Appended::Done(ev) => Ok((ticket.clone(), ev)),
            Appended::Refused(reasons) => match reasons.first().and_then(|r| r.item.as_ref()) {
                Some(item) => Err(stale(&ticket.id, expected_version, &decode(item)?)),
                None => Err(StoreError::not_found("ticket", &ticket.id)),
            },
        }
    }

    async fn count_by_state(&self) -> StoreResult<Vec<(TicketState, u64)>> {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, state) in TicketState::ALL.into_iter().enumerate() {
            let store = self.clone();
            tasks.spawn(async move {
                let q = Query::new(GSI3, format!("TICKETS#STATE#{}", state.as_str()));
                store.count(q).await.map(|c| (i, state, c))
            });
        }
        let mut out = Vec::new();
        while let Some(r) = tasks.join_next().await {
            let (i, state, count) =
                r.map_err(|e| StoreError::backend("dynamodb: a count task failed", e))??;
            if count > 0 {
                out.push((i, state, count));
            }
        }
        out.sort_by_key(|(i, _, _)| *i);
        Ok(out.into_iter().map(|(_, s, c)| (s, c)).collect())
    }
}
