//! The coverage analyst: reads lcov (cargo-llvm-cov, c8/istanbul) and Cobertura
//! XML (coverage.py, cargo-tarpaulin) reports, ranks files by uncovered lines
//! weighted by how often the file changes, and reports the worst as findings:
//! untested code that keeps changing is where the next bug comes from.
//!
//! Reading git history is the caller's job (it is I/O); [`parse_churn`] reads
//! the output of `git log --format=%x00 --name-only`.

mod cobertura;
mod lcov;

pub use cobertura::parse_cobertura;
pub use lcov::parse_lcov;

use crate::finding::{Finding, FindingKind, fingerprint};
use std::collections::HashMap;

/// One source file's line coverage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCoverage {
    /// As the report names it (made relative by [`relativize`]).
    pub path: String,
    /// Instrumented lines.
    pub lines_found: u32,
    pub lines_hit: u32,
    /// Instrumented lines never executed, ascending.
    pub uncovered: Vec<u32>,
}

impl FileCoverage {
    pub fn percent(&self) -> f64 {
        if self.lines_found == 0 {
            100.0
        } else {
            100.0 * f64::from(self.lines_hit) / f64::from(self.lines_found)
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoverageError {
    #[error("{format} report, line {line}: {message}")]
    Malformed {
        format: &'static str,
        line: usize,
        message: String,
    },
    #[error("not a coverage report: expected lcov (`SF:` records) or Cobertura XML (`<coverage>`)")]
    UnknownFormat,
}

/// Reads either format, telling them apart by content.
pub fn parse_report(text: &str) -> Result<Vec<FileCoverage>, CoverageError> {
    let head = text.trim_start();
    if head.starts_with('<') {
        parse_cobertura(text)
    } else if text.lines().any(|l| l.starts_with("SF:")) {
        parse_lcov(text)
    } else {
        Err(CoverageError::UnknownFormat)
    }
}

/// Makes report paths relative to the repository root (lcov often has absolute paths).
pub fn relativize(files: &mut [FileCoverage], root: &str) {
    let root = root.trim_end_matches('/');
    for f in files {
        if let Some(rest) = f.path.strip_prefix(root) {
            f.path = rest.trim_start_matches('/').to_string();
        }
        if let Some(rest) = f.path.strip_prefix("./") {
            f.path = rest.to_string();
        }
    }
}

/// Commits per file from `git log --format=%x00 --name-only` (or plain
/// `--name-only` output): every non-empty line that is not a commit separator
/// names a file changed by one commit.
pub fn parse_churn(git_log: &str) -> HashMap<String, u32> {
    let mut churn = HashMap::new();
    for line in git_log.lines() {
        let line = line.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        if !line.is_empty() {
            *churn.entry(line.to_string()).or_insert(0) += 1;
        }
    }
    churn
}

/// Consecutive line numbers folded into inclusive ranges.
pub fn ranges(lines: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &l in lines {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == l => *end = l,
            _ => out.push((l, l)),
        }
    }
    out
}

pub fn format_ranges(r: &[(u32, u32)]) -> String {
    r.iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub file: FileCoverage,
    pub churn: u32,
    /// Uncovered lines times (1 + commits touching the file).
    pub score: u64,
}

/// Files with uncovered lines, worst first (ties by path, for stable output).
pub fn rank(files: &[FileCoverage], churn: &HashMap<String, u32>) -> Vec<Ranked> {
    let mut ranked: Vec<Ranked> = files
        .iter()
        .filter(|f| !f.uncovered.is_empty())
        .map(|f| {
            let c = churn.get(&f.path).copied().unwrap_or(0);
            Ranked {
                file: f.clone(),
                churn: c,
                score: f.uncovered.len() as u64 * (1 + u64::from(c)),
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.file.path.cmp(&b.file.path))
    });
    ranked
}

/// "Write tests" findings for the `top` worst files with at least `min_uncovered`
/// uncovered lines. The fingerprint is the file's path: one ticket per file.
pub fn findings(ranked: &[Ranked], top: usize, min_uncovered: usize) -> Vec<Finding> {
    ranked
        .iter()
        .filter(|r| r.file.uncovered.len() >= min_uncovered)
        .take(top)
        .map(|r| {
            let f = &r.file;
            let spans = format_ranges(&ranges(&f.uncovered));
            let target = (f.percent() + (100.0 - f.percent()) / 2.0).min(100.0);
            Finding {
                kind: FindingKind::PoorCoverage,
                fingerprint: fingerprint(FindingKind::PoorCoverage, &[&f.path]),
                title: format!("Write tests for {}", f.path),
                description: format!(
                    "{} has {} of {} lines covered ({:.1}%) and changed in {} recent commits. Uncovered lines: {spans}.",
                    f.path,
                    f.lines_hit,
                    f.lines_found,
                    f.percent(),
                    r.churn
                ),
                filepaths: vec![f.path.clone()],
                evidence: vec![format!("uncovered lines: {spans}")],
                acceptance_criteria: vec![
                    format!("tests exercise the uncovered lines of {}: {spans}", f.path),
                    format!("line coverage of {} rises from {:.1}% to at least {:.0}%", f.path, f.percent(), target.floor()),
                    "the new tests pass and test behaviour, not implementation details".into(),
                    "no production code changes beyond what testability needs".into(),
                ],
                score: 8,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
