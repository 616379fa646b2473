//! What the architect and the reviewer produce, stored on the ticket: the spec
//! (with the architect's confidence) and the review verdict (with one line per
//! deterministic gate). Plain data; the roles crate makes them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The architect's plan for a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Spec {
    pub approach: String,
    /// Files the change is expected to touch.
    pub files: Vec<String>,
    pub acceptance_criteria: Vec<String>,
    pub risks: Vec<String>,
    /// 0-10: how sure the architect is that the approach works as specified.
    pub confidence: u8,
    /// `rules`, or the model that wrote it.
    pub by: String,
    /// 1 for the first spec, one more after each rejection.
    pub round: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    Pass,
    Fail,
    /// Could not be checked (a registry unreachable, a manifest unreadable):
    /// never a pass.
    Unverified,
}

impl GateOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Unverified => "could not verify",
        }
    }
}

/// One deterministic gate's line in the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GateLine {
    pub gate: String,
    pub outcome: GateOutcome,
    pub summary: String,
    /// `file:line: message`, at most a few per gate.
    pub findings: Vec<String>,
}

/// A reviewer comment on a line of the diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewComment {
    pub file: String,
    pub line: Option<u32>,
    pub blocking: bool,
    pub body: String,
}

/// The reviewer's verdict on one head commit of a pull request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Verdict {
    pub pr: u64,
    /// The commit reviewed.
    pub head: String,
    /// The LLM critique's score 0-10; `None` without an LLM (a person decides).
    pub score: Option<u8>,
    pub summary: String,
    pub comments: Vec<ReviewComment>,
    pub gates: Vec<GateLine>,
    /// Line coverage after the tests, percent, when the repository reports it.
    pub coverage: Option<f64>,
    pub round: u32,
}

impl Verdict {
    /// Whether the builder must change something: a gate failed or the
    /// critique has a blocking comment.
    pub fn requests_changes(&self) -> bool {
        self.gates.iter().any(|g| g.outcome == GateOutcome::Fail)
            || self.comments.iter().any(|c| c.blocking)
    }

    /// The verdict as a pull-request comment.
    pub fn to_markdown(&self) -> String {
        let mut m = format!(
            "## Nightshift review (round {})\n\n**{}**",
            self.round,
            if self.requests_changes() {
                "Changes requested"
            } else {
                "Passed"
            }
        );
        match self.score {
            Some(s) => m.push_str(&format!(" · score {s}/10")),
            None => m.push_str(" · no LLM critique (none configured)"),
        }
        if let Some(c) = self.coverage {
            m.push_str(&format!(" · coverage {c:.1}%"));
        }
        m.push_str(&format!(" · commit `{}`\n\n", short(&self.head)));
        if !self.summary.trim().is_empty() {
            m.push_str(self.summary.trim());
            m.push_str("\n\n");
        }
        m.push_str("| gate | result | detail |\n|---|---|---|\n");
        for g in &self.gates {
            m.push_str(&format!(
                "| {} | {} | {} |\n",
                g.gate,
                g.outcome.as_str(),
                crate::markdown::cell(&g.summary)
            ));
        }
        for g in self.gates.iter().filter(|g| !g.findings.is_empty()) {
            m.push_str(&format!("\n**{}**\n", g.gate));
            for f in &g.findings {
                m.push_str(&format!("- {}\n", f));
            }
        }
        if !self.comments.is_empty() {
            m.push_str("\n**Comments**\n");
            for c in &self.comments {
                let at = match c.line {
                    Some(l) => format!("{}:{l}", c.file),
                    None => c.file.clone(),
                };
                let tag = if c.blocking { "blocking" } else { "suggestion" };
                m.push_str(&format!("- `{at}` ({tag}): {}\n", c.body.trim()));
            }
        }
        m
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(10)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(outcome: GateOutcome, blocking: bool) -> Verdict {
        Verdict {
            pr: 3,
            head: "0123456789abcdef".into(),
            score: Some(9),
            summary: "Looks right.".into(),
            comments: vec![ReviewComment {
                file: "src/lib.rs".into(),
                line: Some(4),
                blocking,
                body: "name it | better".into(),
            }],
            gates: vec![GateLine {
                gate: "secrets".into(),
                outcome,
                summary: "no secret | added".into(),
                findings: vec![],
            }],
            coverage: Some(81.25),
            round: 1,
        }
    }

    #[test]
    fn a_failed_gate_or_a_blocking_comment_requests_changes() {
        assert!(!verdict(GateOutcome::Pass, false).requests_changes());
        // Could not verify is not a pass, but nothing for the builder to change.
        assert!(!verdict(GateOutcome::Unverified, false).requests_changes());
        assert!(verdict(GateOutcome::Fail, false).requests_changes());
        assert!(verdict(GateOutcome::Pass, true).requests_changes());
    }

    #[test]
    fn markdown_has_a_line_per_gate_and_escapes_cells() {
        let md = verdict(GateOutcome::Unverified, true).to_markdown();
        assert!(md.contains("**Changes requested** · score 9/10 · coverage 81.2%"));
        assert!(md.contains("| secrets | could not verify | no secret \\| added |"));
        assert!(md.contains("- `src/lib.rs:4` (blocking): name it | better"));
        assert!(md.contains("`0123456789`"));
    }
}
