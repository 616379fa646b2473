//! run: exit status, output bounding, timeouts that kill the process group, and
//! the scrubbed environment.

use crate::{exec, setup, setup_with};
use nightshift_agent::tools::{ToolboxConfig, is_secret_env_name};
use serde_json::json;
use std::time::{Duration, Instant};

/// True once `pid` is gone (or a zombie waiting for init to reap it).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

fn wait_gone(pid: u32) -> bool {
    for _ in 0..100 {
        if gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[tokio::test]
async fn run_reports_status_and_interleaved_output() {
    let (dir, tb) = setup();
    let o = exec(
        &tb,
        "run",
        json!({"command": "echo out; echo err >&2; echo again"}),
    )
    .await;
    assert!(o.ok, "{}", o.output);
    assert_eq!(o.output, "exit status 0\n--- output ---\nout\nerr\nagain\n");

    let o = exec(&tb, "run", json!({"command": "pwd; exit 3"})).await;
    assert!(!o.ok);
    assert!(o.output.starts_with("exit status 3\n"), "{}", o.output);
    assert!(
        o.output.contains(
            &dir.path()
                .canonicalize()
                .expect("canon")
                .to_string_lossy()
                .into_owned()
        )
    );

    let o = exec(&tb, "run", json!({"command": "true"})).await;
    assert_eq!(o.output, "exit status 0\n--- output ---\n(no output)");

    // stdin is closed: `cat` ends at once instead of waiting.
    let o = exec(&tb, "run", json!({"command": "cat; echo done"})).await;
    assert!(o.output.ends_with("done\n"), "{}", o.output);

    let o = exec(&tb, "run", json!({"command": "  "})).await;
    assert!(!o.ok);
}

#[tokio::test]
async fn run_timeout_kills_the_whole_process_group() {
    let (dir, tb) = setup();
    let started = Instant::now();
    let o = exec(
        &tb,
        "run",
        json!({"command": "sleep 30 & echo $! > bg.pid; echo started; sleep 30", "timeout_secs": 1}),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(!o.ok);
    assert!(
        o.output
            .starts_with("timed out after 1 s; the command and everything it started were killed"),
        "{}",
        o.output
    );
    assert!(o.output.contains("started"), "{}", o.output);
    let pid: u32 = std::fs::read_to_string(dir.path().join("bg.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("a pid");
    assert!(
        wait_gone(pid),
        "background sleep {pid} survived the timeout"
    );
}

#[tokio::test]
async fn background_jobs_do_not_outlive_the_call() {
    let (dir, tb) = setup();
    let started = Instant::now();
    let o = exec(
        &tb,
        "run",
        json!({"command": "(sleep 30; echo late) & echo $! > bg.pid; echo quick"}),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(o.ok, "{}", o.output);
    assert!(o.output.contains("quick") && !o.output.contains("late"));
    let pid: u32 = std::fs::read_to_string(dir.path().join("bg.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("a pid");
    assert!(wait_gone(pid), "background job {pid} outlived the call");
}

#[tokio::test]
async fn run_timeouts_are_capped() {
    let (_dir, tb) = setup_with(ToolboxConfig {
        max_timeout: Duration::from_secs(5),
        ..Default::default()
    });
    let o = exec(
        &tb,
        "run",
        json!({"command": "echo hi", "timeout_secs": 9999}),
    )
    .await;
    assert!(o.ok);
    assert!(
        o.output
            .starts_with("exit status 0 (timeout capped at 5 s)\n"),
        "{}",
        o.output
    );
}

#[tokio::test]
async fn long_output_keeps_head_and_tail() {
    let (_dir, tb) = setup();
    let o = exec(&tb, "run", json!({"command": "seq 1 200000; echo the-end"})).await;
    assert!(o.ok);
    assert!(
        o.output
            .starts_with("exit status 0\n--- output ---\n1\n2\n3\n"),
        "{}",
        &o.output[..100]
    );
    assert!(o.output.ends_with("199999\n200000\nthe-end\n"));
    assert!(o.output.contains(" bytes cut ...]"));
    assert!(o.output.len() < 17 * 1024 + 200, "{} bytes", o.output.len());
    // The count is exact: total output minus what was kept.
    let total: usize = (1..=200000)
        .map(|i: u32| i.to_string().len() + 1)
        .sum::<usize>()
        + "the-end\n".len();
    assert!(
        o.output
            .contains(&format!("[... {} bytes cut ...]", total - 16 * 1024)),
        "{}",
        o.output.len()
    );
}

#[test]
fn secret_names_are_recognized() {
    for n in [
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "NIGHTSHIFT_DATA_DIR",
        "NPM_TOKEN",
        "my_api_key",
        "DB_PASSWORD",
        "SSH_AUTH_SOCK",
        "DATABASE_URL",
    ] {
        assert!(is_secret_env_name(n), "{n}");
    }
    for n in [
        "RUSTUP_HOME",
        "CARGO_HOME",
        "GIT_AUTHOR_NAME",
        "PYTHONPATH",
        "GOPATH",
        "CI",
    ] {
        assert!(!is_secret_env_name(n), "{n}");
    }
}

#[tokio::test]
async fn explicit_secrets_on_the_allow_list_never_reach_the_command() {
    let (dir, tb) = setup_with(ToolboxConfig {
        set_env: vec![
            ("GITHUB_TOKEN".into(), "ghp_fake".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "aws_fake".into()),
            ("OPENAI_API_KEY".into(), "sk_fake".into()),
            ("NIGHTSHIFT_DB".into(), "db_fake".into()),
            ("HOME".into(), "/root".into()),
            (String::new(), "empty name".into()),
            ("A=B".into(), "bad name".into()),
            ("BUILD_MODE".into(), "fast".into()),
        ],
        ..Default::default()
    });
    let o = exec(&tb, "run", json!({"command": "env"})).await;
    assert!(o.ok, "{}", o.output);
    for secret in [
        "ghp_fake",
        "aws_fake",
        "sk_fake",
        "db_fake",
        "GITHUB_TOKEN",
        "AWS_",
        "OPENAI",
        "NIGHTSHIFT",
    ] {
        assert!(!o.output.contains(secret), "{secret} leaked:\n{}", o.output);
    }
    assert!(o.output.contains("BUILD_MODE=fast\n"));
    assert!(o.output.contains("TERM=dumb\n"));
    let home = dir.path().canonicalize().expect("canon");
    assert!(
        o.output.contains(&format!("HOME={}\n", home.display())),
        "{}",
        o.output
    );
    // The test process's own environment (cargo sets many CARGO_* variables) is gone.
    assert!(!o.output.contains("CARGO_PKG_NAME"), "{}", o.output);
    assert!(!tb.env_names().contains(&"GITHUB_TOKEN"));
}

const CHILD_MARKER: &str = "TOOLS_TEST_ENV_PROBE";

/// Passing credentials through from the worker's own environment: the variables
/// are set for real in a child test process (this binary, re-run for this one
/// test), which asks the toolbox to pass them on and checks they are not.
#[tokio::test]
async fn passed_through_secrets_never_reach_the_command() {
    if std::env::var_os(CHILD_MARKER).is_some() {
        return probe().await;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "run::passed_through_secrets_never_reach_the_command",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MARKER, "1")
        .env("GITHUB_TOKEN", "ghp_fake")
        .env("AWS_SECRET_ACCESS_KEY", "aws_fake")
        .env("OPENAI_API_KEY", "sk_fake")
        .env("TOOLS_HARMLESS", "kept")
        .output()
        .expect("run the probe");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the probe did not run:\n{text}");
}

async fn probe() {
    assert_eq!(
        std::env::var("GITHUB_TOKEN").as_deref(),
        Ok("ghp_fake"),
        "the probe needs the fake secrets"
    );
    let names = [
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "OPENAI_API_KEY",
        "TOOLS_HARMLESS",
    ];
    let (_dir, tb) = setup_with(ToolboxConfig {
        pass_env: names
            .iter()
            .map(|s| s.to_string())
            .chain(["".into(), "X=Y".into()])
            .collect(),
        ..Default::default()
    });
    let o = exec(&tb, "run", json!({"command": "env"})).await;
    assert!(o.ok, "{}", o.output);
    for secret in [
        "ghp_fake",
        "aws_fake",
        "sk_fake",
        "GITHUB_TOKEN",
        "AWS_",
        "OPENAI",
    ] {
        assert!(!o.output.contains(secret), "{secret} leaked:\n{}", o.output);
    }
    assert!(o.output.contains("TOOLS_HARMLESS=kept\n"), "{}", o.output);
    assert!(!o.output.contains(CHILD_MARKER));
}
