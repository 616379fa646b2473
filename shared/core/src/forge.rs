//! The forge port: where repositories live and pull requests are opened. GitHub
//! (through its API) in production, bare git repositories on disk with pull
//! requests recorded in the store locally.

use crate::Timestamp;
use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How a worker reaches a repository: a URL without credentials, plus a
/// short-lived token scoped to that repository (none for a local forge). The
/// token is handed to git through its environment, never written to the URL,
/// the git config or the sandbox.
#[derive(Debug, Clone)]
pub struct RepoAccess {
    pub url: String,
    pub token: Option<SecretString>,
    pub default_branch: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrState {
    Open,
    Merged,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NewPullRequest {
    pub repo: String,
    pub title: String,
    pub body: String,
    /// The branch with the change (`nightshift/<ticket>-<slug>`).
    pub head: String,
    /// The branch it should merge into.
    pub base: String,
    pub ticket_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PullRequest {
    pub repo: String,
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub state: PrState,
    pub url: Option<String>,
    pub ticket_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PrComment {
    pub id: String,
    pub author: String,
    /// Whether the author may write to the repository: text from anyone else
    /// never reaches a prompt.
    pub author_can_write: bool,
    pub body: String,
    /// For review comments on a line of the diff.
    pub path: Option<String>,
    pub line: Option<u32>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckRun {
    pub name: String,
    /// queued, in_progress, completed
    pub status: String,
    /// success, failure, ... once completed
    pub conclusion: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("{what} not found on {forge}")]
    NotFound { forge: String, what: String },
    #[error("{forge} refused: {message}")]
    Refused { forge: String, message: String },
    #[error("{forge} failed: {message}")]
    Backend {
        forge: String,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// Whether `branch` is a name safe to hand to git: a strict subset of git's own
/// rules (no option-like or path-escaping names). Forges and workers both check.
pub fn is_safe_branch_name(branch: &str) -> bool {
    !branch.is_empty()
        && branch.len() <= 200
        && !branch.starts_with(['-', '/', '.'])
        && !branch.ends_with(['/', '.'])
        && !branch.ends_with(".lock")
        && !branch.contains("..")
        && !branch.contains("//")
        && !branch.contains("/.")
        && branch
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
}

#[async_trait]
pub trait Forge: Send + Sync {
    fn name(&self) -> &str;
    /// Where to clone and push `repo`, with a credential scoped to it.
    async fn access(&self, repo: &str) -> Result<RepoAccess, ForgeError>;
    /// Opens a pull request, or returns the open one with the same head branch
    /// (idempotent). The head branch must have been pushed.
    async fn open_pr(&self, pr: &NewPullRequest) -> Result<PullRequest, ForgeError>;
    async fn get_pr(&self, repo: &str, number: u64) -> Result<PullRequest, ForgeError>;
    async fn list_prs(&self, repo: Option<&str>) -> Result<Vec<PullRequest>, ForgeError>;
    /// Adds a comment as Nightshift.
    async fn comment(&self, repo: &str, number: u64, body: &str) -> Result<PrComment, ForgeError>;
    /// Every comment on the PR (conversation and review), oldest first.
    async fn comments(&self, repo: &str, number: u64) -> Result<Vec<PrComment>, ForgeError>;
    async fn check_runs(&self, repo: &str, git_ref: &str) -> Result<Vec<CheckRun>, ForgeError>;
    /// Deletes a branch (refused for protected branches).
    async fn delete_branch(&self, repo: &str, branch: &str) -> Result<(), ForgeError>;
    /// Whether `user` may write to `repo` (write, maintain or admin): only
    /// their comments reach a prompt, and only they may approve or reject.
    async fn can_write(&self, repo: &str, user: &str) -> Result<bool, ForgeError>;
    /// Merges an open pull request into its base with a merge commit titled
    /// `message`. Merging one already merged returns it; a closed one, or one
    /// that conflicts with its base, is refused.
    async fn merge_pr(
        &self,
        repo: &str,
        number: u64,
        message: &str,
    ) -> Result<PullRequest, ForgeError>;
}
