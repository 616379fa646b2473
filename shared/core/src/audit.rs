//! The audit log: append-only, one global chain. Each event carries the hash of the
//! one before it, so a deleted or edited event breaks every hash after it, and
//! [`verify_chain`] finds the first place it breaks.

use crate::Timestamp;
use crate::state::TicketState;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The hash the first event points back to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event as a role records it; the store assigns sequence and hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEvent {
    pub ticket_id: Option<String>,
    /// Who acted: a role (`triage`, `reaper`), `api`, `cli`, or a person.
    pub actor: String,
    /// What happened: a ticket event name (`triage`), or another verb (`created`, `job_requeued`).
    pub action: String,
    pub from_state: Option<TicketState>,
    pub to_state: Option<TicketState>,
    pub detail: serde_json::Value,
}

impl NewAuditEvent {
    pub fn new(actor: &str, action: &str) -> Self {
        Self {
            ticket_id: None,
            actor: actor.to_string(),
            action: action.to_string(),
            from_state: None,
            to_state: None,
            detail: serde_json::Value::Null,
        }
    }
    pub fn ticket(mut self, id: &str) -> Self {
        self.ticket_id = Some(id.to_string());
        self
    }
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    /// 1, 2, 3, ... without gaps.
    pub seq: u64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub ticket_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub from_state: Option<TicketState>,
    pub to_state: Option<TicketState>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEvent {
    /// Seals a new event onto the chain after `prev` (`None` for the first).
    pub fn seal(new: NewAuditEvent, prev: Option<(u64, &str)>, at: Timestamp) -> Self {
        let (seq, prev_hash) = match prev {
            Some((seq, hash)) => (seq + 1, hash.to_string()),
            None => (1, GENESIS.to_string()),
        };
        // Millisecond precision: what every adapter stores.
        let at = crate::from_millis(crate::millis(at));
        let mut ev = Self {
            seq,
            at,
            ticket_id: new.ticket_id,
            actor: new.actor,
            action: new.action,
            from_state: new.from_state,
            to_state: new.to_state,
            detail: new.detail,
            prev_hash,
            hash: String::new(),
        };
        ev.hash = ev.compute_hash();
        ev
    }

    /// SHA-256 over every field but the hash itself, in a fixed order. `detail` is
    /// serialized by serde_json, whose maps are sorted by key: canonical.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let state = |s: Option<TicketState>| s.map(|s| s.as_str()).unwrap_or("");
        for part in [
            self.seq.to_string().as_str(),
            &self.prev_hash,
            &crate::millis(self.at).to_string(),
            self.ticket_id.as_deref().unwrap_or(""),
            &self.actor,
            &self.action,
            state(self.from_state),
            state(self.to_state),
            &self.detail.to_string(),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at event {seq}: {reason}")]
pub struct ChainError {
    pub seq: u64,
    pub reason: String,
}

/// Checks a run of consecutive events. `prev` is the event before the run (its seq
/// and hash), or `None` when the run starts at the beginning of the log.
pub fn verify_chain<'a>(
    events: impl IntoIterator<Item = &'a AuditEvent>,
    mut prev: Option<(u64, String)>,
) -> Result<Option<(u64, String)>, ChainError> {
    for ev in events {
        let (want_seq, want_prev) = match &prev {
            Some((s, h)) => (s + 1, h.as_str()),
            None => (1, GENESIS),
        };
        if ev.seq != want_seq {
            return Err(ChainError {
                seq: ev.seq,
                reason: format!("expected event {want_seq} here: events are missing"),
            });
        }
        if ev.prev_hash != want_prev {
            return Err(ChainError {
                seq: ev.seq,
                reason: "its prev_hash is not the hash of the event before it".into(),
            });
        }
        if ev.compute_hash() != ev.hash {
            return Err(ChainError {
                seq: ev.seq,
                reason: "its content does not match its hash: it was altered".into(),
            });
        }
        prev = Some((ev.seq, ev.hash.clone()));
    }
    Ok(prev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<AuditEvent> {
        let mut out: Vec<AuditEvent> = Vec::new();
        for i in 0..n {
            let prev = out.last().map(|e| (e.seq, e.hash.as_str()));
            let ev = AuditEvent::seal(
                NewAuditEvent::new("test", "created")
                    .ticket(&format!("t{i}"))
                    .detail(serde_json::json!({"i": i, "b": [1, 2]})),
                prev,
                chrono::Utc::now(),
            );
            out.push(ev);
        }
        out
    }

    #[test]
    fn a_sealed_chain_verifies() {
        let c = chain(5);
        let head = verify_chain(&c, None).unwrap().unwrap();
        assert_eq!(head, (5, c[4].hash.clone()));
        // A later page verifies from the head of the one before.
        assert!(verify_chain(&c[3..], Some((3, c[2].hash.clone()))).is_ok());
    }

    #[test]
    fn edits_gaps_and_reorders_are_found() {
        let mut c = chain(5);
        c[2].actor = "mallory".into();
        assert_eq!(verify_chain(&c, None).unwrap_err().seq, 3);

        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify_chain(&c, None).unwrap_err().seq, 3);

        let mut c = chain(5);
        // Rehashing an edited event still breaks the link from the next one.
        c[1].detail = serde_json::json!({"i": 99});
        c[1].hash = c[1].compute_hash();
        let e = verify_chain(&c, None).unwrap_err();
        assert_eq!(e.seq, 3);
        assert!(e.reason.contains("prev_hash"));
    }
}

/// The action of the event that records a retention prune: its detail names
/// the last pruned event (`through_seq`, `through_hash`), so a log that starts
/// after event 1 still verifies, and one whose start was cut otherwise does not.
pub const PRUNED: &str = "audit_pruned";

/// Verifies the whole log page by page, from its first stored event: the
/// chain must hold throughout, and if the first event is not #1, an
/// [`PRUNED`] record in the chain must account for the events before it.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    head: Option<(u64, String)>,
    first: Option<(u64, String)>,
    pruned: Vec<(u64, String)>,
    count: u64,
}

impl ChainVerifier {
    pub fn feed(&mut self, page: &[AuditEvent]) -> Result<(), ChainError> {
        let Some(first) = page.first() else {
            return Ok(());
        };
        if self.first.is_none() {
            self.first = Some((first.seq, first.prev_hash.clone()));
            if first.seq > 1 {
                self.head = Some((first.seq - 1, first.prev_hash.clone()));
            }
        }
        self.head = verify_chain(page, self.head.take())?;
        for ev in page.iter().filter(|e| e.action == PRUNED) {
            if let (Some(seq), Some(hash)) = (
                ev.detail["through_seq"].as_u64(),
                ev.detail["through_hash"].as_str(),
            ) {
                self.pruned.push((seq, hash.to_string()));
            }
        }
        self.count += page.len() as u64;
        Ok(())
    }

    /// The events checked and the head `(seq, hash)`, or where it breaks.
    pub fn finish(self) -> Result<(u64, Option<(u64, String)>), ChainError> {
        if let Some((seq, prev)) = &self.first
            && *seq > 1
            && !self.pruned.iter().any(|(s, h)| *s == seq - 1 && h == prev)
        {
            return Err(ChainError {
                seq: *seq,
                reason: format!(
                    "events 1 to {} are missing and no {PRUNED} record accounts for them",
                    seq - 1
                ),
            });
        }
        Ok((self.count, self.head))
    }
}
