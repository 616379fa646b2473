//! Named locks: acquiring is one upsert whose condition checks owner and expiry.

use super::{SqliteStore, backend, ms};
use async_trait::async_trait;
use nightshift_core::lock::Lock;
use nightshift_core::ports::LockStore;
use nightshift_core::{StoreError, StoreResult, Timestamp, from_millis, millis};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::time::Duration;

fn row(r: &Row<'_>) -> rusqlite::Result<Lock> {
    Ok(Lock {
        name: r.get(0)?,
        owner: r.get(1)?,
        acquired_at: from_millis(r.get(2)?),
        expires_at: from_millis(r.get(3)?),
    })
}

fn get(conn: &Connection, name: &str) -> StoreResult<Option<Lock>> {
    conn.query_row(
        "SELECT name, owner, acquired_ms, expires_ms FROM locks WHERE name = ?1",
        [name],
        row,
    )
    .optional()
    .map_err(backend("lock get"))
}

#[async_trait]
impl LockStore for SqliteStore {
    async fn acquire(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> StoreResult<Lock> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.db
            .write(move |tx| {
                let now_ms = millis(now);
                let n = tx
                    .execute(
                        "INSERT INTO locks (name, owner, acquired_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT(name) DO UPDATE SET
                             owner = excluded.owner,
                             acquired_ms = CASE WHEN locks.owner = excluded.owner THEN locks.acquired_ms ELSE excluded.acquired_ms END,
                             expires_ms = excluded.expires_ms
                         WHERE locks.owner = excluded.owner OR locks.expires_ms <= ?3",
                        params![name, owner, now_ms, now_ms + ms(ttl)],
                    )
                    .map_err(backend("lock acquire"))?;
                let cur = get(tx, &name)?.ok_or_else(|| StoreError::not_found("lock", &name))?;
                if n == 0 {
                    return Err(StoreError::conflict(
                        "lock",
                        &name,
                        format!("held by {} until {}", cur.owner, cur.expires_at.to_rfc3339()),
                    ));
                }
                Ok(cur)
            })
            .await
    }

    async fn release(&self, name: &str, owner: &str) -> StoreResult<bool> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.db
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM locks WHERE name = ?1 AND owner = ?2",
                    params![name, owner],
                )
                .map(|n| n > 0)
                .map_err(backend("lock release"))
            })
            .await
    }

    async fn release_expired(&self, now: Timestamp) -> StoreResult<Vec<Lock>> {
        self.db
            .write(move |tx| {
                let mut stmt = tx
                    .prepare("DELETE FROM locks WHERE expires_ms <= ?1 RETURNING name, owner, acquired_ms, expires_ms")
                    .map_err(backend("lock reap"))?;
                let rows = stmt.query_map([millis(now)], row).map_err(backend("lock reap"))?;
                rows.collect::<Result<_, _>>().map_err(backend("lock reap"))
            })
            .await
    }

    async fn list_locks(&self) -> StoreResult<Vec<Lock>> {
        self.db
            .read(|c| {
                let mut stmt = c
                    .prepare("SELECT name, owner, acquired_ms, expires_ms FROM locks ORDER BY name")
                    .map_err(backend("lock list"))?;
                let rows = stmt.query_map([], row).map_err(backend("lock list"))?;
                rows.collect::<Result<_, _>>().map_err(backend("lock list"))
            })
            .await
    }
}
