//! The loop breaker: a deterministic stop for an agent that keeps doing the same
//! thing and getting the same answer (re-reading one file, re-running a failing
//! command unchanged, retrying an edit that cannot apply). Token budgets stop such
//! a loop eventually; this stops it early and says why.
//!
//! Each step is keyed by a hash of (tool name, canonical arguments JSON, ok flag,
//! output). Occurrences are counted over the whole session, consecutive or not:
//! an agent alternating between two useless steps is looping just the same. The
//! same call with a different result (the file changed in between) is a new key,
//! so honest re-reads after edits never add up.

use super::{ToolOutcome, normalize_args};
use nightshift_core::llm::ToolCall;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct LoopBreaker {
    limit: u32,
    seen: HashMap<[u8; 32], u32>,
}

impl LoopBreaker {
    /// Stops on the `limit`-th identical step (a limit of 0 is treated as 1).
    pub fn new(limit: u32) -> Self {
        Self {
            limit: limit.max(1),
            seen: HashMap::new(),
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Records one step; `Some(reason)` when this exact step with this exact result
    /// has now happened `limit` times in the session (and on every repeat after).
    pub fn record(&mut self, call: &ToolCall, outcome: &ToolOutcome) -> Option<String> {
        let args = canonical(&normalize_args(&call.arguments)).to_string();
        let mut h = Sha256::new();
        for part in [
            call.name.as_bytes(),
            args.as_bytes(),
            outcome.output.as_bytes(),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.update([u8::from(outcome.ok)]);
        let count = self.seen.entry(h.finalize().into()).or_insert(0);
        *count += 1;
        (*count >= self.limit).then(|| {
            let shown = super::text::cut_middle(&args, 100, 60);
            format!(
                "loop detected: `{}` was called {} times with the same arguments ({shown}) and got the same result each time",
                call.name, count
            )
        })
    }
}

/// The same JSON with object keys sorted at every level, so argument order does
/// not matter (independent of serde_json's `preserve_order` feature).
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let out: Map<String, Value> = entries
                .into_iter()
                .map(|(k, v)| (k.clone(), canonical(v)))
                .collect();
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}
