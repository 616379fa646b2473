//! The secrets gate: credentials in the lines a change adds. Removed lines
//! and context are not scanned: removing a secret is not a new leak, and an
//! old one is not this change's doing.
//!
//! Findings name the rule and a redacted form (first four characters and
//! "…"); the verdict is posted publicly, so it must never repeat a secret.

mod rules;

use crate::diff::FileDiff;
use crate::gate::{Finding, GateResult, GateStatus, plural};
use std::ops::Range;

/// The least length and Shannon entropy (bits per character) of a value
/// assigned to a credential-looking name before it counts as a secret.
const MIN_GENERIC_LEN: usize = 16;
const MIN_ENTROPY: f64 = 3.5;

/// Values that are templates, references or documentation, not secrets.
const PLACEHOLDERS: &[&str] = &[
    "${",
    "{{",
    "<",
    "xxxx",
    "changeme",
    "example",
    "your_",
    "os.environ",
    "os.getenv",
    "env::var",
    "process.env",
    "getenv",
];

/// Every credential found in the added lines of `files`.
pub fn scan(files: &[FileDiff]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for file in files.iter().filter(|f| !f.binary) {
        for added in &file.added {
            for message in scan_line(&added.text) {
                findings.push(Finding::new(Some(&file.path), Some(added.line), message));
            }
        }
    }
    findings
}

/// Fails when [`scan`] finds anything.
pub fn secrets_gate(files: &[FileDiff]) -> GateResult {
    let findings = scan(files);
    if findings.is_empty() {
        return GateResult::new(
            "secrets",
            GateStatus::Pass,
            "no secrets in added lines",
            vec![],
        );
    }
    let summary = format!(
        "{} in added lines",
        plural(findings.len(), "possible secret", "possible secrets")
    );
    GateResult::new("secrets", GateStatus::Fail, summary, findings)
}

/// The finding messages for one line.
fn scan_line(text: &str) -> Vec<String> {
    let mut messages = Vec::new();
    let mut claimed: Vec<Range<usize>> = Vec::new();
    for rule in rules::RULES.iter() {
        for caps in rule.re.captures_iter(text) {
            let Some(secret) = caps.get(rule.group) else {
                continue;
            };
            claimed.push(secret.range());
            messages.push(format!("{}: `{}`", rule.name, redact(secret.as_str())));
        }
    }
    for caps in rules::ASSIGNMENT.captures_iter(text) {
        let Some(value) = (2..=5).find_map(|i| caps.get(i)) else {
            continue;
        };
        let overlaps = claimed
            .iter()
            .any(|r| r.start < value.end() && value.start() < r.end);
        if overlaps || !looks_secret(value.as_str(), caps.get(5).is_some()) {
            continue;
        }
        // The name is not secret and tells the reader what leaked.
        let name = caps[1].trim_matches(|c| c == '.' || c == '-');
        messages.push(format!(
            "generic-secret: `{name}` is assigned a high-entropy value `{}`",
            redact(value.as_str())
        ));
    }
    messages
}

/// Whether a value assigned to a credential-looking name is likely real.
fn looks_secret(value: &str, bare: bool) -> bool {
    if value.chars().count() < MIN_GENERIC_LEN || entropy(value) < MIN_ENTROPY {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
        return false;
    }
    // File paths (`private_key_path = "/etc/ssl/key.pem"`) and plain URLs
    // (`token_url = "https://..."`) name where a secret lives, not the secret;
    // a URL with credentials in it (`user:pass@`) still counts.
    if ["/", "./", "../", "~/"]
        .iter()
        .any(|p| value.starts_with(p))
        || (value.contains("://") && !value.contains('@'))
    {
        return false;
    }
    // Unquoted values are often code (`token = self.load_token(cfg)`); real
    // random tokens almost always hold a digit, and calls hold parentheses.
    if bare
        && (!value.chars().any(|c| c.is_ascii_digit())
            || value.contains(['(', ')', '[', ']'])
            || value.starts_with(['$', '&', '*', '@']))
    {
        return false;
    }
    true
}

/// Shannon entropy of `s` in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::<char, usize>::new();
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let len = s.chars().count() as f64;
    counts
        .values()
        .map(|&n| {
            let p = n as f64 / len;
            -p * p.log2()
        })
        .sum()
}

/// The first four characters and an ellipsis.
fn redact(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests;
