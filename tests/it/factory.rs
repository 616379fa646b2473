//! The whole factory, as `nightshift up` runs it: every role loop in process,
//! jobs in the real `nightshift worker` inside bubblewrap, one scripted model
//! behind the planner, the builder and the reviewer, the local forge. A bug
//! report goes in; a merged pull request comes out, in full autonomy.

use crate::builder::buggy_repo;
use crate::helpers::roles_with;
use crate::scripts::{SUMMARY, fix_steps, openai_script, scripted};
use crate::setup::registry;
use nightshift_core::clock::SystemClock;
use nightshift_core::forge::{Forge, PrState};
use nightshift_core::settings::governance::Autonomy;
use nightshift_core::state::TicketState;
use nightshift_core::ticket::{NewTicket, Source, TicketContext, TicketType};
use nightshift_local::LocalForge;
use nightshift_roles::Deps;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn answer(content: Value) -> Value {
    json!({"id": "a", "object": "chat.completion", "model": "m",
        "usage": {"prompt_tokens": 500, "completion_tokens": 100},
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content.to_string()}}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bug_report_becomes_a_merged_pull_request_in_full_autonomy() {
    // The model: the architect's spec, the builder's session, the reviewer's critique.
    let mut script = vec![answer(json!({
        "approach": "add subtracts its arguments; make it add.",
        "files": ["calc.sh"], "acceptance_criteria": ["make test passes"], "risks": [], "confidence": 9}))];
    script.extend(openai_script(&fix_steps(), Some(SUMMARY)));
    script.push(answer(
        json!({"score": 9, "summary": "A one-character fix, tested.", "comments": []}),
    ));
    let (llm, seen) = scripted(script, "/v1/chat/completions").await;
    let reg = registry().await;
    let settings_file = format!(
        "[[llm.providers]]\nname = \"loopback\"\nkind = \"openai\"\nbase_url = \"{llm}/v1\"\n\n\
         [llm.routes]\ndefault = [\"loopback:m\"]\n\n\
         [governance]\nautonomy = \"full\"\n\n\
         [governance.registries]\ncrates_index = \"{reg}/index\"\npypi = \"{reg}/pypi\"\nnpm = \"{reg}/npm\"\n"
    );
    let r = roles_with(Arc::new(SystemClock), "", |s| {
        s.governance.autonomy = Autonomy::Full;
        s.governance.registries.crates_index = format!("{reg}/index");
    });
    let data = r.deps.settings.data_dir.clone();
    let config = data.join("nightshift.toml");
    std::fs::write(&config, settings_file).unwrap();
    let settings = nightshift_roles::config::load(Some(&config)).unwrap();
    let settings = nightshift_core::settings::Settings {
        data_dir: data.clone(),
        queue: nightshift_core::settings::QueueSettings {
            poll_interval_ms: 20,
            ..settings.queue.clone()
        },
        ..settings
    };
    let forge = Arc::new(LocalForge::new(
        r.backend.db.clone(),
        data.join("forge"),
        vec!["main".into()],
        r.deps.clock.clone(),
    ));
    let repo = buggy_repo();
    forge.import("acme/calc", repo.path()).unwrap();
    let launcher = nightshift_local::ProcessLauncher::new(
        vec![
            env!("CARGO_BIN_EXE_nightshift").into(),
            "worker".into(),
            "--job".into(),
            "{job_id}".into(),
        ],
        settings.jobs_dir(),
        vec![
            (
                "NIGHTSHIFT_DATA_DIR".into(),
                data.to_string_lossy().into_owned(),
            ),
            (
                "NIGHTSHIFT_CONFIG".into(),
                config.to_string_lossy().into_owned(),
            ),
        ],
    )
    .unwrap()
    .with_sandbox(Some(
        nightshift_local::Bubblewrap::find(vec![data.clone()], vec![data.join("secrets")])
            .expect("this test needs bubblewrap: apt-get install bubblewrap"),
    ));
    let router = nightshift_agent::llm::Router::build(
        &settings.llm,
        &nightshift_local::EnvSecrets::new(None),
    )
    .await
    .unwrap();
    let deps = Deps {
        launcher: Arc::new(launcher),
        forge: forge.clone(),
        llm: Some(Arc::new(nightshift_agent::llm::RouterModels(Arc::new(
            router,
        )))),
        settings: Arc::new(settings),
        ..r.deps.clone()
    };
    let shutdown = CancellationToken::new();
    let tasks = nightshift_roles::runtime::start(&deps, shutdown.clone())
        .await
        .unwrap();

    let input = NewTicket {
        id: Some("calc-add".into()),
        kind: TicketType::Bug,
        priority: None,
        title: Some("add returns the wrong sum".into()),
        description: Some("add 2 3 prints -1".into()),
        context: TicketContext {
            repo: "acme/calc".into(),
            filepaths: vec!["calc.sh".into()],
            error_logs: vec![],
        },
        acceptance_criteria: vec!["add 2 3 prints 5".into()],
        source: None,
        source_ref: None,
        labels: vec![],
        budget: None,
    };
    nightshift_roles::intake::submit(&deps, input, Source::Api, "test")
        .await
        .unwrap();
    // At rest: merged, failed or rejected, or waiting for a person once the
    // review job has finished. Up to 30 s: two sandboxed workers clone, run a
    // session and the tests.
    let at_rest = || async {
        let t = deps.stores.tickets.get_ticket("calc-add").await.unwrap();
        let review_done = deps
            .stores
            .jobs
            .get_job("calc-add-r1")
            .await
            .is_ok_and(|j| j.state.is_finished());
        t.state.is_terminal()
            || matches!(
                t.state,
                TicketState::Failed | TicketState::Rejected | TicketState::BudgetExhausted
            )
            || (t.state == TicketState::AwaitingMergeApproval && review_done)
    };
    for _ in 0..3 {
        if at_rest().await {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while !at_rest().await {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
    }
    shutdown.cancel();
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    let t = deps.stores.tickets.get_ticket("calc-add").await.unwrap();
    let trail: Vec<String> = deps
        .stores
        .audit
        .events_for_ticket("calc-add")
        .await
        .unwrap()
        .iter()
        .filter(|e| e.to_state.is_some())
        .map(|e| format!("{} by {}", e.action, e.actor))
        .collect();
    let why: Vec<String> = deps
        .stores
        .audit
        .events_for_ticket("calc-add")
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "merge_approval_requested")
        .map(|e| e.detail.to_string())
        .collect();
    let log = std::fs::read_to_string(deps.settings.jobs_dir().join("calc-add-r1/1/stderr.log"))
        .unwrap_or_default();
    assert_eq!(
        t.state,
        TicketState::Merged,
        "{:?}\n{trail:#?}\n{why:?}\n{log}",
        t.state_reason
    );
    assert_eq!(
        trail,
        [
            "created by test",
            "triage by triage",
            "plan by planner",
            "approve_spec by autonomy",
            "start_build by dispatcher",
            "open_pr by builder",
            "pass_review by reviewer",
            "merge by autonomy",
        ]
    );
    let pr = &forge.list_prs(Some("acme/calc")).await.unwrap()[0];
    assert_eq!(pr.state, PrState::Merged);
    let bare = forge.repo_path("acme/calc").unwrap();
    assert!(crate::helpers::git(&bare, &["show", "main:calc.sh"]).contains("$(($1 + $2))"));
    // Three roles, one model: six calls, each reserved from the ticket's budget.
    assert_eq!(seen.lock().unwrap().len(), 6);
    let acc = deps.stores.budget.account("calc-add").await.unwrap();
    assert_eq!(acc.reserved, 0);
    assert!(acc.committed >= 6 * 120, "{acc:?}");
    let review_job = deps.stores.jobs.get_job("calc-add-r1").await.unwrap();
    assert!(
        review_job.lease_owner.unwrap().starts_with("worker-"),
        "the review ran in the sandboxed worker"
    );
}
