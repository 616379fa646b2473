//! The `[forge]` table: where repositories live. `local` (the default) keeps bare
//! repositories under the data directory; `github` talks to GitHub's REST API.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    #[default]
    Local,
    Github,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForgeSettings {
    pub kind: ForgeKind,
    pub github: GitHubSettings,
}

/// Settings for the GitHub forge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitHubSettings {
    /// The REST API root: `https://api.github.com`, or
    /// `https://<host>/api/v3` for GitHub Enterprise Server.
    pub api_url: String,
    /// The Secrets port name of a token with `repo` scope.
    pub token_secret: String,
    /// Branches never deleted, in every repository (each repository's
    /// default branch is always protected as well).
    pub protected_branches: Vec<String>,
    /// Repositories (`owner/name`) `list_prs(None)` covers, besides those
    /// this forge has touched since it started.
    pub repos: Vec<String>,
}

impl Default for GitHubSettings {
    fn default() -> Self {
        GitHubSettings {
            api_url: "https://api.github.com".into(),
            token_secret: "github-token".into(),
            protected_branches: vec!["main".into(), "master".into()],
            repos: Vec::new(),
        }
    }
}
