//! The local forge: bare git repositories under `<data_dir>/forge/<owner>/<name>.git`,
//! with pull requests and their comments recorded in the SQLite store.
//!
//! It stands in for GitHub on one machine, so the builder clones, pushes and
//! opens pull requests the same way in both deployments. There is no CI
//! locally: [`LocalForge::check_runs`] always returns an empty list, which the
//! reviewer reads as "no checks configured", never as "checks passed".
//! Nobody merges locally either: [`LocalForge::set_pr_state`] lets a person (or
//! a test) mark a pull request merged or closed.

mod records;
mod repos;

use crate::Db;
use async_trait::async_trait;
use nightshift_core::clock::Clock;
use nightshift_core::forge::{
    CheckRun, Forge, ForgeError, NewPullRequest, PrComment, PrState, PullRequest, RepoAccess,
};
use nightshift_core::millis;
use records::{PR_COLUMNS, comment_row, get_pr, number_i64, pr_row, sql, store_err};
use repos::{FORGE, check_branch, failed, not_found, refused, split_repo};
use rusqlite::{OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The author of every comment Nightshift writes.
pub const NIGHTSHIFT_AUTHOR: &str = "nightshift";

/// See the module docs.
pub struct LocalForge {
    db: Arc<Db>,
    root: PathBuf,
    protected: Vec<String>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for LocalForge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalForge")
            .field("root", &self.root)
            .field("protected", &self.protected)
            .finish()
    }
}

/// Runs blocking git work off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ForgeError> + Send + 'static,
) -> Result<T, ForgeError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| failed("git task panicked or was cancelled", Some(Box::new(e))))?
}

impl LocalForge {
    /// `root` holds the bare repositories (`<data_dir>/forge`); `protected`
    /// names branches that are never deleted (the default branch always is).
    pub fn new(db: Arc<Db>, root: PathBuf, protected: Vec<String>, clock: Arc<dyn Clock>) -> Self {
        let root = std::path::absolute(&root).unwrap_or(root);
        Self {
            db,
            root,
            protected,
            clock,
        }
    }

    /// Where `repo`'s bare repository lives (whether or not it exists yet).
    pub fn repo_path(&self, repo: &str) -> Result<PathBuf, ForgeError> {
        let (owner, name) = split_repo(repo)?;
        Ok(self.root.join(owner).join(format!("{name}.git")))
    }

    fn existing(&self, repo: &str) -> Result<PathBuf, ForgeError> {
        let path = self.repo_path(repo)?;
        if path.join("HEAD").is_file() {
            Ok(path)
        } else {
            Err(not_found(format!("repository {repo}")))
        }
    }

    /// Creates an empty bare repository whose default branch is `main`; a
    /// repository that exists already is left as it is.
    pub fn create_repo(&self, repo: &str) -> Result<PathBuf, ForgeError> {
        let path = self.repo_path(repo)?;
        if !path.join("HEAD").is_file() {
            repos::init_bare(&path)?;
        }
        Ok(path)
    }

    /// Registers an existing git repository: a bare copy of `from` with all its
    /// branches, its current branch becoming the default one.
    pub fn import(&self, repo: &str, from: &Path) -> Result<PathBuf, ForgeError> {
        let path = self.repo_path(repo)?;
        if path.exists() {
            return Err(refused(format!("repository {repo} exists already")));
        }
        repos::clone_bare(from, &path)?;
        Ok(path)
    }
}

#[async_trait]
impl Forge for LocalForge {
    fn name(&self) -> &str {
        FORGE
    }

    async fn access(&self, repo: &str) -> Result<RepoAccess, ForgeError> {
        let path = self.existing(repo)?;
        let url = format!("file://{}", path.display());
        let default_branch = blocking(move || repos::default_branch(&path)).await?;
        Ok(RepoAccess {
            url,
            token: None,
            default_branch,
        })
    }

    async fn open_pr(&self, pr: &NewPullRequest) -> Result<PullRequest, ForgeError> {
        let path = self.existing(&pr.repo)?;
        check_branch(&pr.head)?;
        check_branch(&pr.base)?;
        if pr.head == pr.base {
            return Err(refused(format!("head and base are both {}", pr.head)));
        }
        let (head, base) = (pr.head.clone(), pr.base.clone());
        let missing = blocking(move || {
            for b in [head, base] {
                if !repos::branch_exists(&path, &b)? {
                    return Ok(Some(b));
                }
            }
            Ok(None)
        })
        .await?;
        if let Some(b) = missing {
            return Err(refused(format!(
                "branch {b} does not exist in {}; push it first",
                pr.repo
            )));
        }
        let (pr, now) = (pr.clone(), millis(self.clock.now()));
        self.db
            .write(move |tx| {
                let open: Option<i64> = tx
                    .query_row(
                        "SELECT number FROM pull_requests WHERE repo = ?1 AND head = ?2 AND state = 'open'",
                        params![pr.repo, pr.head],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql("pull request by head"))?;
                if let Some(n) = open {
                    return get_pr(tx, &pr.repo, n);
                }
                let n: i64 = tx
                    .query_row(
                        "SELECT COALESCE(MAX(number), 0) + 1 FROM pull_requests WHERE repo = ?1",
                        [&pr.repo],
                        |r| r.get(0),
                    )
                    .map_err(sql("pull request number"))?;
                tx.execute(
                    &format!("INSERT INTO pull_requests ({PR_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8, ?8)"),
                    params![pr.repo, n, pr.title, pr.body, pr.head, pr.base, pr.ticket_id, now],
                )
                .map_err(sql("pull request insert"))?;
                get_pr(tx, &pr.repo, n)
            })
            .await
            .map_err(store_err)
    }

    async fn get_pr(&self, repo: &str, number: u64) -> Result<PullRequest, ForgeError> {
        split_repo(repo)?;
        let (repo, n) = (repo.to_string(), number_i64(repo, number)?);
        self.db
            .read(move |c| get_pr(c, &repo, n))
            .await
            .map_err(store_err)
    }

    async fn list_prs(&self, repo: Option<&str>) -> Result<Vec<PullRequest>, ForgeError> {
        if let Some(r) = repo {
            self.existing(r)?;
        }
        let repo = repo.map(str::to_string);
        self.db
            .read(move |c| {
                let mut st = c
                    .prepare_cached(&format!(
                        "SELECT {PR_COLUMNS} FROM pull_requests WHERE ?1 IS NULL OR repo = ?1 ORDER BY repo, number"
                    ))
                    .map_err(sql("pull request list"))?;
                let rows = st.query_map([repo], pr_row).map_err(sql("pull request list"))?;
                rows.collect::<Result<_, _>>().map_err(sql("pull request row"))
            })
            .await
            .map_err(store_err)
    }

    async fn comment(&self, repo: &str, number: u64, body: &str) -> Result<PrComment, ForgeError> {
        self.add_comment_as(repo, number, NIGHTSHIFT_AUTHOR, true, body, None, None)
            .await
    }

    async fn comments(&self, repo: &str, number: u64) -> Result<Vec<PrComment>, ForgeError> {
        split_repo(repo)?;
        let (repo, n) = (repo.to_string(), number_i64(repo, number)?);
        self.db
            .read(move |c| {
                get_pr(c, &repo, n)?;
                let mut st = c
                    .prepare_cached(
                        "SELECT id, author, can_write, body, path, line, created_ms FROM pr_comments
                         WHERE repo = ?1 AND number = ?2 ORDER BY seq",
                    )
                    .map_err(sql("comment list"))?;
                let rows = st
                    .query_map(params![repo, n], comment_row)
                    .map_err(sql("comment list"))?;
                rows.collect::<Result<_, _>>().map_err(sql("comment row"))
            })
            .await
            .map_err(store_err)
    }

    async fn can_write(&self, repo: &str, user: &str) -> Result<bool, ForgeError> {
        self.existing(repo)?;
        if user == NIGHTSHIFT_AUTHOR {
            return Ok(true);
        }
        let (repo, user) = (repo.to_string(), user.to_string());
        self.db
            .read(move |c| {
                c.query_row(
                    "SELECT can_write FROM forge_writers WHERE repo = ?1 AND user = ?2",
                    params![repo, user],
                    |r| r.get::<_, bool>(0),
                )
                .optional()
                .map_err(sql("writer lookup"))
                .map(|w| w.unwrap_or(false))
            })
            .await
            .map_err(store_err)
    }

    async fn merge_pr(
        &self,
        repo: &str,
        number: u64,
        message: &str,
    ) -> Result<PullRequest, ForgeError> {
        let path = self.existing(repo)?;
        let pr = self.get_pr(repo, number).await?;
        match pr.state {
            PrState::Merged => return Ok(pr),
            PrState::Closed => {
                return Err(refused(format!("pull request {repo}#{number} is closed")));
            }
            PrState::Open => {}
        }
        let (base, head, msg) = (pr.base.clone(), pr.head.clone(), message.to_string());
        check_branch(&base)?;
        check_branch(&head)?;
        blocking(move || {
            if !repos::branch_exists(&path, &head)? {
                return Err(not_found(format!("branch {head}")));
            }
            repos::merge(&path, &base, &head, &msg)
        })
        .await?;
        self.set_pr_state(repo, number, PrState::Merged).await
    }

    /// Always empty: there is no CI on the local forge.
    async fn check_runs(&self, repo: &str, _git_ref: &str) -> Result<Vec<CheckRun>, ForgeError> {
        self.existing(repo)?;
        Ok(Vec::new())
    }

    async fn delete_branch(&self, repo: &str, branch: &str) -> Result<(), ForgeError> {
        let path = self.existing(repo)?;
        check_branch(branch)?;
        if self.protected.iter().any(|p| p == branch) {
            return Err(refused(format!("branch {branch} is protected")));
        }
        let (b, repo) = (branch.to_string(), repo.to_string());
        blocking(move || {
            if repos::default_branch(&path)? == b {
                return Err(refused(format!(
                    "branch {b} is the default branch of {repo}"
                )));
            }
            if !repos::branch_exists(&path, &b)? {
                return Err(not_found(format!("branch {b} in {repo}")));
            }
            repos::delete_branch(&path, &b)
        })
        .await
    }
}
