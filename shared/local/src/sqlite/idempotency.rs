//! Idempotency records: a claim is one conditional upsert (free, or an
//! in-progress claim whose time ran out), read back in the same write.

use super::{SqliteStore, backend, ms};
use async_trait::async_trait;
use nightshift_core::ports::{Claim, IdempotencyStore};
use nightshift_core::{StoreResult, Timestamp, millis};
use rusqlite::{OptionalExtension, params};
use std::time::Duration;

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim(
        &self,
        key: &str,
        in_progress_for: Duration,
        now: Timestamp,
    ) -> StoreResult<Claim> {
        let key = key.to_string();
        let (now, until) = (millis(now), millis(now) + ms(in_progress_for));
        self.db
            .write(move |tx| {
                let taken = tx
                    .execute(
                        "INSERT INTO idempotency (key, status, in_progress_ms, keep_ms) VALUES (?1, 'in_progress', ?2, ?2)
                         ON CONFLICT (key) DO UPDATE SET status = 'in_progress', in_progress_ms = ?2, keep_ms = ?2, result = NULL
                         WHERE (idempotency.status = 'in_progress' AND idempotency.in_progress_ms <= ?3)
                            OR (idempotency.status = 'done' AND idempotency.keep_ms <= ?3)",
                        params![key, until, now],
                    )
                    .map_err(backend("idempotency claim"))?;
                if taken == 1 {
                    return Ok(Claim::Acquired);
                }
                let (status, result): (String, Option<String>) = tx
                    .query_row("SELECT status, result FROM idempotency WHERE key = ?1", [&key], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                    .map_err(backend("idempotency read"))?
                    .unwrap_or(("in_progress".into(), None));
                Ok(if status == "done" { Claim::Done(result) } else { Claim::InProgress })
            })
            .await
    }

    async fn complete(
        &self,
        key: &str,
        result: Option<&str>,
        keep_until: Timestamp,
    ) -> StoreResult<()> {
        let (key, result, keep) = (
            key.to_string(),
            result.map(str::to_string),
            millis(keep_until),
        );
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO idempotency (key, status, in_progress_ms, keep_ms, result) VALUES (?1, 'done', 0, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET status = 'done', keep_ms = ?2, result = ?3",
                    params![key, keep, result],
                )
                .map_err(backend("idempotency complete"))?;
                Ok(())
            })
            .await
    }

    async fn release(&self, key: &str) -> StoreResult<()> {
        let key = key.to_string();
        self.db
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM idempotency WHERE key = ?1 AND status = 'in_progress'",
                    [key],
                )
                .map_err(backend("idempotency release"))?;
                Ok(())
            })
            .await
    }
}
