//! Tickets: conditional on the version column, each write with its audit event.

use super::{SqliteStore, audit, backend, from_json, to_json};
use async_trait::async_trait;
use nightshift_core::audit::{AuditEvent, NewAuditEvent};
use nightshift_core::ports::{TicketFilter, TicketStore};
use nightshift_core::state::TicketState;
use nightshift_core::ticket::Ticket;
use nightshift_core::{StoreError, StoreResult, millis};
use rusqlite::{Connection, OptionalExtension, params};

const MAX_LIST: usize = 1000;

fn get(conn: &Connection, id: &str) -> StoreResult<Option<Ticket>> {
    conn.prepare_cached("SELECT body FROM tickets WHERE id = ?1")
        .map_err(backend("ticket get"))?
        .query_row([id], |r| r.get::<_, String>(0))
        .optional()
        .map_err(backend("ticket get"))?
        .map(|b| from_json("ticket", id, &b))
        .transpose()
}

fn bodies(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StoreResult<Vec<Ticket>> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend("ticket query"))?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(backend("ticket query"))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, body) = row.map_err(backend("ticket row"))?;
        out.push(from_json("ticket", &id, &body)?);
    }
    Ok(out)
}

/// The audit event for a ticket write, with the ticket's id and states filled in.
fn event_for(ticket: &Ticket, from: Option<TicketState>, mut ev: NewAuditEvent) -> NewAuditEvent {
    ev.ticket_id = Some(ticket.id.clone());
    ev.from_state = ev.from_state.or(from);
    ev.to_state = ev.to_state.or(Some(ticket.state));
    ev
}

#[async_trait]
impl TicketStore for SqliteStore {
    async fn create_ticket(
        &self,
        ticket: &Ticket,
        event: NewAuditEvent,
    ) -> StoreResult<(Ticket, bool)> {
        let t = ticket.clone();
        self.db
            .write(move |tx| {
                let inserted = tx
                    .execute(
                        "INSERT INTO tickets (id, state, priority, repo, fingerprint, version, created_ms, body)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO NOTHING",
                        params![
                            t.id,
                            t.state.as_str(),
                            t.priority.rank(),
                            t.context.repo,
                            t.fingerprint,
                            t.version as i64,
                            millis(t.created_at),
                            to_json(&t),
                        ],
                    )
                    .map_err(backend("ticket insert"))?;
                if inserted == 0 {
                    let existing = get(tx, &t.id)?.ok_or_else(|| StoreError::not_found("ticket", &t.id))?;
                    return Ok((existing, false));
                }
                audit::append(tx, event_for(&t, None, event), t.created_at)?;
                Ok((t, true))
            })
            .await
    }

    async fn get_ticket(&self, id: &str) -> StoreResult<Ticket> {
        let id = id.to_string();
        self.db
            .read(move |c| get(c, &id)?.ok_or_else(|| StoreError::not_found("ticket", &id)))
            .await
    }

    async fn list_tickets(&self, filter: &TicketFilter) -> StoreResult<Vec<Ticket>> {
        let f = filter.clone();
        let limit = f.limit.unwrap_or(100).min(MAX_LIST) as i64;
        self.db
            .read(move |c| {
                bodies(
                    c,
                    "SELECT id, body FROM tickets
                     WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR repo = ?2)
                     ORDER BY created_ms DESC, id DESC LIMIT ?3",
                    params![f.state.map(|s| s.as_str()), f.repo, limit],
                )
            })
            .await
    }

    async fn ready_tickets(&self, limit: usize) -> StoreResult<Vec<Ticket>> {
        let limit = limit.min(MAX_LIST) as i64;
        self.db
            .read(move |c| {
                bodies(
                    c,
                    "SELECT id, body FROM tickets WHERE state = 'ready'
                     ORDER BY priority DESC, created_ms, id LIMIT ?1",
                    [limit],
                )
            })
            .await
    }

    async fn tickets_by_fingerprint(&self, fingerprint: &str) -> StoreResult<Vec<Ticket>> {
        let fp = fingerprint.to_string();
        self.db
            .read(move |c| {
                bodies(
                    c,
                    "SELECT id, body FROM tickets
                     WHERE fingerprint = ?1 AND state NOT IN ('merged', 'closed')
                     ORDER BY created_ms, id",
                    [fp],
                )
            })
            .await
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
        let t = ticket.clone();
        self.db
            .write(move |tx| {
                let from: Option<String> = tx
                    .query_row("SELECT state FROM tickets WHERE id = ?1 AND version = ?2", params![t.id, expected_version as i64], |r| r.get(0))
                    .optional()
                    .map_err(backend("ticket read"))?;
                let Some(from) = from else {
                    return match get(tx, &t.id)? {
                        Some(cur) => Err(StoreError::conflict(
                            "ticket",
                            &t.id,
                            format!("expected version {expected_version}, found {} (state {})", cur.version, cur.state),
                        )),
                        None => Err(StoreError::not_found("ticket", &t.id)),
                    };
                };
                tx.execute(
                    "UPDATE tickets SET state = ?2, priority = ?3, repo = ?4, fingerprint = ?5, version = ?6, body = ?7
                     WHERE id = ?1 AND version = ?8",
                    params![
                        t.id,
                        t.state.as_str(),
                        t.priority.rank(),
                        t.context.repo,
                        t.fingerprint,
                        t.version as i64,
                        to_json(&t),
                        expected_version as i64,
                    ],
                )
                .map_err(backend("ticket update"))?;
                let ev = audit::append(tx, event_for(&t, TicketState::parse(&from), event), t.updated_at)?;
                Ok((t, ev))
            })
            .await
    }

    async fn count_by_state(&self) -> StoreResult<Vec<(TicketState, u64)>> {
        self.db
            .read(|c| {
                let mut stmt = c
                    .prepare_cached("SELECT state, COUNT(*) FROM tickets GROUP BY state")
                    .map_err(backend("ticket counts"))?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(backend("ticket counts"))?;
                let mut out = Vec::new();
                for row in rows {
                    let (s, n) = row.map_err(backend("ticket counts"))?;
                    if let Some(s) = TicketState::parse(&s) {
                        out.push((s, n as u64));
                    }
                }
                out.sort_by_key(|(s, _)| TicketState::ALL.iter().position(|x| x == s));
                Ok(out)
            })
            .await
    }
}
