//! A finding: what an analyzer reports. Its fingerprint is stable across runs, so
//! the same finding always maps to the same ticket.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A recurring error mined from logs, with a fix worth attempting.
    RecurringError,
    /// A recurring error below the fixability score: a root-cause note only.
    RootCauseNote,
    /// A file whose uncovered lines matter (it changes often).
    PoorCoverage,
    /// A dependency with a known vulnerability.
    Vulnerability,
    /// A dependency reported unmaintained or unsound.
    DependencyWarning,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// Stable across runs: the same finding, the same fingerprint.
    pub fingerprint: String,
    pub title: String,
    pub description: String,
    pub filepaths: Vec<String>,
    pub evidence: Vec<String>,
    pub acceptance_criteria: Vec<String>,
    /// 0-10: how likely an automated fix is to succeed.
    pub score: u8,
}

/// A fingerprint from the parts that identify a finding (not its counts or dates).
pub fn fingerprint(kind: FindingKind, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_string(&kind).unwrap_or_default().as_bytes());
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}
