//! The bare repositories behind the local forge: name checks and the few git
//! plumbing commands the forge needs.
//!
//! Repository and branch names come from tickets, settings and HTTP requests,
//! and a repository name becomes a path, so both are checked against a strict
//! character set before anything touches the disk. git runs as a child process
//! with an argument list and a scrubbed environment: no user or system config,
//! no prompts.

use nightshift_core::forge::ForgeError;
use std::path::Path;
use std::process::Command;

pub(super) const FORGE: &str = "local";

pub(super) fn refused(message: impl Into<String>) -> ForgeError {
    ForgeError::Refused {
        forge: FORGE.into(),
        message: message.into(),
    }
}

pub(super) fn not_found(what: impl Into<String>) -> ForgeError {
    ForgeError::NotFound {
        forge: FORGE.into(),
        what: what.into(),
    }
}

pub(super) fn failed(
    message: impl Into<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
) -> ForgeError {
    ForgeError::Backend {
        forge: FORGE.into(),
        message: message.into(),
        source,
    }
}

fn safe_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 100
        && !part.starts_with(['.', '-'])
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `owner/name`, each part of ASCII letters, digits, `.`, `_` and `-`, not
/// starting with a dot or dash (so never `..`). Returns `(owner, name)`.
pub(super) fn split_repo(repo: &str) -> Result<(&str, &str), ForgeError> {
    match repo.split_once('/') {
        Some((owner, name)) if safe_part(owner) && safe_part(name) => Ok((owner, name)),
        _ => Err(refused(format!(
            "repository name {repo:?} is not owner/name of letters, digits, '.', '_' and '-'"
        ))),
    }
}

/// A branch name safe to hand to git: a stricter subset of git's rules.
pub(super) fn check_branch(branch: &str) -> Result<(), ForgeError> {
    let ok = nightshift_core::forge::is_safe_branch_name(branch);
    if ok {
        Ok(())
    } else {
        Err(refused(format!("branch name {branch:?} is not allowed")))
    }
}

/// git with a scrubbed environment; `git_dir` selects a bare repository.
pub(super) fn git(git_dir: Option<&Path>) -> Command {
    let mut cmd = Command::new("git");
    cmd.env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null());
    if let Some(dir) = git_dir {
        cmd.arg("--git-dir").arg(dir);
    }
    cmd
}

/// Runs `cmd`; its stdout (trimmed) on success, a backend error otherwise.
pub(super) fn run(mut cmd: Command, what: &str) -> Result<String, ForgeError> {
    let out = cmd
        .output()
        .map_err(|e| failed(format!("cannot run git to {what}"), Some(Box::new(e))))?;
    if !out.status.success() {
        return Err(failed(
            format!(
                "git could not {what}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            None,
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub(super) fn branch_exists(git_dir: &Path, branch: &str) -> Result<bool, ForgeError> {
    let mut cmd = git(Some(git_dir));
    cmd.args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("refs/heads/{branch}^{{commit}}"));
    let out = cmd
        .output()
        .map_err(|e| failed("cannot run git to look up a branch", Some(Box::new(e))))?;
    Ok(out.status.success())
}

pub(super) fn default_branch(git_dir: &Path) -> Result<String, ForgeError> {
    let mut cmd = git(Some(git_dir));
    cmd.args(["symbolic-ref", "--short", "HEAD"]);
    run(cmd, "read the default branch")
}

pub(super) fn delete_branch(git_dir: &Path, branch: &str) -> Result<(), ForgeError> {
    let mut cmd = git(Some(git_dir));
    cmd.args(["update-ref", "-d"])
        .arg(format!("refs/heads/{branch}"));
    run(cmd, "delete the branch").map(|_| ())
}

/// Merges `head` into `base` inside the bare repository, without a work tree:
/// `merge-tree --write-tree` builds the merged tree (failing on a conflict),
/// `commit-tree` makes the merge commit, and `update-ref` moves `base` only if
/// nobody moved it meanwhile. A head already contained in base changes nothing.
pub(super) fn merge(
    git_dir: &Path,
    base: &str,
    head: &str,
    message: &str,
) -> Result<(), ForgeError> {
    let (base_ref, head_ref) = (format!("refs/heads/{base}"), format!("refs/heads/{head}"));
    let mut cmd = git(Some(git_dir));
    cmd.args(["rev-parse", "--verify"])
        .arg(format!("{base_ref}^{{commit}}"));
    let base_sha = run(cmd, "read the base branch")?;
    let mut cmd = git(Some(git_dir));
    cmd.args(["merge-base", "--is-ancestor", &head_ref, &base_sha]);
    if cmd.status().map(|s| s.success()).unwrap_or(false) {
        return Ok(());
    }
    let mut cmd = git(Some(git_dir));
    cmd.args([
        "merge-tree",
        "--write-tree",
        "--no-messages",
        &base_sha,
        &head_ref,
    ]);
    let out = cmd
        .output()
        .map_err(|e| failed("cannot run git to merge", Some(Box::new(e))))?;
    if !out.status.success() {
        return Err(refused(format!(
            "{head} does not merge cleanly into {base}"
        )));
    }
    let tree = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let mut cmd = git(Some(git_dir));
    cmd.env("GIT_AUTHOR_NAME", "Nightshift")
        .env("GIT_AUTHOR_EMAIL", "nightshift@localhost")
        .env("GIT_COMMITTER_NAME", "Nightshift")
        .env("GIT_COMMITTER_EMAIL", "nightshift@localhost")
        .args([
            "commit-tree",
            &tree,
            "-p",
            &base_sha,
            "-p",
            &head_ref,
            "-m",
            message,
        ]);
    let commit = run(cmd, "write the merge commit")?;
    let mut cmd = git(Some(git_dir));
    cmd.args(["update-ref", &base_ref, &commit, &base_sha]);
    run(cmd, "move the base branch").map(|_| ())
}

pub(super) fn init_bare(path: &Path) -> Result<(), ForgeError> {
    let mut cmd = git(None);
    cmd.args(["init", "--quiet", "--bare", "--initial-branch=main", "--"])
        .arg(path);
    run(cmd, "create the repository").map(|_| ())
}

pub(super) fn clone_bare(from: &Path, path: &Path) -> Result<(), ForgeError> {
    let mut cmd = git(None);
    cmd.args(["clone", "--quiet", "--bare", "--no-hardlinks", "--"])
        .arg(from)
        .arg(path);
    run(cmd, "import the repository").map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names_are_owner_slash_name_of_safe_characters() {
        assert_eq!(split_repo("acme/app.rs").ok(), Some(("acme", "app.rs")));
        for bad in [
            "app", "a/b/c", "../x", "a/..", "a/.git", "/x", "a/", "a/b c", "-a/b", "a\\b/c",
        ] {
            assert!(split_repo(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn branch_names_are_checked() {
        assert!(check_branch("nightshift/t-1-fix-it").is_ok());
        for bad in [
            "", "-f", "a..b", "a/", "a.lock", "a b", "a//b", "a/.x", "a~1", "a:b",
        ] {
            assert!(check_branch(bad).is_err(), "{bad}");
        }
    }
}
