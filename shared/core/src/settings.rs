//! Typed settings with their defaults. Layering (defaults, then `nightshift.toml`,
//! then `NIGHTSHIFT_*` environment variables, `__` between levels) happens at the
//! edge, in the roles crate's `config` module; this is only the shape.

pub mod forge;
pub mod governance;
pub mod llm;
pub mod ops;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address the API binds to. Keep it on loopback unless a token guards it.
    pub host: String,
    pub port: u16,
    /// Where the SQLite file, job sandboxes and logs live.
    pub data_dir: PathBuf,
    /// `pretty` for a terminal, `json` for machines (Lambda).
    pub log_format: LogFormat,
    pub limits: Limits,
    pub budget: BudgetSettings,
    pub dispatcher: DispatcherSettings,
    pub queue: QueueSettings,
    pub launcher: LauncherSettings,
    pub discovery: DiscoverySettings,
    /// LLM providers and per-role routes; empty, the deterministic parts run alone.
    pub llm: llm::LlmSettings,
    /// Where repositories live and pull requests are opened.
    pub forge: forge::ForgeSettings,
    /// Gates, approvals and autonomy per repository.
    pub governance: governance::GovernanceSettings,
    /// Authentication and the GitHub webhook.
    pub api: governance::ApiSettings,
    /// Weekly dependency updates.
    pub janitor: ops::JanitorSettings,
    /// The nightly report.
    pub report: ops::ReportSettings,
    /// How long audit events and job logs are kept.
    pub retention: ops::RetentionSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            data_dir: PathBuf::from(".nightshift"),
            log_format: LogFormat::Pretty,
            limits: Limits::default(),
            budget: BudgetSettings::default(),
            dispatcher: DispatcherSettings::default(),
            queue: QueueSettings::default(),
            launcher: LauncherSettings::default(),
            discovery: DiscoverySettings::default(),
            llm: llm::LlmSettings::default(),
            forge: forge::ForgeSettings::default(),
            governance: governance::GovernanceSettings::default(),
            api: governance::ApiSettings::default(),
            janitor: ops::JanitorSettings::default(),
            report: ops::ReportSettings::default(),
            retention: ops::RetentionSettings::default(),
        }
    }
}

impl Settings {
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("nightshift.db")
    }
    pub fn jobs_dir(&self) -> PathBuf {
        self.data_dir.join("jobs")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest ticket body accepted, in bytes.
    pub max_ticket_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_ticket_bytes: 64 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetSettings {
    /// Tokens a ticket may spend when it does not say.
    pub default_ticket_tokens: u64,
    /// Reserved by the dispatcher when it launches a job; the job's calls draw on it.
    pub job_reservation_tokens: u64,
}

impl Default for BudgetSettings {
    fn default() -> Self {
        Self {
            default_ticket_tokens: 2_000_000,
            job_reservation_tokens: 200_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatcherSettings {
    /// Jobs queued or running at once, at most.
    pub max_concurrent_jobs: u64,
    /// A worker's lease; heartbeats extend it.
    pub job_lease_secs: u64,
    /// A job still running this long after it was created is failed by the reaper.
    pub job_deadline_secs: u64,
    /// Attempts before a job whose worker keeps vanishing is failed.
    pub max_attempts: u32,
    /// Rounds of answering review comments before a ticket is failed.
    pub max_review_rounds: u32,
}

impl Default for DispatcherSettings {
    fn default() -> Self {
        Self {
            max_concurrent_jobs: 5,
            job_lease_secs: 120,
            job_deadline_secs: 3 * 3600,
            max_attempts: 3,
            max_review_rounds: 3,
        }
    }
}

impl DispatcherSettings {
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.job_lease_secs)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    /// How long a received message stays hidden while its handler works.
    pub visibility_timeout_secs: u64,
    /// Receives before a message goes to the dead letter queue.
    pub max_receives: u32,
    /// How often the local role loops look for messages when idle.
    pub poll_interval_ms: u64,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            visibility_timeout_secs: 60,
            max_receives: 5,
            poll_interval_ms: 200,
        }
    }
}

impl QueueSettings {
    pub fn visibility(&self) -> Duration {
        Duration::from_secs(self.visibility_timeout_secs)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LauncherSettings {
    /// The command that runs one job, `{job_id}` and `{attempt}` filled in. Empty:
    /// this binary's own `worker --job {job_id}`.
    pub command: Vec<String>,
    /// `auto`: bubblewrap around each job where `bwrap` is installed;
    /// `bubblewrap`: required; `none`: a plain child process.
    pub sandbox: SandboxMode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    #[default]
    Auto,
    Bubblewrap,
    None,
}

/// What the discovery loop looks at, and when a finding is worth a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoverySettings {
    pub repos: Vec<RepoDiscovery>,
    /// A RustSec advisory-db checkout (`crates/<name>/RUSTSEC-*.md`) and/or OSV
    /// JSON files, for the dependency watchdog.
    pub advisory_db: Option<PathBuf>,
    /// A recurring error needs at least this many occurrences...
    pub min_error_count: u64,
    /// ...on at least this many distinct days (when the lines carry dates).
    pub min_distinct_days: u32,
    /// Below this fixability score (0-10) a recurring error gets a root-cause
    /// note; at or above it, a fix ticket.
    pub fixability_threshold: u8,
    /// "Write tests" tickets per repository and run, at most.
    pub coverage_top: usize,
    /// A file needs at least this many uncovered lines to be worth a ticket.
    pub coverage_min_uncovered: usize,
    /// How far back git history counts for churn.
    pub churn_days: u32,
    /// How far back logs are read.
    pub log_window_days: u32,
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        Self {
            repos: Vec::new(),
            advisory_db: None,
            min_error_count: 5,
            min_distinct_days: 2,
            fixability_threshold: 5,
            coverage_top: 3,
            coverage_min_uncovered: 5,
            churn_days: 90,
            log_window_days: 14,
        }
    }
}

/// One repository the discovery loop watches. Relative paths are relative to
/// `path`, the repository's checkout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepoDiscovery {
    /// The ticket's `context.repo`: `owner/name`.
    pub repo: String,
    pub path: Option<PathBuf>,
    /// Log sources to mine: file paths (relative to `path`) locally, log group
    /// names in AWS (CloudWatch Logs).
    pub logs: Vec<String>,
    /// Coverage reports (lcov or Cobertura XML).
    pub coverage: Vec<PathBuf>,
    /// Lock files (Cargo.lock, package-lock.json, requirements.txt, poetry.lock).
    pub lockfiles: Vec<PathBuf>,
}
