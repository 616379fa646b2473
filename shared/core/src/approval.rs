//! Approvals: a human (or the autonomy thresholds) decides once.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// After the planner: may the builder start on this spec?
    Spec,
    /// After review: may the PR merge?
    Merge,
}

impl ApprovalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spec => "spec",
            Self::Merge => "merge",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "spec" => Some(Self::Spec),
            "merge" => Some(Self::Merge),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    pub id: String,
    pub ticket_id: String,
    pub kind: ApprovalKind,
    pub status: ApprovalStatus,
    /// The ticket version the request was made at: a decision on a ticket that
    /// has moved on since is refused by the role that applies it.
    pub ticket_version: u64,
    pub requested_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: Timestamp,
    pub decided_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Timestamp>,
    pub reason: Option<String>,
}

impl Approval {
    pub fn pending(
        ticket_id: &str,
        kind: ApprovalKind,
        ticket_version: u64,
        requested_by: &str,
        now: Timestamp,
    ) -> Self {
        Self {
            // One approval per ticket, gate and ticket version: asking twice is idempotent.
            id: format!("{ticket_id}-{}-v{ticket_version}", kind.as_str()),
            ticket_id: ticket_id.to_string(),
            kind,
            status: ApprovalStatus::Pending,
            ticket_version,
            requested_by: requested_by.to_string(),
            requested_at: now,
            decided_by: None,
            decided_at: None,
            reason: None,
        }
    }
}
