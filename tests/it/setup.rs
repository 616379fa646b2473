//! The set-up the governance, review, webhook, ops and dashboard tests share:
//! a real repository on the local forge (tests pass, a contribution guide,
//! npm/PyPI/Cargo manifests, a workflow), roles over it with an optional
//! scripted model, tickets walked to a state, pull requests pushed, and a
//! loopback stand-in for crates.io, PyPI and npm.

use crate::helpers::{Roles, SLEEPER, git, roles_with};
use crate::scripts::{openai, scripted};
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use nightshift_core::clock::SystemClock;
use nightshift_core::forge::{Forge, NewPullRequest, PullRequest};
use nightshift_core::governance::Spec;
use nightshift_core::llm::{LlmProvider, OneModel};
use nightshift_core::settings::Settings;
use nightshift_core::state::TicketEvent;
use nightshift_core::ticket::{NewTicket, Source, Ticket, TicketContext, TicketType};
use nightshift_local::LocalForge;
use nightshift_roles::{Deps, transition::apply};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

pub const REPO: &str = "acme/calc";

/// A repository whose `make test` passes, with a contribution guide, an npm
/// manifest and a Python requirements file (neither of which changes how
/// the tests run).
pub fn good_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    std::fs::write(d.join("calc.sh"), "add() {\n  echo $(($1 + $2))\n}\n").unwrap();
    std::fs::write(
        d.join("test.sh"),
        ". ./calc.sh\n[ \"$(add 2 3)\" = 5 ] || { echo 'add is wrong'; exit 1; }\necho ok\n",
    )
    .unwrap();
    std::fs::write(d.join("Makefile"), "test:\n\tsh test.sh\n").unwrap();
    std::fs::write(
        d.join("CONTRIBUTING.md"),
        "Functions live in calc.sh, in POSIX sh. Every change comes with a test in test.sh.\n",
    )
    .unwrap();
    std::fs::write(
        d.join("package.json"),
        "{\"name\": \"calc\", \"dependencies\": {\"left-pad\": \"^1.3.0\"}}\n",
    )
    .unwrap();
    std::fs::write(d.join("requirements.txt"), "requests==2.32.3\n").unwrap();
    std::fs::create_dir_all(d.join("tools")).unwrap();
    std::fs::write(
        d.join("tools/Cargo.toml"),
        "[package]\nname = \"calc-tools\"\nversion = \"0.1.0\"\n\n[dependencies]\nserde = \"1\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(d.join(".github/workflows")).unwrap();
    std::fs::write(d.join(".github/workflows/ci.yml"), "on: push\njobs: {}\n").unwrap();
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "calculator"]);
    dir
}

/// Roles over a fresh backend, the repository imported into the local forge,
/// and `llm` (if any) behind every role.
pub struct Gov {
    /// Keeps the backend (temp dir, database) alive.
    pub _roles: Roles,
    pub deps: Deps,
    pub forge: Arc<LocalForge>,
    _repo: tempfile::TempDir,
}

pub fn setup(llm: Option<Arc<dyn LlmProvider>>, tune: impl FnOnce(&mut Settings)) -> Gov {
    let r = roles_with(Arc::new(SystemClock), SLEEPER, tune);
    let forge = Arc::new(LocalForge::new(
        r.backend.db.clone(),
        r.backend.dir.path().join("forge"),
        vec!["main".into()],
        r.deps.clock.clone(),
    ));
    let repo = good_repo();
    forge.import(REPO, repo.path()).unwrap();
    let deps = Deps {
        forge: forge.clone(),
        llm: llm.map(|l| Arc::new(OneModel(l)) as Arc<dyn nightshift_core::llm::Models>),
        ..r.deps.clone()
    };
    Gov {
        _roles: r,
        deps,
        forge,
        _repo: repo,
    }
}

/// A scripted model whose every answer is `content`; the requests it saw.
pub async fn model_answering(contents: &[Value]) -> (Arc<dyn LlmProvider>, Arc<Mutex<Vec<Value>>>) {
    let replies: Vec<Value> = contents
        .iter()
        .map(|c| json!({"id": "x", "object": "chat.completion", "model": "m",
            "usage": {"prompt_tokens": 300, "completion_tokens": 80},
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": format!("```json\n{c}\n```")}}]}))
        .collect();
    let (base, seen) = scripted(replies, "/v1/chat/completions").await;
    (openai(&base), seen)
}

pub async fn submit(deps: &Deps, title: &str) -> Ticket {
    let input = NewTicket {
        id: None,
        kind: TicketType::Bug,
        priority: None,
        title: Some(title.into()),
        description: Some("add must add".into()),
        context: TicketContext {
            repo: REPO.into(),
            filepaths: vec!["calc.sh".into()],
            error_logs: vec![],
        },
        acceptance_criteria: vec!["add 2 3 prints 5".into()],
        source: None,
        source_ref: None,
        labels: vec![],
        budget: None,
    };
    nightshift_roles::intake::submit(deps, input, Source::Api, "test")
        .await
        .unwrap()
        .0
}

/// Submitted and triaged.
pub async fn triaged(deps: &Deps, title: &str) -> Ticket {
    let t = submit(deps, title).await;
    nightshift_roles::triage::triage(deps, &t.id).await.unwrap();
    deps.stores.tickets.get_ticket(&t.id).await.unwrap()
}

/// A ticket walked to `in_review` with a spec of `confidence`, and a pull
/// request from a branch whose files are `files` on top of main.
pub async fn in_review(
    g: &Gov,
    title: &str,
    confidence: u8,
    files: &[(&str, &str)],
) -> (Ticket, PullRequest) {
    let d = &g.deps;
    let mut t = submit(d, title).await;
    let spec = Spec {
        approach: "fix add".into(),
        files: vec!["calc.sh".into()],
        acceptance_criteria: t.acceptance_criteria.clone(),
        risks: vec![],
        confidence,
        by: "test".into(),
        round: 1,
    };
    for ev in [
        TicketEvent::Triage,
        TicketEvent::Plan,
        TicketEvent::ApproveSpec,
        TicketEvent::StartBuild,
        TicketEvent::OpenPr,
    ] {
        let s = spec.clone();
        t = apply(d, &t, ev, "test", Value::Null, |t| {
            if ev == TicketEvent::Plan {
                t.spec = Some(s);
            }
            if ev == TicketEvent::StartBuild {
                t.build_rounds += 1;
            }
        })
        .await
        .unwrap();
    }
    let branch = format!("nightshift/{}-change", t.id);
    push_branch(g, &branch, files);
    let pr = g
        .forge
        .open_pr(&NewPullRequest {
            repo: REPO.into(),
            title: title.into(),
            body: "change".into(),
            head: branch,
            base: "main".into(),
            ticket_id: Some(t.id.clone()),
        })
        .await
        .unwrap();
    (t, pr)
}

/// Pushes `branch` (main plus `files`; an empty content deletes) to the forge.
pub fn push_branch(g: &Gov, branch: &str, files: &[(&str, &str)]) {
    let bare = g.forge.repo_path(REPO).unwrap();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    git(w, &["clone", "-q", bare.to_str().unwrap(), "."]);
    git(w, &["checkout", "-q", "-b", branch]);
    for (path, content) in files {
        let p = w.join(path);
        if content.is_empty() {
            std::fs::remove_file(&p).unwrap();
        } else {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, content).unwrap();
        }
    }
    git(w, &["add", "-A"]);
    git(w, &["commit", "-q", "-m", "change"]);
    git(w, &["push", "-q", "origin", branch]);
}

/// A registry stand-in on loopback: crates.io's sparse index, PyPI's JSON API
/// and npm's registry, knowing `serde`, `requests` and `left-pad` (and
/// `rand`, `numpy`, `lodash`); everything else is 404.
pub async fn registry() -> String {
    async fn crate_index(Path(p): Path<String>) -> StatusCode {
        let name = p.rsplit('/').next().unwrap_or("");
        if ["serde", "rand"].contains(&name) {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        }
    }
    async fn pypi(Path(name): Path<String>) -> StatusCode {
        if ["requests", "numpy"].contains(&name.as_str()) {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        }
    }
    async fn npm(Path(name): Path<String>) -> StatusCode {
        if ["left-pad", "lodash"].contains(&name.as_str()) {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        }
    }
    let app = Router::new()
        .route("/index/{*path}", get(crate_index))
        .route("/pypi/pypi/{name}/json", get(pypi))
        .route("/npm/{name}", get(npm));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// Points the registries at `base` (the stand-in, or a closed port).
pub fn use_registry(s: &mut Settings, base: &str) {
    s.governance.registries.crates_index = format!("{base}/index");
    s.governance.registries.pypi = format!("{base}/pypi");
    s.governance.registries.npm = format!("{base}/npm");
    s.governance.registries.timeout_secs = 2;
}
