//! Queue records: messages between roles (SQS in AWS, a SQLite table locally).

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The queues the roles talk through.
pub mod names {
    pub const TRIAGE: &str = "triage";
    pub const PLAN: &str = "plan";
    pub const DISPATCH: &str = "dispatch";
    pub const REVIEW: &str = "review";
    pub const JOB_EVENTS: &str = "job-events";
    pub const ALL: [&str; 5] = [TRIAGE, PLAN, DISPATCH, REVIEW, JOB_EVENTS];
}

/// A received message. The receipt proves this receive; it changes on every receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMessage {
    pub id: String,
    pub body: String,
    pub receipt: String,
    /// 1 on the first delivery.
    pub receive_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeadLetter {
    pub id: String,
    pub queue: String,
    pub body: String,
    /// Why it was given up on: the handler's words, or the receive limit.
    pub reason: String,
    pub receive_count: u32,
    #[schema(value_type = String, format = DateTime)]
    pub dead_at: Timestamp,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QueueStats {
    /// Ready to be received now.
    pub visible: u64,
    /// Received and not yet deleted, or delayed.
    pub in_flight: u64,
    /// In the dead letter queue.
    pub dead: u64,
}
