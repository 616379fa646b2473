//! Errors every store and queue adapter returns. Conflicts are values the roles act
//! on (another writer won); `Backend` keeps the adapter's own error as its source.

use thiserror::Error;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },

    /// A conditional write lost: the version, owner, lease or state was not what
    /// the caller expected. Nothing was written.
    #[error("conflict on {kind} {id}: {reason}")]
    Conflict {
        kind: &'static str,
        id: String,
        reason: String,
    },

    /// A record with this id exists already with different content.
    #[error("{kind} {id} already exists with other content; choose another id")]
    AlreadyExists { kind: &'static str, id: String },

    /// A budget reservation would exceed the ticket's limit. Fail closed.
    #[error(
        "budget exhausted for ticket {ticket_id}: asked {asked} tokens, {available} of {limit} available"
    )]
    BudgetExhausted {
        ticket_id: String,
        asked: u64,
        available: u64,
        limit: u64,
    },

    /// A record read back from the backend did not decode: a bug or a schema change.
    #[error("corrupt {kind} record {id}: {reason}")]
    Corrupt {
        kind: &'static str,
        id: String,
        reason: String,
    },

    /// The backend failed (I/O, network, throttling). Usually worth a retry.
    #[error("store backend failed: {message}")]
    Backend {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl StoreError {
    pub fn conflict(kind: &'static str, id: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Conflict {
            kind,
            id: id.into(),
            reason: reason.into(),
        }
    }
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            id: id.into(),
        }
    }
    pub fn backend(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Backend {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
    /// Whether trying the same call again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Backend { .. } | Self::Conflict { .. })
    }
}
