//! The git operations a builder worker needs: clone the repository, make a
//! `nightshift/` branch, commit with a ticket trailer, and push that branch,
//! and only that kind of branch.
//!
//! Git is the real binary (see [`cmd`] for how it is hardened and how a token
//! reaches it without touching the disk). Pushing is where a mistake would
//! hurt, so [`GitWorkspace::push`] checks the branch in code before git runs:
//! a builder never pushes to a default or protected branch, whatever the model
//! or a misconfiguration asks for.
//!
//! # Layout
//! - [`cmd`]: one hardened git invocation.
//! - [`workspace`]: [`GitWorkspace`], a checkout and what is done to it.

pub mod cmd;
pub mod workspace;

pub use cmd::TOKEN_ENV;
pub use workspace::{DiffStat, FileDiff, GitWorkspace};

/// The prefix of every branch Nightshift pushes.
pub const BRANCH_PREFIX: &str = "nightshift/";

/// Branches never pushed to, whatever the configuration says.
pub const ALWAYS_PROTECTED: [&str; 2] = ["main", "master"];

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// Refused in code before git ran (a protected branch, a bad name).
    #[error("refused: {0}")]
    Refused(String),
    #[error("nothing to commit")]
    NothingToCommit,
    #[error("git {command} failed: {stderr}")]
    Failed { command: String, stderr: String },
    #[error("cannot run git {command}: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

/// `nightshift/<ticket-id>-<slug>`: the slug is the title in lowercase ASCII
/// letters, digits and dashes, at most 40 characters.
pub fn branch_name(ticket_id: &str, title: &str) -> String {
    let id: String = ticket_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    if slug.len() > 40 {
        slug.truncate(40);
        // Cut at a word boundary when there is one.
        if let Some(i) = slug.rfind('-').filter(|&i| i >= 20) {
            slug.truncate(i);
        }
    }
    let slug = slug.trim_matches('-');
    let id = id.trim_matches('-');
    match (id.is_empty(), slug.is_empty()) {
        (false, false) => format!("{BRANCH_PREFIX}{id}-{slug}"),
        (false, true) => format!("{BRANCH_PREFIX}{id}"),
        (true, false) => format!("{BRANCH_PREFIX}{slug}"),
        (true, true) => format!("{BRANCH_PREFIX}change"),
    }
}

/// A branch name safe to hand to git: a strict subset of git's own rules.
pub fn check_branch(branch: &str) -> Result<(), GitError> {
    let ok = nightshift_core::forge::is_safe_branch_name(branch);
    if ok {
        Ok(())
    } else {
        Err(GitError::Refused(format!(
            "branch name {branch:?} is not allowed"
        )))
    }
}

/// Whether Nightshift may push `branch`: a valid name under `nightshift/`,
/// neither the default branch nor `main`/`master` nor one of `protected`.
pub fn check_pushable(
    branch: &str,
    default_branch: &str,
    protected: &[String],
) -> Result<(), GitError> {
    check_branch(branch)?;
    let refuse = |why: &str| Err(GitError::Refused(format!("will not push {branch}: {why}")));
    if branch == default_branch {
        return refuse("it is the default branch");
    }
    if ALWAYS_PROTECTED.contains(&branch) || protected.iter().any(|p| p == branch) {
        return refuse("it is protected");
    }
    if !branch.starts_with(BRANCH_PREFIX) || branch.len() == BRANCH_PREFIX.len() {
        return refuse("Nightshift only pushes branches under nightshift/");
    }
    Ok(())
}
