//! A builder's checkout: cloned from a [`RepoAccess`], committed to on a
//! `nightshift/` branch, pushed back to the same URL.
//!
//! Pushes go to the URL from the forge, not to the `origin` remote, so a
//! checkout whose config the agent rewrote cannot redirect them; the token
//! is kept in memory (redacted in `Debug`) and handed to git per command.

use super::cmd::GitCmd;
use super::{GitError, check_branch, check_pushable};
use nightshift_core::forge::RepoAccess;
use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// Lines changed since the checkout was cloned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffStat {
    pub files: Vec<FileDiff>,
    pub insertions: u64,
    pub deletions: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub path: String,
    pub insertions: u64,
    pub deletions: u64,
    pub binary: bool,
}

#[derive(Debug)]
pub struct GitWorkspace {
    dir: PathBuf,
    url: String,
    token: Option<SecretString>,
    default_branch: String,
    base_sha: String,
    author: (String, String),
}

const TRAILER: &str = "Nightshift-Ticket";

fn check_ticket_id(id: &str) -> Result<(), GitError> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(GitError::Refused(format!(
            "ticket id {id:?} is not allowed"
        )))
    }
}

impl GitWorkspace {
    /// Clones the default branch of `access.url` into `dest` (which must not
    /// exist or be empty), using `access.token` if the URL is http(s).
    pub async fn clone(access: &RepoAccess, dest: &Path) -> Result<Self, GitError> {
        check_branch(&access.default_branch)?;
        GitCmd::new(None)
            .credentials(&access.url, access.token.as_ref())?
            .args([
                "clone",
                "--quiet",
                "--no-tags",
                "--branch",
                &access.default_branch,
                "--",
            ])
            .arg(&access.url)
            .arg(dest)
            .run()
            .await?;
        let mut ws = Self {
            dir: dest.to_path_buf(),
            url: access.url.clone(),
            token: access.token.clone(),
            default_branch: access.default_branch.clone(),
            base_sha: String::new(),
            author: ("Nightshift".into(), "nightshift@localhost".into()),
        };
        ws.base_sha = ws.head_sha().await?;
        Ok(ws)
    }

    /// Commits as `name <email>` instead of `Nightshift <nightshift@localhost>`.
    pub fn with_author(mut self, name: &str, email: &str) -> Result<Self, GitError> {
        let bad =
            |s: &str| s.is_empty() || s.chars().any(|c| c.is_control() || matches!(c, '<' | '>'));
        if bad(name) || bad(email) {
            return Err(GitError::Refused(
                "the commit author name or email is not allowed".into(),
            ));
        }
        self.author = (name.into(), email.into());
        Ok(self)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn default_branch(&self) -> &str {
        &self.default_branch
    }
    /// The commit the checkout was cloned at; [`Self::diff_stat`] counts from it.
    pub fn base_sha(&self) -> &str {
        &self.base_sha
    }

    fn git(&self) -> GitCmd {
        GitCmd::new(Some(&self.dir))
    }

    pub async fn head_sha(&self) -> Result<String, GitError> {
        Ok(self
            .git()
            .args(["rev-parse", "--verify", "HEAD^{commit}"])
            .run()
            .await?
            .trim()
            .to_string())
    }

    /// Creates `branch` at HEAD and switches to it.
    pub async fn create_branch(&self, branch: &str) -> Result<(), GitError> {
        check_branch(branch)?;
        self.git()
            .args(["switch", "--quiet", "-c", branch])
            .run()
            .await
            .map(drop)
    }

    /// Switches to an existing branch of the remote (a pull request's head, to
    /// answer review comments on it).
    pub async fn checkout_branch(&self, branch: &str) -> Result<(), GitError> {
        check_branch(branch)?;
        let remote = format!("origin/{branch}");
        self.git()
            .args(["switch", "--quiet", "-C", branch, &remote])
            .run()
            .await
            .map(drop)
    }

    /// Stages everything (respecting `.gitignore`) and commits it with a
    /// `Nightshift-Ticket: <id>` trailer; returns the new commit's sha.
    pub async fn commit_all(&self, message: &str, ticket_id: &str) -> Result<String, GitError> {
        check_ticket_id(ticket_id)?;
        // Only Nightshift says which ticket a commit belongs to.
        let kept: Vec<&str> = message
            .lines()
            .filter(|l| {
                !l.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("nightshift-ticket:")
            })
            .collect();
        let text = kept.join("\n");
        let text = text.trim();
        if text.is_empty() {
            return Err(GitError::Refused("the commit message is empty".into()));
        }
        self.git().args(["add", "--all"]).run().await?;
        self.commit_staged(format!("{text}\n\n{TRAILER}: {ticket_id}\n"))
            .await
    }

    /// Commits what is staged with `message` as Nightshift; nothing staged is
    /// `NothingToCommit`.
    async fn commit_staged(&self, message: String) -> Result<String, GitError> {
        let (clean, _, _) = self
            .git()
            .args(["diff", "--cached", "--quiet", "--no-ext-diff"])
            .output()
            .await?;
        if clean {
            return Err(GitError::NothingToCommit);
        }
        let (name, email) = &self.author;
        self.git()
            .env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email)
            .env("GIT_COMMITTER_NAME", name)
            .env("GIT_COMMITTER_EMAIL", email)
            .args([
                "commit",
                "--quiet",
                "--no-verify",
                "--cleanup=whitespace",
                "-F",
                "-",
            ])
            .stdin(message.into_bytes())
            .run()
            .await?;
        self.head_sha().await
    }

    /// Commits only `paths` (relative to the checkout), whatever else changed:
    /// the janitor's way, which must never commit a build's leftovers.
    pub async fn commit_paths(&self, paths: &[&str], message: &str) -> Result<String, GitError> {
        if message.trim().is_empty() {
            return Err(GitError::Refused("the commit message is empty".into()));
        }
        let existing: Vec<&str> = paths
            .iter()
            .copied()
            .filter(|p| !p.starts_with('-') && self.dir.join(p).exists())
            .collect();
        if existing.is_empty() {
            return Err(GitError::NothingToCommit);
        }
        self.git()
            .args(["add", "--"])
            .args(existing.iter().copied())
            .run()
            .await?;
        self.commit_staged(format!("{}\n", message.trim())).await
    }

    /// Throws away every uncommitted change to tracked files and every new
    /// untracked file (ignored files, such as build output, stay).
    pub async fn discard_changes(&self) -> Result<(), GitError> {
        self.git()
            .args(["reset", "--quiet", "--hard", "HEAD"])
            .run()
            .await?;
        self.git().args(["clean", "-fdq"]).run().await?;
        Ok(())
    }

    /// What the commits since the clone change, file by file.
    pub async fn diff_stat(&self) -> Result<DiffStat, GitError> {
        let out = self
            .git()
            .args([
                "diff",
                "--no-ext-diff",
                "--no-renames",
                "--numstat",
                "-z",
                &self.base_sha,
                "HEAD",
                "--",
            ])
            .run()
            .await?;
        let mut stat = DiffStat::default();
        for record in out.split('\0').filter(|r| !r.is_empty()) {
            let mut parts = record.splitn(3, '\t');
            let (Some(ins), Some(del), Some(path)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let binary = ins == "-" || del == "-";
            let (insertions, deletions) = (ins.parse().unwrap_or(0), del.parse().unwrap_or(0));
            stat.insertions += insertions;
            stat.deletions += deletions;
            stat.files.push(FileDiff {
                path: path.to_string(),
                insertions,
                deletions,
                binary,
            });
        }
        Ok(stat)
    }

    /// The unified diff from where HEAD left `base` (their merge base) to
    /// HEAD: what a pull request from HEAD into `base` would change.
    pub async fn diff_to(&self, base: &str) -> Result<String, GitError> {
        check_branch(base)?;
        let merge_base = self
            .git()
            .args(["merge-base", &format!("origin/{base}"), "HEAD"])
            .run()
            .await?;
        self.git()
            .args([
                "diff",
                "--no-ext-diff",
                "--no-color",
                "--find-renames",
                merge_base.trim(),
                "HEAD",
                "--",
            ])
            .run()
            .await
    }

    /// A file's content at the merge base of HEAD and `base`, `None` where
    /// it did not exist.
    pub async fn file_at_base(&self, base: &str, path: &str) -> Result<Option<String>, GitError> {
        check_branch(base)?;
        let merge_base = self
            .git()
            .args(["merge-base", &format!("origin/{base}"), "HEAD"])
            .run()
            .await?;
        match self
            .git()
            .args(["show", &format!("{}:{path}", merge_base.trim())])
            .run()
            .await
        {
            Ok(text) => Ok(Some(text)),
            Err(GitError::Failed { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Pushes local `branch` to the same branch on the forge. Refused, before
    /// git runs, unless [`check_pushable`] allows it. Never forces.
    pub async fn push(&self, branch: &str, protected: &[String]) -> Result<(), GitError> {
        check_pushable(branch, &self.default_branch, protected)?;
        let refspec = format!("refs/heads/{branch}:refs/heads/{branch}");
        GitCmd::new(Some(&self.dir))
            .credentials(&self.url, self.token.as_ref())?
            .args(["push", "--quiet", "--no-verify", "--"])
            .arg(&self.url)
            .arg(refspec)
            .run()
            .await
            .map(drop)
    }
}
