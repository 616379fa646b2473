//! What every gate reports: a status, a one-line summary for the verdict and
//! the findings behind it.

use serde::{Deserialize, Serialize};

/// A gate's answer. `Unverified` means the check could not be completed; a
/// caller must treat it as "not passed", never as a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateStatus {
    Pass,
    Fail,
    Unverified,
}

/// One thing a gate found, anchored to a file and line when it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub file: Option<String>,
    pub line: Option<u32>,
    pub message: String,
}

impl Finding {
    pub fn new(file: Option<&str>, line: Option<u32>, message: impl Into<String>) -> Self {
        Self {
            file: file.map(str::to_string),
            line,
            message: message.into(),
        }
    }
}

/// The outcome of one gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateResult {
    /// "tests", "dependencies", "secrets", "protected_paths" or "diff_size".
    pub gate: String,
    pub status: GateStatus,
    /// One line for the verdict.
    pub summary: String,
    pub findings: Vec<Finding>,
}

impl GateResult {
    pub fn new(
        gate: &str,
        status: GateStatus,
        summary: impl Into<String>,
        findings: Vec<Finding>,
    ) -> Self {
        Self {
            gate: gate.to_string(),
            status,
            summary: summary.into(),
            findings,
        }
    }

    /// True only for [`GateStatus::Pass`].
    pub fn passed(&self) -> bool {
        self.status == GateStatus::Pass
    }
}

/// The tests gate: the verdict of a test command the caller already ran.
/// On failure the tail of its output is kept as the one finding, so the
/// verdict shows why without the caller formatting anything.
pub fn tests_gate(command: &str, passed: bool, output_tail: &str) -> GateResult {
    if passed {
        return GateResult::new(
            "tests",
            GateStatus::Pass,
            format!("`{command}` passed"),
            vec![],
        );
    }
    let tail = output_tail.trim();
    let findings = if tail.is_empty() {
        vec![]
    } else {
        vec![Finding::new(None, None, tail)]
    };
    GateResult::new(
        "tests",
        GateStatus::Fail,
        format!("`{command}` failed"),
        findings,
    )
}

/// "1 thing" / "2 things": summaries are read by people.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_gate_passes_and_fails_with_the_output_tail() {
        let ok = tests_gate("cargo test", true, "test result: ok");
        assert_eq!(ok.status, GateStatus::Pass);
        assert_eq!(ok.summary, "`cargo test` passed");
        assert!(ok.findings.is_empty());

        let bad = tests_gate("cargo test", false, "\nthread 'x' panicked\n");
        assert_eq!(bad.gate, "tests");
        assert_eq!(bad.status, GateStatus::Fail);
        assert_eq!(bad.findings[0].message, "thread 'x' panicked");
        assert!(!bad.passed());
    }

    #[test]
    fn status_serialises_in_snake_case_and_round_trips() {
        let result = GateResult::new(
            "secrets",
            GateStatus::Unverified,
            "s",
            vec![Finding::new(Some("a"), Some(3), "m")],
        );
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["status"], "unverified");
        assert_eq!(json["findings"][0]["line"], 3);
        let back: GateResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, result);
    }

    #[test]
    fn plural_counts() {
        assert_eq!(plural(1, "line", "lines"), "1 line");
        assert_eq!(plural(0, "line", "lines"), "0 lines");
    }
}
