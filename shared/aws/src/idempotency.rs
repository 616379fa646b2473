//! Idempotency records in the store's table, as Powertools keeps them: one
//! item per key (`pk = IDEM#<key>`, `sk = IDEM`), claimed by a conditional
//! put that succeeds when the key is free, its in-progress claim has run
//! out, or its done record has expired; the old item comes back with the
//! condition failure (ReturnValuesOnConditionCheckFailure), so no second
//! read is needed. `expires_at` (epoch seconds) lets DynamoDB's TTL clean
//! up; every decision checks the times itself.

use crate::DynamoStore;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use nightshift_core::ports::{Claim, IdempotencyStore};
use nightshift_core::{StoreError, StoreResult, Timestamp};
use std::time::Duration;

fn key(k: &str) -> AttributeValue {
    AttributeValue::S(format!("IDEM#{k}"))
}

fn sk() -> AttributeValue {
    AttributeValue::S("IDEM".into())
}

fn num(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn claim(
        &self,
        k: &str,
        in_progress_for: Duration,
        now: Timestamp,
    ) -> StoreResult<Claim> {
        let now_ms = now.timestamp_millis();
        let until = now_ms + in_progress_for.as_millis() as i64;
        let out = self
            .client()
            .put_item()
            .table_name(self.table())
            .item("pk", key(k))
            .item("sk", sk())
            .item("status", AttributeValue::S("in_progress".into()))
            .item("until_ms", num(until))
            .item("expires_at", num(until / 1000 + 3600))
            .condition_expression("attribute_not_exists(pk) OR until_ms <= :now")
            .expression_attribute_values(":now", num(now_ms))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match out {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) => {
                use aws_sdk_dynamodb::operation::put_item::PutItemError;
                let Some(PutItemError::ConditionalCheckFailedException(c)) = e.as_service_error()
                else {
                    return Err(StoreError::backend("idempotency claim", e));
                };
                let item = c.item().cloned().unwrap_or_default();
                let status = item
                    .get("status")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str);
                Ok(match status {
                    Some("done") => {
                        Claim::Done(item.get("result").and_then(|v| v.as_s().ok()).cloned())
                    }
                    _ => Claim::InProgress,
                })
            }
        }
    }

    async fn complete(
        &self,
        k: &str,
        result: Option<&str>,
        keep_until: Timestamp,
    ) -> StoreResult<()> {
        let mut req = self
            .client()
            .put_item()
            .table_name(self.table())
            .item("pk", key(k))
            .item("sk", sk())
            .item("status", AttributeValue::S("done".into()))
            .item("until_ms", num(keep_until.timestamp_millis()))
            .item("expires_at", num(keep_until.timestamp()));
        if let Some(r) = result {
            req = req.item(
                "result",
                AttributeValue::S(r.chars().take(10_000).collect()),
            );
        }
        req.send()
            .await
            .map_err(|e| StoreError::backend("idempotency complete", e))?;
        Ok(())
    }

    async fn release(&self, k: &str) -> StoreResult<()> {
        match self
            .client()
            .delete_item()
            .table_name(self.table())
            .key("pk", key(k))
            .key("sk", sk())
            .condition_expression("#s = :p")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":p", AttributeValue::S("in_progress".into()))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::backend("idempotency release", e)),
        }
    }
}
