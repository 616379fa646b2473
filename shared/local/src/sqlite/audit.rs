//! The audit log: one global hash chain, appended inside the caller's transaction.

use super::{SqliteStore, backend};
use async_trait::async_trait;
use nightshift_core::audit::{AuditEvent, NewAuditEvent};
use nightshift_core::ports::AuditLog;
use nightshift_core::state::TicketState;
use nightshift_core::{StoreError, StoreResult, Timestamp, from_millis, millis};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// Appends `new` after the current head. The caller's write transaction makes the
/// read of the head and the insert one step.
pub(super) fn append(
    conn: &Connection,
    new: NewAuditEvent,
    now: Timestamp,
) -> StoreResult<AuditEvent> {
    let head: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(backend("audit head"))?;
    let ev = AuditEvent::seal(
        new,
        head.as_ref().map(|(s, h)| (*s as u64, h.as_str())),
        now,
    );
    conn.execute(
        "INSERT INTO audit (seq, at_ms, ticket_id, actor, action, from_state, to_state, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            ev.seq as i64,
            millis(ev.at),
            ev.ticket_id,
            ev.actor,
            ev.action,
            ev.from_state.map(|s| s.as_str()),
            ev.to_state.map(|s| s.as_str()),
            ev.detail.to_string(),
            ev.prev_hash,
            ev.hash,
        ],
    )
    .map_err(backend("audit append"))?;
    Ok(ev)
}

const COLUMNS: &str =
    "seq, at_ms, ticket_id, actor, action, from_state, to_state, detail, prev_hash, hash";

type RawEvent = (
    i64,
    i64,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
);

fn decode(raw: RawEvent) -> StoreResult<AuditEvent> {
    let (seq, at, ticket_id, actor, action, from, to, detail, prev_hash, hash) = raw;
    let corrupt = |reason: String| StoreError::Corrupt {
        kind: "audit event",
        id: seq.to_string(),
        reason,
    };
    let state = |v: Option<String>| {
        v.map(|s| TicketState::parse(&s).ok_or_else(|| corrupt(format!("unknown state {s}"))))
            .transpose()
    };
    Ok(AuditEvent {
        seq: seq as u64,
        at: from_millis(at),
        ticket_id,
        actor,
        action,
        from_state: state(from)?,
        to_state: state(to)?,
        detail: serde_json::from_str(&detail).map_err(|e| corrupt(e.to_string()))?,
        prev_hash,
        hash,
    })
}

fn query(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<AuditEvent>> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend("audit query"))?;
    let rows = stmt
        .query_map(params, |r: &Row<'_>| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })
        .map_err(backend("audit query"))?;
    rows.map(|r| decode(r.map_err(backend("audit row"))?))
        .collect()
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append(&self, event: NewAuditEvent, now: Timestamp) -> StoreResult<AuditEvent> {
        self.db.write(move |tx| append(tx, event, now)).await
    }

    async fn events_for_ticket(&self, ticket_id: &str) -> StoreResult<Vec<AuditEvent>> {
        let id = ticket_id.to_string();
        self.db
            .read(move |c| {
                query(
                    c,
                    &format!("SELECT {COLUMNS} FROM audit WHERE ticket_id = ?1 ORDER BY seq"),
                    [id],
                )
            })
            .await
    }

    async fn prune_before(&self, cutoff: Timestamp, now: Timestamp) -> StoreResult<u64> {
        self.db
            .write(move |tx| {
                let through: Option<(i64, String)> = tx
                    .query_row(
                        "SELECT seq, hash FROM audit
                         WHERE at_ms < ?1 AND seq < (SELECT MAX(seq) FROM audit)
                         ORDER BY seq DESC LIMIT 1",
                        [millis(cutoff)],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(backend("audit prune"))?;
                let Some((seq, hash)) = through else {
                    return Ok(0);
                };
                tx.execute(
                    "INSERT OR IGNORE INTO audit_prunes (through_seq, at_ms) VALUES (?1, ?2)",
                    params![seq, millis(now)],
                )
                .map_err(backend("audit prune record"))?;
                let n = tx
                    .execute("DELETE FROM audit WHERE seq <= ?1", [seq])
                    .map_err(backend("audit prune"))?;
                let ev = NewAuditEvent::new("reaper", nightshift_core::audit::PRUNED).detail(
                    serde_json::json!({ "through_seq": seq, "through_hash": hash, "deleted": n, "cutoff": cutoff }),
                );
                append(tx, ev, now)?;
                Ok(n as u64)
            })
            .await
    }

    async fn events_after(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        self.db
            .read(move |c| {
                query(
                    c,
                    &format!("SELECT {COLUMNS} FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
                    params![after as i64, limit as i64],
                )
            })
            .await
    }
}
