//! Dependency findings as tickets want them: one per advisory and package, so
//! moving to another still-affected version does not open a second ticket.

use crate::deps::{DepFinding, DepKind};
use crate::finding::{Finding, FindingKind, fingerprint};

pub fn findings(deps: &[DepFinding], lockfile: &str) -> Vec<Finding> {
    deps.iter()
        .map(|d| {
            let kind = match d.kind {
                DepKind::Vulnerability => FindingKind::Vulnerability,
                _ => FindingKind::DependencyWarning,
            };
            let what = match d.kind {
                DepKind::Vulnerability => "vulnerable",
                DepKind::Unmaintained => "unmaintained",
                DepKind::Unsound => "unsound",
            };
            let fix = if d.patched.is_empty() {
                format!(
                    "{} is replaced or removed: no patched version exists",
                    d.package
                )
            } else {
                format!(
                    "{} is updated to a patched version ({})",
                    d.package,
                    d.patched.join(" or ")
                )
            };
            Finding {
                kind,
                fingerprint: fingerprint(kind, &[&d.id, &d.package]),
                title: format!(
                    "{} {} is {what}: {} ({})",
                    d.package, d.version, d.title, d.id
                ),
                description: format!(
                    "{lockfile} locks {} {}, affected by {}{}: {}.{}",
                    d.package,
                    d.version,
                    d.id,
                    if d.aliases.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", d.aliases.join(", "))
                    },
                    d.title,
                    d.url
                        .as_deref()
                        .map(|u| format!(" See {u}"))
                        .unwrap_or_default()
                ),
                filepaths: vec![lockfile.to_string()],
                evidence: vec![format!("{} {} in {lockfile}", d.package, d.version)],
                acceptance_criteria: vec![
                    fix,
                    format!("the dependency audit no longer reports {}", d.id),
                    "the tests pass".into(),
                ],
                score: if d.patched.is_empty() { 4 } else { 9 },
            }
        })
        .collect()
}
