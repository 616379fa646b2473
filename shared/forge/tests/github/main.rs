//! The forge contract against `GitHubForge` talking to a loopback stand-in for
//! the GitHub REST endpoints it uses (in-memory repositories, branches, pull
//! requests, comments, collaborator permissions and check runs), plus what
//! only the GitHub adapter does.

mod standin;

use nightshift_contract::ForgeFixture;
use nightshift_core::forge::{Forge, ForgeError, NewPullRequest, PrState};
use secrecy::ExposeSecret;
use serde_json::json;
use standin::*;

/// (author, body, can write, path, line) of a comment.
type Seen<'a> = (&'a str, &'a str, bool, Option<&'a str>, Option<u32>);
use std::sync::Arc;

mod github_forge_contract {
    use super::*;

    async fn make() -> ForgeFixture {
        let stand_in = stand_in().await;
        let forge = Arc::new(forge_for(&stand_in.url, TOKEN));
        let world = stand_in.world.clone();
        ForgeFixture {
            forge,
            repo: REPO.into(),
            protected: "main".into(),
            feature: FEATURE.into(),
            other: OTHER.into(),
            human_comment: Box::new(move |number, author, can_write, body| {
                // A writer is a `maintain` collaborator; anyone else is not a
                // collaborator at all.
                let role = can_write.then_some("maintain");
                add_comment(&world, number, author, role, body, None, None);
                Box::pin(async {})
            }),
            guard: Box::new(stand_in),
        }
    }

    nightshift_contract::forge_contract!(make);
}

fn pr(head: &str) -> NewPullRequest {
    NewPullRequest {
        repo: REPO.into(),
        title: "Fix the thing".into(),
        body: "Body.".into(),
        head: head.into(),
        base: "main".into(),
        ticket_id: Some("tkt_1".into()),
    }
}

#[tokio::test]
async fn github_token_never_shows_in_debug_or_errors() {
    let s = stand_in().await;
    let forge = forge_for(&s.url, TOKEN);
    let mut shown = vec![format!("{forge:?}"), format!("{:?}", forge.settings())];
    let access = forge.access(REPO).await.unwrap();
    assert_eq!(
        access.token.as_ref().map(|t| t.expose_secret().to_string()),
        Some(TOKEN.to_string()),
        "workers get the token, out of band"
    );
    assert_eq!(access.url, "https://github.com/acme/app.git");
    shown.push(format!("{access:?}"));
    let errors = [
        forge.get_pr(REPO, 4242).await.unwrap_err(),
        forge.access("acme/missing").await.unwrap_err(),
        forge
            .open_pr(&pr("nightshift/never-pushed"))
            .await
            .unwrap_err(),
        forge.delete_branch(REPO, "main").await.unwrap_err(),
        forge
            .delete_branch(REPO, "nightshift/gone")
            .await
            .unwrap_err(),
    ];
    // Refused by the stand-in for a wrong token; that token must not show either.
    let wrong = "ghp_wrongTokenAlsoSecret987654321";
    let bad = forge_for(&s.url, wrong);
    let denied = bad.access(REPO).await.unwrap_err();
    assert!(matches!(denied, ForgeError::Refused { .. }), "{denied}");
    assert!(denied.to_string().contains("Bad credentials"), "{denied}");
    shown.push(format!("{bad:?}"));
    // Unreachable API: a transport error with a source chain.
    let closed = forge_for("http://127.0.0.1:1", TOKEN);
    let unreachable = closed.access(REPO).await.unwrap_err();
    assert!(
        matches!(unreachable, ForgeError::Backend { .. }),
        "{unreachable}"
    );
    for e in errors.iter().chain([&denied, &unreachable]) {
        shown.push(format!("{e} / {e:?}"));
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            shown.push(format!("{s} / {s:?}"));
            source = s.source();
        }
    }
    for text in &shown {
        assert!(!text.contains(TOKEN), "the token leaked: {text}");
        assert!(!text.contains(wrong), "the token leaked: {text}");
    }
}

#[tokio::test]
async fn github_comments_merge_review_comments_and_ask_permission_once_per_user() {
    let s = stand_in().await;
    let forge = forge_for(&s.url, TOKEN);
    let opened = forge.open_pr(&pr(FEATURE)).await.unwrap();
    assert_eq!(opened.ticket_id.as_deref(), Some("tkt_1"));
    assert_eq!(opened.body, "Body.", "the ticket marker is stripped");
    assert_eq!(
        opened.url.as_deref(),
        Some(format!("https://github.com/acme/app/pull/{}", opened.number).as_str())
    );
    let n = opened.number;
    let w = &s.world;
    add_comment(
        w,
        n,
        "alice",
        Some("write"),
        "first",
        None,
        Some("2026-01-05T10:00:00Z"),
    );
    add_comment(
        w,
        n,
        "owner",
        Some("admin"),
        "third",
        None,
        Some("2026-01-05T10:00:03Z"),
    );
    add_comment(
        w,
        n,
        "tri",
        Some("triage"),
        "fifth",
        None,
        Some("2026-01-05T10:00:05Z"),
    );
    add_comment(
        w,
        n,
        "alice",
        Some("write"),
        "second, on a line",
        Some(("src/lib.rs", 12)),
        Some("2026-01-05T10:00:01Z"),
    );
    add_comment(
        w,
        n,
        "mallory",
        None,
        "fourth, on a line",
        Some(("src/main.rs", 3)),
        Some("2026-01-05T10:00:04Z"),
    );
    w.lock().unwrap().permission_lookups.clear();
    let all = forge.comments(REPO, n).await.unwrap();
    let seen: Vec<Seen> = all
        .iter()
        .map(|c| {
            (
                c.body.as_str(),
                c.author.as_str(),
                c.author_can_write,
                c.path.as_deref(),
                c.line,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("first", "alice", true, None, None),
            (
                "second, on a line",
                "alice",
                true,
                Some("src/lib.rs"),
                Some(12)
            ),
            ("third", "owner", true, None, None),
            (
                "fourth, on a line",
                "mallory",
                false,
                Some("src/main.rs"),
                Some(3)
            ),
            ("fifth", "tri", false, None, None),
        ]
    );
    assert!(all[0].id.starts_with("issuecomment-"), "{}", all[0].id);
    assert!(all[1].id.starts_with("discussion_r"), "{}", all[1].id);
    let lookups = w.lock().unwrap().permission_lookups.clone();
    assert_eq!(lookups.get("alice"), Some(&1), "{lookups:?}");
    assert_eq!(lookups.len(), 4, "{lookups:?}");
}

#[tokio::test]
async fn github_states_check_runs_and_closed_prs() {
    let s = stand_in().await;
    let forge = forge_for(&s.url, TOKEN);
    let a = forge.open_pr(&pr(FEATURE)).await.unwrap();
    let b = forge.open_pr(&pr(OTHER)).await.unwrap();
    {
        let mut w = s.world.lock().unwrap();
        let repo = w.repos.get_mut(REPO).unwrap();
        let pa = repo
            .pulls
            .iter_mut()
            .find(|p| p.number == a.number)
            .unwrap();
        pa.state = "closed";
        pa.merged_at = Some("2026-01-05T11:00:00Z".into());
        let pb = repo
            .pulls
            .iter_mut()
            .find(|p| p.number == b.number)
            .unwrap();
        pb.state = "closed";
        repo.check_runs.insert(
            FEATURE.into(),
            vec![
                json!({ "name": "build", "status": "completed", "conclusion": "success" }),
                json!({ "name": "test", "status": "in_progress", "conclusion": null }),
            ],
        );
    }
    assert_eq!(
        forge.get_pr(REPO, a.number).await.unwrap().state,
        PrState::Merged
    );
    assert_eq!(
        forge.get_pr(REPO, b.number).await.unwrap().state,
        PrState::Closed
    );
    let reopened = forge.open_pr(&pr(OTHER)).await.unwrap();
    assert!(reopened.number > b.number, "a closed PR is not reused");
    assert_eq!(forge.list_prs(None).await.unwrap().len(), 3);

    let runs = forge.check_runs(REPO, FEATURE).await.unwrap();
    assert_eq!(
        runs.iter()
            .map(|r| (r.name.as_str(), r.status.as_str(), r.conclusion.as_deref()))
            .collect::<Vec<_>>(),
        [
            ("build", "completed", Some("success")),
            ("test", "in_progress", None)
        ]
    );
    assert!(forge.check_runs(REPO, "main").await.unwrap().is_empty());

    // Protected in settings even when not the default branch; unsafe names
    // never reach the API.
    s.world
        .lock()
        .unwrap()
        .repos
        .get_mut(REPO)
        .unwrap()
        .branches
        .push("release".into());
    for refused in ["release", "main", "-x", "a/../b"] {
        let err = forge.delete_branch(REPO, refused).await.unwrap_err();
        assert!(
            matches!(err, ForgeError::Refused { .. }),
            "{refused}: {err}"
        );
    }
    for bad in ["acme", "a/b/c", "../etc"] {
        let err = forge.access(bad).await.unwrap_err();
        assert!(matches!(err, ForgeError::Refused { .. }), "{bad}: {err}");
    }
}
