//! The writer thread: one connection, group commit. Callers send operations over a
//! channel; the thread takes whatever is waiting (up to a batch), runs each in its
//! own savepoint inside one `BEGIN IMMEDIATE` transaction, commits once, then
//! answers each caller. An operation that fails rolls back to its savepoint and
//! leaves the others alone; a failed commit fails them all. One commit for many
//! writes is what keeps claim latency flat under contention.

use super::backend;
use nightshift_core::{StoreError, StoreResult};
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use tokio::sync::oneshot;

const MAX_BATCH: usize = 64;

/// One queued write.
pub(super) trait Op: Send {
    /// Runs the write; `true` if it succeeded (and its savepoint was released).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, commit: Result<(), &StoreError>);
}

struct Typed<T, F> {
    f: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Op for Typed<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> StoreResult<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let f = self.f.take().expect("an op runs once");
        let result = match conn.execute_batch("SAVEPOINT op") {
            Err(e) => Err(backend("savepoint")(e)),
            Ok(()) => {
                let out = catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|_| {
                    Err(StoreError::Backend {
                        message: "a store operation panicked".into(),
                        source: None,
                    })
                });
                // Keep the op's writes only if it succeeded and its savepoint ended
                // cleanly; otherwise undo them, leaving the batch as it was.
                if out.is_ok() && conn.execute_batch("RELEASE op").is_ok() {
                    out
                } else {
                    let undo = conn.execute_batch("ROLLBACK TO op; RELEASE op");
                    match (out, undo) {
                        (Err(e), _) => Err(e),
                        (Ok(_), Ok(())) => Err(StoreError::Backend {
                            message: "could not end the write's savepoint".into(),
                            source: None,
                        }),
                        (Ok(_), Err(e)) => Err(backend("savepoint end")(e)),
                    }
                }
            }
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), &StoreError>) {
        let result = match (self.result, commit) {
            (Some(Ok(_)), Err(e)) => Err(StoreError::Backend {
                message: format!("commit failed: {e}"),
                source: None,
            }),
            (Some(Err(own)), Err(e)) => Err(StoreError::Backend {
                message: format!("{own}; then {e}"),
                source: None,
            }),
            (Some(r), Ok(())) => r,
            (None, Err(e)) => Err(StoreError::Backend {
                message: format!("transaction failed: {e}"),
                source: None,
            }),
            (None, Ok(())) => Err(StoreError::Backend {
                message: "write was never run".into(),
                source: None,
            }),
        };
        let _ = self.reply.send(result);
    }
}

pub(super) fn op<T, F>(f: F) -> (Box<dyn Op>, oneshot::Receiver<StoreResult<T>>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    (
        Box::new(Typed {
            f: Some(f),
            result: None,
            reply: tx,
        }),
        rx,
    )
}

/// The thread's loop; it ends when every sender is gone.
pub(super) fn run(conn: Connection, rx: mpsc::Receiver<Box<dyn Op>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        // A transaction left open by an earlier failure would swallow this batch.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let commit = match conn.execute_batch("BEGIN IMMEDIATE") {
            Err(e) => Err(backend("begin")(e)),
            Ok(()) => {
                let mut aborted = false;
                for op in batch.iter_mut() {
                    op.run(&conn);
                    // SQLite rolls a whole transaction back on some errors (disk
                    // full, I/O), and an op could end it itself: then no write of
                    // this batch may be reported as done.
                    if conn.is_autocommit() {
                        aborted = true;
                        break;
                    }
                }
                if aborted {
                    Err(StoreError::Backend {
                        message: "the transaction was aborted; no write of this batch was kept"
                            .into(),
                        source: None,
                    })
                } else {
                    conn.execute_batch("COMMIT").map_err(|e| {
                        let _ = conn.execute_batch("ROLLBACK");
                        backend("commit")(e)
                    })
                }
            }
        };
        for op in batch {
            op.finish(commit.as_ref().map(|_| ()));
        }
    }
}

/// Checkpoints the WAL every 200 ms without blocking writers (PASSIVE), until the
/// Db is dropped. A final TRUNCATE checkpoint leaves a small WAL behind.
pub(super) fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    let every = std::time::Duration::from_millis(200);
    loop {
        match stop.recv_timeout(every) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "sqlite checkpoint failed; will try again");
                }
            }
            _ => {
                let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
                return;
            }
        }
    }
}
