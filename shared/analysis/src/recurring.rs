//! Recurring errors, Seer-style: mine the templates, keep the ones that look like
//! errors and recur (count and distinct days over thresholds), and score how
//! likely an automated fix is. Above the fixability threshold a finding asks for
//! a fix; below it, for a root-cause note only.

use crate::finding::{Finding, FindingKind, fingerprint};
use crate::logs::{LogMiner, MinerConfig, looks_like_error};
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

#[derive(Debug, Clone, PartialEq)]
pub struct RecurringConfig {
    pub min_count: u64,
    pub min_days: u32,
    pub fixability_threshold: u8,
}

static ISO_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{4})-(\d{2})-(\d{2})").expect("valid regex"));
static SYSLOG_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{1,2})\b")
        .expect("valid regex")
});
static CODE_LOCATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\.(rs|py|js|ts|go|java|rb|kt|cs|c|cc|cpp|php):\d+|panicked at|traceback|exception in thread|\bat [\w$.]+\()")
        .expect("valid regex")
});
static CODE_BUG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(panic|unwrap|nullpointer|null pointer|undefined is not|index out of (range|bounds)|keyerror|typeerror|attributeerror|assertion)")
        .expect("valid regex")
});
static INFRA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(connection (refused|reset)|timed out|timeout|no route to host|disk (full|quota)|no space left|out of memory|oom|permission denied|authentication fail|dns|temporary failure|too many open files)")
        .expect("valid regex")
});

/// The day a log line was written, if its head carries a date (ISO 8601 or a
/// syslog `Mon DD`).
pub fn day_of(line: &str) -> Option<String> {
    let head: String = line.chars().take(48).collect();
    if let Some(c) = ISO_DATE.captures(&head) {
        return Some(format!("{}-{}-{}", &c[1], &c[2], &c[3]));
    }
    SYSLOG_DATE
        .captures(&head)
        .map(|c| format!("{} {:0>2}", &c[1], &c[2]))
}

/// 0-10: higher when the error points at code (a source location, a panic or an
/// exception), lower when it is about the environment (network, disk, memory).
pub fn fixability(template: &str, examples: &[String]) -> u8 {
    let text = std::iter::once(template)
        .chain(examples.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("\n");
    let mut score: i32 = 4;
    if CODE_LOCATION.is_match(&text) {
        score += 3;
    }
    if CODE_BUG.is_match(&text) {
        score += 2;
    }
    if INFRA.is_match(&text) {
        score -= 3;
    }
    score.clamp(0, 10) as u8
}

/// Words of the template that are neither variables nor numbers: what stays the
/// same while the miner generalises, so the fingerprint stays put across runs.
fn skeleton(template: &str) -> String {
    template
        .split_whitespace()
        .filter(|t| !t.contains("<*>") && !t.chars().any(|c| c.is_ascii_digit()))
        .map(|t| t.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Mines `lines` and reports the recurring errors. Each line may come with the
/// day it was written (`YYYY-MM-DD`, from the source's timestamp); without one,
/// the day is read from the line's head where it has a date.
pub fn recurring_errors<'a>(
    lines: impl IntoIterator<Item = (Option<String>, &'a str)>,
    cfg: &RecurringConfig,
) -> Vec<Finding> {
    let mut miner = LogMiner::new(MinerConfig::default());
    let mut days: HashMap<usize, HashSet<String>> = HashMap::new();
    let mut dated = false;
    for (n, (day, line)) in lines.into_iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let id = miner.add_at(line, n as i64 + 1);
        if let Some(d) = day.or_else(|| day_of(line)) {
            dated = true;
            days.entry(id).or_default().insert(d);
        }
    }
    // Templates merge as the miner generalises: count days under the surviving id.
    let mut merged: HashMap<usize, HashSet<String>> = HashMap::new();
    for (id, d) in days {
        merged.entry(miner.resolve(id)).or_default().extend(d);
    }
    let mut out = Vec::new();
    for t in miner.templates() {
        let n_days = merged.get(&t.id).map_or(0, HashSet::len) as u32;
        if t.count < cfg.min_count || (dated && n_days < cfg.min_days) {
            continue;
        }
        if !looks_like_error(&t.text) && !t.examples.iter().any(|e| looks_like_error(e)) {
            continue;
        }
        let score = fixability(&t.text, &t.examples);
        let fix = score >= cfg.fixability_threshold;
        let kind = if fix {
            FindingKind::RecurringError
        } else {
            FindingKind::RootCauseNote
        };
        let short: String = t.text.chars().take(100).collect();
        let when = if dated {
            format!(" on {n_days} distinct days")
        } else {
            String::new()
        };
        out.push(Finding {
            kind,
            fingerprint: fingerprint(FindingKind::RecurringError, &[&skeleton(&t.text)]),
            title: format!("Recurring error: {short}"),
            description: format!(
                "The log template `{}` matched {} lines{when} (first at line {}, last at line {}). Fixability score {score}/10: {}.",
                t.text,
                t.count,
                t.first_seen.unwrap_or_default(),
                t.last_seen.unwrap_or_default(),
                if fix { "a fix is worth attempting" } else { "it looks environmental; a root-cause note only" }
            ),
            filepaths: Vec::new(),
            evidence: t.examples.clone(),
            acceptance_criteria: vec![
                format!("the error `{short}` no longer occurs in the situations the examples show"),
                "a regression test reproduces the failure and passes with the fix".into(),
                "the existing tests pass".into(),
            ],
            score,
        });
    }
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> RecurringConfig {
        RecurringConfig {
            min_count: 3,
            min_days: 2,
            fixability_threshold: 5,
        }
    }

    #[test]
    fn dates_from_line_heads() {
        assert_eq!(
            day_of("2026-11-21T10:00:00Z ERROR x").as_deref(),
            Some("2026-11-21")
        );
        assert_eq!(
            day_of("Jun  9 06:06:20 combo sshd[1]: x").as_deref(),
            Some("Jun 09")
        );
        assert_eq!(day_of("no date here"), None);
    }

    #[test]
    fn code_bugs_score_above_environment_trouble() {
        let bug = fixability(
            "thread <*> panicked at src/lib.rs:42:5: called `Option::unwrap()` on a `None` value",
            &[],
        );
        let env = fixability("ERROR connection refused by db <*>", &[]);
        assert!(bug >= 7 && env <= 3, "bug {bug}, env {env}");
    }

    #[test]
    fn recurring_needs_count_days_and_an_error() {
        let mut lines = Vec::new();
        for day in ["2026-01-01", "2026-01-02"] {
            for i in 0..2 {
                lines.push(format!(
                    "{day}T00:00:0{i}Z ERROR panicked at src/main.rs:{i}0: index out of bounds"
                ));
                lines.push(format!("{day}T00:00:0{i}Z INFO served request {i}"));
                lines.push(format!(
                    "{day}T00:00:0{i}Z ERROR connection refused by 10.0.0.{i}"
                ));
            }
        }
        lines.push("2026-01-02T01:00:00Z ERROR disk exploded on node 7".into());
        let found = recurring_errors(lines.iter().map(|l| (None, l.as_str())), &cfg());
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(found[0].kind, FindingKind::RecurringError);
        assert!(
            found[0].description.contains("4 lines on 2 distinct days"),
            "{}",
            found[0].description
        );
        assert_eq!(found[1].kind, FindingKind::RootCauseNote);
        // One day only: not recurring yet.
        let one_day: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|l| l.starts_with("2026-01-01"))
            .collect();
        assert!(
            recurring_errors(
                one_day.iter().map(|l| (None, *l)),
                &RecurringConfig {
                    min_count: 2,
                    ..cfg()
                }
            )
            .is_empty()
        );
        // The fingerprint survives more examples of the same error.
        let mut more = lines.clone();
        more.push(
            "2026-01-03T00:00:00Z ERROR panicked at src/main.rs:77: index out of bounds".into(),
        );
        let again = recurring_errors(more.iter().map(|l| (None, l.as_str())), &cfg());
        assert_eq!(again[0].fingerprint, found[0].fingerprint);
    }
}
