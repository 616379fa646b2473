//! Nightshift's core: the domain, the ticket state machine, the ports that adapters
//! implement, typed settings and errors. This crate does no I/O; every adapter
//! (SQLite, DynamoDB, ...) and every role depends on it, never the other way round.
//!
//! # Layout
//! - [`ticket`]: the standard ticket interface and its validation.
//! - [`state`]: the ticket state machine, one table of legal transitions.
//! - [`job`], [`approval`], [`lock`], [`budget`], [`audit`]: the other records.
//! - [`forge`]: the forge port (repositories and pull requests).
//! - [`llm`]: the LLM port (chat with tools) and its errors.
//! - [`ports`]: one small async trait per capability, passed as `Arc<dyn ...>`.
//! - [`schedule`]: EventBridge-style schedule expressions and the schedule list.
//! - [`settings`]: typed settings (defaults; loading lives at the edges).
//! - [`error`]: the errors ports return.

pub mod approval;
pub mod audit;
pub mod budget;
pub mod clock;
pub mod error;
pub mod forge;
pub mod governance;
pub mod job;
pub mod llm;
pub mod lock;
pub mod markdown;
pub mod ports;
pub mod queue;
pub mod schedule;
pub mod settings;
pub mod state;
pub mod ticket;

pub use error::{StoreError, StoreResult};

/// Instants are UTC; adapters store them as milliseconds since the epoch.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// Milliseconds since the epoch, the form adapters store and compare.
pub fn millis(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

/// The inverse of [`millis`]; out-of-range values clamp to the epoch.
pub fn from_millis(ms: i64) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A new sortable identifier (ULID), lowercase, with a short type prefix.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new().to_string().to_lowercase())
}
