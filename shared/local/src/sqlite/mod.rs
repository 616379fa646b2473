//! One SQLite file in WAL mode behind every store port and the queue.
//!
//! Writes go through one connection per process, owned by a writer thread that
//! commits them in groups (see [`writer`]); each write runs inside a `BEGIN
//! IMMEDIATE` transaction, so a conditional write's read and write see the same
//! data. Other processes on the same file (the CLI beside `nightshift up`) wait on
//! SQLite's busy timeout. Reads use a small pool of their own connections on
//! tokio's blocking pool and never block the writer.

mod approvals;
mod audit;
mod budget;
mod idempotency;
mod jobs;
mod locks;
mod queue;
mod tickets;
mod writer;

pub use queue::SqliteQueue;

use nightshift_core::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

const SCHEMA: &str = include_str!("schema.sql");
const SCHEMA_VERSION: i64 = 1;
const MAX_IDLE_READERS: usize = 8;

/// The database: a writer connection and a pool of readers.
pub struct Db {
    path: PathBuf,
    writer: mpsc::Sender<Box<dyn writer::Op>>,
    readers: Mutex<Vec<Connection>>,
    /// Dropped with the Db, which ends the checkpoint thread.
    _checkpoint: mpsc::Sender<()>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

fn backend(context: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::backend(format!("sqlite: {context}"), e)
}

fn open_conn(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(backend("open"))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(backend("busy timeout"))?;
    // WAL: readers never block the writer. synchronous=NORMAL: a commit is durable
    // against a process crash; a power cut may lose the last commits, never corrupt.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )
    .map_err(backend("pragmas"))?;
    Ok(conn)
}

impl Db {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Arc<Self>> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::backend(format!("cannot create {}", dir.display()), e))?;
        }
        let mut conn = open_conn(&path)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend("migrate"))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(backend("schema version"))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend {
                message: format!(
                    "{} has schema version {version}, newer than this build's {SCHEMA_VERSION}: upgrade nightshift",
                    path.display()
                ),
                source: None,
            });
        }
        tx.execute_batch(SCHEMA).map_err(backend("create schema"))?;
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(backend("schema version"))?;
        tx.commit().map_err(backend("migrate"))?;
        // Checkpoints (copying the WAL back into the database, with an fsync) run
        // on their own thread, so no commit waits for one.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0")
            .map_err(backend("pragmas"))?;
        let checkpointer = open_conn(&path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || writer::checkpoint_loop(checkpointer, stopped))
            .map_err(|e| StoreError::backend("cannot start the sqlite checkpoint thread", e))?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer::run(conn, rx))
            .map_err(|e| StoreError::backend("cannot start the sqlite writer thread", e))?;
        Ok(Arc::new(Self {
            path,
            writer: tx,
            readers: Mutex::new(Vec::new()),
            _checkpoint: stop,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` inside the writer's transaction (in its own savepoint); its
    /// changes are committed when it returns Ok, and rolled back when it fails.
    pub(crate) async fn write<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (op, reply) = writer::op(f);
        let gone = || StoreError::Backend {
            message: "the sqlite writer thread has stopped".into(),
            source: None,
        };
        self.writer.send(op).map_err(|_| gone())?;
        reply.await.map_err(|_| gone())?
    }

    /// Runs `f` on a reader connection.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let db = Arc::clone(self);
        run_blocking(move || {
            let pooled = db.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match pooled {
                Some(c) => c,
                None => open_conn(&db.path)?,
            };
            let out = f(&conn);
            let mut pool = db.readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < MAX_IDLE_READERS {
                pool.push(conn);
            }
            out
        })
        .await
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::backend("sqlite task panicked or was cancelled", e))?
}

/// The SQLite store: implements every store port over one [`Db`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    db: Arc<Db>,
}

impl SqliteStore {
    pub fn new(db: Arc<Db>) -> Self {
        Self { db }
    }
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Ok(Self::new(Db::open(path)?))
    }
    pub fn db(&self) -> &Arc<Db> {
        &self.db
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain records always serialize")
}

fn from_json<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    id: &str,
    body: &str,
) -> StoreResult<T> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt {
        kind,
        id: id.to_string(),
        reason: e.to_string(),
    })
}

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn count(db: &Arc<Db>) -> Vec<i64> {
        db.read(|c| {
            let mut st = c
                .prepare("SELECT x FROM t ORDER BY x")
                .map_err(backend("t"))?;
            let rows = st.query_map([], |r| r.get(0)).map_err(backend("t"))?;
            rows.collect::<Result<_, _>>().map_err(backend("t"))
        })
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("t.db")).unwrap();
        db.write(|c| {
            c.execute_batch("CREATE TABLE t (x INTEGER)")
                .map_err(backend("t"))
        })
        .await
        .unwrap();
        let insert = |x: i64, fail: bool| {
            let db = db.clone();
            async move {
                db.write(move |c| {
                    c.execute("INSERT INTO t VALUES (?1)", [x])
                        .map_err(backend("t"))?;
                    if fail {
                        return Err(StoreError::conflict("t", x.to_string(), "refused"));
                    }
                    Ok(())
                })
                .await
            }
        };
        // Sent together, so the writer takes them as one batch where it can.
        let (a, b, c) = tokio::join!(insert(1, false), insert(2, true), insert(3, false));
        assert!(a.is_ok() && b.unwrap_err().is_conflict() && c.is_ok());
        assert_eq!(count(&db).await, [1, 3]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_that_ends_the_transaction_is_refused_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("t.db")).unwrap();
        db.write(|c| {
            c.execute_batch("CREATE TABLE t (x INTEGER)")
                .map_err(backend("t"))
        })
        .await
        .unwrap();
        let rogue = db
            .write(|c| {
                c.execute("INSERT INTO t VALUES (1)", [])
                    .map_err(backend("t"))?;
                c.execute_batch("ROLLBACK").map_err(backend("t"))
            })
            .await;
        assert!(
            rogue.is_err(),
            "a write that ends the transaction is not reported as done"
        );
        db.write(|c| {
            c.execute("INSERT INTO t VALUES (2)", [])
                .map(|_| ())
                .map_err(backend("t"))
        })
        .await
        .unwrap();
        assert_eq!(count(&db).await, [2]);
    }
}
