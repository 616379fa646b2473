//! Approvals: requested once per id (`attribute_not_exists`), decided once (a
//! write conditional on `status = pending`; the loser's failed condition
//! returns the decision that won, for its `Conflict`).

use super::table::{GSI1, GSI2, ord};
use super::{DynamoStore, Item, Query, body, s, to_json};
use async_trait::async_trait;
use nightshift_core::approval::{Approval, ApprovalStatus, Decision};
use nightshift_core::ports::ApprovalStore;
use nightshift_core::{StoreError, StoreResult, Timestamp, millis};
use std::collections::HashMap;

const SK: &str = "APPROVAL";

fn pk(id: &str) -> String {
    format!("APPROVAL#{id}")
}

fn approval_item(a: &Approval) -> Item {
    let by_time = format!("{}#{}", ord(millis(a.requested_at)), a.id);
    let mut item = HashMap::from([
        ("pk".to_string(), s(pk(&a.id))),
        ("sk".to_string(), s(SK)),
        ("id".to_string(), s(&a.id)),
        ("ticket_id".to_string(), s(&a.ticket_id)),
        ("status".to_string(), s(a.status.as_str())),
        ("body".to_string(), s(to_json(a))),
        (
            GSI2.pk.to_string(),
            s(format!("APPROVALS#TICKET#{}", a.ticket_id)),
        ),
        (GSI2.sk.to_string(), s(by_time.clone())),
    ]);
    if a.status == ApprovalStatus::Pending {
        item.insert(GSI1.pk.into(), s("APPROVALS#PENDING"));
        item.insert(GSI1.sk.into(), s(by_time));
    }
    item
}

fn decode(item: &Item) -> StoreResult<Approval> {
    body("approval", item)
}

fn already(id: &str, cur: &Approval) -> StoreError {
    StoreError::conflict(
        "approval",
        id,
        format!(
            "already {} by {} at {}",
            cur.status.as_str(),
            cur.decided_by.as_deref().unwrap_or("?"),
            cur.decided_at.map(|t| t.to_rfc3339()).unwrap_or_default()
        ),
    )
}

impl DynamoStore {
    async fn read_approval(&self, id: &str) -> StoreResult<Approval> {
        match self.get(&pk(id), SK).await? {
            Some(item) => decode(&item),
            None => Err(StoreError::not_found("approval", id)),
        }
    }
}

#[async_trait]
impl ApprovalStore for DynamoStore {
    async fn request_approval(&self, approval: &Approval) -> StoreResult<Approval> {
        match self
            .put(
                approval_item(approval),
                Some("attribute_not_exists(#pk)"),
                vec![],
            )
            .await?
        {
            Ok(()) => Ok(approval.clone()),
            Err(Some(old)) => decode(&old),
            Err(None) => self.read_approval(&approval.id).await,
        }
    }

    async fn get_approval(&self, id: &str) -> StoreResult<Approval> {
        self.read_approval(id).await
    }

    async fn pending_approvals(&self) -> StoreResult<Vec<Approval>> {
        self.query(Query::new(GSI1, "APPROVALS#PENDING"))
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    async fn approvals_for_ticket(&self, ticket_id: &str) -> StoreResult<Vec<Approval>> {
        self.query(Query::new(GSI2, format!("APPROVALS#TICKET#{ticket_id}")))
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    async fn decide(
        &self,
        id: &str,
        decision: Decision,
        by: &str,
        reason: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<Approval> {
        let mut a = self.read_approval(id).await?;
        if a.status != ApprovalStatus::Pending {
            return Err(already(id, &a));
        }
        a.status = match decision {
            Decision::Approve => ApprovalStatus::Approved,
            Decision::Reject => ApprovalStatus::Rejected,
        };
        a.decided_by = Some(by.to_string());
        a.decided_at = Some(now);
        a.reason = reason.map(str::to_string);
        match self
            .put(
                approval_item(&a),
                Some("#status = :pending"),
                vec![(":pending", s(ApprovalStatus::Pending.as_str()))],
            )
            .await?
        {
            Ok(()) => Ok(a),
            Err(Some(old)) => Err(already(id, &decode(&old)?)),
            Err(None) => Err(StoreError::not_found("approval", id)),
        }
    }
}
