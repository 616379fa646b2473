//! run_tests: detection of the test command and pass/fail from the exit status.

use crate::{exec, put, setup, setup_with};
use nightshift_agent::tools::ToolboxConfig;
use serde_json::json;
use std::path::PathBuf;

/// Cargo behind rustup needs to find its toolchain, and HOME is the workspace in
/// the sandbox: the operator allow-lists these, as the worker would.
fn rust_toolchain_env() -> ToolboxConfig {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let var = |name: &str, fallback: PathBuf| {
        let v = std::env::var_os(name)
            .map(PathBuf::from)
            .unwrap_or(fallback);
        (name.to_string(), v.to_string_lossy().into_owned())
    };
    ToolboxConfig {
        set_env: vec![
            var("RUSTUP_HOME", home.join(".rustup")),
            var("CARGO_HOME", home.join(".cargo")),
        ],
        pass_env: vec!["RUSTUP_TOOLCHAIN".into(), "RUSTUP_AUTO_INSTALL".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn a_cargo_project_fails_then_passes_after_an_edit() {
    let (dir, tb) = setup_with(rust_toolchain_env());
    put(
        &dir,
        "Cargo.toml",
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    put(
        &dir,
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n\n#[test]\nfn adds() {\n    assert_eq!(add(2, 2), 4);\n}\n",
    );
    assert_eq!(tb.test_command().as_deref(), Some("cargo test"));

    let run = tb.run_tests().await;
    assert_eq!(run.command, "cargo test");
    assert!(!run.passed, "{}", run.output);
    assert!(
        run.output
            .starts_with("tests FAILED (`cargo test`: exit status 101)"),
        "{}",
        run.output
    );
    assert!(run.output.contains("adds"), "{}", run.output);

    let o = exec(
        &tb,
        "edit",
        json!({"path": "src/lib.rs", "old": "a - b", "new": "a + b"}),
    )
    .await;
    assert!(o.ok, "{}", o.output);

    let o = exec(&tb, "run_tests", json!({})).await;
    assert!(o.ok, "{}", o.output);
    assert!(
        o.output
            .starts_with("tests PASSED (`cargo test`: exit status 0)"),
        "{}",
        o.output
    );
    assert!(o.output.contains("test adds ... ok"), "{}", o.output);
}

#[tokio::test]
async fn a_makefile_project_uses_make_test() {
    let (dir, tb) = setup();
    put(
        &dir,
        "Makefile",
        ".PHONY: test\nCC := cc\n\ntest: build\n\t@echo testing; test -f ok\n\nbuild:\n\t@true\n",
    );
    assert_eq!(tb.test_command().as_deref(), Some("make test"));
    let run = tb.run_tests().await;
    assert!(!run.passed);
    assert!(
        run.output
            .starts_with("tests FAILED (`make test`: exit status 2)"),
        "{}",
        run.output
    );
    assert!(run.output.contains("testing"));

    put(&dir, "ok", "");
    let o = exec(&tb, "run_tests", json!(null)).await;
    assert!(o.ok, "{}", o.output);
    assert!(
        o.output
            .starts_with("tests PASSED (`make test`: exit status 0)"),
        "{}",
        o.output
    );
}

/// Files to write, and the test command they should make us detect.
type DetectCase<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);

#[tokio::test]
async fn detection_follows_the_repository_files() {
    let cases: &[DetectCase] = &[
        (
            &[("package.json", r#"{"scripts":{"test":"jest"}}"#)],
            Some("npm test"),
        ),
        (
            &[(
                "package.json",
                r#"{"scripts":{"test":"echo \"Error: no test specified\" && exit 1"}}"#,
            )],
            None,
        ),
        (
            &[("pyproject.toml", "[project]\nname='x'\n")],
            Some("python -m pytest -q"),
        ),
        (
            &[("tests/test_x.py", "def test_x(): pass\n")],
            Some("python -m pytest -q"),
        ),
        (&[("tests/data.txt", "x")], None),
        (&[("go.mod", "module x\n")], Some("go test ./...")),
        (&[("Makefile", "build:\n\tcc x.c\n")], None),
        (&[("Makefile", "test := 1\nall:\n\ttrue\n")], None),
        (
            &[("Makefile", "check test: all\n\ttrue\n")],
            Some("make test"),
        ),
        (
            &[
                ("Cargo.toml", "[package]\n"),
                ("Makefile", "test:\n\ttrue\n"),
            ],
            Some("cargo test"),
        ),
        (&[], None),
    ];
    for (files, expected) in cases {
        let (dir, tb) = setup();
        for (path, content) in *files {
            put(&dir, path, content);
        }
        assert_eq!(tb.test_command().as_deref(), *expected, "{files:?}");
    }
}

#[tokio::test]
async fn a_configured_command_wins_and_no_command_is_a_failure() {
    let (dir, tb) = setup_with(ToolboxConfig {
        test_command: Some("./check.sh".into()),
        ..Default::default()
    });
    put(&dir, "Cargo.toml", "[package]\n");
    put(&dir, "check.sh", "#!/bin/sh\necho checked\n");
    let mut perms = std::fs::metadata(dir.path().join("check.sh"))
        .expect("meta")
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(dir.path().join("check.sh"), perms).expect("chmod");
    let run = tb.run_tests().await;
    assert_eq!(run.command, "./check.sh");
    assert!(run.passed, "{}", run.output);
    assert!(run.output.contains("checked"));
    assert!(
        tb.specs()
            .iter()
            .any(|s| s.name == "run_tests" && s.description.contains("`./check.sh`"))
    );

    let (_dir, tb) = setup();
    let run = tb.run_tests().await;
    assert!(!run.passed);
    assert_eq!(run.command, "");
    assert!(run.output.starts_with("no test command"), "{}", run.output);
    let o = exec(&tb, "run_tests", json!({"verbose": true})).await;
    assert!(!o.ok);
    assert!(
        o.output.contains("invalid arguments for run_tests"),
        "{}",
        o.output
    );
}
