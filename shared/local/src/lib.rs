//! Embedded adapters: everything `nightshift up` needs on one machine.
//!
//! # Layout
//! - [`sqlite`]: one SQLite file (WAL) behind every store port and the queue port.
//! - [`launcher`]: jobs as child processes in a sandbox directory.
//! - [`secrets`]: secrets from the environment or files, never logged.

pub mod bench;
pub mod launcher;
pub mod secrets;
pub mod sqlite;

pub use launcher::ProcessLauncher;
pub use secrets::EnvSecrets;
pub use sqlite::{Db, SqliteQueue, SqliteStore};
