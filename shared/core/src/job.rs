//! Jobs: units of work a worker claims with a lease (a builder session, a review
//! round, a janitor run). Claims and completions are conditional on the lease token,
//! so a worker that lost its lease can never complete the job twice.

use crate::Timestamp;
use crate::ticket::Priority;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// The builder's coding session for a ticket.
    Build,
    /// The builder answering review comments on its own branch.
    AddressReview,
    /// The reviewer's gates and critique of a ticket's pull request.
    Review,
    /// The weekly dependency janitor for one repository.
    Janitor,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Build => "build",
            Self::AddressReview => "address_review",
            Self::Review => "review",
            Self::Janitor => "janitor",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker (new, or requeued after a lost lease).
    Queued,
    /// A worker holds the lease.
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Running,
            Self::Succeeded,
            Self::Failed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Job {
    pub id: String,
    pub ticket_id: Option<String>,
    pub kind: JobKind,
    pub priority: Priority,
    pub state: JobState,
    /// 1 for the first run; each requeue after a lost lease adds one.
    pub attempt: u32,
    pub max_attempts: u32,
    pub lease_owner: Option<String>,
    /// Changes with every claim; heartbeats and completion must present it.
    pub lease_token: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub lease_until: Option<Timestamp>,
    /// Past this the reaper fails the job, lease or not.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deadline: Option<Timestamp>,
    /// The launcher's handle for the current attempt (a pid, an ECS task ARN).
    pub launch_handle: Option<String>,
    /// The attempt the handle belongs to; a requeued job needs a new launch.
    pub launched_attempt: Option<u32>,
    pub reason: Option<String>,
    pub tokens_used: u64,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl Job {
    pub fn new(
        id: String,
        ticket_id: Option<String>,
        kind: JobKind,
        priority: Priority,
        max_attempts: u32,
        deadline: Option<Timestamp>,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            ticket_id,
            kind,
            priority,
            state: JobState::Queued,
            attempt: 1,
            max_attempts,
            lease_owner: None,
            lease_token: None,
            lease_until: None,
            deadline,
            launch_handle: None,
            launched_attempt: None,
            reason: None,
            tokens_used: 0,
            payload: serde_json::Value::Null,
            created_at: now,
            updated_at: now,
        }
    }

    /// Queued and not yet launched for its current attempt.
    pub fn needs_launch(&self) -> bool {
        self.state == JobState::Queued && self.launched_attempt != Some(self.attempt)
    }
}

/// Proof of a claim: what heartbeats and completion present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub job_id: String,
    pub owner: String,
    pub token: String,
    pub until: Timestamp,
}

/// How a job ended, as its worker reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutcome {
    pub state: JobState,
    pub reason: Option<String>,
    pub tokens_used: u64,
}

impl JobOutcome {
    pub fn failed(reason: impl Into<String>, tokens_used: u64) -> Self {
        Self {
            state: JobState::Failed,
            reason: Some(reason.into()),
            tokens_used,
        }
    }
    pub fn succeeded(reason: impl Into<String>, tokens_used: u64) -> Self {
        Self {
            state: JobState::Succeeded,
            reason: Some(reason.into()),
            tokens_used,
        }
    }
}

/// What the reaper did to one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reaped {
    /// The lease expired; the job is queued again as attempt `attempt`.
    Requeued { job: Job },
    /// The lease expired on the last attempt, or the deadline passed.
    Failed { job: Job },
}
