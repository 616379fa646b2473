//! The budget ledger: each ticket has a token limit; spending is reserved before an
//! LLM call and committed (with the real usage) or released after. Reservations are
//! idempotent by id, so a retried handler never reserves twice.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BudgetAccount {
    pub limit: u64,
    /// Held by open reservations.
    pub reserved: u64,
    /// Really spent.
    pub committed: u64,
}

impl BudgetAccount {
    pub fn available(&self) -> u64 {
        self.limit.saturating_sub(self.reserved + self.committed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservationState {
    Held,
    Committed,
    Released,
}

impl ReservationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Committed => "committed",
            Self::Released => "released",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "held" => Some(Self::Held),
            "committed" => Some(Self::Committed),
            "released" => Some(Self::Released),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reservation {
    pub id: String,
    pub ticket_id: String,
    pub amount: u64,
    pub state: ReservationState,
    /// The real usage, once committed.
    pub actual: Option<u64>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}
