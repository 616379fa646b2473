//! Named locks with an owner and an expiry. Acquiring checks the expiry in the
//! write's condition; the reaper's clean-up is only housekeeping.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lock {
    pub name: String,
    pub owner: String,
    #[schema(value_type = String, format = DateTime)]
    pub acquired_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}
