//! The audit log: one global hash chain. Events live in one partition
//! (`pk = AUDIT`, `sk` = the zero-padded sequence number), so they read in
//! order; the head item (`AUDIT#HEAD`) holds the last sequence number and hash.
//! An append is one transaction that puts the event (`attribute_not_exists`)
//! and moves the head on, conditional on the sequence number it was sealed
//! after; a lost race re-seals after the head the failure returned.

use super::table::{BASE, GSI2, seq_key};
use super::{DynamoStore, Item, Query, Reason, Values, backoff, body, get_n, get_s, n, s, to_json};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use nightshift_core::audit::{AuditEvent, NewAuditEvent, PRUNED};
use nightshift_core::ports::AuditLog;
use nightshift_core::{StoreError, StoreResult, Timestamp, millis};
use std::collections::HashMap;

const EVENTS_PK: &str = "AUDIT";
const HEAD_PK: &str = "AUDIT#HEAD";
const HEAD_SK: &str = "HEAD";
/// How often an append re-seals after losing the race for the head.
const MAX_APPEND_ATTEMPTS: u32 = 64;
/// Events deleted per prune transaction (with the event and the head: <= 100).
const PRUNE_CHUNK: usize = 96;

fn event_item(ev: &AuditEvent) -> Item {
    let mut item = HashMap::from([
        ("pk".to_string(), s(EVENTS_PK)),
        ("sk".to_string(), s(seq_key(ev.seq))),
        ("seq".to_string(), n(ev.seq)),
        ("at_ms".to_string(), n(millis(ev.at))),
        ("action".to_string(), s(&ev.action)),
        ("body".to_string(), s(to_json(ev))),
    ]);
    if let Some(t) = &ev.ticket_id {
        item.insert("ticket_id".into(), s(t));
        item.insert(GSI2.pk.into(), s(format!("AUDIT#TICKET#{t}")));
        item.insert(GSI2.sk.into(), s(seq_key(ev.seq)));
    }
    item
}

fn decode_event(item: &Item) -> StoreResult<AuditEvent> {
    body("audit event", item)
}

fn decode_head(item: &Item) -> Option<(u64, String)> {
    Some((get_n(item, "seq")?, get_s(item, "hash")?.to_string()))
}

/// What an append with other writes came to.
pub(super) enum Appended {
    Done(AuditEvent),
    /// A condition of one of the caller's own items failed: their reasons, in
    /// the caller's order (nothing was written).
    Refused(Vec<Reason>),
}

impl DynamoStore {
    async fn read_head(&self) -> StoreResult<Option<(u64, String)>> {
        Ok(self
            .get(HEAD_PK, HEAD_SK)
            .await?
            .as_ref()
            .and_then(decode_head))
    }

    /// Appends `new` (sealed at `at`) together with `extra` writes, in one
    /// transaction. The chain head decides the order: if another append moved
    /// it first, the event is sealed again after the new head and the whole
    /// transaction is tried again (a bounded number of times, with a short
    /// jittered pause). A failed condition on one of `extra` ends it.
    pub(super) async fn append_with(
        &self,
        extra: Vec<TransactWriteItem>,
        new: NewAuditEvent,
        at: Timestamp,
    ) -> StoreResult<Appended> {
        let mut head = self.read_head().await?;
        for attempt in 0..MAX_APPEND_ATTEMPTS {
            let ev = AuditEvent::seal(
                new.clone(),
                head.as_ref().map(|(seq, h)| (*seq, h.as_str())),
                at,
            );
            let (head_cond, mut vals): (&str, Values) = match &head {
                None => ("attribute_not_exists(#pk)", vec![]),
                Some((seq, _)) => ("#seq = :prev", vec![(":prev", n(seq))]),
            };
            vals.push((":seq", n(ev.seq)));
            vals.push((":hash", s(&ev.hash)));
            let mut items = extra.clone();
            items.push(self.tx_put(event_item(&ev), Some("attribute_not_exists(#pk)"), vec![])?);
            items.push(self.tx_update(
                HEAD_PK,
                HEAD_SK,
                "SET #seq = :seq, #hash = :hash",
                Some(head_cond),
                vals,
            )?);
            let reasons = match self.transact(items).await? {
                Ok(()) => return Ok(Appended::Done(ev)),
                Err(reasons) => reasons,
            };
            let k = extra.len();
            if reasons.iter().take(k).any(Reason::failed_condition) {
                return Ok(Appended::Refused(reasons.into_iter().take(k).collect()));
            }
            // Another append won: go on from the head it left, which the
            // failed condition returned (or read it, if it did not).
            match reasons.get(k + 1) {
                Some(r) if r.failed_condition() && r.item.is_some() => {
                    head = r.item.as_ref().and_then(decode_head);
                }
                _ => head = self.read_head().await?,
            }
            if attempt >= 2 {
                backoff(attempt - 2).await;
            }
        }
        Err(StoreError::conflict(
            "audit log",
            HEAD_PK,
            format!("the chain head moved on {MAX_APPEND_ATTEMPTS} times in a row; try again"),
        ))
    }

    async fn event_page(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        self.query(
            Query::new(BASE, EVENTS_PK)
                .sk(">", seq_key(after))
                .limit(limit),
        )
        .await?
        .iter()
        .map(decode_event)
        .collect()
    }
}

#[async_trait]
impl AuditLog for DynamoStore {
    async fn append(&self, event: NewAuditEvent, now: Timestamp) -> StoreResult<AuditEvent> {
        match self.append_with(vec![], event, now).await? {
            Appended::Done(ev) => Ok(ev),
            Appended::Refused(_) => unreachable!("an append alone has no other conditions"),
        }
    }

    async fn events_for_ticket(&self, ticket_id: &str) -> StoreResult<Vec<AuditEvent>> {
        self.query(Query::new(GSI2, format!("AUDIT#TICKET#{ticket_id}")))
            .await?
            .iter()
            .map(decode_event)
            .collect()
    }

    async fn events_after(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        self.event_page(after, limit).await
    }

    /// Deletes the oldest run of events written before `cutoff`, never the
    /// newest one. A transaction holds at most 100 writes, so the run goes in
    /// chunks of up to 96 events, oldest first, each deleted in one transaction
    /// with its own `audit_pruned` event (and the head): after every step the
    /// log verifies, and a prune cut short is finished by the next one.
    async fn prune_before(&self, cutoff: Timestamp, now: Timestamp) -> StoreResult<u64> {
        let Some((head_seq, _)) = self.read_head().await? else {
            return Ok(0);
        };
        let mut doomed: Vec<(u64, String)> = Vec::new();
        let mut after = 0;
        'scan: loop {
            let page = self.event_page(after, 500).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for ev in &page {
                if ev.seq >= head_seq || ev.at >= cutoff {
                    break 'scan;
                }
                doomed.push((ev.seq, ev.hash.clone()));
            }
        }
        let mut deleted = 0u64;
        for chunk in doomed.chunks(PRUNE_CHUNK) {
            let (through_seq, through_hash) = chunk.last().expect("chunks are never empty");
            let deletes = chunk
                .iter()
                .map(|(seq, _)| {
                    self.tx_delete(
                        EVENTS_PK,
                        &seq_key(*seq),
                        Some("attribute_exists(#pk)"),
                        vec![],
                    )
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let ev = NewAuditEvent::new("reaper", PRUNED).detail(serde_json::json!({
                "through_seq": through_seq,
                "through_hash": through_hash,
                "deleted": chunk.len(),
                "cutoff": cutoff,
            }));
            match self.append_with(deletes, ev, now).await? {
                Appended::Done(_) => deleted += chunk.len() as u64,
                Appended::Refused(_) => {
                    return Err(StoreError::conflict(
                        "audit log",
                        EVENTS_PK,
                        format!(
                            "events up to {through_seq} were deleted by a prune running at the same time"
                        ),
                    ));
                }
            }
        }
        Ok(deleted)
    }
}
