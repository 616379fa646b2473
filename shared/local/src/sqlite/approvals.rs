//! Approvals: a pending approval is decided once, by a write conditional on
//! `status = 'pending'`.

use super::{SqliteStore, backend, from_json, to_json};
use async_trait::async_trait;
use nightshift_core::approval::{Approval, ApprovalStatus, Decision};
use nightshift_core::ports::ApprovalStore;
use nightshift_core::{StoreError, StoreResult, Timestamp, millis};
use rusqlite::{Connection, OptionalExtension, params};

fn get(conn: &Connection, id: &str) -> StoreResult<Option<Approval>> {
    conn.prepare_cached("SELECT body FROM approvals WHERE id = ?1")
        .map_err(backend("approval get"))?
        .query_row([id], |r| r.get::<_, String>(0))
        .optional()
        .map_err(backend("approval get"))?
        .map(|b| from_json("approval", id, &b))
        .transpose()
}

fn list(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StoreResult<Vec<Approval>> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend("approval list"))?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(backend("approval list"))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, body) = row.map_err(backend("approval row"))?;
        out.push(from_json("approval", &id, &body)?);
    }
    Ok(out)
}

#[async_trait]
impl ApprovalStore for SqliteStore {
    async fn request_approval(&self, approval: &Approval) -> StoreResult<Approval> {
        let a = approval.clone();
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO approvals (id, ticket_id, status, requested_ms, body) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(id) DO NOTHING",
                    params![a.id, a.ticket_id, a.status.as_str(), millis(a.requested_at), to_json(&a)],
                )
                .map_err(backend("approval insert"))?;
                get(tx, &a.id)?.ok_or_else(|| StoreError::not_found("approval", &a.id))
            })
            .await
    }

    async fn get_approval(&self, id: &str) -> StoreResult<Approval> {
        let id = id.to_string();
        self.db
            .read(move |c| get(c, &id)?.ok_or_else(|| StoreError::not_found("approval", &id)))
            .await
    }

    async fn pending_approvals(&self) -> StoreResult<Vec<Approval>> {
        self.db
            .read(|c| {
                list(c, "SELECT id, body FROM approvals WHERE status = 'pending' ORDER BY requested_ms, id", [])
            })
            .await
    }

    async fn approvals_for_ticket(&self, ticket_id: &str) -> StoreResult<Vec<Approval>> {
        let tid = ticket_id.to_string();
        self.db
            .read(move |c| {
                list(
                    c,
                    "SELECT id, body FROM approvals WHERE ticket_id = ?1 ORDER BY requested_ms, id",
                    [tid],
                )
            })
            .await
    }

    async fn decide(
        &self,
        id: &str,
        decision: Decision,
        by: &str,
        reason: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<Approval> {
        let (id, by, reason) = (id.to_string(), by.to_string(), reason.map(str::to_string));
        self.db
            .write(move |tx| {
                let mut a = get(tx, &id)?.ok_or_else(|| StoreError::not_found("approval", &id))?;
                a.status = match decision {
                    Decision::Approve => ApprovalStatus::Approved,
                    Decision::Reject => ApprovalStatus::Rejected,
                };
                a.decided_by = Some(by);
                a.decided_at = Some(now);
                a.reason = reason;
                let n = tx
                    .execute(
                        "UPDATE approvals SET status = ?2, body = ?3 WHERE id = ?1 AND status = 'pending'",
                        params![id, a.status.as_str(), to_json(&a)],
                    )
                    .map_err(backend("approval decide"))?;
                if n == 0 {
                    let cur = get(tx, &id)?.ok_or_else(|| StoreError::not_found("approval", &id))?;
                    return Err(StoreError::conflict(
                        "approval",
                        &id,
                        format!(
                            "already {} by {} at {}",
                            cur.status.as_str(),
                            cur.decided_by.as_deref().unwrap_or("?"),
                            cur.decided_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                        ),
                    ));
                }
                Ok(a)
            })
            .await
    }
}
