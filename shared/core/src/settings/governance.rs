//! The `[governance]` table: the gates every pull request passes, and how much
//! a repository lets Nightshift do without a person.

use serde::{Deserialize, Serialize};

/// How a repository's two approval gates (spec, merge) are decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Autonomy {
    /// Both gates wait for a person.
    #[default]
    Guided,
    /// A gate approves itself when every threshold is met; otherwise a person decides.
    Full,
}

impl Autonomy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Guided => "guided",
            Self::Full => "full",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GovernanceSettings {
    /// For repositories not listed in `repos`.
    pub autonomy: Autonomy,
    /// Full autonomy approves a spec at or above this architect confidence (0-10).
    pub min_confidence: u8,
    /// ...and a merge at or above this reviewer score (0-10)...
    pub min_review_score: u8,
    /// ...with at least this line coverage (percent), where it is known.
    pub min_coverage: f64,
    /// Lines added plus removed a pull request may change.
    pub max_diff_lines: usize,
    /// Paths no pull request may touch: a directory prefix, or a glob.
    pub protected_paths: Vec<String>,
    /// The repository's own style guide and architecture notes, given to the reviewer.
    pub style_files: Vec<String>,
    /// A coverage report (lcov or Cobertura) the test command leaves behind,
    /// relative to the checkout; read for the coverage threshold.
    pub coverage_report: Option<String>,
    /// Rejected specs before the ticket is rejected for good.
    pub max_spec_rounds: u32,
    pub registries: RegistrySettings,
    /// Per-repository overrides.
    pub repos: Vec<RepoGovernance>,
}

impl Default for GovernanceSettings {
    fn default() -> Self {
        Self {
            autonomy: Autonomy::Guided,
            min_confidence: 8,
            min_review_score: 9,
            min_coverage: 80.0,
            max_diff_lines: 1000,
            protected_paths: [
                ".github/workflows",
                ".github/actions",
                "infra",
                "template.yaml",
                ".ci",
                "CODEOWNERS",
                ".github/CODEOWNERS",
            ]
            .map(String::from)
            .to_vec(),
            style_files: [
                "CONTRIBUTING.md",
                "ARCHITECTURE.md",
                "STYLE.md",
                "docs/architecture.md",
                "docs/CONTRIBUTING.md",
            ]
            .map(String::from)
            .to_vec(),
            coverage_report: None,
            max_spec_rounds: 3,
            registries: RegistrySettings::default(),
            repos: Vec::new(),
        }
    }
}

/// One repository's overrides; what is left out comes from the table above.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RepoGovernance {
    /// `owner/name`.
    pub repo: String,
    pub autonomy: Option<Autonomy>,
    pub protected_paths: Option<Vec<String>>,
    pub style_files: Option<Vec<String>>,
    pub max_diff_lines: Option<usize>,
    pub coverage_report: Option<String>,
}

/// The settings that apply to one repository.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoPolicy {
    pub autonomy: Autonomy,
    pub protected_paths: Vec<String>,
    pub style_files: Vec<String>,
    pub max_diff_lines: usize,
    pub coverage_report: Option<String>,
}

impl GovernanceSettings {
    pub fn policy(&self, repo: &str) -> RepoPolicy {
        let o = self.repos.iter().find(|r| r.repo == repo);
        RepoPolicy {
            autonomy: o.and_then(|r| r.autonomy).unwrap_or(self.autonomy),
            protected_paths: o
                .and_then(|r| r.protected_paths.clone())
                .unwrap_or_else(|| self.protected_paths.clone()),
            style_files: o
                .and_then(|r| r.style_files.clone())
                .unwrap_or_else(|| self.style_files.clone()),
            max_diff_lines: o
                .and_then(|r| r.max_diff_lines)
                .unwrap_or(self.max_diff_lines),
            coverage_report: o
                .and_then(|r| r.coverage_report.clone())
                .or_else(|| self.coverage_report.clone()),
        }
    }
}

/// Where the new-dependency gate asks whether a package exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrySettings {
    /// crates.io's sparse index.
    pub crates_index: String,
    pub pypi: String,
    pub npm: String,
    pub timeout_secs: u64,
    /// How long a definite answer (exists / does not) is remembered.
    pub cache_secs: u64,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            crates_index: "https://index.crates.io".into(),
            pypi: "https://pypi.org".into(),
            npm: "https://registry.npmjs.org".into(),
            timeout_secs: 10,
            cache_secs: 24 * 3600,
        }
    }
}

/// The `[api]` table: who may call the API, and the webhook's secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// The Secrets port name of the bearer token the ticket and approval
    /// endpoints require. Required when the API binds beyond loopback; on
    /// loopback without it, those endpoints are open to local users.
    pub token_secret: String,
    /// The Secrets port name of the GitHub webhook's HMAC secret; without it
    /// the webhook route answers 503 and accepts nothing.
    pub webhook_secret: String,
    /// The label that makes a GitHub issue a ticket.
    pub ready_label: String,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            token_secret: "api-token".into(),
            webhook_secret: "github-webhook-secret".into(),
            ready_label: "ready-for-robot".into(),
        }
    }
}
