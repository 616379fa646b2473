//! Running shell commands for the model. The command is untrusted (the model wrote
//! it, maybe steered by text in a ticket or a file), so it runs with:
//! - a scrubbed environment: cleared, then PATH, HOME (the workspace), LANG,
//!   TERM=dumb and an operator allow-list from which credential-looking names
//!   ([`is_secret_env_name`]) are removed even when asked for;
//! - stdin closed, so nothing waits for input that never comes;
//! - its own process group, killed when the command times out, when it exits
//!   (background jobs do not outlive the tool call) and if the call is dropped;
//! - one pipe for stdout and stderr, so the output is interleaved as it happened,
//!   kept bounded (head and tail) however much is written.

use super::text::HeadTail;
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;

const HEAD_BYTES: usize = 8 * 1024;
const TAIL_BYTES: usize = 8 * 1024;
/// How long to keep reading after the group is gone (a process that escaped the
/// group with setsid may still hold the pipe open).
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// True for variable names that look like credentials or Nightshift's own
/// configuration; these never reach a tool subprocess, allow-listed or not.
pub fn is_secret_env_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    const PREFIXES: &[&str] = &[
        "AWS_",
        "NIGHTSHIFT_",
        "GITHUB_",
        "GH_",
        "GITLAB_",
        "AZURE_",
        "GOOGLE_",
        "GCP_",
        "OPENAI_",
        "ANTHROPIC_",
        "SSH_",
        "DOCKER_",
        "VAULT_",
    ];
    const PARTS: &[&str] = &[
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "COOKIE",
    ];
    const EXACT: &[&str] = &["DATABASE_URL", "NETRC", "KUBECONFIG"];
    PREFIXES.iter().any(|p| n.starts_with(p))
        || PARTS.iter().any(|p| n.contains(p))
        || EXACT.contains(&n.as_str())
}

/// The environment a tool subprocess gets, computed once per toolbox.
pub(super) fn sandbox_env(
    root: &Path,
    pass: &[String],
    set: &[(String, String)],
) -> Vec<(String, OsString)> {
    let mut env: Vec<(String, OsString)> = vec![
        (
            "PATH".into(),
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
        ),
        ("HOME".into(), root.as_os_str().to_owned()),
        (
            "LANG".into(),
            std::env::var_os("LANG").unwrap_or_else(|| "C.UTF-8".into()),
        ),
        ("TERM".into(), "dumb".into()),
        // Rust projects: rustup's proxies find the toolchains through
        // RUSTUP_HOME (no secrets there); cargo's own home, with its download
        // cache, goes beside the checkout, never into it (a commit would pick
        // it up) and never the host's (it may hold registry tokens).
        (
            "CARGO_HOME".into(),
            root.parent()
                .unwrap_or(root)
                .join("cargo-home")
                .into_os_string(),
        ),
    ];
    if let Some(rustup) = std::env::var_os("RUSTUP_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".rustup")))
        .filter(|p| p.is_dir())
    {
        env.push(("RUSTUP_HOME".into(), rustup.into_os_string()));
    }
    // Checked before any lookup: var_os may panic on an empty name or one with `=`.
    let allowed = |name: &str| {
        let ok = !(name.is_empty()
            || name.contains(['=', '\0'])
            || is_secret_env_name(name)
            || matches!(name, "HOME" | "TERM"));
        if !ok {
            tracing::warn!(name, "refusing to pass this variable to tool subprocesses");
        }
        ok
    };
    let mut put = |name: &str, value: OsString| {
        env.retain(|(k, _)| k != name);
        env.push((name.to_string(), value));
    };
    for name in pass.iter().filter(|n| allowed(n)) {
        if let Some(v) = std::env::var_os(name) {
            put(name, v);
        }
    }
    for (name, value) in set.iter().filter(|(n, v)| allowed(n) && !v.contains('\0')) {
        put(name, value.into());
    }
    env
}

/// How a command ended.
#[derive(Debug)]
pub(super) struct Finished {
    pub status: Option<ExitStatus>,
    pub timed_out: bool,
    /// stdout and stderr interleaved, bounded.
    pub output: String,
    pub empty: bool,
}

impl Finished {
    pub(super) fn success(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }

    /// A one-line verdict, e.g. `exit status 1` or `timed out after 5 s`.
    pub(super) fn verdict(&self, timeout: Duration) -> String {
        if self.timed_out {
            return format!(
                "timed out after {} s; the command and everything it started were killed",
                timeout.as_secs()
            );
        }
        match self.status {
            Some(s) => match (s.code(), s.signal()) {
                (Some(c), _) => format!("exit status {c}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                _ => "ended in an unknown way".into(),
            },
            None => "ended in an unknown way".into(),
        }
    }
}

/// Kills the whole process group (SIGKILL) once: explicitly, or on drop.
struct Group {
    pgid: i32,
    done: bool,
}

impl Group {
    fn kill(&mut self) {
        if self.pgid > 0 && !self.done {
            // SAFETY: kill(2) with a negative pid signals a process group; it takes
            // no pointers. pgid > 0 guards against signalling our own group (0).
            unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
        }
        self.done = true;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `sh -c command` in `cwd` under the rules in the module docs.
pub(super) async fn run_shell(
    command: &str,
    cwd: &Path,
    env: &[(String, OsString)],
    timeout: Duration,
) -> Result<Finished, String> {
    let (reader, writer) = std::io::pipe().map_err(|e| format!("cannot create a pipe: {e}"))?;
    let writer2 = writer
        .try_clone()
        .map_err(|e| format!("cannot create a pipe: {e}"))?;
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(cwd)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::from(writer2))
        .process_group(0)
        .kill_on_drop(true);
    let spawned = cmd.spawn();
    // Our copies of the write end must go, or the pipe never reaches EOF.
    drop(cmd);
    let mut child = spawned.map_err(|e| format!("cannot start `sh`: {e}"))?;
    let mut group = Group {
        pgid: child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0),
        done: false,
    };
    let rx = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader))
        .map_err(|e| format!("cannot read the command's output: {e}"))?;
    let captured = Arc::new(Mutex::new(HeadTail::new(HEAD_BYTES, TAIL_BYTES)));
    let mut drain = tokio::spawn(read_all(rx, Arc::clone(&captured)));

    let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => (Some(status), false),
        Ok(Err(e)) => return Err(format!("lost track of the command: {e}")),
        Err(_) => {
            group.kill();
            (child.wait().await.ok(), true)
        }
    };
    // Background jobs the command left behind go too.
    group.kill();
    let mut output = String::new();
    if tokio::time::timeout(DRAIN_GRACE, &mut drain).await.is_err() {
        drain.abort();
        output.push_str("[a process that left the command's process group still holds its output open; output read so far:]\n");
    }
    let captured = captured.lock().unwrap_or_else(|p| p.into_inner());
    output.push_str(&captured.render());
    Ok(Finished {
        status,
        timed_out,
        output,
        empty: captured.is_empty(),
    })
}

async fn read_all(mut rx: tokio::net::unix::pipe::Receiver, into: Arc<Mutex<HeadTail>>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match rx.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => into
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(&buf[..n]),
        }
    }
}
