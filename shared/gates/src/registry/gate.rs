//! The dependencies gate: every registry dependency a change adds must exist.

use super::{Existence, RegistryChecker};
use crate::gate::{Finding, GateResult, GateStatus, plural};
use crate::manifests::{Dependency, Ecosystem, is_manifest, new_dependencies};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Lookups in flight at once: enough for a large change, polite to the
/// registries.
const CONCURRENT_LOOKUPS: usize = 8;

/// A file of the change with its content before and after; `None` when it
/// did not exist on that side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestChange {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Fails if a new dependency does not exist; else unverified if one could
/// not be looked up or a manifest did not parse; else passes. Files that are
/// not manifests are ignored.
pub async fn dependencies_gate(
    changes: &[ManifestChange],
    checker: &RegistryChecker,
) -> GateResult {
    let mut deps: BTreeSet<Dependency> = BTreeSet::new();
    let mut findings = Vec::new();
    let mut unparsed = 0;
    for change in changes.iter().filter(|c| is_manifest(&c.path)) {
        match new_dependencies(
            &change.path,
            change.before.as_deref(),
            change.after.as_deref(),
        ) {
            Ok(found) => deps.extend(found),
            Err(e) => {
                unparsed += 1;
                findings.push(Finding::new(
                    Some(&change.path),
                    None,
                    format!("could not verify new dependencies: {e}"),
                ));
            }
        }
    }
    let answers = look_up(&deps, checker).await;

    let mut missing = Vec::new();
    let mut unverified = 0;
    for dep in &deps {
        let registry = dep.ecosystem.registry_name();
        let message = match answers.get(&(dep.ecosystem, dep.name.clone())) {
            Some(Existence::Exists) => continue,
            Some(Existence::Missing) => {
                missing.push(format!("`{}` ({registry})", dep.name));
                format!("`{}` does not exist on {registry}", dep.name)
            }
            Some(Existence::Unverified(why)) => {
                unverified += 1;
                format!("could not verify `{}` on {registry}: {why}", dep.name)
            }
            None => {
                unverified += 1;
                format!(
                    "could not verify `{}` on {registry}: the lookup did not finish",
                    dep.name
                )
            }
        };
        findings.push(Finding::new(Some(&dep.manifest), None, message));
    }

    let (status, summary) = if !missing.is_empty() {
        (
            GateStatus::Fail,
            format!(
                "{} not exist: {}",
                plural(missing.len(), "new dependency does", "new dependencies do"),
                missing.join(", ")
            ),
        )
    } else if unverified > 0 || unparsed > 0 {
        let mut parts = Vec::new();
        if unverified > 0 {
            parts.push(format!(
                "could not verify {unverified} of {} new dependencies",
                deps.len()
            ));
        }
        if unparsed > 0 {
            parts.push(format!(
                "could not verify {} that did not parse",
                plural(unparsed, "manifest", "manifests")
            ));
        }
        (GateStatus::Unverified, parts.join("; "))
    } else if deps.is_empty() {
        (GateStatus::Pass, "no new dependencies".to_string())
    } else {
        let checked = plural(deps.len(), "new dependency", "new dependencies");
        (GateStatus::Pass, format!("{checked} checked, all exist"))
    };
    GateResult::new("dependencies", status, summary, findings)
}

/// One lookup per package, however many manifests add it. A lookup that
/// panics leaves its package out of the map, which the caller reports as
/// unverified.
async fn look_up(
    deps: &BTreeSet<Dependency>,
    checker: &RegistryChecker,
) -> BTreeMap<(Ecosystem, String), Existence> {
    let unique: BTreeMap<(Ecosystem, String), &Dependency> = deps
        .iter()
        .map(|d| ((d.ecosystem, d.name.clone()), d))
        .collect();
    let permits = Arc::new(Semaphore::new(CONCURRENT_LOOKUPS));
    let mut tasks = JoinSet::new();
    for (key, dep) in unique {
        let (checker, permits, dep) = (checker.clone(), permits.clone(), dep.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (key, checker.check(&dep).await)
        });
    }
    let mut answers = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((key, answer)) => {
                answers.insert(key, answer);
            }
            Err(e) => tracing::warn!(error = %e, "registry lookup task failed"),
        }
    }
    answers
}
