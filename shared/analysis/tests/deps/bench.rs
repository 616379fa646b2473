//! The cargo-audit comparison, run against a stand-in for cargo-audit that
//! prints the report the real cargo-audit 0.22.2 gave for the v3 fixture
//! (trimmed to the fields read), so the test needs no cargo-audit install.
//! Timings are not asserted.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nightshift_analysis::deps::DepKind;
use nightshift_analysis::deps::bench::{compare_with_cargo_audit, parse_cargo_audit_json};

use crate::SNAPSHOT;

use crate::fixture;

/// A script that records its arguments and prints `report`.
fn fake_cargo_audit(dir: &Path, report: &Path) -> PathBuf {
    let script = dir.join("cargo-audit");
    let body = format!(
        "#!/bin/sh\necho \"$@\" > '{}'\ncat '{}'\nexit 1\n",
        dir.join("args").display(),
        report.display()
    );
    fs::write(&script, body).expect("write script");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

#[test]
fn agrees_with_cargo_audit_report_on_v3_fixture() {
    assert!(
        Path::new(SNAPSHOT).join("crates").is_dir(),
        "the RustSec snapshot is missing at {SNAPSHOT}: this test needs ../shared/data"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = fake_cargo_audit(dir.path(), &fixture("cargo-v3/cargo-audit.json"));
    let lock = fixture("cargo-v3/Cargo.lock");
    let reports =
        compare_with_cargo_audit(std::slice::from_ref(&lock), Path::new(SNAPSHOT), &bin, 2)
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert!(r.agrees(), "{r:#?}");
    let counts: Vec<_> = r
        .kinds
        .iter()
        .map(|k| (k.kind, k.both, k.agreement))
        .collect();
    assert_eq!(
        counts,
        vec![
            (DepKind::Vulnerability, 5, 1.0),
            (DepKind::Unmaintained, 1, 1.0),
            (DepKind::Unsound, 1, 1.0)
        ]
    );
    assert_eq!(r.packages, 12);
    let args = fs::read_to_string(dir.path().join("args")).expect("script ran");
    assert!(args.starts_with("audit --db "), "{args}");
    assert!(args.contains("--no-fetch --no-yanked --json -f "), "{args}");
}

#[test]
fn unreadable_report_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.json");
    fs::write(&empty, "").expect("write");
    let bin = fake_cargo_audit(dir.path(), &empty);
    let err = compare_with_cargo_audit(
        &[fixture("cargo-v1/Cargo.lock")],
        Path::new(SNAPSHOT),
        &bin,
        1,
    )
    .expect_err("no JSON");
    assert!(
        err.to_string().starts_with("cargo-audit comparison: "),
        "{err}"
    );
}

#[test]
fn reads_vulnerabilities_and_two_warning_kinds() {
    let report = r#"{"vulnerabilities": {"found": true, "count": 1, "list": [
        {"advisory": {"id": "RUSTSEC-2020-0105"}, "package": {"name": "abi_stable", "version": "0.9.0"}}]},
      "warnings": {
        "notice": [{"kind": "notice", "package": {"name": "personnummer", "version": "3.0.0"}, "advisory": {"id": "RUSTSEC-2020-0166"}}],
        "unsound": [{"kind": "unsound", "package": {"name": "acc_reader", "version": "2.0.0"}, "advisory": {"id": "RUSTSEC-2020-0155"}}],
        "yanked": [{"kind": "yanked", "package": {"name": "x", "version": "1.0.0"}, "advisory": null}]}}"#;
    let got = parse_cargo_audit_json(report).expect("parses");
    let t = |id: &str, name: &str, version: &str| {
        (id.to_string(), name.to_string(), version.to_string())
    };
    assert_eq!(
        got,
        vec![
            (
                DepKind::Vulnerability,
                t("RUSTSEC-2020-0105", "abi_stable", "0.9.0")
            ),
            (
                DepKind::Unsound,
                t("RUSTSEC-2020-0155", "acc_reader", "2.0.0")
            ),
        ]
    );
    assert!(parse_cargo_audit_json("").is_err());
}
