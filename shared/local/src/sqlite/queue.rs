//! The queue port on SQLite, with SQS's semantics: a received message is hidden
//! for its visibility timeout, reappears if not deleted, and goes to the dead
//! letter queue once it has been received `max_receives` times.

use super::{Db, backend, ms};
use async_trait::async_trait;
use nightshift_core::clock::Clock;
use nightshift_core::ports::Queue;
use nightshift_core::queue::{DeadLetter, QueueMessage, QueueStats};
use nightshift_core::{StoreError, StoreResult, from_millis, millis};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct SqliteQueue {
    db: Arc<Db>,
    max_receives: u32,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SqliteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteQueue")
            .field("db", &self.db)
            .field("max_receives", &self.max_receives)
            .finish()
    }
}

impl SqliteQueue {
    pub fn new(db: Arc<Db>, max_receives: u32, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            max_receives: max_receives.max(1),
            clock,
        }
    }
}

struct Row {
    id: String,
    body: String,
    receive_count: u32,
    last_error: Option<String>,
}

fn by_receipt(conn: &Connection, queue: &str, receipt: &str) -> StoreResult<Option<Row>> {
    conn.query_row(
        "SELECT id, body, receive_count, last_error FROM messages WHERE queue = ?1 AND receipt = ?2",
        params![queue, receipt],
        |r| Ok(Row { id: r.get(0)?, body: r.get(1)?, receive_count: r.get(2)?, last_error: r.get(3)? }),
    )
    .optional()
    .map_err(backend("queue lookup"))
}

fn stale(queue: &str, receipt: &str) -> StoreError {
    StoreError::conflict(
        "message receipt",
        receipt,
        format!(
            "no message in {queue} holds this receipt: it was deleted, or its visibility timed out and it was received again"
        ),
    )
}

fn bury(conn: &Connection, queue: &str, row: &Row, reason: &str, now_ms: i64) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO dead_letters (id, queue, body, reason, receive_count, dead_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO NOTHING",
        params![row.id, queue, row.body, reason, row.receive_count, now_ms],
    )
    .map_err(backend("queue dead letter"))?;
    conn.execute("DELETE FROM messages WHERE id = ?1", [&row.id])
        .map_err(backend("queue dead letter"))?;
    Ok(())
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send(&self, queue: &str, body: &str, delay: Duration) -> StoreResult<String> {
        let (queue, body) = (queue.to_string(), body.to_string());
        let now = millis(self.clock.now());
        self.db
            .write(move |tx| {
                let id = ulid::Ulid::new().to_string();
                tx.prepare_cached(
                    "INSERT INTO messages (id, queue, body, visible_ms, sent_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(backend("queue send"))?
                .execute(params![id, queue, body, now + ms(delay), now])
                .map_err(backend("queue send"))?;
                Ok(id)
            })
            .await
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> StoreResult<Vec<QueueMessage>> {
        let queue = queue.to_string();
        let now = millis(self.clock.now());
        let limit = self.max_receives;
        self.db
            .write(move |tx| {
                let mut out = Vec::new();
                // Messages over the receive limit are moved aside as they come up,
                // so a poison message never blocks the ones behind it.
                while out.len() < max {
                    let want = (max - out.len()) as i64;
                    let rows: Vec<Row> = {
                        let mut stmt = tx
                            .prepare_cached(
                                "SELECT id, body, receive_count, last_error FROM messages
                                 WHERE queue = ?1 AND visible_ms <= ?2 ORDER BY visible_ms, seq LIMIT ?3",
                            )
                            .map_err(backend("queue receive"))?;
                        let rows = stmt
                            .query_map(params![queue, now, want], |r| {
                                Ok(Row { id: r.get(0)?, body: r.get(1)?, receive_count: r.get(2)?, last_error: r.get(3)? })
                            })
                            .map_err(backend("queue receive"))?;
                        rows.collect::<Result<_, _>>().map_err(backend("queue receive"))?
                    };
                    if rows.is_empty() {
                        break;
                    }
                    for row in rows {
                        if row.receive_count >= limit {
                            let reason = format!(
                                "received {} times without being deleted (limit {limit}); last error: {}",
                                row.receive_count,
                                row.last_error.as_deref().unwrap_or("none recorded (the handler timed out or crashed)")
                            );
                            bury(tx, &queue, &row, &reason, now)?;
                            continue;
                        }
                        let receipt = ulid::Ulid::new().to_string();
                        tx.prepare_cached(
                            "UPDATE messages SET receive_count = receive_count + 1, receipt = ?2, visible_ms = ?3 WHERE id = ?1",
                        )
                        .map_err(backend("queue receive"))?
                        .execute(params![row.id, receipt, now + ms(visibility)])
                        .map_err(backend("queue receive"))?;
                        out.push(QueueMessage { id: row.id, body: row.body, receipt, receive_count: row.receive_count + 1 });
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn delete(&self, queue: &str, receipt: &str) -> StoreResult<()> {
        let (queue, receipt) = (queue.to_string(), receipt.to_string());
        self.db
            .write(move |tx| {
                tx.prepare_cached("DELETE FROM messages WHERE queue = ?1 AND receipt = ?2")
                    .map_err(backend("queue delete"))?
                    .execute(params![queue, receipt])
                    .map_err(backend("queue delete"))?;
                Ok(())
            })
            .await
    }

    async fn release(
        &self,
        queue: &str,
        receipt: &str,
        delay: Duration,
        reason: &str,
    ) -> StoreResult<()> {
        let (queue, receipt, reason) = (queue.to_string(), receipt.to_string(), reason.to_string());
        let now = millis(self.clock.now());
        self.db
            .write(move |tx| {
                let n = tx
                    .execute(
                        "UPDATE messages SET visible_ms = ?3, last_error = ?4 WHERE queue = ?1 AND receipt = ?2",
                        params![queue, receipt, now + ms(delay), reason],
                    )
                    .map_err(backend("queue release"))?;
                if n == 0 {
                    return Err(stale(&queue, &receipt));
                }
                Ok(())
            })
            .await
    }

    async fn dead_letter(&self, queue: &str, receipt: &str, reason: &str) -> StoreResult<()> {
        let (queue, receipt, reason) = (queue.to_string(), receipt.to_string(), reason.to_string());
        let now = millis(self.clock.now());
        self.db
            .write(move |tx| {
                let row =
                    by_receipt(tx, &queue, &receipt)?.ok_or_else(|| stale(&queue, &receipt))?;
                bury(tx, &queue, &row, &reason, now)
            })
            .await
    }

    async fn dead_letters(&self, queue: &str, limit: usize) -> StoreResult<Vec<DeadLetter>> {
        let queue = queue.to_string();
        self.db
            .read(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT id, queue, body, reason, receive_count, dead_ms FROM dead_letters
                         WHERE queue = ?1 ORDER BY seq LIMIT ?2",
                    )
                    .map_err(backend("queue dead letters"))?;
                let rows = stmt
                    .query_map(params![queue, limit.min(1000) as i64], |r| {
                        Ok(DeadLetter {
                            id: r.get(0)?,
                            queue: r.get(1)?,
                            body: r.get(2)?,
                            reason: r.get(3)?,
                            receive_count: r.get(4)?,
                            dead_at: from_millis(r.get(5)?),
                        })
                    })
                    .map_err(backend("queue dead letters"))?;
                rows.collect::<Result<_, _>>()
                    .map_err(backend("queue dead letters"))
            })
            .await
    }

    async fn redrive(&self, queue: &str, limit: usize) -> StoreResult<u64> {
        let queue = queue.to_string();
        let now = millis(self.clock.now());
        self.db
            .write(move |tx| {
                let n = tx
                    .execute(
                        "INSERT INTO messages (id, queue, body, visible_ms, sent_ms)
                         SELECT id, queue, body, ?2, ?2 FROM dead_letters WHERE queue = ?1 ORDER BY seq LIMIT ?3",
                        params![queue, now, limit as i64],
                    )
                    .map_err(backend("queue redrive"))?;
                tx.execute(
                    "DELETE FROM dead_letters WHERE id IN (SELECT id FROM messages WHERE queue = ?1)",
                    [&queue],
                )
                .map_err(backend("queue redrive"))?;
                Ok(n as u64)
            })
            .await
    }

    async fn stats(&self, queue: &str) -> StoreResult<QueueStats> {
        let queue = queue.to_string();
        let now = millis(self.clock.now());
        self.db
            .read(move |c| {
                c.query_row(
                    "SELECT
                        (SELECT COUNT(*) FROM messages WHERE queue = ?1 AND visible_ms <= ?2),
                        (SELECT COUNT(*) FROM messages WHERE queue = ?1 AND visible_ms > ?2),
                        (SELECT COUNT(*) FROM dead_letters WHERE queue = ?1)",
                    params![queue, now],
                    |r| {
                        Ok(QueueStats {
                            visible: r.get::<_, i64>(0)? as u64,
                            in_flight: r.get::<_, i64>(1)? as u64,
                            dead: r.get::<_, i64>(2)? as u64,
                        })
                    },
                )
                .map_err(backend("queue stats"))
            })
            .await
    }
}
