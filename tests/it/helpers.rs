//! Shared helpers: each test gets its own temp dir, SQLite file and port.

use nightshift_core::clock::{Clock, SystemClock};
use nightshift_core::ports::Stores;
use nightshift_local::{Db, SqliteQueue, SqliteStore};
use std::sync::Arc;

pub struct Backend {
    pub dir: tempfile::TempDir,
    pub stores: Stores,
    pub queue: Arc<SqliteQueue>,
}

pub fn backend_with(max_receives: u32, clock: Arc<dyn Clock>) -> Backend {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path().join("nightshift.db")).expect("open sqlite");
    let stores = Stores::from_one(Arc::new(SqliteStore::new(db.clone())));
    let queue = Arc::new(SqliteQueue::new(db.clone(), max_receives, clock));
    Backend { dir, stores, queue }
}

pub fn backend() -> Backend {
    backend_with(5, Arc::new(SystemClock))
}
