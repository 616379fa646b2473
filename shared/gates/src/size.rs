//! The diff size gate: a change too large to review carefully is sent back
//! to be split, whatever it contains.

use crate::diff::FileDiff;
use crate::gate::{Finding, GateResult, GateStatus, plural};

/// Fails when added plus removed lines exceed `max_lines`. Binary files have
/// no lines; they are listed as findings so the reviewer sees them.
pub fn diff_size_gate(files: &[FileDiff], max_lines: usize) -> GateResult {
    let changed: usize = files.iter().map(|f| f.added.len() + f.removed).sum();
    let findings: Vec<Finding> = files
        .iter()
        .filter(|f| f.binary)
        .map(|f| {
            Finding::new(
                Some(&f.path),
                None,
                format!("binary file `{}` (not counted)", f.path),
            )
        })
        .collect();
    let (status, summary) = if changed > max_lines {
        (
            GateStatus::Fail,
            format!(
                "{} changed, over the limit of {max_lines}",
                plural(changed, "line", "lines")
            ),
        )
    } else {
        (
            GateStatus::Pass,
            format!(
                "{} changed, within the limit of {max_lines}",
                plural(changed, "line", "lines")
            ),
        )
    };
    GateResult::new("diff_size", status, summary, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::AddedLine;

    fn diff(path: &str, added: usize, removed: usize, binary: bool) -> FileDiff {
        FileDiff {
            path: path.into(),
            old_path: None,
            new_file: false,
            deleted: false,
            binary,
            added: (1..=added as u32)
                .map(|line| AddedLine {
                    line,
                    text: String::new(),
                })
                .collect(),
            removed,
        }
    }

    #[test]
    fn counts_added_and_removed_over_all_files() {
        let files = [diff("a", 3, 2, false), diff("b", 0, 5, false)];
        let at_limit = diff_size_gate(&files, 10);
        assert_eq!(at_limit.status, GateStatus::Pass);
        assert_eq!(at_limit.summary, "10 lines changed, within the limit of 10");
        let over = diff_size_gate(&files, 9);
        assert_eq!(over.status, GateStatus::Fail);
        assert_eq!(over.summary, "10 lines changed, over the limit of 9");
    }

    #[test]
    fn binary_files_are_listed_but_not_counted() {
        let result = diff_size_gate(&[diff("logo.png", 0, 0, true), diff("a", 1, 0, false)], 1);
        assert_eq!(result.status, GateStatus::Pass);
        assert_eq!(result.summary, "1 line changed, within the limit of 1");
        assert_eq!(result.findings.len(), 1);
        assert_eq!(result.findings[0].file.as_deref(), Some("logo.png"));
    }
}
