//! The dependency watchdog against the real RustSec advisory-db snapshot in
//! `../shared/data/rustsec-advisory-db`, on hand-written Cargo.lock fixtures
//! whose expected findings were checked against cargo-audit 0.22.2
//! (`cargo audit --db <snapshot> --no-fetch --no-yanked --json -f <lock>`).

use std::path::Path;
use std::sync::OnceLock;

use nightshift_analysis::deps::{
    AdvisoryDb, DepFinding, DepKind, Ecosystem, LockedPackage, audit, exit_code, parse_lockfile,
};

use crate::SNAPSHOT;

use crate::fixture;

/// The snapshot, loaded once. Missing data fails the test: it is never skipped.
fn db() -> &'static AdvisoryDb {
    static DB: OnceLock<AdvisoryDb> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = Path::new(SNAPSHOT);
        assert!(
            dir.join("crates").is_dir(),
            "the RustSec snapshot is missing at {SNAPSHOT}: these tests need ../shared/data \
             (shared/data/rustsec-advisory-db beside the main checkout)"
        );
        AdvisoryDb::load(dir).unwrap_or_else(|e| panic!("the snapshot must load: {e}"))
    })
}

fn triples(findings: &[DepFinding]) -> Vec<(&str, &str, &str, DepKind)> {
    findings
        .iter()
        .map(|f| {
            (
                f.package.as_str(),
                f.version.as_str(),
                f.id.as_str(),
                f.kind,
            )
        })
        .collect()
}

fn audit_fixture(rel: &str) -> Vec<DepFinding> {
    let packages = parse_lockfile(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    audit(&packages, db())
}

#[test]
fn snapshot_path_resolves_to_shared_data() {
    let resolved = Path::new(SNAPSHOT).canonicalize().expect("snapshot exists");
    assert!(
        resolved.ends_with("shared/data/rustsec-advisory-db"),
        "{}",
        resolved.display()
    );
    assert!(db().len() > 1000, "only {} advisories loaded", db().len());
}

/// One of each case: a vulnerability, an unmaintained and an unsound crate, a
/// withdrawn advisory (dirs, humantime), a notice (personnummer), versions in
/// `patched` (chrono 0.4.20) and in `unaffected` (time 0.2.3), pre-releases,
/// and a git and a path package that share names with vulnerable crates.
#[test]
fn cargo_lock_v3_matches_cargo_audit() {
    use DepKind::*;
    let findings = audit_fixture("cargo-v3/Cargo.lock");
    assert_eq!(
        triples(&findings),
        vec![
            ("abi_stable", "0.9.0", "RUSTSEC-2020-0105", Vulnerability),
            ("acc_reader", "2.0.0", "RUSTSEC-2020-0155", Unsound),
            (
                "hyper-staticfile",
                "0.10.0-alpha.1",
                "RUSTSEC-2022-0069",
                Vulnerability
            ),
            (
                "hyper-staticfile",
                "0.10.0-alpha.1",
                "RUSTSEC-2022-0072",
                Vulnerability
            ),
            // patched `>= 0.10.0-alpha.2` covers alpha.3, `>= 0.10.0-alpha.5` does not.
            (
                "hyper-staticfile",
                "0.10.0-alpha.3",
                "RUSTSEC-2022-0072",
                Vulnerability
            ),
            // 0.11.0-beta.1 is patched for rustsec, though VersionReq::matches says no.
            ("paste", "1.0.15", "RUSTSEC-2024-0436", Unmaintained),
            ("time", "0.1.45", "RUSTSEC-2020-0071", Vulnerability),
        ]
    );
    let abi = &findings[0];
    assert_eq!(abi.title, "Update unsound DrainFilter and RString::retain");
    assert_eq!(abi.patched, vec![">= 0.9.1"]);
    assert!(abi.aliases.contains(&"CVE-2020-36212".to_string()));
    assert_eq!(
        abi.url.as_deref(),
        Some("https://github.com/rodrimati1992/abi_stable_crates/issues/44")
    );
    assert_eq!(exit_code(&findings), 1);
}

#[test]
fn cargo_lock_v1_with_metadata_checksums() {
    use DepKind::*;
    assert_eq!(
        triples(&audit_fixture("cargo-v1/Cargo.lock")),
        vec![
            ("smallvec", "0.6.9", "RUSTSEC-2018-0018", Unsound),
            ("smallvec", "0.6.9", "RUSTSEC-2019-0009", Vulnerability),
            ("smallvec", "0.6.9", "RUSTSEC-2019-0012", Vulnerability),
            ("smallvec", "0.6.9", "RUSTSEC-2021-0003", Vulnerability),
            ("tokio", "0.1.22", "RUSTSEC-2021-0124", Vulnerability),
        ]
    );
}

#[test]
fn cargo_lock_v4_patched_ranges() {
    use DepKind::*;
    // tokio 1.44.2 sits in every advisory's patched ranges; 1.18.1 in none of three.
    assert_eq!(
        triples(&audit_fixture("cargo-v4/Cargo.lock")),
        vec![
            ("ansi_term", "0.12.1", "RUSTSEC-2021-0139", Unmaintained),
            ("tokio", "1.18.1", "RUSTSEC-2023-0001", Vulnerability),
            ("tokio", "1.18.1", "RUSTSEC-2023-0005", Unsound),
            ("tokio", "1.18.1", "RUSTSEC-2025-0023", Unsound),
        ]
    );
}

#[test]
fn only_crates_io_packages_are_read() {
    let packages = parse_lockfile(&fixture("cargo-v3/Cargo.lock")).expect("parses");
    let names: Vec<_> = packages.iter().map(|p| p.name.as_str()).collect();
    assert!(!names.contains(&"demo"), "the path root is skipped");
    assert!(!names.contains(&"lz4-sys"), "path packages are skipped");
    assert!(!names.contains(&"smallvec"), "git packages are skipped");
    assert_eq!(packages.len(), 12);
    assert!(packages.iter().all(|p| p.ecosystem == Ecosystem::Cargo));
}

/// cargo-audit 0.22.2 reports nothing for a package whose source is the sparse
/// crates.io index (rustsec compares the source kind, registry vs sparse); we
/// treat both spellings as crates.io, which is what they are.
#[test]
fn sparse_crates_io_source_is_crates_io() {
    assert_eq!(
        triples(&audit_fixture("cargo-sparse/Cargo.lock")),
        vec![(
            "paste",
            "1.0.15",
            "RUSTSEC-2024-0436",
            DepKind::Unmaintained
        )]
    );
}

#[test]
fn old_popular_service_counts_match_cargo_audit() {
    let findings = audit_fixture("cargo-old-popular/Cargo.lock");
    let count = |k| findings.iter().filter(|f| f.kind == k).count();
    assert_eq!(
        (
            count(DepKind::Vulnerability),
            count(DepKind::Unmaintained),
            count(DepKind::Unsound)
        ),
        (45, 11, 15)
    );
    let mut sorted = findings.clone();
    sorted.sort_by(|a, b| (&a.package, &a.version, &a.id).cmp(&(&b.package, &b.version, &b.id)));
    assert_eq!(findings, sorted, "findings come sorted");
}

#[test]
fn warnings_alone_exit_zero_and_json_shape() {
    let packages = vec![LockedPackage {
        name: "paste".into(),
        version: "1.0.15".into(),
        ecosystem: Ecosystem::Cargo,
    }];
    let findings = audit(&packages, db());
    assert_eq!(exit_code(&findings), 0);
    assert_eq!(exit_code(&[]), 0);
    let json: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&findings).expect("serialises")).expect("json");
    assert_eq!(json[0]["id"], "RUSTSEC-2024-0436");
    assert_eq!(json[0]["package"], "paste");
    assert_eq!(json[0]["version"], "1.0.15");
    assert_eq!(json[0]["kind"], "unmaintained");
}

#[test]
fn versions_that_do_not_parse_match_nothing() {
    let packages = vec![LockedPackage {
        name: "abi_stable".into(),
        version: "not-a-version".into(),
        ecosystem: Ecosystem::Cargo,
    }];
    assert!(audit(&packages, db()).is_empty());
}

/// Releases around every bound of every advisory: the counts cargo-audit 0.22.2
/// reports for the same file on this snapshot (see `bench::boundary_lockfile`).
#[test]
fn boundary_lockfile_counts_match_cargo_audit() {
    let text = nightshift_analysis::deps::bench::boundary_lockfile(Path::new(SNAPSHOT))
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Cargo.lock");
    std::fs::write(&path, text).expect("write");
    let packages = parse_lockfile(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(packages.len(), 9859);
    let findings = audit(&packages, db());
    let count = |k| findings.iter().filter(|f| f.kind == k).count();
    assert_eq!(
        (
            count(DepKind::Vulnerability),
            count(DepKind::Unmaintained),
            count(DepKind::Unsound)
        ),
        (11553, 1157, 1404)
    );
}
