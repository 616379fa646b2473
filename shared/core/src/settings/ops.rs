//! The housekeeping tables: `[janitor]` (weekly dependency updates),
//! `[report]` (the nightly report) and `[retention]` (what the reaper deletes).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JanitorSettings {
    /// Repositories (`owner/name`) the janitor updates each week.
    pub repos: Vec<String>,
    /// A release younger than this is left for next week (a bad release is
    /// usually yanked within days); security fixes do not wait.
    pub min_release_age_days: u32,
    /// Packages never updated by the janitor.
    pub ignore: Vec<String>,
    /// At most this many updates tried per repository and run.
    pub max_updates: usize,
    /// crates.io's web API (versions with their publish dates).
    pub crates_api: String,
    /// The npm registry (packuments with their publish times).
    pub npm_registry: String,
}

impl Default for JanitorSettings {
    fn default() -> Self {
        Self {
            repos: Vec::new(),
            min_release_age_days: 3,
            ignore: Vec::new(),
            max_updates: 20,
            crates_api: "https://crates.io".into(),
            npm_registry: "https://registry.npmjs.org".into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportSettings {
    /// The Secrets port name of a Slack incoming-webhook URL; the report is
    /// posted there when the secret is set.
    pub slack_webhook_secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Audit events older than this are pruned (the chain stays verifiable).
    pub audit_days: u32,
    /// Finished jobs' logs and sandbox directories older than this are deleted.
    pub job_logs_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            audit_days: 365,
            job_logs_days: 30,
        }
    }
}
