//! Ports: one small async trait per capability. Adapters (SQLite, DynamoDB, SQS,
//! ECS, ...) implement them; roles only ever see `Arc<dyn Port>`. Every method that
//! checks an expiry takes `now` explicitly, so the condition is in the write and
//! tests can use any clock.

use crate::approval::{Approval, Decision};
use crate::audit::{AuditEvent, NewAuditEvent};
use crate::budget::{BudgetAccount, Reservation};
use crate::job::{Job, JobOutcome, Lease, Reaped};
use crate::lock::Lock;
use crate::queue::{DeadLetter, QueueMessage, QueueStats};
use crate::state::TicketState;
use crate::ticket::Ticket;
use crate::{StoreResult, Timestamp};
use async_trait::async_trait;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    pub state: Option<TicketState>,
    pub repo: Option<String>,
    /// Newest first; at most this many (adapters cap it at 1000).
    pub limit: Option<usize>,
}

/// Tickets. Every write is conditional on the version and appends its audit event
/// in the same atomic write (one transaction), so the audit trail cannot miss a change.
#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Stores a new ticket (version 1) with its `created` event. A ticket with the
    /// same id already there is returned as it is, with `false`: intake is idempotent.
    async fn create_ticket(
        &self,
        ticket: &Ticket,
        event: NewAuditEvent,
    ) -> StoreResult<(Ticket, bool)>;
    async fn get_ticket(&self, id: &str) -> StoreResult<Ticket>;
    async fn list_tickets(&self, filter: &TicketFilter) -> StoreResult<Vec<Ticket>>;
    /// The ready queue: tickets in `ready`, highest priority first, then oldest.
    async fn ready_tickets(&self, limit: usize) -> StoreResult<Vec<Ticket>>;
    /// Active (non-terminal) tickets with this fingerprint, oldest first.
    async fn tickets_by_fingerprint(&self, fingerprint: &str) -> StoreResult<Vec<Ticket>>;
    /// Writes `ticket` (its version must be `expected_version + 1`) if the stored
    /// version is still `expected_version`, and appends `event`. Else `Conflict`.
    async fn update_ticket(
        &self,
        ticket: &Ticket,
        expected_version: u64,
        event: NewAuditEvent,
    ) -> StoreResult<(Ticket, AuditEvent)>;
    /// How many tickets are in each state.
    async fn count_by_state(&self) -> StoreResult<Vec<(TicketState, u64)>>;
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub ticket_id: Option<String>,
    pub states: Vec<crate::job::JobState>,
    pub limit: Option<usize>,
}

/// Jobs and their leases.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Inserts a queued job; the same id again returns the stored job (`false`).
    async fn create_job(&self, job: &Job) -> StoreResult<(Job, bool)>;
    async fn get_job(&self, id: &str) -> StoreResult<Job>;
    async fn list_jobs(&self, filter: &JobFilter) -> StoreResult<Vec<Job>>;
    /// Claims the highest-priority, oldest queued job. `None` when none is queued.
    async fn claim_next(
        &self,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Option<(Job, Lease)>>;
    /// Claims this job if it is queued; `Conflict` otherwise.
    async fn claim_job(
        &self,
        id: &str,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<(Job, Lease)>;
    /// Extends a lease still held; `Conflict` when it was lost (requeued, finished).
    async fn heartbeat(
        &self,
        lease: &Lease,
        extend: Duration,
        now: Timestamp,
    ) -> StoreResult<Lease>;
    /// Finishes the job held by `lease`; `Conflict` when the lease was lost. A
    /// repeated call with the same lease and outcome returns the finished job.
    async fn complete_job(
        &self,
        lease: &Lease,
        outcome: &JobOutcome,
        now: Timestamp,
    ) -> StoreResult<Job>;
    /// Records the launcher's handle for the job's current attempt.
    async fn record_launch(
        &self,
        id: &str,
        attempt: u32,
        handle: &str,
        now: Timestamp,
    ) -> StoreResult<Job>;
    /// Ends a queued or running job without a lease (deadline, cancellation).
    async fn finish_job(&self, id: &str, outcome: &JobOutcome, now: Timestamp) -> StoreResult<Job>;
    /// Requeues running jobs whose lease expired before `now` (or fails them on
    /// their last attempt), and fails jobs past their deadline.
    async fn reap_jobs(&self, now: Timestamp) -> StoreResult<Vec<Reaped>>;
    /// Jobs queued or running.
    async fn count_active_jobs(&self) -> StoreResult<u64>;
}

/// Approvals, decided once.
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Stores a pending approval; the same id again returns the stored one.
    async fn request_approval(&self, approval: &Approval) -> StoreResult<Approval>;
    async fn get_approval(&self, id: &str) -> StoreResult<Approval>;
    async fn pending_approvals(&self) -> StoreResult<Vec<Approval>>;
    async fn approvals_for_ticket(&self, ticket_id: &str) -> StoreResult<Vec<Approval>>;
    /// Decides a pending approval. A second decision gets `Conflict`.
    async fn decide(
        &self,
        id: &str,
        decision: Decision,
        by: &str,
        reason: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<Approval>;
}

/// Named locks with expiry checked in the condition.
#[async_trait]
pub trait LockStore: Send + Sync {
    /// Takes the lock, or renews it for the same owner. `Conflict` while another
    /// owner holds an unexpired lock.
    async fn acquire(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> StoreResult<Lock>;
    /// Releases it if `owner` holds it; `false` if it did not.
    async fn release(&self, name: &str, owner: &str) -> StoreResult<bool>;
    /// Deletes locks that expired before `now` (housekeeping only).
    async fn release_expired(&self, now: Timestamp) -> StoreResult<Vec<Lock>>;
    async fn list_locks(&self) -> StoreResult<Vec<Lock>>;
}

/// Per-ticket token budgets.
#[async_trait]
pub trait BudgetLedger: Send + Sync {
    /// Opens (or returns) the ticket's account with this limit.
    async fn open_account(&self, ticket_id: &str, limit: u64) -> StoreResult<BudgetAccount>;
    async fn set_limit(&self, ticket_id: &str, limit: u64) -> StoreResult<BudgetAccount>;
    async fn account(&self, ticket_id: &str) -> StoreResult<BudgetAccount>;
    /// Reserves `amount` if it fits under the limit; `BudgetExhausted` if not.
    /// The same reservation id again returns the existing reservation.
    async fn reserve(
        &self,
        ticket_id: &str,
        reservation_id: &str,
        amount: u64,
        now: Timestamp,
    ) -> StoreResult<Reservation>;
    /// Turns a held reservation into real spending of `actual` tokens. Idempotent.
    async fn commit(&self, reservation_id: &str, actual: u64) -> StoreResult<Reservation>;
    /// Gives a held reservation back. Idempotent; a committed one is left alone.
    async fn release(&self, reservation_id: &str) -> StoreResult<Reservation>;
    async fn reservations(&self, ticket_id: &str) -> StoreResult<Vec<Reservation>>;
    /// Tokens committed across all tickets.
    async fn total_committed(&self) -> StoreResult<u64>;
}

/// The append-only audit log.
#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn append(&self, event: NewAuditEvent, now: Timestamp) -> StoreResult<AuditEvent>;
    async fn events_for_ticket(&self, ticket_id: &str) -> StoreResult<Vec<AuditEvent>>;
    /// Events with `seq > after`, in order, at most `limit`.
    async fn events_after(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEvent>>;
    /// Retention: deletes the oldest events written before `cutoff` (never the
    /// newest event, which carries the chain on) and appends an
    /// [`audit_pruned`](crate::audit::PRUNED) event naming the last one
    /// deleted, in one atomic write. Returns how many were deleted. Nothing
    /// else may ever delete or change an event.
    async fn prune_before(&self, cutoff: Timestamp, now: Timestamp) -> StoreResult<u64>;
}

/// Messages between roles, at least once.
#[async_trait]
pub trait Queue: Send + Sync {
    async fn send(&self, queue: &str, body: &str, delay: Duration) -> StoreResult<String>;
    /// Up to `max` visible messages, hidden for `visibility`. A message received
    /// more than the adapter's receive limit goes to the dead letter queue instead.
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> StoreResult<Vec<QueueMessage>>;
    /// Deletes a received message. Deleting twice is not an error.
    async fn delete(&self, queue: &str, receipt: &str) -> StoreResult<()>;
    /// Makes a received message visible again after `delay`, remembering why.
    async fn release(
        &self,
        queue: &str,
        receipt: &str,
        delay: Duration,
        reason: &str,
    ) -> StoreResult<()>;
    /// Moves a received message to the dead letter queue with its reason.
    async fn dead_letter(&self, queue: &str, receipt: &str, reason: &str) -> StoreResult<()>;
    async fn dead_letters(&self, queue: &str, limit: usize) -> StoreResult<Vec<DeadLetter>>;
    /// Sends dead letters back to their queue; returns how many.
    async fn redrive(&self, queue: &str, limit: usize) -> StoreResult<u64>;
    async fn stats(&self, queue: &str) -> StoreResult<QueueStats>;
}

/// Where a launched job stands, as the launcher sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum LaunchState {
    Pending,
    Running,
    Exited {
        code: i32,
    },
    Stopped {
        reason: String,
    },
    /// The launcher has no record of it (a stale handle).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchRequest {
    pub job_id: String,
    pub attempt: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct LaunchError {
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// Starts the process that runs one job (a Fargate task, a sandboxed child).
#[async_trait]
pub trait JobLauncher: Send + Sync {
    /// Starts the job's worker. Launching the same job and attempt twice returns
    /// the first handle and starts nothing new.
    async fn launch(&self, req: &LaunchRequest) -> Result<String, LaunchError>;
    async fn status(&self, handle: &str) -> Result<LaunchState, LaunchError>;
    async fn stop(&self, handle: &str, reason: &str) -> Result<(), LaunchError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {name} is not set: {hint}")]
    Missing { name: String, hint: String },
    #[error("secret {name} could not be read")]
    Backend {
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Secrets by name (SSM SecureString in AWS; environment or file locally).
#[async_trait]
pub trait Secrets: Send + Sync {
    async fn get(&self, name: &str) -> Result<SecretString, SecretError>;
}

/// One log line as a source gives it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogRecord {
    /// When it was written, if the source knows (CloudWatch does; a file may not).
    pub at: Option<Timestamp>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LogSourceError {
    #[error("log source {source_name} not found")]
    NotFound { source_name: String },
    #[error("log source {source_name} could not be read")]
    Backend {
        source_name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Where the discovery loop reads logs: files locally, CloudWatch Logs in AWS.
#[async_trait]
pub trait LogSource: Send + Sync {
    /// Records of `source` (a file path, a log group name) written at or after
    /// `since` (all, if `None`), oldest first, at most `limit`.
    async fn fetch(
        &self,
        source: &str,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<LogRecord>, LogSourceError>;
}

/// Every store port, as one backend provides them.
#[derive(Clone)]
pub struct Stores {
    pub tickets: Arc<dyn TicketStore>,
    pub jobs: Arc<dyn JobStore>,
    pub approvals: Arc<dyn ApprovalStore>,
    pub locks: Arc<dyn LockStore>,
    pub budget: Arc<dyn BudgetLedger>,
    pub audit: Arc<dyn AuditLog>,
}

impl Stores {
    /// All ports from one adapter that implements them all.
    pub fn from_one<T>(backend: Arc<T>) -> Self
    where
        T: TicketStore + JobStore + ApprovalStore + LockStore + BudgetLedger + AuditLog + 'static,
    {
        Self {
            tickets: backend.clone(),
            jobs: backend.clone(),
            approvals: backend.clone(),
            locks: backend.clone(),
            budget: backend.clone(),
            audit: backend,
        }
    }
}

/// What [`IdempotencyStore::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Free (or an earlier claim's in-progress time ran out): handle it now.
    Acquired,
    /// Someone is handling it: leave it (an SQS handler reports it as a
    /// batch failure, so it comes back if that handling dies).
    InProgress,
    /// Handled before, with this result: do not do it again.
    Done(Option<String>),
}

/// Idempotency records, as Powertools keeps them: a conditional put marks a
/// key in progress until an expiry, completion records the result, and a
/// failed handling releases the key so a redelivery can try again. Expiry is
/// always checked in the condition; a store's TTL only cleans up.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    async fn claim(
        &self,
        key: &str,
        in_progress_for: Duration,
        now: Timestamp,
    ) -> StoreResult<Claim>;
    /// Marks `key` done with `result`, remembered until `keep_until`.
    async fn complete(
        &self,
        key: &str,
        result: Option<&str>,
        keep_until: Timestamp,
    ) -> StoreResult<()>;
    /// Gives an in-progress claim up (the handling failed).
    async fn release(&self, key: &str) -> StoreResult<()>;
}
