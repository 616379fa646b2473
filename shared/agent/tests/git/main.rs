//! The builder's git operations against real git: a bare repository on disk
//! reached through a file:// URL stands in for the forge.

use nightshift_agent::git::{GitError, GitWorkspace, branch_name};
use nightshift_core::forge::RepoAccess;
use secrecy::SecretString;
use std::path::Path;
use std::process::Command;

const TOKEN: &str = "ghs_TEST-token-4b9e2a71c0";

/// Runs git outside the code under test, with no user config.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(["-c", "user.name=Seed", "-c", "user.email=seed@localhost"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare repository with one commit on `main`; returns its access.
fn forge(dir: &Path, token: Option<&str>) -> RepoAccess {
    let seed = dir.join("seed");
    std::fs::create_dir_all(&seed).unwrap();
    git(&seed, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(seed.join("README.md"), "# app\n").unwrap();
    std::fs::write(seed.join(".gitignore"), "target/\n").unwrap();
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "--quiet", "-m", "initial"]);
    git(dir, &["clone", "--quiet", "--bare", "seed", "remote.git"]);
    RepoAccess {
        url: format!("file://{}", dir.join("remote.git").display()),
        token: token.map(SecretString::from),
        default_branch: "main".into(),
    }
}

fn remote_sha(dir: &Path, branch: &str) -> Option<String> {
    let out = Command::new("git")
        .args(["--git-dir"])
        .arg(dir.join("remote.git"))
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn files_containing(root: &Path, needle: &[u8], found: &mut Vec<String>) {
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_containing(&path, needle, found);
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            found.push(path.display().to_string());
        }
    }
}

#[test]
fn branch_names_are_prefixed_slugged_and_bounded() {
    assert_eq!(
        branch_name("tkt_01ABC", "Fix: the Login page crashes!!"),
        "nightshift/tkt_01abc-fix-the-login-page-crashes"
    );
    let long = branch_name("tkt_1", &"very long words ".repeat(10));
    assert!(long.len() <= "nightshift/tkt_1-".len() + 40, "{long}");
    assert!(!long.ends_with('-'), "{long}");
    assert_eq!(
        branch_name("tkt 2/../x", "ünïcode — only"),
        "nightshift/tkt-2----x-n-code-only"
    );
    assert_eq!(branch_name("tkt_3", "!!!"), "nightshift/tkt_3");
}

#[tokio::test]
async fn clone_checks_out_the_default_branch() {
    let dir = tempfile::tempdir().unwrap();
    let access = forge(dir.path(), None);
    let ws = GitWorkspace::clone(&access, &dir.path().join("work"))
        .await
        .unwrap();
    assert!(ws.dir().join("README.md").is_file());
    assert_eq!(
        ws.head_sha().await.unwrap(),
        remote_sha(dir.path(), "main").unwrap()
    );
    assert_eq!(ws.base_sha(), ws.head_sha().await.unwrap());
}

#[tokio::test]
async fn the_token_is_nowhere_on_disk_or_in_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let access = forge(dir.path(), Some(TOKEN));
    let work = dir.path().join("work");
    let ws = GitWorkspace::clone(&access, &work).await.unwrap();
    ws.create_branch("nightshift/tkt_1-x").await.unwrap();
    std::fs::write(work.join("a.txt"), "a\n").unwrap();
    ws.commit_all("Add a", "tkt_1").await.unwrap();
    ws.push("nightshift/tkt_1-x", &[]).await.unwrap();

    let mut found = Vec::new();
    files_containing(dir.path(), TOKEN.as_bytes(), &mut found);
    assert!(found.is_empty(), "the token is in {found:?}");
    let config = git(&work, &["config", "--list", "--show-origin"]);
    assert!(!config.contains(TOKEN), "{config}");
    assert!(
        !config.contains("credential"),
        "no helper is persisted: {config}"
    );
    assert!(
        !format!("{ws:?}").contains(TOKEN),
        "Debug redacts the token"
    );
}

#[tokio::test]
async fn commits_carry_the_ticket_trailer_and_the_nightshift_author() {
    let dir = tempfile::tempdir().unwrap();
    let access = forge(dir.path(), None);
    let work = dir.path().join("work");
    let ws = GitWorkspace::clone(&access, &work).await.unwrap();
    assert!(matches!(
        ws.commit_all("Nothing", "tkt_1").await,
        Err(GitError::NothingToCommit)
    ));
    std::fs::write(work.join("b.txt"), "one\ntwo\n").unwrap();
    std::fs::create_dir_all(work.join("target")).unwrap();
    std::fs::write(work.join("target/out.bin"), "ignored").unwrap();
    let message = "Add b\n\nBecause.\nNightshift-Ticket: tkt_someone_else";
    let sha = ws.commit_all(message, "tkt_7").await.unwrap();
    assert_eq!(sha, ws.head_sha().await.unwrap());
    let body = git(&work, &["log", "-1", "--format=%B"]);
    assert_eq!(body, "Add b\n\nBecause.\n\nNightshift-Ticket: tkt_7");
    let trailers = git(
        &work,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Nightshift-Ticket,valueonly)",
        ],
    );
    assert_eq!(trailers, "tkt_7");
    let who = git(&work, &["log", "-1", "--format=%an <%ae>|%cn <%ce>"]);
    assert_eq!(
        who,
        "Nightshift <nightshift@localhost>|Nightshift <nightshift@localhost>"
    );
    let stat = ws.diff_stat().await.unwrap();
    assert_eq!(
        (stat.files.len(), stat.insertions, stat.deletions),
        (1, 2, 0),
        "{stat:?}"
    );
    assert_eq!(stat.files[0].path, "b.txt");
    assert!(matches!(
        ws.commit_all("x", "tkt\n7").await,
        Err(GitError::Refused(_))
    ));
}

#[tokio::test]
async fn pushing_a_protected_branch_is_refused_before_git_runs() {
    let dir = tempfile::tempdir().unwrap();
    let access = forge(dir.path(), None);
    let work = dir.path().join("work");
    let before = remote_sha(dir.path(), "main").unwrap();
    let ws = GitWorkspace::clone(&access, &work).await.unwrap();
    std::fs::write(work.join("c.txt"), "c\n").unwrap();
    ws.commit_all("On main", "tkt_1").await.unwrap();
    let protected = vec!["release".to_string(), "nightshift/frozen".to_string()];
    for branch in [
        "main",
        "master",
        "release",
        "feature/x",
        "nightshift/",
        "nightshift/frozen",
        "-f",
        "nightshift/../main",
    ] {
        let err = ws.push(branch, &protected).await.unwrap_err();
        assert!(matches!(err, GitError::Refused(_)), "{branch}: {err}");
    }
    assert_eq!(
        remote_sha(dir.path(), "main").unwrap(),
        before,
        "the remote's main is untouched"
    );
}

#[tokio::test]
async fn a_nightshift_branch_lands_in_the_bare_repository() {
    let dir = tempfile::tempdir().unwrap();
    let access = forge(dir.path(), None);
    let work = dir.path().join("work");
    let ws = GitWorkspace::clone(&access, &work).await.unwrap();
    let branch = branch_name("tkt_9", "Add the d file");
    ws.create_branch(&branch).await.unwrap();
    std::fs::write(work.join("d.txt"), "d\n").unwrap();
    let sha = ws.commit_all("Add d", "tkt_9").await.unwrap();
    // A rewritten origin does not redirect the push: it goes to the forge's URL.
    git(
        &work,
        &["remote", "set-url", "origin", "/nonexistent/elsewhere.git"],
    );
    ws.push(&branch, &["main".into()]).await.unwrap();
    assert_eq!(remote_sha(dir.path(), &branch), Some(sha));
}
