//! Forge adapters beyond the local one. For now: [`GitHubForge`], the forge
//! port over GitHub's REST API through `octocrab`.
//!
//! # Credentials
//! The forge holds one token (the Secrets port entry named by
//! [`GitHubSettings::token_secret`], a token with `repo` scope). It is sent
//! only in the `Authorization` header, never logged, never part of an error
//! or of `Debug` output. [`Forge::access`] hands that same token to workers;
//! in production the better choice is a GitHub App installation token scoped
//! to the one repository (`POST /app/installations/{id}/access_tokens` with
//! `repositories: [name]`), left as a follow-up.
//!
//! # Mapping
//! - PR numbers, titles, heads and bases are GitHub's; `closed` with a
//!   `merged_at` is [`PrState::Merged`].
//! - The ticket id travels in the PR body as a trailing HTML comment
//!   ([`TICKET_MARKER`]), stripped again when reading.
//! - Comments are the issue (conversation) comments followed by the review
//!   comments, stably sorted by `created_at`; ids are `issuecomment-<id>` and
//!   `discussion_r<id>` (GitHub's own anchors).
//! - `author_can_write` is `admin`, `maintain` or `write` on
//!   `GET /repos/{o}/{r}/collaborators/{user}/permission`; anything else,
//!   including "not a collaborator", is `false`.
//! - HTTP 404 is [`ForgeError::NotFound`]; 401, 403, 409 and 422 are
//!   [`ForgeError::Refused`] with GitHub's message; anything else is
//!   [`ForgeError::Backend`].

use async_trait::async_trait;
use nightshift_core::forge::{
    CheckRun, Forge, ForgeError, NewPullRequest, PrComment, PrState, PullRequest, RepoAccess,
};
use octocrab::Octocrab;
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

pub(crate) const NAME: &str = "github";

/// The start of the HTML comment carrying the ticket id in a PR body.
pub const TICKET_MARKER: &str = "<!-- nightshift-ticket: ";

/// Pages of 100 read by `list_prs` per repository (newest first).
const PR_PAGES: u32 = 2;
/// Pages of 100 read per comment kind by `comments`.
const COMMENT_PAGES: u32 = 10;

pub use nightshift_core::settings::forge::GitHubSettings;

/// The forge port over GitHub's REST API.
pub struct GitHubForge {
    client: Octocrab,
    token: SecretString,
    settings: GitHubSettings,
    /// Repositories touched since start, for `list_prs(None)`.
    seen: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for GitHubForge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubForge")
            .field("api_url", &self.settings.api_url)
            .field("token_secret", &self.settings.token_secret)
            .field("token", &"[REDACTED]")
            .field("protected_branches", &self.settings.protected_branches)
            .finish_non_exhaustive()
    }
}

mod wire;
use wire::*;

impl GitHubForge {
    /// A forge talking to `settings.api_url` with `token` (the value of the
    /// secret named `settings.token_secret`).
    pub fn new(settings: GitHubSettings, token: SecretString) -> Result<Self, ForgeError> {
        let client = Octocrab::builder()
            .base_uri(settings.api_url.as_str())
            .map_err(|_| refused(format!("{:?} is not a valid API URL", settings.api_url)))?
            .personal_token(token.clone())
            .build()
            .map_err(|e| ForgeError::Backend {
                forge: NAME.into(),
                message: "building the GitHub client".into(),
                source: Some(Box::new(e)),
            })?;
        let seen = Mutex::new(settings.repos.iter().cloned().collect());
        Ok(GitHubForge {
            client,
            token,
            settings,
            seen,
        })
    }

    pub fn settings(&self) -> &GitHubSettings {
        &self.settings
    }

    fn touch(&self, repo: &str) {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(repo.to_string());
    }

    async fn get<T: DeserializeOwned>(
        &self,
        route: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<T, ForgeError> {
        let query = (!query.is_empty()).then_some(query);
        self.client
            .get(route, query)
            .await
            .map_err(|e| map_error(e, what))
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        route: &str,
        body: &B,
        what: &str,
    ) -> Result<T, ForgeError> {
        self.client
            .post(route, Some(body))
            .await
            .map_err(|e| map_error(e, what))
    }

    async fn repo_info(&self, repo: &str) -> Result<GhRepo, ForgeError> {
        let (owner, name) = split_repo(repo)?;
        self.get(
            &format!("/repos/{owner}/{name}"),
            &[],
            &format!("repository {repo}"),
        )
        .await
    }

    async fn pulls_page(
        &self,
        repo: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<PullRequest>, ForgeError> {
        let (owner, name) = split_repo(repo)?;
        let pulls: Vec<GhPull> = self
            .get(
                &format!("/repos/{owner}/{name}/pulls"),
                query,
                &format!("pull requests of {repo}"),
            )
            .await?;
        Ok(pulls.into_iter().map(|p| to_pr(repo, p)).collect())
    }

    /// Every page (up to `max`) of a list endpoint, 100 items a page.
    async fn pages<T: DeserializeOwned>(
        &self,
        route: &str,
        max: u32,
        what: &str,
    ) -> Result<Vec<T>, ForgeError> {
        let mut all = Vec::new();
        for page in 1..=max {
            let page = page.to_string();
            let items: Vec<T> = self
                .get(route, &[("per_page", "100"), ("page", &page)], what)
                .await?;
            let done = items.len() < 100;
            all.extend(items);
            if done {
                break;
            }
        }
        Ok(all)
    }

    /// Whether `user` may write to `repo`, asked once per user per call.
    async fn permission_cached(
        &self,
        repo: &str,
        user: &str,
        cache: &mut HashMap<String, bool>,
    ) -> Result<bool, ForgeError> {
        if let Some(known) = cache.get(user) {
            return Ok(*known);
        }
        let (owner, name) = split_repo(repo)?;
        let safe_login = !user.is_empty()
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '[' | ']'));
        let can = if !safe_login {
            false
        } else {
            let asked: Result<GhPermission, ForgeError> = self
                .get(
                    &format!("/repos/{owner}/{name}/collaborators/{user}/permission"),
                    &[],
                    &format!("permission of {user} on {repo}"),
                )
                .await;
            match asked {
                Ok(p) => {
                    let role = p.role_name.as_deref().unwrap_or("");
                    matches!(p.permission.as_str(), "admin" | "maintain" | "write")
                        || matches!(role, "admin" | "maintain" | "write")
                }
                // Not a collaborator.
                Err(ForgeError::NotFound { .. }) => false,
                Err(e) => return Err(e),
            }
        };
        cache.insert(user.to_string(), can);
        Ok(can)
    }

    fn to_comment(c: GhComment, review: bool, can_write: bool) -> PrComment {
        PrComment {
            id: if review {
                format!("discussion_r{}", c.id)
            } else {
                format!("issuecomment-{}", c.id)
            },
            author: c.user.map(|u| u.login).unwrap_or_default(),
            author_can_write: can_write,
            body: c.body.unwrap_or_default(),
            path: if review { c.path } else { None },
            line: if review {
                c.line.or(c.original_line)
            } else {
                None
            },
            created_at: c.created_at,
        }
    }
}

#[async_trait]
impl Forge for GitHubForge {
    fn name(&self) -> &str {
        NAME
    }

    async fn access(&self, repo: &str) -> Result<RepoAccess, ForgeError> {
        let info = self.repo_info(repo).await?;
        let url = info
            .clone_url
            .filter(|u| u.starts_with("https://") && !u.contains('@'))
            .unwrap_or_else(|| format!("https://github.com/{repo}.git"));
        Ok(RepoAccess {
            url,
            token: Some(self.token.clone()),
            default_branch: info.default_branch,
        })
    }

    async fn open_pr(&self, pr: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        let (owner, name) = split_repo(&pr.repo)?;
        check_branch(&pr.head)?;
        check_branch(&pr.base)?;
        if pr.head == pr.base {
            return Err(refused(format!(
                "a pull request from {} onto itself",
                pr.head
            )));
        }
        self.touch(&pr.repo);
        let head = format!("{owner}:{}", pr.head);
        let open = self
            .pulls_page(&pr.repo, &[("state", "open"), ("head", &head)])
            .await?;
        if let Some(existing) = open.into_iter().find(|p| p.head == pr.head) {
            return Ok(existing);
        }
        let body = with_ticket(&pr.body, pr.ticket_id.as_deref());
        let made: GhPull = self
            .post(
                &format!("/repos/{owner}/{name}/pulls"),
                &NewPullBody {
                    title: &pr.title,
                    body: &body,
                    head: &pr.head,
                    base: &pr.base,
                },
                &format!("pull request {} -> {} on {}", pr.head, pr.base, pr.repo),
            )
            .await?;
        tracing::info!(repo = %pr.repo, number = made.number, head = %pr.head, "opened a pull request");
        Ok(to_pr(&pr.repo, made))
    }

    async fn get_pr(&self, repo: &str, number: u64) -> Result<PullRequest, ForgeError> {
        let (owner, name) = split_repo(repo)?;
        let p: GhPull = self
            .get(
                &format!("/repos/{owner}/{name}/pulls/{number}"),
                &[],
                &format!("pull request {repo}#{number}"),
            )
            .await?;
        Ok(to_pr(repo, p))
    }

    async fn list_prs(&self, repo: Option<&str>) -> Result<Vec<PullRequest>, ForgeError> {
        let repos: Vec<String> = match repo {
            Some(r) => {
                split_repo(r)?;
                vec![r.to_string()]
            }
            None => self
                .seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned()
                .collect(),
        };
        let mut all = Vec::new();
        for repo in repos {
            for page in 1..=PR_PAGES {
                let page = page.to_string();
                let prs = self
                    .pulls_page(
                        &repo,
                        &[("state", "all"), ("per_page", "100"), ("page", &page)],
                    )
                    .await?;
                let done = prs.len() < 100;
                all.extend(prs);
                if done {
                    break;
                }
            }
        }
        Ok(all)
    }

    async fn comment(&self, repo: &str, number: u64, body: &str) -> Result<PrComment, ForgeError> {
        // Only pull requests, not plain issues.
        self.get_pr(repo, number).await?;
        let (owner, name) = split_repo(repo)?;
        let made: GhComment = self
            .post(
                &format!("/repos/{owner}/{name}/issues/{number}/comments"),
                &CommentBody { body },
                &format!("comment on {repo}#{number}"),
            )
            .await?;
        let author = made
            .user
            .as_ref()
            .map(|u| u.login.clone())
            .unwrap_or_default();
        let can = self
            .permission_cached(repo, &author, &mut HashMap::new())
            .await?;
        Ok(Self::to_comment(made, false, can))
    }

    async fn comments(&self, repo: &str, number: u64) -> Result<Vec<PrComment>, ForgeError> {
        self.get_pr(repo, number).await?;
        let (owner, name) = split_repo(repo)?;
        let what = format!("comments on {repo}#{number}");
        let issue: Vec<GhComment> = self
            .pages(
                &format!("/repos/{owner}/{name}/issues/{number}/comments"),
                COMMENT_PAGES,
                &what,
            )
            .await?;
        let review: Vec<GhComment> = self
            .pages(
                &format!("/repos/{owner}/{name}/pulls/{number}/comments"),
                COMMENT_PAGES,
                &what,
            )
            .await?;
        let mut cache = HashMap::new();
        let mut all = Vec::with_capacity(issue.len() + review.len());
        for (c, is_review) in issue
            .into_iter()
            .map(|c| (c, false))
            .chain(review.into_iter().map(|c| (c, true)))
        {
            let author = c.user.as_ref().map(|u| u.login.clone()).unwrap_or_default();
            let can = self.permission_cached(repo, &author, &mut cache).await?;
            all.push(Self::to_comment(c, is_review, can));
        }
        // Stable: within one second, conversation before review comments.
        all.sort_by_key(|c| c.created_at);
        Ok(all)
    }

    async fn check_runs(&self, repo: &str, git_ref: &str) -> Result<Vec<CheckRun>, ForgeError> {
        let (owner, name) = split_repo(repo)?;
        check_branch(git_ref)?;
        let encoded = git_ref.replace('/', "%2F");
        let runs: GhCheckRuns = self
            .get(
                &format!("/repos/{owner}/{name}/commits/{encoded}/check-runs"),
                &[("per_page", "100")],
                &format!("check runs of {git_ref} on {repo}"),
            )
            .await?;
        Ok(runs
            .check_runs
            .into_iter()
            .map(|r| CheckRun {
                name: r.name,
                status: r.status,
                conclusion: r.conclusion,
            })
            .collect())
    }

    async fn delete_branch(&self, repo: &str, branch: &str) -> Result<(), ForgeError> {
        let (owner, name) = split_repo(repo)?;
        check_branch(branch)?;
        if self.settings.protected_branches.iter().any(|b| b == branch) {
            return Err(refused(format!("{branch} is protected on {repo}")));
        }
        let info = self.repo_info(repo).await?;
        if info.default_branch == branch {
            return Err(refused(format!("{branch} is the default branch of {repo}")));
        }
        let what = format!("branch {branch} of {repo}");
        let response = self
            .client
            ._delete(
                format!("/repos/{owner}/{name}/git/refs/heads/{branch}").as_str(),
                None::<&()>,
            )
            .await
            .map_err(|e| map_error(e, &what))?;
        octocrab::map_github_error(response)
            .await
            .map_err(|e| map_error(e, &what))?;
        tracing::info!(%repo, %branch, "deleted a branch");
        Ok(())
    }

    async fn can_write(&self, repo: &str, user: &str) -> Result<bool, ForgeError> {
        self.permission_cached(repo, user, &mut HashMap::new())
            .await
    }

    async fn merge_pr(
        &self,
        repo: &str,
        number: u64,
        message: &str,
    ) -> Result<PullRequest, ForgeError> {
        let (owner, name) = split_repo(repo)?;
        let pr = self.get_pr(repo, number).await?;
        match pr.state {
            PrState::Merged => return Ok(pr),
            PrState::Closed => {
                return Err(refused(format!("pull request {repo}#{number} is closed")));
            }
            PrState::Open => {}
        }
        let what = format!("merge of {repo}#{number}");
        let body = serde_json::json!({ "commit_title": message, "merge_method": "merge" });
        let merged: Result<serde_json::Value, ForgeError> = self
            .client
            .put(
                format!("/repos/{owner}/{name}/pulls/{number}/merge"),
                Some(&body),
            )
            .await
            .map_err(|e| map_error(e, &what));
        match merged {
            Ok(_) => {}
            // 405: not mergeable (perhaps merged meanwhile); 409: head moved.
            Err(e) => {
                let now = self.get_pr(repo, number).await?;
                if now.state == PrState::Merged {
                    return Ok(now);
                }
                return Err(e);
            }
        }
        tracing::info!(%repo, number, "merged a pull request");
        self.get_pr(repo, number).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_marker_round_trips() {
        let body = with_ticket("Fix it.\n\nDetails.", Some("tkt_1"));
        assert_eq!(
            split_ticket(&body),
            ("Fix it.\n\nDetails.".to_string(), Some("tkt_1".to_string()))
        );
        assert_eq!(split_ticket("plain"), ("plain".to_string(), None));
        assert_eq!(with_ticket("b", Some("x-->y")), "b");
    }

    #[test]
    fn repo_names_are_owner_slash_name() {
        assert!(split_repo("acme/app").is_ok());
        for bad in [
            "acme", "a/b/c", "../x", "acme/..", "acme/a b", "/app", "acme/",
        ] {
            assert!(split_repo(bad).is_err(), "{bad}");
        }
    }
}
