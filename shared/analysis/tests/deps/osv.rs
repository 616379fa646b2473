//! OSV advisories against npm, Python and Cargo lock files, on the fixtures in
//! `tests/fixtures/deps` (made-up `*-test-*` ids, so nobody mistakes them for
//! real advisories): range events, explicit versions, limits, withdrawn
//! records, ecosystems and name normalisation.

use nightshift_analysis::deps::{
    AdvisoryDb, DepFinding, DepKind, Ecosystem, LockedPackage, Pep440Version, audit, parse_lockfile,
};

use crate::fixture;

fn db() -> AdvisoryDb {
    AdvisoryDb::load(&fixture("osv")).unwrap_or_else(|e| panic!("the OSV fixtures load: {e}"))
}

fn audit_fixture(rel: &str) -> Vec<DepFinding> {
    let packages = parse_lockfile(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    audit(&packages, &db())
}

fn triples(findings: &[DepFinding]) -> Vec<(&str, &str, &str)> {
    findings
        .iter()
        .map(|f| (f.package.as_str(), f.version.as_str(), f.id.as_str()))
        .collect()
}

#[test]
fn package_lock_v1_tree() {
    let findings = audit_fixture("npm-v1/package-lock.json");
    assert_eq!(
        triples(&findings),
        vec![
            // `old-capped` is an alias of capped; below the range's limit.
            ("capped", "2.9.9", "GHSA-test-0003"),
            // explicit `versions` list.
            ("flatmap-stream", "0.1.1", "GHSA-test-0003"),
            // the withdrawn GHSA-test-0004 says every lodash: not reported.
            ("lodash", "4.17.15", "GHSA-test-0001"),
            // nested under mkdirp; events given out of order still sort.
            ("minimist", "0.0.8", "GHSA-test-0002"),
        ]
    );
    assert!(findings.iter().all(|f| f.kind == DepKind::Vulnerability));
    let lodash = &findings[2];
    assert_eq!(lodash.title, "Command injection in lodash template");
    assert_eq!(lodash.aliases, vec!["CVE-0000-0001"]);
    assert_eq!(lodash.patched, vec!["4.17.21"]);
    assert_eq!(
        lodash.url.as_deref(),
        Some("https://example.com/advisories/GHSA-test-0001")
    );
    assert_eq!(
        findings[1].title,
        "Explicit versions, last_affected and limit."
    );
}

#[test]
fn package_lock_v3_packages_map() {
    assert_eq!(
        triples(&audit_fixture("npm-v3/package-lock.json")),
        vec![
            // last_affected is inclusive; 2.4.0 (elsewhere in the tree) is past it.
            ("@scope/widget", "2.3.0", "GHSA-test-0003"),
            // between the ranges [0, 0.2.1) and [1.0.0, 1.2.3): in the second.
            ("minimist", "1.2.0", "GHSA-test-0002"),
        ]
    );
    // capped 3.0.0 is at the limit (exclusive); lodash 4.17.21 is fixed; the
    // workspace folder named "lodash" 1.0.0 is not an npm release.
    let packages = parse_lockfile(&fixture("npm-v3/package-lock.json")).expect("parses");
    assert_eq!(packages.len(), 5);
    assert!(packages.iter().all(|p| p.ecosystem == Ecosystem::Npm));
}

#[test]
fn requirements_txt_pins() {
    let packages = parse_lockfile(&fixture("python/requirements.txt")).expect("parses");
    let pins: Vec<_> = packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        pins,
        vec![
            ("django", "3.2.13"),
            ("requests", "2.20.0rc1"),
            ("pyyaml", "5.3.1"),
            ("urllib3", "1.26.4")
        ]
    );
    assert_eq!(
        triples(&audit(&packages, &db())),
        vec![
            ("django", "3.2.13", "PYSEC-test-0001"),
            // last_affected 5.3.1, inclusive.
            ("pyyaml", "5.3.1", "PYSEC-test-0002"),
            // a release candidate sorts before the fixed final release.
            ("requests", "2.20.0rc1", "PYSEC-test-0002"),
            ("urllib3", "1.26.4", "PYSEC-test-0002"),
        ]
    );
}

#[test]
fn poetry_lock_packages() {
    assert_eq!(
        triples(&audit_fixture("python/poetry.lock")),
        vec![
            // django 4.0.6 is the fix, pyyaml 5.4 is past last_affected, and the
            // git checkout of requests 2.0.0 is not a PyPI release.
            ("requests", "2.19.1", "PYSEC-test-0002"),
            ("urllib3", "1.26.5", "PYSEC-test-0002"),
        ]
    );
}

#[test]
fn pypi_versions_compare_by_pep440_and_names_normalise() {
    let db = db();
    let check = |name: &str, version: &str| {
        let p = LockedPackage {
            name: name.into(),
            version: version.into(),
            ecosystem: Ecosystem::PyPI,
        };
        audit(&[p], &db)
            .iter()
            .map(|f| f.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(check("django", "3.2"), vec!["PYSEC-test-0001"]);
    assert_eq!(
        check("Django", "3.2"),
        vec!["PYSEC-test-0001"],
        "names normalise"
    );
    assert_eq!(check("django", "3.2.14"), Vec::<String>::new());
    assert_eq!(
        check("django", "3.10"),
        Vec::<String>::new(),
        "3.10 > 3.2.14"
    );
    assert_eq!(
        check("django", "4.0.6.dev1"),
        vec!["PYSEC-test-0001"],
        "dev < fix"
    );
    assert_eq!(check("django", "4.0.6.post1"), Vec::<String>::new());
    assert_eq!(
        check("django", "1!0.1"),
        Vec::<String>::new(),
        "epoch 1 beats 4.0"
    );
    assert_eq!(
        check("urllib3", "1.26.4.0"),
        vec!["PYSEC-test-0002"],
        "1.26.4.0 == 1.26.4"
    );
    // the same package under an npm or crates.io name is a different package.
    let npm = LockedPackage {
        name: "django".into(),
        version: "3.2.0".into(),
        ecosystem: Ecosystem::Npm,
    };
    assert!(audit(&[npm], &db).is_empty());
}

#[test]
fn crates_io_osv_records_with_informational_kinds() {
    let findings = audit_fixture("cargo-osv/Cargo.lock");
    let got: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                f.package.as_str(),
                f.version.as_str(),
                f.id.as_str(),
                f.kind,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "fastvec",
                "1.1.9",
                "RUSTSEC-test-0002",
                DepKind::Vulnerability
            ),
            // RUSTSEC-test-0003 is a notice: not reported.
            (
                "oldcrate",
                "0.3.0",
                "RUSTSEC-test-0001",
                DepKind::Unmaintained
            ),
        ]
    );
}

#[test]
fn ecosystems_and_range_types_outside_scope_are_ignored() {
    let db = db();
    // the Go entry of GHSA-test-0003 and its GIT range match nothing here.
    for (name, eco) in [
        ("example.com/lodash", Ecosystem::Npm),
        ("gitonly", Ecosystem::Npm),
    ] {
        let p = LockedPackage {
            name: name.into(),
            version: "1.0.0".into(),
            ecosystem: eco,
        };
        assert!(audit(&[p], &db).is_empty(), "{name}");
    }
}

#[test]
fn pep440_ordering() {
    let v = |s: &str| Pep440Version::parse(s).unwrap_or_else(|e| panic!("{e}"));
    assert!(v("1.0") < v("1.0.post1"));
    assert!(v("1.0a1") < v("1.0"));
    assert!(v("1.0.dev1") < v("1.0a1"));
    assert!(v("1!0.1") > v("2.0"));
    assert!(v("1.10") > v("1.9"));
    assert_eq!(v("1.0"), v("1.0.0"));
    // The order from PEP 440's examples, shuffled and sorted back.
    let ordered = [
        "1.0.dev456",
        "1.0a1",
        "1.0a2.dev456",
        "1.0a12.dev456",
        "1.0a12",
        "1.0b1.dev456",
        "1.0b2",
        "1.0b2.post345.dev456",
        "1.0b2.post345",
        "1.0rc1.dev456",
        "1.0rc1",
        "1.0",
        "1.0+abc.5",
        "1.0+abc.7",
        "1.0+5",
        "1.0.post456.dev34",
        "1.0.post456",
        "1.0.15",
        "1.1.dev1",
    ];
    let mut shuffled: Vec<_> = ordered.iter().rev().map(|s| v(s)).collect();
    shuffled.swap(0, 7);
    shuffled.sort();
    let back: Vec<String> = shuffled.iter().map(|x| x.to_string()).collect();
    assert_eq!(back, ordered);
}
