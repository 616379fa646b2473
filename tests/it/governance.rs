//! Governance end to end on embedded backends: the planner's spec and its
//! gate, decisions made once, rejections going back with their reason,
//! autonomy's thresholds. Shared set-up for the reviewer and webhook tests.

use crate::helpers::{Roles, SLEEPER, git, roles_with};
use crate::scripts::{openai, scripted};
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use nightshift_core::approval::{ApprovalKind, ApprovalStatus, Decision};
use nightshift_core::clock::SystemClock;
use nightshift_core::forge::{Forge, NewPullRequest, PullRequest};
use nightshift_core::governance::Spec;
use nightshift_core::llm::{LlmProvider, OneModel};
use nightshift_core::queue::names;
use nightshift_core::settings::Settings;
use nightshift_core::settings::governance::Autonomy;
use nightshift_core::state::{TicketEvent, TicketState};
use nightshift_core::ticket::{NewTicket, Source, Ticket, TicketContext, TicketType};
use nightshift_local::LocalForge;
use nightshift_roles::planner::{PlanOutcome, plan};
use nightshift_roles::{Deps, approvals, transition::apply};
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

async fn queued(deps: &Deps, queue: &str) -> u64 {
    deps.queue.stats(queue).await.unwrap().visible
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_the_rules_write_the_spec_and_a_person_approves_it() {
    let g = setup(None, |_| {});
    let t = triaged(&g.deps, "add subtracts").await;
    assert_eq!(
        queued(&g.deps, names::PLAN).await,
        1,
        "triage hands it to the planner"
    );
    let out = plan(&g.deps, &t.id).await.unwrap();
    let PlanOutcome::AwaitingApproval { confidence } = out else {
        panic!("{out:?}")
    };
    assert!(
        confidence <= 5,
        "rules never reach full autonomy's threshold: {confidence}"
    );
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::AwaitingSpecApproval);
    let spec = t.spec.as_ref().unwrap();
    assert_eq!((spec.by.as_str(), spec.round), ("rules", 1));
    assert_eq!(spec.files, ["calc.sh"]);
    assert_eq!(spec.acceptance_criteria, ["add 2 3 prints 5"]);
    let pending = g.deps.stores.approvals.pending_approvals().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].kind, pending[0].ticket_version),
        (ApprovalKind::Spec, t.version)
    );
    // Planning again (a redelivered message) changes nothing.
    plan(&g.deps, &t.id).await.unwrap();
    assert_eq!(
        g.deps
            .stores
            .tickets
            .get_ticket(&t.id)
            .await
            .unwrap()
            .version,
        t.version
    );
    assert_eq!(
        g.deps
            .stores
            .approvals
            .pending_approvals()
            .await
            .unwrap()
            .len(),
        1
    );
    // The API shows the spec with its confidence.
    let shown = crate::helpers::tower_get(
        nightshift_api::router(g.deps.clone()),
        &format!("/tickets/{}", t.id),
    )
    .await;
    assert_eq!(shown["ticket"]["spec"]["confidence"], confidence);
    assert_eq!(shown["approvals"][0]["status"], "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_autonomy_approves_a_confident_spec_and_asks_a_person_about_the_rest() {
    let confident = json!({"approach": "Change the minus in add to a plus, and test it.",
        "files": ["calc.sh", "test.sh"], "acceptance_criteria": ["add 0 0 prints 0"],
        "risks": [], "confidence": 9});
    let (llm, seen) = model_answering(&[confident]).await;
    let g = setup(Some(llm), |s| s.governance.autonomy = Autonomy::Full);
    let t = triaged(&g.deps, "add subtracts").await;
    let out = plan(&g.deps, &t.id).await.unwrap();
    assert_eq!(out, PlanOutcome::AutoApproved { confidence: 9 });
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::Ready);
    let spec = t.spec.unwrap();
    // The ticket's own criteria stay first; the architect's are added.
    assert_eq!(
        spec.acceptance_criteria,
        ["add 2 3 prints 5", "add 0 0 prints 0"]
    );
    assert_eq!(spec.by, "planner model");
    let a = g
        .deps
        .stores
        .approvals
        .approvals_for_ticket(&t.id)
        .await
        .unwrap();
    assert_eq!(
        (a[0].status, a[0].decided_by.as_deref()),
        (ApprovalStatus::Approved, Some("autonomy"))
    );
    assert_eq!(
        queued(&g.deps, names::DISPATCH).await,
        1,
        "on to the dispatcher"
    );
    // The architect saw the repository map and the ticket, fenced as data.
    let req = seen.lock().unwrap()[0].to_string();
    assert!(
        req.contains("CONTRIBUTING.md") && req.contains("<untrusted source=\\\"ticket.title\\\">"),
        "{req}"
    );
    // The planner's tokens were reserved from and charged to the ticket.
    assert!(g.deps.stores.budget.account(&t.id).await.unwrap().committed >= 380);

    // Below the threshold, full autonomy asks a person too, and says why.
    let unsure = json!({"approach": "Rewrite the calculator.", "files": [], "risks": ["big"], "confidence": 6});
    let (llm, _) = model_answering(&[unsure]).await;
    let g = setup(Some(llm), |s| s.governance.autonomy = Autonomy::Full);
    let t = triaged(&g.deps, "add subtracts").await;
    assert_eq!(
        plan(&g.deps, &t.id).await.unwrap(),
        PlanOutcome::AwaitingApproval { confidence: 6 }
    );
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert!(
        t.state_reason
            .unwrap()
            .contains("confidence 6/10 is below full autonomy's 8")
    );

    // A repository left guided by an override asks even at 10.
    let sure = json!({"approach": "x", "confidence": 10});
    let (llm, _) = model_answering(&[sure]).await;
    let g = setup(Some(llm), |s| {
        s.governance.autonomy = Autonomy::Full;
        s.governance.repos = vec![nightshift_core::settings::governance::RepoGovernance {
            repo: REPO.into(),
            autonomy: Some(Autonomy::Guided),
            ..Default::default()
        }];
    });
    let t = triaged(&g.deps, "add subtracts").await;
    assert_eq!(
        plan(&g.deps, &t.id).await.unwrap(),
        PlanOutcome::AwaitingApproval { confidence: 10 }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_spec_goes_back_to_the_planner_with_its_reason_until_the_rounds_run_out() {
    let spec =
        json!({"approach": "Rewrite calc.sh in Python.", "files": ["calc.py"], "confidence": 7});
    let (llm, seen) = model_answering(&[spec]).await;
    let g = setup(Some(llm), |s| s.governance.max_spec_rounds = 2);
    let t = triaged(&g.deps, "add subtracts").await;
    plan(&g.deps, &t.id).await.unwrap();
    let a = approvals::pending_for_ticket(&g.deps, &t.id).await.unwrap();
    // A rejection needs a reason.
    let err = approvals::decide(&g.deps, &a.id, Decision::Reject, "cli:ana", Some("  "))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("a rejection needs a reason"),
        "{err}"
    );
    let done = approvals::decide(
        &g.deps,
        &a.id,
        Decision::Reject,
        "cli:ana",
        Some("keep it in POSIX sh"),
    )
    .await
    .unwrap();
    assert_eq!(done.ticket.state, TicketState::Triaged);
    assert_eq!(
        done.ticket.state_reason.as_deref(),
        Some("spec rejected by cli:ana: keep it in POSIX sh")
    );
    assert_eq!(queued(&g.deps, names::PLAN).await, 2, "back to the planner");
    // The second spec is planned with the reason in the prompt.
    plan(&g.deps, &t.id).await.unwrap();
    let t2 = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(
        (t2.state, t2.spec.as_ref().unwrap().round),
        (TicketState::AwaitingSpecApproval, 2)
    );
    let prompt = seen.lock().unwrap().last().unwrap().to_string();
    assert!(
        prompt.contains("keep it in POSIX sh") && prompt.contains("rejection by cli:ana"),
        "{prompt}"
    );
    // The second rejection is the last the settings allow: rejected for good.
    let a2 = approvals::pending_for_ticket(&g.deps, &t.id).await.unwrap();
    assert_ne!(a2.id, a.id);
    let done = approvals::decide(
        &g.deps,
        &a2.id,
        Decision::Reject,
        "cli:ana",
        Some("still Python"),
    )
    .await
    .unwrap();
    assert_eq!(done.ticket.state, TicketState::Rejected);
    assert!(
        done.ticket
            .state_reason
            .unwrap()
            .contains("spec rejected 2 times (the limit is 2)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_is_recorded_once_and_never_on_a_ticket_that_moved_on() {
    let g = setup(None, |_| {});
    let app = crate::helpers::serve(nightshift_api::router(g.deps.clone())).await;
    let c = reqwest::Client::new();
    let t = triaged(&g.deps, "add subtracts").await;
    plan(&g.deps, &t.id).await.unwrap();
    let a = approvals::pending_for_ticket(&g.deps, &t.id).await.unwrap();
    let (status, list) = crate::helpers::get_json(&c, &format!("{app}/approvals")).await;
    assert_eq!(
        (status, list["approvals"][0]["id"].as_str()),
        (200, Some(a.id.as_str()))
    );
    // Reject without a reason: 400, nothing recorded.
    let r = c
        .post(format!("{app}/approvals/{}/reject", a.id))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(format!("{app}/approvals/{}/approve", a.id))
        .body(r#"{"by": "ana"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (
            body["approval"]["decided_by"].as_str(),
            body["ticket"]["state"].as_str()
        ),
        (Some("api:ana"), Some("ready"))
    );
    // The second decision, either way, is a conflict naming the first.
    for verb in ["approve", "reject"] {
        let r = c
            .post(format!("{app}/approvals/{}/{verb}", a.id))
            .body(r#"{"reason": "no"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"]
                .as_str()
                .unwrap()
                .contains("already approved by api:ana"),
            "{e}"
        );
    }
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::Ready);

    // A pending request on a ticket that was closed meanwhile: refused, and
    // the approval stays undecided.
    let t = triaged(&g.deps, "add subtracts badly").await;
    plan(&g.deps, &t.id).await.unwrap();
    let a = approvals::pending_for_ticket(&g.deps, &t.id).await.unwrap();
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    apply(
        &g.deps,
        &t,
        TicketEvent::Close,
        "someone",
        Value::Null,
        |_| {},
    )
    .await
    .unwrap();
    let r = c
        .post(format!("{app}/approvals/{}/approve", a.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("the ticket has moved on"),
        "{e}"
    );
    assert_eq!(
        g.deps
            .stores
            .approvals
            .get_approval(&a.id)
            .await
            .unwrap()
            .status,
        ApprovalStatus::Pending
    );
    let r = c
        .post(format!("{app}/approvals/nope/approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_recorded_but_not_applied_is_applied_by_the_reaper() {
    let g = setup(None, |_| {});
    let t = triaged(&g.deps, "add subtracts").await;
    plan(&g.deps, &t.id).await.unwrap();
    let a = approvals::pending_for_ticket(&g.deps, &t.id).await.unwrap();
    // The approval is decided, and the process dies before the ticket moves.
    g.deps
        .stores
        .approvals
        .decide(&a.id, Decision::Approve, "api:ana", None, g.deps.now())
        .await
        .unwrap();
    assert_eq!(
        g.deps.stores.tickets.get_ticket(&t.id).await.unwrap().state,
        TicketState::AwaitingSpecApproval
    );
    nightshift_roles::reaper::reap(&g.deps).await.unwrap();
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::Ready);
    assert_eq!(t.state_reason.as_deref(), Some("spec approved by api:ana"));
    // And again: nothing more happens.
    nightshift_roles::reaper::reap(&g.deps).await.unwrap();
    assert_eq!(
        g.deps
            .stores
            .tickets
            .get_ticket(&t.id)
            .await
            .unwrap()
            .version,
        t.version
    );
}
