//! Malformed lock files and advisory databases: every error names the file and
//! says what is wrong, with the line where the format gives one.

use std::fs;
use std::path::{Path, PathBuf};

use nightshift_analysis::deps::{AdvisoryDb, DepsError, parse_lockfile};

/// Writes `text` as `name` in a fresh temporary directory.
fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(&path, text).expect("write fixture");
    path
}

fn lock_error(name: &str, text: &str) -> (PathBuf, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, name, text);
    let err = parse_lockfile(&path).expect_err("malformed input must fail");
    (path, err.to_string())
}

fn starts(msg: &str, path: &Path, rest: &str) {
    let want = format!("{}{rest}", path.display());
    assert!(msg.starts_with(&want), "`{msg}` should start with `{want}`");
}

#[test]
fn cargo_lock_errors() {
    let (path, msg) = lock_error(
        "Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"a\"\nversion = 1.0\n",
    );
    starts(&msg, &path, ":5: not a valid Cargo.lock");

    let (path, msg) = lock_error(
        "Cargo.lock",
        "version = 3\n[[package]]\nname = \"x\"\nversion = \"1.0\"\n",
    );
    starts(
        &msg,
        &path,
        ":4: package `x` has version `1.0`, which is not semver",
    );

    let (path, msg) = lock_error("Cargo.lock", "[[package]]\nname = \"x\"\n");
    starts(&msg, &path, ":");
    assert!(msg.contains("missing field `version`"), "{msg}");

    let (path, msg) = lock_error("Cargo.lock", "[[package]\n");
    starts(&msg, &path, ":1: not a valid Cargo.lock");
}

#[test]
fn package_lock_errors() {
    let (path, msg) = lock_error(
        "package-lock.json",
        "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n}\n",
    );
    starts(
        &msg,
        &path,
        ":5: not a valid package-lock.json: EOF while parsing an object",
    );
    assert!(!msg.contains("column"), "{msg}");

    let (path, msg) = lock_error("package-lock.json", "{\"name\": \"x\"}");
    starts(&msg, &path, ": no `lockfileVersion` field");

    let (path, msg) = lock_error("package-lock.json", r#"{"lockfileVersion": 7}"#);
    starts(&msg, &path, ": unsupported `lockfileVersion` 7");

    let text = r#"{"lockfileVersion": 3, "packages": {"node_modules/a": {"resolved": "https://r/a.tgz"}}}"#;
    let (path, msg) = lock_error("package-lock.json", text);
    starts(
        &msg,
        &path,
        ": packages[\"node_modules/a\"] has no `version`",
    );

    let text = r#"{"lockfileVersion": 1, "dependencies": {"a": {"version": "1.x"}}}"#;
    let (path, msg) = lock_error("package-lock.json", text);
    starts(
        &msg,
        &path,
        ": dependencies[\"a\"].version `1.x` is not semver",
    );
}

#[test]
fn requirements_errors() {
    let (path, msg) = lock_error(
        "requirements.txt",
        "# ok\nflask==2.0.1\nrequests==not-a-version\n",
    );
    starts(
        &msg,
        &path,
        ":3: pin for `requests`: `not-a-version` is not a PEP 440 version",
    );

    let (path, msg) = lock_error("requirements-dev.txt", "\n\nrequests==\n");
    starts(
        &msg,
        &path,
        ":3: pin for `requests` has no version after `==`",
    );

    let (path, msg) = lock_error("requirements.txt", "!!! garbage\n");
    starts(&msg, &path, ":1: `!!! garbage` is not a requirement");
}

#[test]
fn poetry_lock_errors() {
    let text = "[[package]]\nname = \"django\"\nversion = \"four\"\n";
    let (path, msg) = lock_error("poetry.lock", text);
    starts(
        &msg,
        &path,
        ":3: package `django`: `four` is not a PEP 440 version",
    );

    let (path, msg) = lock_error("poetry.lock", "[[package]]\nname = \"django\"\n");
    starts(&msg, &path, ":");
    assert!(
        msg.contains("not a valid poetry.lock: missing field `version`"),
        "{msg}"
    );
}

#[test]
fn unknown_and_missing_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "yarn.lock", "");
    let err = parse_lockfile(&path).expect_err("unknown format");
    assert!(matches!(err, DepsError::UnknownLockfile { .. }));
    starts(&err.to_string(), &path, ": unknown lock file name");

    let missing = dir.path().join("Cargo.lock");
    let err = parse_lockfile(&missing).expect_err("missing file");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read {}", missing.display())),
        "{err}"
    );
}

#[test]
fn advisory_database_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = AdvisoryDb::load(&dir.path().join("nope")).expect_err("missing dir");
    assert!(err.to_string().starts_with("cannot read "), "{err}");

    write(&dir, "README.md", "# nothing here\n");
    let err = AdvisoryDb::load(dir.path()).expect_err("no advisories");
    assert!(
        err.to_string().contains(": no advisory database here"),
        "{err}"
    );

    let bad = write(
        &dir,
        "osv/npm/GHSA-bad.json",
        "{\"id\": \"GHSA-bad\", \"affected\": [",
    );
    let err = AdvisoryDb::load(&dir.path().join("osv")).expect_err("bad json");
    starts(
        &err.to_string(),
        &bad,
        ": invalid advisory: not an OSV record",
    );
    fs::remove_file(&bad).expect("rm");

    let text = r#"{"id": "GHSA-x", "affected": [{"package": {"ecosystem": "PyPI", "name": "a"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "one"}]}]}]}"#;
    let bad = write(&dir, "osv/GHSA-x.json", text);
    let err = AdvisoryDb::load(&dir.path().join("osv")).expect_err("bad event");
    starts(
        &err.to_string(),
        &bad,
        ": invalid advisory: affected[0] (a): event `fixed: one` is not a valid PyPI version",
    );

    let bad = write(
        &dir,
        "rs/crates/foo/RUSTSEC-2099-0001.md",
        "# no front matter\n",
    );
    let err = AdvisoryDb::load(&dir.path().join("rs")).expect_err("bad advisory");
    starts(
        &err.to_string(),
        &bad,
        ": invalid advisory: expected the file to start with a ```toml",
    );

    let text = "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"foo\"\n\n[versions]\npatched = [\"1.*\"]\n```\n\n# T\n";
    fs::write(&bad, text).expect("write");
    let err = AdvisoryDb::load(&dir.path().join("rs")).expect_err("bad requirement");
    starts(
        &err.to_string(),
        &bad,
        ": invalid advisory: [versions] requirement `1.*`: unsupported operator",
    );
}
