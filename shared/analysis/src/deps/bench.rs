//! Agreement and speed against cargo-audit, the reference implementation of
//! RustSec matching: for each lock file, run both on the same advisory
//! directory, compare the (advisory id, package, version) sets per kind, and
//! time each several times (alternating), keeping the median.
//!
//! cargo-audit runs as `cargo-audit audit --db DIR --no-fetch --no-yanked --json
//! -f LOCK`: no network, and no yanked check (which asks the crates.io index
//! and is no advisory). Its `warnings.notice` and `warnings.yanked` lists are
//! not compared, since the watchdog reports neither. Our time is the whole
//! pipeline in process: load the database, read the lock file, audit. Theirs
//! is the process's wall time, start-up included: that is what a user waits.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use super::boundary::boundary_lockfile;
use super::{AdvisoryDb, DepKind, DepsError, audit, parse_lockfile};

/// How many times each tool runs per lock file, by default.
pub const RUNS: usize = 5;

/// One finding as both tools can name it.
pub type Triple = (String, String, String);

/// How far the two tools agree on one kind of finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindAgreement {
    pub kind: DepKind,
    pub ours: usize,
    pub cargo_audit: usize,
    pub both: usize,
    /// `id package version` of findings only we report.
    pub only_ours: Vec<String>,
    pub only_cargo_audit: Vec<String>,
    /// `both / |ours ∪ cargo_audit|`; 1.0 when neither reports anything.
    pub agreement: f64,
}

impl KindAgreement {
    fn new(kind: DepKind, ours: &BTreeSet<Triple>, theirs: &BTreeSet<Triple>) -> Self {
        let show = |t: &Triple| format!("{} {} {}", t.0, t.1, t.2);
        let both = ours.intersection(theirs).count();
        let union = ours.union(theirs).count();
        Self {
            kind,
            ours: ours.len(),
            cargo_audit: theirs.len(),
            both,
            only_ours: ours.difference(theirs).map(show).collect(),
            only_cargo_audit: theirs.difference(ours).map(show).collect(),
            agreement: if union == 0 {
                1.0
            } else {
                both as f64 / union as f64
            },
        }
    }
}

/// The comparison for one lock file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    pub lockfile: PathBuf,
    /// crates.io packages in the lock file.
    pub packages: usize,
    pub kinds: Vec<KindAgreement>,
    pub ours_median: Duration,
    pub cargo_audit_median: Duration,
}

impl FileReport {
    /// True when both tools report exactly the same findings of every kind.
    pub fn agrees(&self) -> bool {
        self.kinds
            .iter()
            .all(|k| k.only_ours.is_empty() && k.only_cargo_audit.is_empty())
    }
}

const KINDS: [DepKind; 3] = [
    DepKind::Vulnerability,
    DepKind::Unmaintained,
    DepKind::Unsound,
];

/// Runs both tools `runs` times (at least once) on each lock file.
pub fn compare_with_cargo_audit(
    lockfiles: &[PathBuf],
    db_dir: &Path,
    cargo_audit: &Path,
    runs: usize,
) -> Result<Vec<FileReport>, DepsError> {
    let runs = runs.max(1);
    let mut reports = Vec::with_capacity(lockfiles.len());
    for lock in lockfiles {
        let (mut ours_times, mut theirs_times) = (Vec::new(), Vec::new());
        let (mut ours, mut theirs) = (None, None);
        // Alternate the tools so that load from other processes hits both alike.
        for _ in 0..runs {
            let start = Instant::now();
            let db = AdvisoryDb::load(db_dir)?;
            let packages = parse_lockfile(lock)?;
            let findings = audit(&packages, &db);
            ours_times.push(start.elapsed());
            ours = Some((packages.len(), findings));

            let start = Instant::now();
            let out = run_cargo_audit(cargo_audit, db_dir, lock)?;
            theirs_times.push(start.elapsed());
            theirs = Some(out);
        }
        let (Some((packages, findings)), Some(stdout)) = (ours, theirs) else {
            return Err(DepsError::Bench {
                message: "no run completed".into(),
            });
        };
        let theirs = parse_cargo_audit_json(&stdout)?;
        let kinds = KINDS
            .iter()
            .map(|&kind| {
                let ours: BTreeSet<Triple> = findings
                    .iter()
                    .filter(|f| f.kind == kind)
                    .map(|f| (f.id.clone(), f.package.clone(), f.version.clone()))
                    .collect();
                let theirs: BTreeSet<Triple> = theirs
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, t)| t.clone())
                    .collect();
                KindAgreement::new(kind, &ours, &theirs)
            })
            .collect();
        reports.push(FileReport {
            lockfile: lock.clone(),
            packages,
            kinds,
            ours_median: median(&mut ours_times),
            cargo_audit_median: median(&mut theirs_times),
        });
    }
    Ok(reports)
}

/// The per-kind agreement over all lock files together.
pub fn overall(reports: &[FileReport]) -> Vec<KindAgreement> {
    KINDS
        .iter()
        .map(|&kind| {
            let mut total = KindAgreement::new(kind, &BTreeSet::new(), &BTreeSet::new());
            for k in reports
                .iter()
                .flat_map(|r| &r.kinds)
                .filter(|k| k.kind == kind)
            {
                total.ours += k.ours;
                total.cargo_audit += k.cargo_audit;
                total.both += k.both;
                total.only_ours.extend(k.only_ours.iter().cloned());
                total
                    .only_cargo_audit
                    .extend(k.only_cargo_audit.iter().cloned());
            }
            let union = total.ours + total.cargo_audit - total.both;
            total.agreement = if union == 0 {
                1.0
            } else {
                total.both as f64 / union as f64
            };
            total
        })
        .collect()
}

fn run_cargo_audit(bin: &Path, db_dir: &Path, lock: &Path) -> Result<String, DepsError> {
    let output = Command::new(bin)
        .arg("audit")
        .arg("--db")
        .arg(db_dir)
        .args(["--no-fetch", "--no-yanked", "--json", "-f"])
        .arg(lock)
        .output()
        .map_err(|e| DepsError::Bench {
            message: format!("cannot run {}: {e}", bin.display()),
        })?;
    // Exit status 1 only means "vulnerabilities found"; the JSON decides.
    String::from_utf8(output.stdout).map_err(|e| DepsError::Bench {
        message: format!("{} printed non-UTF-8 output: {e}", bin.display()),
    })
}

#[derive(Deserialize)]
struct Report {
    vulnerabilities: Vulnerabilities,
    #[serde(default)]
    warnings: std::collections::BTreeMap<String, Vec<Entry>>,
}

#[derive(Deserialize)]
struct Vulnerabilities {
    list: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    advisory: Option<AdvisoryRef>,
    package: PackageRef,
}

#[derive(Deserialize)]
struct AdvisoryRef {
    id: String,
}

#[derive(Deserialize)]
struct PackageRef {
    name: String,
    version: String,
}

/// cargo-audit's `--json` report as (kind, (id, package, version)) pairs;
/// notices and yanked crates are left out.
pub fn parse_cargo_audit_json(json: &str) -> Result<Vec<(DepKind, Triple)>, DepsError> {
    let report: Report = serde_json::from_str(json).map_err(|e| DepsError::Bench {
        message: format!("cargo-audit's JSON report does not parse: {e}"),
    })?;
    let triple = |e: Entry| {
        e.advisory
            .map(|a| (a.id, e.package.name, e.package.version))
    };
    let mut out: Vec<(DepKind, Triple)> = report
        .vulnerabilities
        .list
        .into_iter()
        .filter_map(|e| triple(e).map(|t| (DepKind::Vulnerability, t)))
        .collect();
    for (name, entries) in report.warnings {
        let kind = match name.as_str() {
            "unmaintained" => DepKind::Unmaintained,
            "unsound" => DepKind::Unsound,
            _ => continue,
        };
        out.extend(
            entries
                .into_iter()
                .filter_map(|e| triple(e).map(|t| (kind, t))),
        );
    }
    Ok(out)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str, name: &str, version: &str) -> Triple {
        (id.into(), name.into(), version.into())
    }

    #[test]
    fn agreement_is_intersection_over_union() {
        let ours: BTreeSet<_> = [t("A", "a", "1"), t("B", "b", "1")].into();
        let theirs: BTreeSet<_> = [t("B", "b", "1"), t("C", "c", "1")].into();
        let k = KindAgreement::new(DepKind::Vulnerability, &ours, &theirs);
        assert_eq!((k.ours, k.cargo_audit, k.both), (2, 2, 1));
        assert_eq!(k.only_ours, vec!["A a 1"]);
        assert_eq!(k.only_cargo_audit, vec!["C c 1"]);
        assert!((k.agreement - 1.0 / 3.0).abs() < 1e-9);
        let empty = BTreeSet::new();
        assert_eq!(
            KindAgreement::new(DepKind::Unsound, &empty, &empty).agreement,
            1.0
        );
        assert_eq!(
            median(&mut [3, 1, 2].map(Duration::from_millis)),
            Duration::from_millis(2)
        );
    }
}
