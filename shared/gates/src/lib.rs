//! Deterministic pull-request gates: checks that do not need a model's
//! judgement and therefore must not be left to one. The reviewer role runs
//! them over a change's `git diff` and puts each [`GateResult`] in its verdict.
//!
//! Every gate answers [`GateStatus::Pass`], [`GateStatus::Fail`] or
//! [`GateStatus::Unverified`]; the last one exists so that a check that could
//! not run (a registry that timed out, a manifest that did not parse) is never
//! mistaken for a pass.
//!
//! # Layout
//! - [`diff`]: `git diff` output parsed into per-file added lines.
//! - [`gate`]: the result types shared by every gate, and the tests gate.
//! - [`secrets`]: credentials in added lines.
//! - [`paths`]: changes to protected paths (CI workflows, infrastructure).
//! - [`size`]: the number of changed lines against a limit.
//! - [`manifests`]: dependencies a change adds to Cargo, npm and Python manifests.
//! - [`registry`]: those dependencies looked up on their registries.

pub mod diff;
pub mod gate;
pub mod manifests;
pub mod paths;
pub mod registry;
pub mod secrets;
pub mod size;

pub use diff::{AddedLine, FileDiff, parse_unified};
pub use gate::{Finding, GateResult, GateStatus, tests_gate};
pub use manifests::{Dependency, Ecosystem, ManifestError, is_manifest, new_dependencies};
pub use paths::{DEFAULT_PROTECTED_PATHS, protected_paths_gate};
pub use registry::{Existence, ManifestChange, RegistryChecker, RegistryConfig, dependencies_gate};
pub use secrets::secrets_gate;
pub use size::diff_size_gate;

/// Settings for the gates that need nothing but the diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticGates {
    /// Patterns in the syntax of [`protected_paths_gate`].
    pub protected_paths: Vec<String>,
    /// The most lines (added plus removed) a change may touch.
    pub max_diff_lines: usize,
}

impl Default for StaticGates {
    fn default() -> Self {
        Self {
            protected_paths: DEFAULT_PROTECTED_PATHS
                .iter()
                .map(|p| p.to_string())
                .collect(),
            max_diff_lines: 1_000,
        }
    }
}

/// The secrets, protected paths and diff size gates, in that order.
pub fn static_gates(files: &[FileDiff], cfg: &StaticGates) -> Vec<GateResult> {
    vec![
        secrets_gate(files),
        protected_paths_gate(files, &cfg.protected_paths),
        diff_size_gate(files, cfg.max_diff_lines),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_gates_run_in_order_and_a_clean_diff_passes() {
        let diff = "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,1 +1,2 @@\n fn a() {}\n+fn b() {}\n";
        let results = static_gates(&parse_unified(diff), &StaticGates::default());
        let names: Vec<_> = results.iter().map(|r| r.gate.as_str()).collect();
        assert_eq!(names, ["secrets", "protected_paths", "diff_size"]);
        assert!(
            results.iter().all(|r| r.status == GateStatus::Pass),
            "{results:?}"
        );
    }

    #[test]
    fn static_gates_fail_independently() {
        let diff = "diff --git a/infra/main.tf b/infra/main.tf\n--- a/infra/main.tf\n+++ b/infra/main.tf\n@@ -1,0 +1,2 @@\n+a\n+b\n";
        let cfg = StaticGates {
            protected_paths: vec!["infra".into()],
            max_diff_lines: 1,
        };
        let results = static_gates(&parse_unified(diff), &cfg);
        let statuses: Vec<_> = results.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [GateStatus::Pass, GateStatus::Fail, GateStatus::Fail]
        );
    }
}
