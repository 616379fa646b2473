//! The table's shape: key and index attribute names, the sortable key encodings
//! every index uses, and [`DynamoStore::create_table`] for tests and tools.
//!
//! # The table (template.yaml must match this exactly)
//!
//! - Billing: on demand (`PAY_PER_REQUEST`).
//! - Primary key: `pk` (HASH, S), `sk` (RANGE, S).
//! - Five global secondary indexes, each with projection `ALL`, each keyed by
//!   two string attributes: `gsiN` has `gsiNpk` (HASH, S) and `gsiNsk` (RANGE, S)
//!   for N = 1..5. The indexes are overloaded: each item type uses them for its
//!   own purpose, and an item that should not appear in an index (a ticket
//!   that is not `ready`, a job that is not running) simply lacks its
//!   attributes, so every index is sparse.
//! - Time to live: attribute `expires_at` (a Number, epoch seconds), enabled.
//!   Locks carry it. It is housekeeping only: every expiry is checked
//!   in a condition on `expires_ms`, so an expired item TTL has not yet
//!   deleted behaves exactly as a deleted one.
//!
//! In CloudFormation terms: `AttributeDefinitions` lists `pk`, `sk`, `gsi1pk`,
//! `gsi1sk`, ..., `gsi5pk`, `gsi5sk`, all of type `S`;
//! `TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}`.
//!
//! # Items
//!
//! | item | `pk` / `sk` | indexes (`gsiNpk` -> `gsiNsk`) |
//! |---|---|---|
//! | ticket | `TICKET#<id>` / `TICKET` | gsi1 `TICKETS#READY` -> `<-priority>#<created>#<id>`, only while `ready`; gsi2 `TICKETS#FP#<fingerprint>` -> `<created>#<id>`, only while not merged or closed; gsi3 `TICKETS#STATE#<state>` -> `<created>#<id>`; gsi4 `TICKETS` -> `<created>#<id>` |
//! | job | `JOB#<id>` / `JOB` | gsi1 `JOBS#QUEUED` -> `<-priority>#<created>#<id>`, only while queued; gsi2 `JOBS#TICKET#<ticket>` -> `<created>#<id>`; gsi3 `JOBS#STATE#<state>` -> `<created>#<id>`; gsi4 `JOBS#DEADLINE` -> `<deadline>#<id>`, only while queued or running with a deadline; gsi5 `JOBS#RUNNING` -> `<lease_until>#<id>`, only while running |
//! | approval | `APPROVAL#<id>` / `APPROVAL` | gsi1 `APPROVALS#PENDING` -> `<requested>#<id>`, only while pending; gsi2 `APPROVALS#TICKET#<ticket>` -> `<requested>#<id>` |
//! | lock | `LOCK#<name>` / `LOCK` | gsi4 `LOCKS` -> `<name>`; gsi5 `LOCKS#EXPIRY` -> `<expires>#<name>` |
//! | budget account | `BUDGET#<ticket>` / `ACCOUNT` | none |
//! | tokens committed, all tickets | `BUDGET#TOTAL` / `TOTAL` | none |
//! | reservation | `RESERVATION#<id>` / `RESERVATION` | gsi2 `RESERVATIONS#<ticket>` -> `<created>#<id>` |
//! | audit event | `AUDIT` / `<seq>` | gsi2 `AUDIT#TICKET#<ticket>` -> `<seq>`, for events about a ticket |
//! | audit chain head | `AUDIT#HEAD` / `HEAD` | none |
//!
//! Instants and priorities in sort keys are [`ord`]-encoded (20 digits, order
//! preserving for any `i64`); `<seq>` is [`seq_key`] (20 digits). Records with
//! variable content (tickets, jobs, approvals, audit events) are stored whole
//! as JSON in `body`, with the attributes conditions and indexes need beside
//! it, written by the same request. Accounts, reservations and locks are
//! plain attributes, because their writes are arithmetic or partial updates.

use super::{DynamoStore, sdk};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use nightshift_core::{StoreError, StoreResult};
use std::time::Duration;

/// The time-to-live attribute (epoch seconds), enabled on the table.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// How many global secondary indexes the table has (`gsi1` ... `gsi5`).
pub const GSI_COUNT: usize = 5;

/// A place to query: the base table or one of its indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Index {
    /// `None` for the base table.
    pub name: Option<&'static str>,
    pub pk: &'static str,
    pub sk: &'static str,
}

pub(crate) const BASE: Index = Index {
    name: None,
    pk: "pk",
    sk: "sk",
};
/// Work queues: ready tickets, queued jobs, pending approvals.
pub(crate) const GSI1: Index = gsi("gsi1", "gsi1pk", "gsi1sk");
/// By owner: tickets by fingerprint; jobs, approvals, reservations and audit
/// events by ticket.
pub(crate) const GSI2: Index = gsi("gsi2", "gsi2pk", "gsi2sk");
/// Tickets and jobs by state.
pub(crate) const GSI3: Index = gsi("gsi3", "gsi3pk", "gsi3sk");
/// Listings and deadlines: all tickets by age, all locks by name, unfinished
/// jobs by deadline.
pub(crate) const GSI4: Index = gsi("gsi4", "gsi4pk", "gsi4sk");
/// Timers: running jobs by lease end, locks by expiry.
pub(crate) const GSI5: Index = gsi("gsi5", "gsi5pk", "gsi5sk");

const GSIS: [Index; GSI_COUNT] = [GSI1, GSI2, GSI3, GSI4, GSI5];

const fn gsi(name: &'static str, pk: &'static str, sk: &'static str) -> Index {
    Index {
        name: Some(name),
        pk,
        sk,
    }
}

/// An `i64` as 20 digits whose string order is the numbers' order (negative
/// values included): instants in milliseconds, negated priorities.
pub fn ord(v: i64) -> String {
    format!("{:020}", (v as u64) ^ (1 << 63))
}

/// An audit sequence number as 20 digits.
pub fn seq_key(seq: u64) -> String {
    format!("{seq:020}")
}

fn build<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> StoreResult<T> {
    r.map_err(|e| StoreError::backend("dynamodb: building the table definition", e))
}

impl DynamoStore {
    /// Creates the table as the module documentation describes it (on-demand
    /// billing, `pk`/`sk`, `gsi1` ... `gsi5`, TTL on `expires_at`) and waits
    /// until it is active. A table that exists already is left as it is; its
    /// TTL is switched on if it was not. In AWS, template.yaml creates it.
    pub async fn create_table(&self) -> StoreResult<()> {
        let key = |name: &str, kind: KeyType| {
            build(
                KeySchemaElement::builder()
                    .attribute_name(name)
                    .key_type(kind)
                    .build(),
            )
        };
        let attr = |name: &str| {
            build(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build(),
            )
        };
        let mut req = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(BASE.pk, KeyType::Hash)?)
            .key_schema(key(BASE.sk, KeyType::Range)?)
            .attribute_definitions(attr(BASE.pk)?)
            .attribute_definitions(attr(BASE.sk)?);
        for ix in GSIS {
            req = req
                .attribute_definitions(attr(ix.pk)?)
                .attribute_definitions(attr(ix.sk)?)
                .global_secondary_indexes(build(
                    GlobalSecondaryIndex::builder()
                        .index_name(ix.name.unwrap_or_default())
                        .key_schema(key(ix.pk, KeyType::Hash)?)
                        .key_schema(key(ix.sk, KeyType::Range)?)
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::All)
                                .build(),
                        )
                        .build(),
                )?);
        }
        match req.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_in_use_exception()) => {}
            Err(e) => return Err(sdk("create table")(e)),
        }
        self.wait_active().await?;
        let ttl = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(sdk("describe time to live"))?;
        let enabled = ttl.time_to_live_description().is_some_and(|d| {
            d.attribute_name() == Some(TTL_ATTRIBUTE)
                && matches!(
                    d.time_to_live_status(),
                    Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
                )
        });
        if !enabled {
            self.client
                .update_time_to_live()
                .table_name(&self.table)
                .time_to_live_specification(build(
                    TimeToLiveSpecification::builder()
                        .attribute_name(TTL_ATTRIBUTE)
                        .enabled(true)
                        .build(),
                )?)
                .send()
                .await
                .map_err(sdk("update time to live"))?;
        }
        Ok(())
    }

    async fn wait_active(&self) -> StoreResult<()> {
        for _ in 0..600 {
            let out = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(sdk("describe table"))?;
            let table = out.table();
            let active = table.and_then(|t| t.table_status()) == Some(&TableStatus::Active)
                && table.is_some_and(|t| {
                    t.global_secondary_indexes().iter().all(|g| {
                        g.index_status() == Some(&aws_sdk_dynamodb::types::IndexStatus::Active)
                            || g.index_status().is_none()
                    })
                });
            if active {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::Backend {
            message: format!(
                "dynamodb: table {} did not become active within 5 minutes",
                self.table
            ),
            source: None,
        })
    }
}
