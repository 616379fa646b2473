//! Embedded adapters: everything `nightshift up` needs on one machine.
//!
//! # Layout
//! - [`sqlite`]: one SQLite file (WAL) behind every store port and the queue port.
//! - [`forge`]: the local forge: bare repositories on disk, pull requests in the store.
//! - [`launcher`]: jobs as child processes in a sandbox directory.
//! - [`logs`]: log files as a log source for discovery.
//! - [`secrets`]: secrets from the environment or files, never logged.

pub mod bench;
pub mod forge;
pub mod launcher;
pub mod logs;
pub mod secrets;
pub mod sqlite;

pub use forge::LocalForge;
pub use launcher::{Bubblewrap, ProcessLauncher};
pub use logs::FileLogSource;
pub use secrets::EnvSecrets;
pub use sqlite::{Db, SqliteQueue, SqliteStore};
