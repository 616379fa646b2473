//! The reviewer end to end: a real repository on the local forge, pull
//! requests pushed to it, the gates run on each (the tests for real), a
//! scripted model's critique, the verdict on the pull request, and where the
//! ticket goes next.

use crate::setup::{Gov, REPO, in_review, model_answering, registry, setup, use_registry};
use nightshift_core::approval::ApprovalStatus;
use nightshift_core::forge::{Forge, PrState};
use nightshift_core::governance::{GateOutcome, Verdict};
use nightshift_core::job::{Job, JobState};
use nightshift_core::queue::names;
use nightshift_core::settings::governance::Autonomy;
use nightshift_core::state::TicketState;
use nightshift_roles::reviewer;
use serde_json::{Value, json};

/// What the review queue and `nightshift worker` do: the job, run here.
async fn review(g: &Gov, ticket_id: &str) -> Job {
    let d = &g.deps;
    let jid = reviewer::announce(d, ticket_id)
        .await
        .unwrap()
        .expect("a review job");
    // Announcing twice makes no second job.
    assert_eq!(
        reviewer::announce(d, ticket_id).await.unwrap().as_deref(),
        Some(jid.as_str())
    );
    crate::helpers::work_job(d, &jid, |job, dir| async move {
        reviewer::run(d, &job, &dir).await.unwrap()
    })
    .await
}

fn gate<'a>(v: &'a Verdict, name: &str) -> &'a nightshift_core::governance::GateLine {
    v.gates
        .iter()
        .find(|g| g.gate == name)
        .unwrap_or_else(|| panic!("no {name} gate in {v:?}"))
}

fn good_critique() -> Value {
    json!({"score": 9, "summary": "Small, tested, in the style of the repository.", "comments": [
        {"file": "calc.sh", "line": 2, "blocking": false, "body": "Consider quoting the arguments."}]})
}

const FIXED_TEST: &str =
    ". ./calc.sh\n[ \"$(add 2 3)\" = 5 ] || exit 1\n[ \"$(add 0 0)\" = 0 ] || exit 1\necho ok\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_gate_catches_its_bad_diff_and_sends_the_ticket_back() {
    let reg = registry().await;
    let (llm, seen) = model_answering(&[good_critique()]).await;
    let g = setup(Some(llm), |s| {
        use_registry(s, &reg);
        s.governance.max_diff_lines = 300;
    });
    let big: String = (0..400).map(|i| format!("# note {i}\n")).collect();
    let cases: Vec<(&str, Vec<(&str, String)>, &str, &str)> = vec![
        (
            "adds a made-up crate",
            vec![("tools/Cargo.toml", "[package]\nname = \"calc-tools\"\nversion = \"0.1.0\"\n\n[dependencies]\nserde = \"1\"\nrand = \"0.8\"\nserde_jsonx_fast = \"0.3\"\n".into())],
            "dependencies",
            "serde_jsonx_fast",
        ),
        (
            "adds an AWS key",
            vec![("deploy.env", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n".into())],
            "secrets",
            "deploy.env:1",
        ),
        (
            "edits a workflow",
            vec![(".github/workflows/ci.yml", "on: push\njobs:\n  leak:\n    runs-on: ubuntu-latest\n    steps: [{run: env}]\n".into())],
            "protected_paths",
            ".github/workflows/ci.yml",
        ),
        ("is too large", vec![("NOTES.md", big)], "diff_size", ""),
        (
            "breaks the tests",
            vec![("calc.sh", "add() {\n  echo $(($1 * $2))\n}\n".into())],
            "tests",
            "",
        ),
        (
            "adds a made-up npm and PyPI package",
            vec![
                ("package.json", "{\"name\": \"calc\", \"dependencies\": {\"left-pad\": \"^1.3.0\", \"lodash\": \"4\", \"left-padd\": \"1\"}}\n".into()),
                ("requirements.txt", "requests==2.32.3\nnumpy>=2\nrequestss==1.0\n".into()),
            ],
            "dependencies",
            "left-padd",
        ),
    ];
    for (title, files, failing, finding) in cases {
        let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
        let (t, pr) = in_review(&g, title, 9, &files).await;
        let job = review(&g, &t.id).await;
        assert_eq!(job.state, JobState::Succeeded, "{title}: {:?}", job.reason);
        let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
        assert_eq!(
            t.state,
            TicketState::ChangesRequested,
            "{title}: {:?}",
            t.state_reason
        );
        let v = t.review.as_ref().unwrap();
        let failed: Vec<&str> = v
            .gates
            .iter()
            .filter(|g| g.outcome == GateOutcome::Fail)
            .map(|g| g.gate.as_str())
            .collect();
        assert_eq!(failed, [failing], "{title}: {v:#?}");
        assert!(
            gate(v, failing)
                .findings
                .iter()
                .any(|f| f.contains(finding))
                || finding.is_empty(),
            "{title}: {:?}",
            gate(v, failing)
        );
        // Every gate has its line in the verdict posted on the pull request.
        let comments = g.forge.comments(REPO, pr.number).await.unwrap();
        let posted = &comments.last().unwrap().body;
        for name in [
            "tests",
            "dependencies",
            "secrets",
            "protected_paths",
            "diff_size",
        ] {
            assert!(posted.contains(&format!("| {name} |")), "{title}: {posted}");
        }
        assert!(posted.contains("**Changes requested**"), "{posted}");
        assert!(
            !posted.contains("wJalrXUtnFEMI/K7MDENG"),
            "the verdict never repeats a secret"
        );
    }
    // The made-up crate was the only one the registry did not know; the
    // real ones it did (serde and rand exist).
    let t = g
        .deps
        .stores
        .tickets
        .list_tickets(&Default::default())
        .await
        .unwrap();
    let crate_case = t
        .iter()
        .find(|t| t.title == "adds a made-up crate")
        .unwrap();
    let deps_gate = gate(crate_case.review.as_ref().unwrap(), "dependencies");
    assert_eq!(deps_gate.findings.len(), 1, "{deps_gate:?}");
    assert!(
        deps_gate.findings[0].contains("serde_jsonx_fast"),
        "{deps_gate:?}"
    );
    // Each ticket went back to the dispatcher for a review round.
    assert_eq!(
        g.deps.queue.stats(names::DISPATCH).await.unwrap().visible,
        6
    );
    // The reviewer read the repository's contribution guide and the diff.
    let prompt = seen.lock().unwrap()[0].to_string();
    assert!(
        prompt.contains("Every change comes with a test in test.sh"),
        "{prompt}"
    );
    assert!(prompt.contains("serde_jsonx_fast"), "{prompt}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_autonomy_merges_a_clean_pull_request_when_every_threshold_holds() {
    let reg = registry().await;
    let (llm, _) = model_answering(&[good_critique()]).await;
    let g = setup(Some(llm), |s| {
        use_registry(s, &reg);
        s.governance.autonomy = Autonomy::Full;
    });
    let (t, pr) = in_review(
        &g,
        "test add with zero",
        9,
        &[("test.sh", FIXED_TEST), ("tools/Cargo.toml", "[package]\nname = \"calc-tools\"\nversion = \"0.1.0\"\n\n[dependencies]\nserde = \"1\"\nrand = \"0.8\"\n")],
    )
    .await;
    let job = review(&g, &t.id).await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.reason);
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::Merged, "{:?}", t.state_reason);
    let v = t.review.as_ref().unwrap();
    assert!(
        v.gates.iter().all(|g| g.outcome == GateOutcome::Pass),
        "{v:#?}"
    );
    assert_eq!(v.score, Some(9));
    assert_eq!(
        g.forge.get_pr(REPO, pr.number).await.unwrap().state,
        PrState::Merged
    );
    // The change is on main in the forge's repository.
    let bare = g.forge.repo_path(REPO).unwrap();
    let on_main = crate::helpers::git(&bare, &["show", "main:test.sh"]);
    assert!(on_main.contains("add 0 0"), "{on_main}");
    let a = g
        .deps
        .stores
        .approvals
        .approvals_for_ticket(&t.id)
        .await
        .unwrap();
    let merge = a
        .iter()
        .find(|a| a.kind == nightshift_core::approval::ApprovalKind::Merge)
        .unwrap();
    assert_eq!(
        (merge.status, merge.decided_by.as_deref()),
        (ApprovalStatus::Approved, Some("autonomy"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_autonomy_asks_a_person_when_a_threshold_misses_or_a_registry_cannot_be_reached() {
    // The registries are down: the new crate cannot be verified, which is no pass.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (llm, _) = model_answering(&[good_critique()]).await;
    let g = setup(Some(llm), |s| {
        use_registry(s, &closed);
        s.governance.autonomy = Autonomy::Full;
    });
    let (t, _) = in_review(&g, "adds rand", 9, &[("test.sh", FIXED_TEST), ("tools/Cargo.toml", "[package]\nname = \"t\"\nversion = \"0.1.0\"\n\n[dependencies]\nserde = \"1\"\nrand = \"0.8\"\n")]).await;
    review(&g, &t.id).await;
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(
        t.state,
        TicketState::AwaitingMergeApproval,
        "{:?}",
        t.state_reason
    );
    let deps_gate = gate(t.review.as_ref().unwrap(), "dependencies");
    assert_eq!(deps_gate.outcome, GateOutcome::Unverified, "{deps_gate:?}");
    assert!(
        deps_gate.summary.contains("could not verify"),
        "{deps_gate:?}"
    );
    let why = g.deps.stores.audit.events_for_ticket(&t.id).await.unwrap();
    let asked = why
        .iter()
        .find(|e| e.action == "merge_approval_requested")
        .unwrap();
    assert!(
        asked
            .detail
            .to_string()
            .contains("gate dependencies: could not verify"),
        "{:?}",
        asked.detail
    );

    // A low architect confidence keeps a clean pull request for a person too.
    let reg = registry().await;
    let (llm, _) = model_answering(&[good_critique()]).await;
    let g = setup(Some(llm), |s| {
        use_registry(s, &reg);
        s.governance.autonomy = Autonomy::Full;
    });
    let (t, _) = in_review(&g, "unsure", 6, &[("test.sh", FIXED_TEST)]).await;
    review(&g, &t.id).await;
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::AwaitingMergeApproval);
    assert_eq!(
        nightshift_roles::reviewer::threshold_misses(&g.deps.settings.governance, &t),
        ["architect confidence 6 is below 8"]
    );

    // So does coverage under the threshold, where the repository reports it.
    let (llm, _) = model_answering(&[good_critique()]).await;
    let g = setup(Some(llm), |s| {
        use_registry(s, &reg);
        s.governance.autonomy = Autonomy::Full;
        s.governance.coverage_report = Some("lcov.info".into());
    });
    let lcov = "SF:calc.sh\nDA:1,1\nDA:2,1\nDA:3,0\nDA:4,0\nDA:5,0\nend_of_record\n";
    let (t, _) = in_review(
        &g,
        "covered?",
        9,
        &[("test.sh", FIXED_TEST), ("lcov.info", lcov)],
    )
    .await;
    review(&g, &t.id).await;
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::AwaitingMergeApproval);
    assert_eq!(t.review.as_ref().unwrap().coverage, Some(40.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guided_merges_wait_for_a_person_whose_rejection_goes_back_to_the_builder() {
    let reg = registry().await;
    let (llm, _) = model_answering(&[good_critique()]).await;
    let g = setup(Some(llm), |s| use_registry(s, &reg));
    let app = crate::helpers::serve(nightshift_api::router(g.deps.clone())).await;
    let c = reqwest::Client::new();

    let (t, pr) = in_review(&g, "zero test", 10, &[("test.sh", FIXED_TEST)]).await;
    review(&g, &t.id).await;
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(
        t.state,
        TicketState::AwaitingMergeApproval,
        "guided: a person decides"
    );
    let a = nightshift_roles::approvals::pending_for_ticket(&g.deps, &t.id)
        .await
        .unwrap();
    let r = c
        .post(format!("{app}/approvals/{}/reject", a.id))
        .body(r#"{"reason": "also test add with negative numbers", "by": "ana"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::ChangesRequested);
    assert_eq!(
        g.deps.queue.stats(names::DISPATCH).await.unwrap().visible,
        1,
        "back to the builder"
    );
    let comments = g.forge.comments(REPO, pr.number).await.unwrap();
    assert!(
        comments
            .last()
            .unwrap()
            .body
            .contains("Merge rejected by api:ana:\n\nalso test add with negative numbers")
    );

    // Another pull request, approved: merged on the forge.
    let (t, pr) = in_review(&g, "zero test again", 10, &[("test.sh", FIXED_TEST)]).await;
    review(&g, &t.id).await;
    let a = nightshift_roles::approvals::pending_for_ticket(&g.deps, &t.id)
        .await
        .unwrap();
    let r = c
        .post(format!("{app}/approvals/{}/approve", a.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["ticket"]["state"], "merged", "{body}");
    assert_eq!(
        g.forge.get_pr(REPO, pr.number).await.unwrap().state,
        PrState::Merged
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_the_gates_still_run_and_a_person_reviews_the_code() {
    let reg = registry().await;
    let g = setup(None, |s| {
        use_registry(s, &reg);
        s.governance.autonomy = Autonomy::Full;
    });
    let (t, _) = in_review(&g, "zero test", 10, &[("test.sh", FIXED_TEST)]).await;
    review(&g, &t.id).await;
    let t = g.deps.stores.tickets.get_ticket(&t.id).await.unwrap();
    // Full autonomy never merges without the critique's score.
    assert_eq!(t.state, TicketState::AwaitingMergeApproval);
    let v = t.review.unwrap();
    assert_eq!(v.score, None);
    assert!(
        v.gates.iter().all(|g| g.outcome == GateOutcome::Pass),
        "{v:#?}"
    );
    assert!(v.to_markdown().contains("no LLM critique"));
}
