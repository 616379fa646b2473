//! The protected paths gate: changes to files an autonomous change must not
//! touch without a person (CI workflows, infrastructure, code owners).
//!
//! Patterns are anchored at the repository root. Without `*` a pattern names
//! a file or a directory: "infra" covers "infra/x.tf" but not
//! "infrastructure.md". With `*` it is a glob: `*` stays within one path
//! segment, `**` crosses segments. A glob also covers everything under a
//! directory it matches, so "services/*/deploy" protects the files inside.

use crate::diff::FileDiff;
use crate::gate::{Finding, GateResult, GateStatus, plural};
use regex::Regex;

/// Paths protected when the operator configures none.
pub const DEFAULT_PROTECTED_PATHS: &[&str] = &[
    ".github/workflows",
    ".github/actions",
    "infra",
    "template.yaml",
    ".ci",
    "CODEOWNERS",
    ".github/CODEOWNERS",
];

/// Fails when any file, or a renamed file's old path, matches a pattern.
pub fn protected_paths_gate(files: &[FileDiff], patterns: &[String]) -> GateResult {
    let matchers: Vec<Matcher> = patterns.iter().filter_map(|p| Matcher::new(p)).collect();
    let mut findings = Vec::new();
    for file in files {
        for path in std::iter::once(&file.path).chain(&file.old_path) {
            let path = path.trim_start_matches("./");
            if let Some(m) = matchers.iter().find(|m| m.matches(path)) {
                findings.push(Finding::new(
                    Some(path),
                    None,
                    format!("`{path}` is protected (pattern `{}`)", m.pattern),
                ));
            }
        }
    }
    if findings.is_empty() {
        return GateResult::new(
            "protected_paths",
            GateStatus::Pass,
            "no protected paths changed",
            vec![],
        );
    }
    let summary = format!(
        "{} changed: {}",
        plural(findings.len(), "protected path", "protected paths"),
        findings
            .iter()
            .filter_map(|f| f.file.as_deref())
            .collect::<Vec<_>>()
            .join(", ")
    );
    GateResult::new("protected_paths", GateStatus::Fail, summary, findings)
}

struct Matcher {
    pattern: String,
    kind: Kind,
}

enum Kind {
    Prefix(String),
    Glob(Regex),
}

impl Matcher {
    /// `None` for a pattern that names nothing (empty or just "/").
    fn new(pattern: &str) -> Option<Self> {
        let clean = pattern.trim().trim_start_matches("./").trim_matches('/');
        if clean.is_empty() {
            return None;
        }
        let kind = if clean.contains('*') {
            Kind::Glob(glob_regex(clean))
        } else {
            Kind::Prefix(clean.to_string())
        };
        Some(Self {
            pattern: pattern.to_string(),
            kind,
        })
    }

    fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Prefix(p) => {
                path == p || (path.starts_with(p.as_str()) && path[p.len()..].starts_with('/'))
            }
            Kind::Glob(re) => re.is_match(path),
        }
    }
}

/// A glob as an anchored regex; everything but `*` is literal.
fn glob_regex(glob: &str) -> Regex {
    let mut re = String::from("^");
    let mut rest = glob;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("**/") {
            re.push_str("(?:.*/)?"); // zero or more whole segments
            rest = r;
        } else if let Some(r) = rest.strip_prefix("**") {
            re.push_str(".*");
            rest = r;
        } else if let Some(r) = rest.strip_prefix('*') {
            re.push_str("[^/]*");
            rest = r;
        } else {
            let c = rest.chars().next().expect("non-empty");
            re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
            rest = &rest[c.len_utf8()..];
        }
    }
    re.push_str("(?:/.*)?$");
    Regex::new(&re).expect("escaped glob is a valid regex")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(path: &str, old: Option<&str>) -> FileDiff {
        FileDiff {
            path: path.into(),
            old_path: old.map(Into::into),
            new_file: false,
            deleted: false,
            binary: false,
            added: vec![],
            removed: 0,
        }
    }

    fn matches(pattern: &str, path: &str) -> bool {
        Matcher::new(pattern).unwrap().matches(path)
    }

    #[test]
    fn plain_patterns_are_files_or_directory_prefixes() {
        assert!(matches(".github/workflows", ".github/workflows/ci.yml"));
        assert!(matches("infra", "infra/x.tf"));
        assert!(matches("infra/", "infra/modules/vpc/main.tf"));
        assert!(!matches("infra", "infrastructure.md"));
        assert!(!matches("infra", "docs/infra/x.md"));
        assert!(matches("CODEOWNERS", "CODEOWNERS"));
        assert!(!matches("CODEOWNERS", "docs/CODEOWNERS"));
        assert!(matches("./template.yaml", "template.yaml"));
        assert!(Matcher::new("/").is_none());
    }

    #[test]
    fn globs_keep_star_in_a_segment_and_let_double_star_cross() {
        assert!(matches("*.tf", "main.tf"));
        assert!(!matches("*.tf", "modules/main.tf"));
        assert!(matches("**/*.tf", "modules/vpc/main.tf"));
        assert!(matches("**/*.tf", "main.tf"));
        assert!(matches("deploy/*/values.yaml", "deploy/prod/values.yaml"));
        assert!(!matches(
            "deploy/*/values.yaml",
            "deploy/prod/eu/values.yaml"
        ));
        assert!(matches(
            "deploy/**/values.yaml",
            "deploy/prod/eu/values.yaml"
        ));
        assert!(matches("services/*/deploy", "services/api/deploy/job.yml"));
        assert!(!matches("a.*", "aXb")); // the dot is literal
    }

    #[test]
    fn gate_checks_both_sides_of_a_rename() {
        let patterns: Vec<String> = DEFAULT_PROTECTED_PATHS
            .iter()
            .map(|p| p.to_string())
            .collect();
        let ok = protected_paths_gate(&[diff("src/lib.rs", None)], &patterns);
        assert_eq!(ok.status, GateStatus::Pass);

        let moved_out = protected_paths_gate(
            &[diff("old-ci.yml", Some(".github/workflows/ci.yml"))],
            &patterns,
        );
        assert_eq!(moved_out.status, GateStatus::Fail);
        assert_eq!(
            moved_out.findings[0].file.as_deref(),
            Some(".github/workflows/ci.yml")
        );
        assert_eq!(
            moved_out.findings[0].message,
            "`.github/workflows/ci.yml` is protected (pattern `.github/workflows`)"
        );
        assert_eq!(
            moved_out.summary,
            "1 protected path changed: .github/workflows/ci.yml"
        );

        let moved_in = protected_paths_gate(&[diff("infra/x.tf", Some("x.tf"))], &patterns);
        assert_eq!(moved_in.status, GateStatus::Fail);
    }
}
