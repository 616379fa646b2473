//! The DynamoDB store: every store port over one table (single-table design).
//!
//! The table's keys, indexes and TTL attribute are documented in [`table`];
//! template.yaml creates exactly that. How each port keeps its promises:
//!
//! - every check is in the write's condition expression (versions, lease tokens
//!   via a per-item revision, owners, expiries, budget headroom). Where a write
//!   needs data first (a ticket's current state for its audit event, a
//!   reservation's amount), the read may refuse early but never decides alone;
//!   where a failed condition needs the current item for its error or its next
//!   attempt, `ReturnValuesOnConditionCheckFailure = ALL_OLD` returns it without
//!   a second read;
//! - two items that change together change in one `TransactWriteItems`: a
//!   ticket and its audit event and the chain head; a reservation and its
//!   account (and the all-tickets total on commit); a prune's deletions and
//!   its `audit_pruned` event;
//! - queues and timers are sparse global secondary indexes (eventually
//!   consistent): a query only proposes candidates, and the conditional write on
//!   the base table decides.

mod approvals;
mod audit;
mod budget;
mod jobs;
mod locks;
pub mod table;
mod tickets;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, Select,
    TransactWriteItem, Update,
};
use nightshift_core::{StoreError, StoreResult};
use std::collections::HashMap;
use std::time::Duration;
use table::Index;

pub(crate) type Item = HashMap<String, AttributeValue>;
/// Values for `:placeholders` in an expression.
pub(crate) type Values = Vec<(&'static str, AttributeValue)>;

/// The DynamoDB adapter for [`TicketStore`](nightshift_core::ports::TicketStore),
/// [`JobStore`](nightshift_core::ports::JobStore),
/// [`ApprovalStore`](nightshift_core::ports::ApprovalStore),
/// [`LockStore`](nightshift_core::ports::LockStore),
/// [`BudgetLedger`](nightshift_core::ports::BudgetLedger) and
/// [`AuditLog`](nightshift_core::ports::AuditLog), over one table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

/// Maps an SDK error to `Backend`, keeping it as the source.
pub(crate) fn sdk<E, R>(context: &'static str) -> impl FnOnce(SdkError<E, R>) -> StoreError
where
    SdkError<E, R>: std::error::Error + Send + Sync + 'static,
{
    move |e| StoreError::backend(format!("dynamodb: {context}"), e)
}

fn built<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> StoreResult<T> {
    r.map_err(|e| StoreError::backend("dynamodb: building a request", e))
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(crate) fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub(crate) fn corrupt(kind: &'static str, item: &Item, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        kind,
        id: format!(
            "{}/{}",
            get_s(item, "pk").unwrap_or("?"),
            get_s(item, "sk").unwrap_or("?")
        ),
        reason: reason.into(),
    }
}

/// A number attribute the item must have.
pub(crate) fn need_n<T: std::str::FromStr>(
    kind: &'static str,
    item: &Item,
    name: &str,
) -> StoreResult<T> {
    get_n(item, name).ok_or_else(|| corrupt(kind, item, format!("no number attribute {name}")))
}

/// A string attribute the item must have.
pub(crate) fn need_s<'a>(kind: &'static str, item: &'a Item, name: &str) -> StoreResult<&'a str> {
    get_s(item, name).ok_or_else(|| corrupt(kind, item, format!("no string attribute {name}")))
}

/// The record kept as JSON in `body`.
pub(crate) fn body<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    item: &Item,
) -> StoreResult<T> {
    let raw = need_s(kind, item, "body")?;
    serde_json::from_str(raw).map_err(|e| corrupt(kind, item, e.to_string()))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain records always serialize")
}

/// `#name` placeholders stand for the attribute `name`: every attribute in an
/// expression is written that way (many plain names are reserved words).
fn names(texts: &[&str]) -> Option<HashMap<String, String>> {
    let mut out = HashMap::new();
    for text in texts {
        let mut rest = *text;
        while let Some(i) = rest.find('#') {
            let tail = &rest[i + 1..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            let name = &tail[..end];
            if !name.is_empty() {
                out.insert(format!("#{name}"), name.to_string());
            }
            rest = &tail[end..];
        }
    }
    (!out.is_empty()).then_some(out)
}

fn values(v: Values) -> Option<HashMap<String, AttributeValue>> {
    (!v.is_empty()).then(|| v.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([("pk".into(), s(pk)), ("sk".into(), s(sk))])
}

/// Why one item of a cancelled transaction failed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reason {
    pub code: Option<String>,
    /// The item as it was, for writes that asked for `ALL_OLD` on failure.
    pub item: Option<Item>,
}

impl Reason {
    pub fn failed_condition(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }
}

/// Codes of a cancelled transaction that say "try again", not "refused".
fn transient(code: &str) -> bool {
    matches!(
        code,
        "TransactionConflict"
            | "ThrottlingError"
            | "ProvisionedThroughputExceeded"
            | "RequestLimitExceeded"
    )
}

const TRANSIENT_RETRIES: u32 = 10;

/// A random number below `bound` (no RNG crate needed: the standard
/// library's hasher keys are random per instance). Good enough for jitter.
pub(crate) fn random_below(bound: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish() % bound.max(1)
}

/// A random duration in `[0, max_ms]` milliseconds.
pub(crate) fn jitter(max_ms: u64) -> Duration {
    Duration::from_millis(random_below(max_ms.saturating_add(1)))
}

/// A short, growing, jittered pause before attempt `attempt` (0-based) again.
pub(crate) async fn backoff(attempt: u32) {
    let cap = (2u64 << attempt.min(5)).min(50);
    tokio::time::sleep(Duration::from_millis(1) + jitter(cap)).await;
}

/// A query on the table or an index: `pk = value`, optionally a condition on
/// the sort key, in order, at most `limit` items (all when `None`).
pub(crate) struct Query {
    pub index: Index,
    pub pk: String,
    pub sk: Option<(&'static str, String)>,
    pub forward: bool,
    pub limit: Option<usize>,
    pub filter: Option<(&'static str, Values)>,
}

impl Query {
    pub fn new(index: Index, pk: impl Into<String>) -> Self {
        Self {
            index,
            pk: pk.into(),
            sk: None,
            forward: true,
            limit: None,
            filter: None,
        }
    }
    /// Only items whose sort key compares to `value` with `op` (`<`, `>`, ...).
    pub fn sk(mut self, op: &'static str, value: impl Into<String>) -> Self {
        self.sk = Some((op, value.into()));
        self
    }
    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
    pub fn filter(mut self, expr: &'static str, values: Values) -> Self {
        self.filter = Some((expr, values));
        self
    }
}

impl DynamoStore {
    /// The item at this key, read consistently.
    pub(crate) async fn get(&self, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk("get item"))?;
        Ok(out.item)
    }

    /// Puts `item` if `cond` holds. `Err(old)` when it did not: the item as it
    /// was (`None` if there was none).
    pub(crate) async fn put(
        &self,
        item: Item,
        cond: Option<&str>,
        vals: Values,
    ) -> StoreResult<Result<(), Option<Item>>> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError as E;
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(cond.map(str::to_string))
            .set_expression_attribute_names(names(&[cond.unwrap_or_default()]))
            .set_expression_attribute_values(values(vals))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let mut attempt = 0;
        loop {
            match req.clone().send().await {
                Ok(_) => return Ok(Ok(())),
                Err(e) => match e.as_service_error() {
                    Some(E::ConditionalCheckFailedException(_)) => {
                        return Ok(Err(match e.into_service_error() {
                            E::ConditionalCheckFailedException(c) => c.item,
                            _ => None,
                        }));
                    }
                    Some(E::TransactionConflictException(_)) if attempt < TRANSIENT_RETRIES => {}
                    _ => return Err(sdk("put item")(e)),
                },
            }
            backoff(attempt).await;
            attempt += 1;
        }
    }

    /// Updates the item at the key if `cond` holds, returning it as it is
    /// after the update; `Err(old)` when the condition failed.
    pub(crate) async fn update(
        &self,
        pk: &str,
        sk: &str,
        update: &str,
        cond: Option<&str>,
        vals: Values,
    ) -> StoreResult<Result<Item, Option<Item>>> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError as E;
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(update)
            .set_condition_expression(cond.map(str::to_string))
            .set_expression_attribute_names(names(&[update, cond.unwrap_or_default()]))
            .set_expression_attribute_values(values(vals))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let mut attempt = 0;
        loop {
            match req.clone().send().await {
                Ok(out) => return Ok(Ok(out.attributes.unwrap_or_default())),
                Err(e) => match e.as_service_error() {
                    Some(E::ConditionalCheckFailedException(_)) => {
                        return Ok(Err(match e.into_service_error() {
                            E::ConditionalCheckFailedException(c) => c.item,
                            _ => None,
                        }));
                    }
                    Some(E::TransactionConflictException(_)) if attempt < TRANSIENT_RETRIES => {}
                    _ => return Err(sdk("update item")(e)),
                },
            }
            backoff(attempt).await;
            attempt += 1;
        }
    }

    /// Deletes the item at the key if `cond` holds, returning what was there;
    /// `Err(old)` when the condition failed.
    pub(crate) async fn delete(
        &self,
        pk: &str,
        sk: &str,
        cond: Option<&str>,
        vals: Values,
    ) -> StoreResult<Result<Option<Item>, Option<Item>>> {
        use aws_sdk_dynamodb::operation::delete_item::DeleteItemError as E;
        let req = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .set_condition_expression(cond.map(str::to_string))
            .set_expression_attribute_names(names(&[cond.unwrap_or_default()]))
            .set_expression_attribute_values(values(vals))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let mut attempt = 0;
        loop {
            match req.clone().send().await {
                Ok(out) => return Ok(Ok(out.attributes)),
                Err(e) => match e.as_service_error() {
                    Some(E::ConditionalCheckFailedException(_)) => {
                        return Ok(Err(match e.into_service_error() {
                            E::ConditionalCheckFailedException(c) => c.item,
                            _ => None,
                        }));
                    }
                    Some(E::TransactionConflictException(_)) if attempt < TRANSIENT_RETRIES => {}
                    _ => return Err(sdk("delete item")(e)),
                },
            }
            backoff(attempt).await;
            attempt += 1;
        }
    }

    /// A transaction's put, returning the old item on a failed condition.
    pub(crate) fn tx_put(
        &self,
        item: Item,
        cond: Option<&str>,
        vals: Values,
    ) -> StoreResult<TransactWriteItem> {
        let put = built(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .set_condition_expression(cond.map(str::to_string))
                .set_expression_attribute_names(names(&[cond.unwrap_or_default()]))
                .set_expression_attribute_values(values(vals))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A transaction's update, returning the old item on a failed condition.
    pub(crate) fn tx_update(
        &self,
        pk: &str,
        sk: &str,
        update: &str,
        cond: Option<&str>,
        vals: Values,
    ) -> StoreResult<TransactWriteItem> {
        let up = built(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk, sk)))
                .update_expression(update)
                .set_condition_expression(cond.map(str::to_string))
                .set_expression_attribute_names(names(&[update, cond.unwrap_or_default()]))
                .set_expression_attribute_values(values(vals))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build(),
        )?;
        Ok(TransactWriteItem::builder().update(up).build())
    }

    /// A transaction's delete.
    pub(crate) fn tx_delete(
        &self,
        pk: &str,
        sk: &str,
        cond: Option<&str>,
        vals: Values,
    ) -> StoreResult<TransactWriteItem> {
        let del = built(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk, sk)))
                .set_condition_expression(cond.map(str::to_string))
                .set_expression_attribute_names(names(&[cond.unwrap_or_default()]))
                .set_expression_attribute_values(values(vals))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().delete(del).build())
    }

    /// Runs a transaction. `Err(reasons)` (one per item, in order) when a
    /// condition failed; transient cancellations (another transaction on the
    /// same item, throttling) are retried here with a jittered backoff.
    pub(crate) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> StoreResult<Result<(), Vec<Reason>>> {
        let mut attempt = 0;
        loop {
            let r = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let e = match r {
                Ok(_) => return Ok(Ok(())),
                Err(e) => e,
            };
            let retry_conflict = e
                .as_service_error()
                .is_some_and(|se| se.is_transaction_in_progress_exception());
            let reasons: Option<Vec<Reason>> = match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => Some(
                    c.cancellation_reasons()
                        .iter()
                        .map(|r| Reason {
                            code: r.code().filter(|c| *c != "None").map(str::to_string),
                            item: r.item().cloned(),
                        })
                        .collect(),
                ),
                _ => None,
            };
            match reasons {
                Some(reasons) if reasons.iter().any(Reason::failed_condition) => {
                    return Ok(Err(reasons));
                }
                Some(reasons)
                    if attempt < TRANSIENT_RETRIES
                        && reasons
                            .iter()
                            .filter_map(|r| r.code.as_deref())
                            .all(transient) => {}
                _ if retry_conflict && attempt < TRANSIENT_RETRIES => {}
                _ => return Err(sdk("transact write items")(e)),
            }
            backoff(attempt).await;
            attempt += 1;
        }
    }

    fn query_request(
        &self,
        q: &Query,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let key_cond = match &q.sk {
            Some((op, _)) => format!("#{} = :pk AND #{} {op} :sk", q.index.pk, q.index.sk),
            None => format!("#{} = :pk", q.index.pk),
        };
        let mut vals: Values = vec![(":pk", s(&q.pk))];
        if let Some((_, v)) = &q.sk {
            vals.push((":sk", s(v)));
        }
        let filter = q.filter.as_ref().map(|(f, _)| *f);
        if let Some((_, fv)) = &q.filter {
            vals.extend(fv.iter().cloned());
        }
        self.client
            .query()
            .table_name(&self.table)
            .set_index_name(q.index.name.map(str::to_string))
            // Indexes cannot be read consistently; the base table is.
            .consistent_read(q.index.name.is_none())
            .set_expression_attribute_names(names(&[&key_cond, filter.unwrap_or_default()]))
            .key_condition_expression(key_cond)
            .set_filter_expression(filter.map(str::to_string))
            .set_expression_attribute_values(values(vals))
            .scan_index_forward(q.forward)
    }

    /// The query's items, page after page, up to its limit.
    pub(crate) async fn query(&self, q: Query) -> StoreResult<Vec<Item>> {
        let mut out = Vec::new();
        if q.limit == Some(0) {
            return Ok(out);
        }
        let mut start = None;
        loop {
            let mut req = self.query_request(&q).set_exclusive_start_key(start);
            // With a filter, the limit counts items read, not items kept.
            if let (Some(limit), None) = (q.limit, &q.filter) {
                let left = limit - out.len();
                req = req.limit(i32::try_from(left).unwrap_or(i32::MAX));
            }
            let page = req.send().await.map_err(sdk("query"))?;
            out.extend(page.items.unwrap_or_default());
            if let Some(limit) = q.limit
                && out.len() >= limit
            {
                out.truncate(limit);
                return Ok(out);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// How many items the query matches.
    pub(crate) async fn count(&self, q: Query) -> StoreResult<u64> {
        let mut total = 0u64;
        let mut start = None;
        loop {
            let page = self
                .query_request(&q)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk("count"))?;
            total += u64::try_from(page.count).unwrap_or(0);
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(total),
            }
        }
    }
}
