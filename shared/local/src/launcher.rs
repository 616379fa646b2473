//! The job launcher for one machine: each job attempt runs as a child process in
//! its own sandbox directory (`<jobs_dir>/<job_id>/<attempt>/`), with a scrubbed
//! environment, its output in files beside it. The directory is the record: the
//! pid, the exit code and a stop reason are files there, so status survives a
//! restart of the process that launched it.

use async_trait::async_trait;
use nightshift_core::ports::{JobLauncher, LaunchError, LaunchRequest, LaunchState};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Variables a child keeps from the parent's environment; everything else is dropped.
const KEPT_ENV: [&str; 4] = ["PATH", "LANG", "LC_ALL", "TZ"];

#[derive(Debug, Clone)]
pub struct ProcessLauncher {
    command: Vec<String>,
    jobs_dir: PathBuf,
    extra_env: Vec<(String, String)>,
    stop_grace: Duration,
    sandbox: Option<Bubblewrap>,
}

/// bubblewrap around each job: the whole filesystem read-only but for the
/// writable paths (the data directory: the job's sandbox, the store, the local
/// forge), with hidden paths (the secrets directory) replaced by empty ones;
/// own PID namespace; dies with its parent. The network stays (LLM calls).
#[derive(Debug, Clone)]
pub struct Bubblewrap {
    pub bwrap: PathBuf,
    pub writable: Vec<PathBuf>,
    pub hidden: Vec<PathBuf>,
}

impl Bubblewrap {
    /// `bwrap` from PATH, if it is installed.
    pub fn find(writable: Vec<PathBuf>, hidden: Vec<PathBuf>) -> Option<Self> {
        let path = std::env::var_os("PATH")?;
        let bwrap = std::env::split_paths(&path)
            .map(|d| d.join("bwrap"))
            .find(|p| p.is_file())?;
        Some(Self {
            bwrap,
            writable,
            hidden,
        })
    }

    /// `program` is bound read-only again after the private `/tmp`, so a binary
    /// that lives under `/tmp` (a build in a temporary checkout) still runs.
    fn args(&self, workdir: &Path, program: &Path) -> Vec<std::ffi::OsString> {
        let mut a: Vec<std::ffi::OsString> = [
            "--die-with-parent",
            "--new-session",
            "--unshare-pid",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
        ]
        .iter()
        .map(Into::into)
        .collect();
        for w in &self.writable {
            a.extend([
                "--bind".into(),
                w.clone().into_os_string(),
                w.clone().into_os_string(),
            ]);
        }
        for h in self.hidden.iter().filter(|h| h.exists()) {
            a.extend(["--tmpfs".into(), h.clone().into_os_string()]);
        }
        if program.is_absolute() && program.exists() {
            let p = program.as_os_str().to_owned();
            a.extend(["--ro-bind".into(), p.clone(), p]);
        }
        a.extend([
            "--chdir".into(),
            workdir.as_os_str().to_owned(),
            "--".into(),
        ]);
        a
    }
}

fn err(message: impl Into<String>) -> LaunchError {
    LaunchError {
        message: message.into(),
        source: None,
    }
}

fn io_err(message: impl Into<String>) -> impl FnOnce(std::io::Error) -> LaunchError {
    let message = message.into();
    move |e| LaunchError {
        message: format!("{message}: {e}"),
        source: Some(Box::new(e)),
    }
}

impl ProcessLauncher {
    /// `command` is the program and its arguments; `{job_id}`, `{attempt}` and
    /// `{workdir}` in the arguments are filled in per launch. `extra_env` is added
    /// to the scrubbed environment (never put secrets there).
    pub fn new(
        command: Vec<String>,
        jobs_dir: PathBuf,
        extra_env: Vec<(String, String)>,
    ) -> Result<Self, LaunchError> {
        if command.is_empty() {
            return Err(err("the launcher command is empty"));
        }
        Ok(Self {
            command,
            jobs_dir,
            extra_env,
            stop_grace: Duration::from_secs(10),
            sandbox: None,
        })
    }

    pub fn with_stop_grace(mut self, grace: Duration) -> Self {
        self.stop_grace = grace;
        self
    }

    /// Runs every job inside `sandbox` (see [`Bubblewrap::find`]).
    pub fn with_sandbox(mut self, sandbox: Option<Bubblewrap>) -> Self {
        self.sandbox = sandbox;
        self
    }

    pub fn sandbox(&self) -> Option<&Bubblewrap> {
        self.sandbox.as_ref()
    }

    fn attempt_dir(&self, job_id: &str, attempt: u32) -> PathBuf {
        self.jobs_dir.join(job_id).join(attempt.to_string())
    }

    /// `local:<job_id>:<attempt>` back to its directory.
    fn dir_of(&self, handle: &str) -> Result<PathBuf, LaunchError> {
        let mut parts = handle.splitn(3, ':');
        match (
            parts.next(),
            parts.next(),
            parts.next().and_then(|a| a.parse::<u32>().ok()),
        ) {
            (Some("local"), Some(job), Some(attempt)) if safe_id(job) => {
                Ok(self.attempt_dir(job, attempt))
            }
            _ => Err(err(format!(
                "`{handle}` is not a handle of the local launcher"
            ))),
        }
    }
}

fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn pid_alive(pid: i32) -> bool {
    // Signal 0 checks existence and permission without sending anything.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

#[async_trait]
impl JobLauncher for ProcessLauncher {
    async fn launch(&self, req: &LaunchRequest) -> Result<String, LaunchError> {
        if !safe_id(&req.job_id) {
            return Err(err(format!(
                "job id `{}` is not safe as a directory name",
                req.job_id
            )));
        }
        let handle = format!("local:{}:{}", req.job_id, req.attempt);
        let dir = self.attempt_dir(&req.job_id, req.attempt);
        let workdir = dir.join("work");
        std::fs::create_dir_all(&workdir)
            .map_err(io_err(format!("cannot create {}", workdir.display())))?;
        // Claim the launch by creating the pid file exclusively: a second launch of
        // the same attempt finds it and starts nothing.
        let pid_path = dir.join("pid");
        let mut pid_file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&pid_path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(handle),
            Err(e) => return Err(io_err(format!("cannot create {}", pid_path.display()))(e)),
        };
        let fill = |a: &String| {
            a.replace("{job_id}", &req.job_id)
                .replace("{attempt}", &req.attempt.to_string())
                .replace("{workdir}", &workdir.to_string_lossy())
        };
        let mut cmd = match &self.sandbox {
            Some(b) => {
                let mut c = tokio::process::Command::new(&b.bwrap);
                c.args(b.args(&workdir, Path::new(&self.command[0])))
                    .arg(&self.command[0]);
                c
            }
            None => tokio::process::Command::new(&self.command[0]),
        };
        cmd.args(self.command[1..].iter().map(fill))
            .current_dir(&workdir)
            .env_clear()
            .env("HOME", &workdir)
            .env("NIGHTSHIFT_JOB_ID", &req.job_id)
            .env("NIGHTSHIFT_JOB_ATTEMPT", req.attempt.to_string())
            .stdin(Stdio::null())
            .stdout(
                std::fs::File::create(dir.join("stdout.log"))
                    .map_err(io_err("cannot create stdout.log"))?,
            )
            .stderr(
                std::fs::File::create(dir.join("stderr.log"))
                    .map_err(io_err("cannot create stderr.log"))?,
            )
            .process_group(0);
        for k in KEPT_ENV {
            if let Ok(v) = std::env::var(k) {
                cmd.env(k, v);
            }
        }
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_file(&pid_path);
                return Err(io_err(format!("cannot start `{}`", self.command[0]))(e));
            }
        };
        let pid = child.id().unwrap_or_default();
        std::io::Write::write_all(&mut pid_file, pid.to_string().as_bytes())
            .map_err(io_err("cannot write the pid file"))?;
        tracing::info!(job_id = %req.job_id, attempt = req.attempt, pid, "launched job");
        // Reap the child and record how it ended.
        tokio::spawn(async move {
            let code = match child.wait().await {
                Ok(status) => status.code().unwrap_or_else(|| {
                    use std::os::unix::process::ExitStatusExt;
                    128 + status.signal().unwrap_or(0)
                }),
                Err(_) => -1,
            };
            let _ = std::fs::write(dir.join("exit_code"), code.to_string());
        });
        Ok(handle)
    }

    async fn status(&self, handle: &str) -> Result<LaunchState, LaunchError> {
        let dir = self.dir_of(handle)?;
        if let Some(reason) = read_trimmed(&dir.join("stopped"))
            && !read_trimmed(&dir.join("pid"))
                .and_then(|p| p.parse().ok())
                .is_some_and(pid_alive)
        {
            return Ok(LaunchState::Stopped { reason });
        }
        if let Some(code) = read_trimmed(&dir.join("exit_code")).and_then(|c| c.parse().ok()) {
            return Ok(LaunchState::Exited { code });
        }
        match read_trimmed(&dir.join("pid")) {
            None => Ok(LaunchState::Unknown),
            // An empty pid file: the launch is in progress, or the launcher died
            // between claiming the launch and starting the child.
            Some(p) if p.is_empty() => {
                let age = std::fs::metadata(dir.join("pid"))
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok());
                Ok(if age.is_some_and(|a| a > Duration::from_secs(30)) {
                    LaunchState::Unknown
                } else {
                    LaunchState::Pending
                })
            }
            Some(p) => match p.parse::<i32>() {
                Ok(pid) if pid_alive(pid) => Ok(LaunchState::Running),
                // Gone without a recorded exit: the launching process died first.
                _ => Ok(LaunchState::Unknown),
            },
        }
    }

    async fn stop(&self, handle: &str, reason: &str) -> Result<(), LaunchError> {
        let dir = self.dir_of(handle)?;
        std::fs::write(dir.join("stopped"), reason).map_err(io_err("cannot record the stop"))?;
        let Some(pid) = read_trimmed(&dir.join("pid")).and_then(|p| p.parse::<i32>().ok()) else {
            return Ok(());
        };
        if !pid_alive(pid) {
            return Ok(());
        }
        // SIGTERM to the job's process group, as Fargate does; SIGKILL after the grace.
        unsafe { libc::kill(-pid, libc::SIGTERM) };
        let grace = self.stop_grace;
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if pid_alive(pid) {
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
        });
        Ok(())
    }
}
