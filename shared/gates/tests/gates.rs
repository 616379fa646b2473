//! The gates over real `git diff` output from a scratch repository, with the
//! dependency gate asking a loopback stand-in for the registries.

mod support;

use nightshift_gates::*;
use std::sync::atomic::Ordering;
use support::{Repo, checker_at, registry};

const CARGO_BASE: &str = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\ntokio = \"1\"\n";

fn cargo_with_new_crates() -> (Repo, Vec<FileDiff>) {
    let repo = Repo::new(&[
        ("Cargo.toml", CARGO_BASE),
        ("src/main.rs", "fn main() {}\n"),
    ]);
    let after = format!(
        "{CARGO_BASE}serde = {{ version = \"1\", features = [\"derive\"] }}\nserde_jsonx_fast = \"0.3\"\n"
    );
    let diff = repo.diff(&[("Cargo.toml", Some(&after))]);
    assert!(
        diff.starts_with("diff --git a/Cargo.toml b/Cargo.toml\n"),
        "{diff}"
    );
    (repo, parse_unified(&diff))
}

#[tokio::test]
async fn a_made_up_crate_fails_the_dependencies_gate_and_answers_are_cached() {
    let (repo, files) = cargo_with_new_crates();
    let changes = repo.manifest_changes(&files);
    let (checker, requests) = registry(None).await;

    let result = dependencies_gate(&changes, &checker).await;
    assert_eq!(result.status, GateStatus::Fail);
    assert_eq!(
        result.summary,
        "1 new dependency does not exist: `serde_jsonx_fast` (crates.io)"
    );
    assert_eq!(result.findings.len(), 1, "{:?}", result.findings);
    assert_eq!(
        result.findings[0].message,
        "`serde_jsonx_fast` does not exist on crates.io"
    );
    assert_eq!(result.findings[0].file.as_deref(), Some("Cargo.toml"));
    // serde and serde_jsonx_fast were asked for; tokio was there before.
    assert_eq!(requests.load(Ordering::SeqCst), 2);
    assert_eq!(checker.cached(), 2);

    let again = dependencies_gate(&changes, &checker).await;
    assert_eq!(again, result);
    assert_eq!(
        requests.load(Ordering::SeqCst),
        2,
        "the second check must come from the cache"
    );
}

#[tokio::test]
async fn an_unavailable_registry_is_unverified_never_a_pass() {
    let (repo, files) = cargo_with_new_crates();
    let changes = repo.manifest_changes(&files);

    let (failing, requests) = registry(Some(503)).await;
    let result = dependencies_gate(&changes, &failing).await;
    assert_eq!(result.status, GateStatus::Unverified);
    assert_eq!(result.summary, "could not verify 2 of 2 new dependencies");
    assert!(
        result
            .findings
            .iter()
            .all(|f| f.message.ends_with("crates.io answered HTTP 503"))
    );
    assert_eq!(failing.cached(), 0);
    dependencies_gate(&changes, &failing).await;
    assert_eq!(
        requests.load(Ordering::SeqCst),
        4,
        "unverified answers are asked again"
    );

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let result = dependencies_gate(&changes, &checker_at(&closed)).await;
    assert_eq!(result.status, GateStatus::Unverified);
    assert!(
        result.findings[0]
            .message
            .contains("crates.io could not be reached"),
        "{:?}",
        result.findings
    );
}

#[tokio::test]
async fn npm_and_python_manifests_name_their_made_up_packages() {
    let repo = Repo::new(&[
        (
            "web/package.json",
            "{\n  \"name\": \"web\",\n  \"dependencies\": {\n    \"react\": \"^18.2.0\"\n  }\n}\n",
        ),
        ("requirements.txt", "requests==2.31.0\n"),
    ]);
    let package_json = r#"{
  "name": "web",
  "dependencies": {
    "react": "^18.2.0",
    "react-dom-turbo-fast": "^1.0.0",
    "shared": "workspace:*"
  },
  "devDependencies": {
    "@types/node": "^20.11.0"
  }
}
"#;
    let pyproject = r#"[project]
name = "svc"
dependencies = ["requests>=2.31", "fastapi-magic-utils>=0.1"]

[tool.poetry.group.dev.dependencies]
Flask = "^3.0"
"#;
    let diff = repo.diff(&[
        ("web/package.json", Some(package_json)),
        (
            "requirements.txt",
            Some("requests==2.31.0\nFlask>=3.0  # web\nrequestz_plus==1.0\n-e ./libs/local\n"),
        ),
        ("svc/pyproject.toml", Some(pyproject)),
    ]);
    let files = parse_unified(&diff);
    let changes = repo.manifest_changes(&files);
    assert_eq!(changes.len(), 3);

    let new: Vec<String> = changes
        .iter()
        .flat_map(|c| new_dependencies(&c.path, c.before.as_deref(), c.after.as_deref()).unwrap())
        .map(|d| format!("{} {} {}", d.ecosystem, d.name, d.manifest))
        .collect();
    assert_eq!(
        new,
        [
            "pypi flask requirements.txt",
            "pypi requestz-plus requirements.txt",
            "pypi fastapi-magic-utils svc/pyproject.toml",
            "pypi flask svc/pyproject.toml",
            "pypi requests svc/pyproject.toml",
            "npm @types/node web/package.json",
            "npm react-dom-turbo-fast web/package.json",
        ]
    );

    let (checker, _) = registry(None).await;
    let result = dependencies_gate(&changes, &checker).await;
    assert_eq!(result.status, GateStatus::Fail);
    let missing: Vec<&str> = result.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        missing,
        [
            "`fastapi-magic-utils` does not exist on PyPI",
            "`requestz-plus` does not exist on PyPI",
            "`react-dom-turbo-fast` does not exist on npm",
        ]
    );
}

#[test]
fn an_aws_key_in_a_config_file_fails_the_secrets_gate_without_repeating_it() {
    let repo = Repo::new(&[("config/app.ini", "[default]\nregion = eu-west-1\n")]);
    let diff = repo.diff(&[(
        "config/app.ini",
        Some("[default]\nregion = eu-west-1\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
    )]);
    let result = secrets_gate(&parse_unified(&diff));
    assert_eq!(result.status, GateStatus::Fail);
    assert_eq!(result.summary, "2 possible secrets in added lines");
    let at: Vec<_> = result
        .findings
        .iter()
        .map(|f| (f.file.as_deref(), f.line))
        .collect();
    assert_eq!(
        at,
        [
            (Some("config/app.ini"), Some(3)),
            (Some("config/app.ini"), Some(4))
        ]
    );
    let text = serde_json::to_string(&result).unwrap();
    assert!(!text.contains("AKIAIOSFODNN7EXAMPLE"), "{text}");
    assert!(
        !text.contains("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        "{text}"
    );
    assert!(text.contains("aws-access-key-id: `AKIA…`"), "{text}");
}

#[test]
fn editing_a_workflow_fails_the_protected_paths_gate() {
    let ci = "name: ci\non: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n";
    let repo = Repo::new(&[(".github/workflows/ci.yml", ci), ("src/lib.rs", "\n")]);
    let diff = repo.diff(&[
        (
            ".github/workflows/ci.yml",
            Some(&ci.replace("ubuntu-latest", "self-hosted")),
        ),
        ("src/lib.rs", Some("pub fn f() {}\n")),
    ]);
    let patterns: Vec<String> = DEFAULT_PROTECTED_PATHS
        .iter()
        .map(|p| p.to_string())
        .collect();
    let result = protected_paths_gate(&parse_unified(&diff), &patterns);
    assert_eq!(result.status, GateStatus::Fail);
    assert_eq!(result.findings.len(), 1);
    assert_eq!(
        result.findings[0].file.as_deref(),
        Some(".github/workflows/ci.yml")
    );
}

#[test]
fn a_two_thousand_line_addition_fails_a_thousand_line_limit() {
    let repo = Repo::new(&[("README.md", "# app\n")]);
    let big: String = (1..=2000)
        .map(|i| format!("pub const C{i}: u32 = {i};\n"))
        .collect();
    let diff = repo.diff(&[("src/generated.rs", Some(&big))]);
    let files = parse_unified(&diff);
    assert_eq!(files[0].added.last().map(|a| a.line), Some(2000));
    let result = diff_size_gate(&files, 1_000);
    assert_eq!(result.status, GateStatus::Fail);
    assert_eq!(result.summary, "2000 lines changed, over the limit of 1000");
}

#[tokio::test]
async fn a_clean_change_passes_every_gate() {
    let repo = Repo::new(&[
        ("Cargo.toml", CARGO_BASE),
        ("src/main.rs", "fn main() {\n    println!(\"hi\");\n}\n"),
        (
            "docs/old name.md",
            "# Notes\n\nSome text that stays the same.\nAnd more.\nAnd more still.\n",
        ),
        ("infrastructure.md", "not infra\n"),
    ]);
    let diff = repo.diff(&[
        ("Cargo.toml", Some(&CARGO_BASE.replace("tokio = \"1\"\n", "tokio = \"1\"\nserde = \"1\"\n"))),
        ("src/main.rs", Some("fn main() {\n    let name = \"world\";\n    println!(\"hi {name}\");\n}\n")),
        ("docs/old name.md", None),
        ("docs/new name.md", Some("# Notes\n\nSome text that stays the same.\nAnd more.\nAnd more still.\nOne line.\n")),
        ("infrastructure.md", Some("not infra, still\n")),
        ("assets/logo.png", Some("\u{0}\u{1}PNG binary")),
    ]);
    let files = parse_unified(&diff);

    let renamed = files
        .iter()
        .find(|f| f.path == "docs/new name.md")
        .expect("rename parsed");
    assert_eq!(renamed.old_path.as_deref(), Some("docs/old name.md"));
    assert_eq!(
        renamed.added.iter().map(|a| a.line).collect::<Vec<_>>(),
        [6]
    );
    assert!(
        files
            .iter()
            .any(|f| f.path == "assets/logo.png" && f.binary && f.new_file)
    );

    let mut results = static_gates(&files, &StaticGates::default());
    let (checker, _) = registry(None).await;
    results.push(dependencies_gate(&repo.manifest_changes(&files), &checker).await);
    for result in &results {
        assert_eq!(result.status, GateStatus::Pass, "{result:?}");
    }
    assert_eq!(results[3].summary, "1 new dependency checked, all exist");
}

#[test]
fn real_git_output_with_deletions_and_quoted_names() {
    let repo = Repo::new(&[("gone.txt", "a\nb\n"), ("keep.txt", "1\n2\n3\n")]);
    let diff = repo.diff(&[
        ("gone.txt", None),
        ("keep.txt", Some("1\n3\n4")),
        ("café/ünïcode name.txt", Some("x\n")),
    ]);
    let files = parse_unified(&diff);
    let summary: Vec<_> = files
        .iter()
        .map(|f| {
            (
                f.path.as_str(),
                f.new_file,
                f.deleted,
                f.added.len(),
                f.removed,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("café/ünïcode name.txt", true, false, 1, 0),
            ("gone.txt", false, true, 0, 2),
            ("keep.txt", false, false, 1, 1),
        ]
    );
    // "2" removed, "4" added without a final newline (git's "\ No newline").
    assert!(diff.contains("\\ No newline at end of file"), "{diff}");
    assert_eq!(
        (files[2].added[0].line, files[2].added[0].text.as_str()),
        (3, "4")
    );
    // core.quotepath quotes the non-ASCII name; the parser decodes it.
    assert!(diff.contains("\"b/caf\\303\\251/"), "{diff}");
}
