//! The `nightshift` binary as a user runs it: errors, the audit verifier, and
//! `up` stopped and started again on the same data directory.

use crate::helpers::eventually;
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_nightshift");

fn ns(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .current_dir(dir)
        .env_remove("NIGHTSHIFT_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nightshift");
    let input = stdin.unwrap_or_default().to_vec();
    let mut pipe = child.stdin.take().unwrap();
    std::thread::spawn(move || std::io::Write::write_all(&mut pipe, &input));
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

fn list(dir: &Path) -> Vec<serde_json::Value> {
    let out = ns(dir, &["ticket", "list", "--json"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn ticket_add_names_the_bad_field_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(Vec<&str>, Vec<u8>, &str)> = vec![
        (
            vec!["--json", "-"],
            br#"{"type":"bug","source":"github","context":{"repo":"a"},"acceptance_criteria":["x"]}"#.to_vec(),
            "source: `github` tickets are made by Nightshift",
        ),
        (
            vec!["--json", "-"],
            br#"{"context":{"repo":"a"},"acceptance_criteria":["x"]}"#.to_vec(),
            "type: missing field `type`",
        ),
        (
            vec!["--json", "-"],
            br#"{"type":"task","context":{"repo":"a"},"acceptance_criteria":["x"]}"#.to_vec(),
            "type: unknown variant `task`",
        ),
        (
            vec!["--json", "-"],
            b"{\"type\":\"bug\",\"title\":\"\xff\xfe\"}".to_vec(),
            "body: is not valid UTF-8",
        ),
        (
            vec!["--json", "-"],
            format!(r#"{{"type":"bug","description":"{}"}}"#, "x".repeat(70_000)).into_bytes(),
            "body: is 70",
        ),
        (
            vec!["--type", "bug", "--criterion", "x"],
            vec![],
            "context.repo: missing",
        ),
        (
            vec!["--type", "bug", "--repo", "acme/api"],
            vec![],
            "acceptance_criteria: needs at least one",
        ),
    ];
    for (args, stdin, says) in cases {
        let mut full = vec!["ticket", "add"];
        full.extend(args);
        let out = ns(d, &full, Some(&stdin));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{full:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{full:?}: expected `{says}` in {}",
            text(&out.stderr)
        );
    }
    assert!(list(d).is_empty());
}

#[test]
fn ticket_add_show_and_a_tampered_audit_log_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = ns(
        d,
        &[
            "ticket",
            "add",
            "--type",
            "bug",
            "--repo",
            "acme/api",
            "--title",
            "Crash on login",
            "--file",
            "src/login.rs",
            "--error-log",
            "panicked at src/login.rs:42",
            "--criterion",
            "no panic",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let json_ticket = json!({"type": "chore", "context": {"repo": "acme/api"}, "acceptance_criteria": ["bump serde"]});
    let out = ns(
        d,
        &["ticket", "add", "--json", "-"],
        Some(json_ticket.to_string().as_bytes()),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(list(d).len(), 2);

    let show = ns(d, &["ticket", "show", &id], None);
    let shown = text(&show.stdout);
    assert!(
        shown.contains("Crash on login")
            && shown.contains("audit trail")
            && shown.contains("created"),
        "{shown}"
    );
    let missing = ns(d, &["ticket", "show", "t_nope"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("ticket t_nope not found"));

    let ok = ns(d, &["audit", "verify"], None);
    assert!(
        ok.status.success() && text(&ok.stdout).contains("audit log ok: 2 events"),
        "{}",
        text(&ok.stdout)
    );
    // The database refuses edits to the audit log...
    let db = rusqlite::Connection::open(d.join("nightshift.db")).unwrap();
    let refused = db
        .execute("UPDATE audit SET actor = 'mallory' WHERE seq = 1", [])
        .unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
    // ...and someone who gets past that is caught by the hash chain.
    db.execute_batch(
        "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE seq = 1;",
    )
    .unwrap();
    drop(db);
    let broken = ns(d, &["audit", "verify"], None);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        text(&broken.stderr).contains("broken at event 1"),
        "{}",
        text(&broken.stderr)
    );
}

struct Up {
    child: tokio::process::Child,
    base: String,
    stderr: tokio::task::JoinHandle<String>,
}

async fn start_up(dir: &Path) -> Up {
    let mut child = tokio::process::Command::new(BIN)
        .args(["up", "--port", "0", "--data-dir"])
        .arg(dir)
        .current_dir(dir)
        .env("NIGHTSHIFT_QUEUE__POLL_INTERVAL_MS", "20")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("nightshift up printed its address")
            .unwrap()
            .unwrap_or_else(|| panic!("nightshift up exited early:\n{seen}"));
        seen.push_str(&line);
        seen.push('\n');
        if let Some(rest) = line.split("API on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let stderr = tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    Up {
        child,
        base,
        stderr,
    }
}

impl Up {
    async fn interrupt(mut self) -> String {
        let pid = self.child.id().unwrap() as i32;
        unsafe { libc::kill(pid, libc::SIGINT) };
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .unwrap()
            .unwrap();
        let log = self.stderr.await.unwrap();
        assert!(status.success(), "exit {status}:\n{log}");
        log
    }
}

async fn states(client: &reqwest::Client, base: &str) -> Vec<String> {
    let v: serde_json::Value = client
        .get(format!("{base}/tickets?limit=1000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_stops_cleanly_and_a_restart_keeps_tickets_and_resumes_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let client = reqwest::Client::new();

    let up = start_up(&d).await;
    for i in 0..5 {
        let t = json!({"type": "feature", "context": {"repo": "acme/web"}, "acceptance_criteria": [format!("feature {i}")]});
        let r = client
            .post(format!("{}/tickets", up.base))
            .body(t.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    // Triaged, then planned by rules, then waiting for a person (guided mode).
    eventually("five planned and waiting for spec approval", || async {
        states(&client, &up.base)
            .await
            .iter()
            .filter(|s| *s == "awaiting_spec_approval")
            .count()
            == 5
    })
    .await;
    let log = up.interrupt().await;
    assert!(log.contains("stopped cleanly"), "{log}");

    // While it is down, tickets still come in through the CLI; they wait in the queue.
    for i in 0..3 {
        let out = tokio::task::spawn_blocking({
            let d = d.clone();
            move || {
                ns(
                    &d,
                    &[
                        "ticket",
                        "add",
                        "--type",
                        "bug",
                        "--repo",
                        "acme/web",
                        "--criterion",
                        &format!("bug {i} fixed"),
                    ],
                    None,
                )
            }
        })
        .await
        .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }

    let up = start_up(&d).await;
    eventually("all eight kept, triaged and planned", || async {
        let s = states(&client, &up.base).await;
        s.len() == 8 && s.iter().all(|s| s == "awaiting_spec_approval")
    })
    .await;
    let status: serde_json::Value = client
        .get(format!("{}/status", up.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["queues"]["triage"]["visible"], 0);
    assert_eq!(status["queues"]["plan"]["visible"], 0);
    assert_eq!(
        status["pending_approvals"], 8,
        "each ticket planned once, one spec approval each"
    );
    up.interrupt().await;
    // created, triage, plan, request_spec_approval: four events per ticket.
    let verify = ns(&d, &["audit", "verify"], None);
    assert!(
        text(&verify.stdout).contains("32 events"),
        "{}",
        text(&verify.stdout)
    );
}

/// The dispatcher launches the real `nightshift worker` as a child inside
/// bubblewrap: it
/// claims its job, and (no LLM being configured) fails it saying why,
/// which fails the ticket with that reason and settles its budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launched_worker_claims_its_job_and_reports_back() {
    use nightshift_roles::dispatcher;

    let r = crate::helpers::roles();
    let d = r.deps.clone();
    let launcher = nightshift_local::ProcessLauncher::new(
        vec![
            BIN.into(),
            "worker".into(),
            "--job".into(),
            "{job_id}".into(),
        ],
        d.settings.jobs_dir(),
        vec![(
            "NIGHTSHIFT_DATA_DIR".into(),
            d.settings.data_dir.to_string_lossy().to_string(),
        )],
    )
    .unwrap()
    // As `nightshift up` runs it: inside bubblewrap, only the data dir writable.
    .with_sandbox(Some(
        nightshift_local::Bubblewrap::find(vec![d.settings.data_dir.clone()], vec![])
            .expect("this test needs bubblewrap: apt-get install bubblewrap"),
    ));
    let d = nightshift_roles::Deps {
        launcher: std::sync::Arc::new(launcher),
        ..d
    };
    let t = crate::helpers::ready_ticket(
        &d,
        "fix the flaky test",
        nightshift_core::ticket::Priority::Medium,
        "acme/api",
        None,
    )
    .await;
    let jid = dispatcher::dispatch(&d, "test")
        .await
        .unwrap()
        .launched
        .remove(0);
    eventually("the worker fails the ticket", || async {
        d.stores.tickets.get_ticket(&t.id).await.unwrap().state
            == nightshift_core::state::TicketState::Failed
    })
    .await;
    let job = d.stores.jobs.get_job(&jid).await.unwrap();
    assert_eq!(job.state, nightshift_core::job::JobState::Failed);
    assert!(
        job.lease_owner.unwrap().starts_with("worker-"),
        "the child claimed it"
    );
    let t = d.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert!(t.state_reason.unwrap().contains("no LLM is configured"));
    assert_eq!(d.stores.budget.account(&t.id).await.unwrap().reserved, 0);
    let handle = job.launch_handle.unwrap();
    eventually("the child exits", || async {
        matches!(
            d.launcher.status(&handle).await.unwrap(),
            nightshift_core::ports::LaunchState::Exited { code: 1 }
        )
    })
    .await;
}

#[test]
fn logs_cluster_writes_one_row_per_line_in_order_and_mine_counts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = "connected to 10.0.0.1 port 22\nuser alice logged in\nconnected to 10.0.0.2 port 2222\nuser \"bob, jr\" logged in\n\nuser carol logged in\nuser dave logged in\n";
    std::fs::write(d.join("in.txt"), input).unwrap();
    let out = ns(
        d,
        &[
            "logs", "cluster", "--input", "in.txt", "--output", "out.csv",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(d.join("out.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "line,template_id,template");
    assert_eq!(
        rows.len(),
        1 + input.lines().count(),
        "one row per input line, blank ones too"
    );
    let cells = |r: &str| r.splitn(3, ',').map(str::to_string).collect::<Vec<_>>();
    for (i, r) in rows[1..].iter().enumerate() {
        assert_eq!(cells(r)[0], (i + 1).to_string(), "input order");
    }
    assert_eq!(
        cells(rows[1])[1],
        cells(rows[3])[1],
        "both connections share a template"
    );
    assert_eq!(cells(rows[1])[2], "connected to <*> port <*>");
    assert_eq!(cells(rows[2])[1], cells(rows[6])[1], "the logins share one");
    assert_ne!(cells(rows[1])[1], cells(rows[2])[1]);

    std::fs::write(
        d.join("app.log"),
        "ERROR db timeout after 30s\nERROR db timeout after 31s\nINFO ok\n",
    )
    .unwrap();
    let mined = ns(d, &["logs", "mine", "app.log"], None);
    let shown = text(&mined.stdout);
    assert!(shown.starts_with("3 lines, 2 templates"), "{shown}");
    assert!(
        shown.lines().nth(1).unwrap().trim_start().starts_with("2 "),
        "most frequent first: {shown}"
    );
    assert!(shown.contains("[error]"), "{shown}");
}

#[test]
fn deps_audit_prints_json_and_exits_by_what_it_found() {
    let db = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/rustsec-advisory-db"
    );
    assert!(
        Path::new(db).join("crates").is_dir(),
        "this test needs ../shared/data/rustsec-advisory-db"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lock = |smallvec: &str| {
        format!(
            "version = 3\n\n[[package]]\nname = \"smallvec\"\nversion = \"{smallvec}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        )
    };
    std::fs::write(d.join("Cargo.lock"), lock("1.6.0")).unwrap();
    let out = ns(
        d,
        &["deps", "audit", "Cargo.lock", "--db", db, "--json"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        findings.iter().any(|f| f["id"] == "RUSTSEC-2021-0003"
            && f["package"] == "smallvec"
            && f["version"] == "1.6.0"
            && f["kind"] == "vulnerability"),
        "{findings:?}"
    );

    std::fs::write(d.join("Cargo.lock"), lock("1.13.2")).unwrap();
    let out = ns(
        d,
        &["deps", "audit", "Cargo.lock", "--db", db, "--json"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "[]");

    std::fs::write(d.join("Cargo.lock"), "this is not toml [[[").unwrap();
    let out = ns(
        d,
        &["deps", "audit", "Cargo.lock", "--db", db, "--json"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("Cargo.lock"),
        "{}",
        text(&out.stderr)
    );
    let out = ns(
        d,
        &[
            "deps",
            "audit",
            "Cargo.lock",
            "--db",
            "/nonexistent",
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}
