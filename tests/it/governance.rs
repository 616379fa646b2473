//! Governance end to end on embedded backends: the planner's spec and its
//! gate, decisions made once, rejections going back with their reason,
//! autonomy's thresholds.

use crate::setup::{REPO, model_answering, setup, triaged};
use nightshift_core::approval::{ApprovalKind, ApprovalStatus, Decision};
use nightshift_core::queue::names;
use nightshift_core::settings::governance::Autonomy;
use nightshift_core::state::{TicketEvent, TicketState};
use nightshift_roles::planner::{PlanOutcome, plan};
use nightshift_roles::{Deps, approvals, transition::apply};
use serde_json::{Value, json};

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
