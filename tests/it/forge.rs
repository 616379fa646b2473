//! The forge contract against the local forge (bare repositories made with
//! real git in a temp dir), plus what only the local forge does.

use nightshift_contract::ForgeFixture;
use nightshift_core::clock::SystemClock;
use nightshift_core::forge::{Forge, ForgeError, NewPullRequest, PrState};
use nightshift_local::{Db, LocalForge};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

const REPO: &str = "acme/app";
const FEATURE: &str = "nightshift/tkt_1-fix-the-thing";
const OTHER: &str = "nightshift/tkt_2-another-thing";

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(["-c", "user.name=Test", "-c", "user.email=test@localhost"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A working repository on `main` with two more branches, one commit each.
fn seed_repo(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(dir.join("README.md"), "# app\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "--quiet", "-m", "initial"]);
    for (branch, file) in [(FEATURE, "fix.txt"), (OTHER, "other.txt")] {
        git(dir, &["checkout", "--quiet", "-b", branch, "main"]);
        std::fs::write(dir.join(file), branch).unwrap();
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "--quiet", "-m", branch]);
    }
    git(dir, &["checkout", "--quiet", "main"]);
}

fn local_forge() -> (tempfile::TempDir, Arc<LocalForge>) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("nightshift.db")).unwrap();
    let forge = LocalForge::new(
        db,
        dir.path().join("forge"),
        vec!["main".into(), "master".into()],
        Arc::new(SystemClock),
    );
    seed_repo(&dir.path().join("work"));
    forge.import(REPO, &dir.path().join("work")).unwrap();
    (dir, Arc::new(forge))
}

mod local_forge_contract {
    use super::*;

    async fn make() -> ForgeFixture {
        let (dir, forge) = local_forge();
        let commenter = forge.clone();
        ForgeFixture {
            forge,
            repo: REPO.into(),
            protected: "main".into(),
            feature: FEATURE.into(),
            other: OTHER.into(),
            human_comment: Box::new(move |number, author, can_write, body| {
                let (forge, author, body) =
                    (commenter.clone(), author.to_string(), body.to_string());
                Box::pin(async move {
                    forge
                        .add_comment_as(REPO, number, &author, can_write, &body, None, None)
                        .await
                        .unwrap();
                })
            }),
            guard: Box::new(dir),
        }
    }

    nightshift_contract::forge_contract!(make);
}

fn pr(head: &str) -> NewPullRequest {
    NewPullRequest {
        repo: REPO.into(),
        title: "t".into(),
        body: "b".into(),
        head: head.into(),
        base: "main".into(),
        ticket_id: Some("tkt_1".into()),
    }
}

#[tokio::test]
async fn local_forge_access_is_a_cloneable_file_url_without_token() {
    let (dir, forge) = local_forge();
    let access = forge.access(REPO).await.unwrap();
    assert!(access.url.starts_with("file:///"), "{}", access.url);
    assert!(access.token.is_none());
    assert_eq!(access.default_branch, "main");
    git(dir.path(), &["clone", "--quiet", &access.url, "checkout"]);
    assert!(dir.path().join("checkout/README.md").is_file());
}

#[tokio::test]
async fn local_forge_refuses_unsafe_repo_names_and_has_no_ci() {
    let (_dir, forge) = local_forge();
    for bad in ["../etc", "acme/../x", "acme", "a/b/c", "acme/.git"] {
        let err = forge.access(bad).await.unwrap_err();
        assert!(matches!(err, ForgeError::Refused { .. }), "{bad}: {err}");
        assert!(forge.create_repo(bad).is_err(), "{bad}");
    }
    assert!(forge.check_runs(REPO, FEATURE).await.unwrap().is_empty());
    let made = forge.create_repo("acme/empty").unwrap();
    assert!(made.ends_with("acme/empty.git"));
    assert_eq!(
        forge.access("acme/empty").await.unwrap().default_branch,
        "main"
    );
    assert!(
        forge.create_repo("acme/empty").is_ok(),
        "creating is idempotent"
    );
}

#[tokio::test]
async fn local_forge_records_review_comments_and_state_changes() {
    let (_dir, forge) = local_forge();
    let first = forge.open_pr(&pr(FEATURE)).await.unwrap();
    assert_eq!(first.number, 1);
    assert_eq!(first.ticket_id.as_deref(), Some("tkt_1"));
    let c = forge
        .add_comment_as(REPO, 1, "alice", true, "typo", Some("src/lib.rs"), Some(12))
        .await
        .unwrap();
    let nightshift = forge.comment(REPO, 1, "fixed").await.unwrap();
    assert_eq!(nightshift.author, "nightshift");
    let all = forge.comments(REPO, 1).await.unwrap();
    assert_eq!(all[0], c);
    assert_eq!(
        (all[0].path.as_deref(), all[0].line),
        (Some("src/lib.rs"), Some(12))
    );

    let closed = forge.set_pr_state(REPO, 1, PrState::Closed).await.unwrap();
    assert_eq!(closed.state, PrState::Closed);
    let reopened = forge.open_pr(&pr(FEATURE)).await.unwrap();
    assert_eq!(reopened.number, 2, "a closed PR is not reused");
    assert_eq!(forge.list_prs(None).await.unwrap().len(), 2);
}
