//! Discovery over a real repository: logs, coverage and a lock file become
//! tickets, once each, however often it runs.

use crate::helpers::git;
use crate::helpers::roles_with;
use nightshift_core::clock::SystemClock;
use nightshift_core::settings::RepoDiscovery;
use nightshift_core::state::TicketState;
use nightshift_core::ticket::{Priority, Source};
use nightshift_roles::discovery;
use std::path::PathBuf;
use std::sync::Arc;

fn advisory_db() -> PathBuf {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/rustsec-advisory-db"
    ));
    assert!(
        p.join("crates").is_dir(),
        "this test needs ../shared/data/rustsec-advisory-db beside the checkout (see shared/data/README.md)"
    );
    p
}

const LOCK: &str = r#"version = 3

[[package]]
name = "demo"
version = "0.1.0"
dependencies = ["smallvec"]

[[package]]
name = "smallvec"
version = "SMALLVEC"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "fe0f37c9e8f3c5a4a66ad655a93c74daac4ad00c441533bf5c6e7990bb42604e"
"#;

/// A repository with churn, an lcov report, a lock file with a vulnerable crate,
/// and a log with one recurring bug, one recurring environmental error and noise.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    std::fs::create_dir_all(d.join("src")).unwrap();
    for i in 0..4 {
        std::fs::write(
            d.join("src/lib.rs"),
            format!("pub fn f() -> u32 {{ {i} }}\n"),
        )
        .unwrap();
        git(d, &["add", "."]);
        git(d, &["commit", "-q", "-m", &format!("change {i}")]);
    }
    std::fs::write(d.join("Cargo.lock"), LOCK.replace("SMALLVEC", "1.6.0")).unwrap();
    std::fs::create_dir_all(d.join("coverage")).unwrap();
    let root = d.canonicalize().unwrap();
    std::fs::write(
        d.join("coverage/lcov.info"),
        format!(
            "SF:{}/src/lib.rs\nDA:1,1\nDA:2,0\nDA:3,0\nDA:4,0\nDA:9,0\nend_of_record\n",
            root.display()
        ),
    )
    .unwrap();
    let mut log = String::new();
    // The last three days: discovery reads a window of recent logs.
    let today = chrono::Utc::now().date_naive();
    let days: Vec<String> = (1..=3)
        .rev()
        .map(|n| (today - chrono::Duration::days(n)).to_string())
        .collect();
    for day in &days {
        for i in 0..3 {
            log.push_str(&format!(
                "{day}T10:0{i}:00Z INFO request served in {}ms\n",
                10 + i
            ));
            log.push_str(&format!(
                "{day}T10:0{i}:01Z ERROR thread 'worker-{i}' panicked at src/lib.rs:42:5: called `Option::unwrap()` on a `None` value\n"
            ));
            log.push_str(&format!(
                "{day}T10:0{i}:02Z ERROR connection refused by db 10.0.0.{i}:5432\n"
            ));
        }
    }
    log.push_str(&format!(
        "{}T11:00:00Z ERROR once-only failure in the billing job\n",
        days[2]
    ));
    std::fs::create_dir_all(d.join("logs")).unwrap();
    std::fs::write(d.join("logs/app.log"), log).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_finding_becomes_one_ticket_however_often_discovery_runs() {
    let checkout = repo();
    let db = advisory_db();
    let r = roles_with(Arc::new(SystemClock), crate::helpers::SLEEPER, |s| {
        s.discovery.advisory_db = Some(db.clone());
        s.discovery.coverage_min_uncovered = 1;
        s.discovery.repos = vec![RepoDiscovery {
            repo: "acme/api".into(),
            path: Some(checkout.path().to_path_buf()),
            logs: vec!["logs/app.log".into()],
            coverage: vec!["coverage/lcov.info".into()],
            lockfiles: vec!["Cargo.lock".into()],
        }];
    });
    let d = &r.deps;
    let first = discovery::run(d).await.unwrap();
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(
        first.created.len(),
        3,
        "a vulnerability, a recurring bug, a coverage gap: {first:?}"
    );
    assert_eq!(
        first.notes.len(),
        1,
        "the connection errors get a root-cause note: {first:?}"
    );

    let tickets: Vec<_> = futures::future::join_all(
        first
            .created
            .iter()
            .map(|id| d.stores.tickets.get_ticket(id)),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    for t in &tickets {
        assert_eq!(t.source, Source::Discovery);
        assert!(
            t.labels.contains(&"ready-for-robot".to_string()),
            "{:?}",
            t.labels
        );
        assert_eq!(t.context.repo, "acme/api");
    }
    let vuln = tickets
        .iter()
        .find(|t| t.title.contains("RUSTSEC-2021-0003"))
        .expect("the smallvec advisory");
    assert_eq!(vuln.priority, Priority::High);
    assert!(vuln.labels.contains(&"security".to_string()));
    assert!(
        vuln.acceptance_criteria[0].contains(">= 1.6.1"),
        "{:?}",
        vuln.acceptance_criteria
    );
    let bug = tickets
        .iter()
        .find(|t| t.title.starts_with("Recurring error"))
        .expect("the panic");
    assert!(
        bug.context
            .error_logs
            .iter()
            .any(|l| l.contains("panicked at src/lib.rs:42")),
        "{:?}",
        bug.context.error_logs
    );
    let cov = tickets
        .iter()
        .find(|t| t.title == "Write tests for src/lib.rs")
        .expect("the coverage gap");
    assert!(
        cov.description.contains("2-4, 9") && cov.description.contains("4 recent commits"),
        "{}",
        cov.description
    );
    let note = d.stores.tickets.get_ticket(&first.notes[0]).await.unwrap();
    assert_eq!(note.state, TicketState::Closed);
    assert!(note.state_reason.unwrap().contains("root-cause note"));

    // Again, and again: the same findings, the same tickets, nothing new.
    for _ in 0..2 {
        let again = discovery::run(d).await.unwrap();
        assert!(
            again.created.is_empty() && again.notes.is_empty(),
            "{again:?}"
        );
        assert_eq!(again.existing.len(), 4);
    }
    let all = d
        .stores
        .tickets
        .list_tickets(&Default::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 4);

    // The vulnerable crate is updated: the finding disappears, its ticket stays as it was.
    std::fs::write(
        checkout.path().join("Cargo.lock"),
        LOCK.replace("SMALLVEC", "1.6.1"),
    )
    .unwrap();
    let before = d.stores.tickets.get_ticket(&vuln.id).await.unwrap();
    let after_fix = discovery::run(d).await.unwrap();
    assert_eq!(after_fix.existing.len(), 3);
    let after = d.stores.tickets.get_ticket(&vuln.id).await.unwrap();
    assert_eq!(
        (after.state, after.version),
        (before.state, before.version),
        "no ticket closed by mistake"
    );
    assert_eq!(
        d.stores
            .tickets
            .list_tickets(&Default::default())
            .await
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_source_is_reported_and_the_rest_still_runs() {
    let checkout = repo();
    let r = roles_with(Arc::new(SystemClock), crate::helpers::SLEEPER, |s| {
        s.discovery.coverage_min_uncovered = 1;
        s.discovery.repos = vec![RepoDiscovery {
            repo: "acme/api".into(),
            path: Some(checkout.path().to_path_buf()),
            logs: vec!["logs/missing.log".into()],
            coverage: vec!["coverage/lcov.info".into()],
            lockfiles: vec!["Cargo.lock".into()],
        }];
    });
    let report = discovery::run(&r.deps).await.unwrap();
    assert_eq!(
        report.created.len(),
        1,
        "the coverage ticket still comes: {report:?}"
    );
    assert!(
        report.errors.iter().any(|e| e.contains("missing.log")),
        "{:?}",
        report.errors
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("advisory_db is not set")),
        "{:?}",
        report.errors
    );
}
