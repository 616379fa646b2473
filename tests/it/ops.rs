//! Night shift (batch approval, the cap, the order), the nightly report and
//! its Slack message, and the reaper's housekeeping (branches of finished
//! tickets, audit and job-log retention).

use crate::helpers::{SLEEPER, git, manual_clock, roles_with, serve};
use crate::setup::{Gov, REPO, in_review, setup, submit};
use axum::Json;
use axum::routing::post;
use nightshift_core::audit::{ChainVerifier, NewAuditEvent};
use nightshift_core::clock::Clock;
use nightshift_core::forge::{Forge, PrState};
use nightshift_core::job::{JobOutcome, JobState};
use nightshift_core::state::{TicketEvent, TicketState};
use nightshift_core::ticket::{NewTicket, Priority, Source, TicketContext, TicketType};
use nightshift_roles::transition::apply;
use nightshift_roles::{Deps, dispatcher, planner, reaper, report, triage};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn labelled(deps: &Deps, title: &str, priority: Priority, labels: &[&str]) -> String {
    let input = NewTicket {
        id: None,
        kind: TicketType::Feature,
        priority: Some(priority),
        title: Some(title.into()),
        description: None,
        context: TicketContext {
            repo: REPO.into(),
            filepaths: vec![],
            error_logs: vec![],
        },
        acceptance_criteria: vec![format!("{title} works")],
        source: None,
        source_ref: None,
        labels: labels.iter().map(|s| s.to_string()).collect(),
        budget: None,
    };
    let (t, _) = nightshift_roles::intake::submit(deps, input, Source::Api, "test")
        .await
        .unwrap();
    triage::triage(deps, &t.id).await.unwrap();
    planner::plan(deps, &t.id).await.unwrap();
    t.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn night_shift_approves_the_queue_and_the_dispatcher_keeps_the_cap_and_the_order() {
    let g = setup(None, |_| {});
    let d = &g.deps;
    // Eight ready-for-robot tickets of mixed priority, one without the label.
    let plan = [
        ("low-1", Priority::Low),
        ("high-1", Priority::High),
        ("medium-1", Priority::Medium),
        ("low-2", Priority::Low),
        ("high-2", Priority::High),
        ("medium-2", Priority::Medium),
        ("high-3", Priority::High),
        ("low-3", Priority::Low),
    ];
    let mut ids = std::collections::HashMap::new();
    for (title, p) in plan {
        ids.insert(labelled(d, title, p, &["ready-for-robot"]).await, title);
    }
    let unlabelled = labelled(d, "not for tonight", Priority::High, &[]).await;
    let app = serve(nightshift_api::router(d.clone())).await;
    let r = reqwest::Client::new()
        .post(format!("{app}/approvals/batch"))
        .body(r#"{"by": "ana"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["approved"].as_array().unwrap().len(), 8, "{out}");
    assert_eq!(
        d.stores
            .tickets
            .get_ticket(&unlabelled)
            .await
            .unwrap()
            .state,
        TicketState::AwaitingSpecApproval
    );
    let titles = |launched: &[String]| -> Vec<&str> {
        launched
            .iter()
            .map(|j| ids[j.trim_end_matches("-b1")])
            .collect()
    };
    // Five at a time (the default cap), highest priority first, oldest first within one.
    let first = dispatcher::dispatch(d, "test").await.unwrap().launched;
    assert_eq!(
        titles(&first),
        ["high-1", "high-2", "high-3", "medium-1", "medium-2"]
    );
    assert!(
        dispatcher::dispatch(d, "test")
            .await
            .unwrap()
            .launched
            .is_empty(),
        "the cap holds"
    );
    assert_eq!(d.stores.jobs.count_active_jobs().await.unwrap(), 5);
    // Two finish: the next two, in order.
    for jid in &first[..2] {
        let (_, lease) = d
            .stores
            .jobs
            .claim_job(jid, "w", Duration::from_secs(60), d.now())
            .await
            .unwrap();
        let outcome = JobOutcome {
            state: JobState::Succeeded,
            reason: None,
            tokens_used: 0,
        };
        d.stores
            .jobs
            .complete_job(&lease, &outcome, d.now())
            .await
            .unwrap();
    }
    let next = dispatcher::dispatch(d, "test").await.unwrap().launched;
    assert_eq!(titles(&next), ["low-1", "low-2"]);
    for j in first.iter().chain(&next) {
        if let Some(h) = d.stores.jobs.get_job(j).await.unwrap().launch_handle {
            let _ = d.launcher.stop(&h, "test over").await;
        }
    }
}

async fn slack() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/services/T000/B000/XXXX",
        post(move |Json(v): Json<Value>| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    (
        format!("{}/services/T000/B000/XXXX", serve(app).await),
        seen,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nightly_report_says_what_happened_and_goes_to_slack() {
    let reg = crate::setup::registry().await;
    let g: Gov = setup(None, |s| {
        crate::setup::use_registry(s, &reg);
        s.report.slack_webhook_secret = Some("slack-webhook".into());
    });
    let d = &g.deps;
    // A merged ticket with its pull request.
    let (t, pr) = in_review(
        &g,
        "zero test",
        9,
        &[("test.sh", ". ./calc.sh\n[ \"$(add 0 0)\" = 0 ]\n")],
    )
    .await;
    let t = apply(
        d,
        &t,
        TicketEvent::PassReview,
        "reviewer",
        Value::Null,
        |_| {},
    )
    .await
    .unwrap();
    g.forge
        .merge_pr(REPO, pr.number, "zero test")
        .await
        .unwrap();
    apply(d, &t, TicketEvent::Merge, "api:ana", Value::Null, |_| {})
        .await
        .unwrap();
    d.stores
        .budget
        .reserve(&t.id, "call-1", 1500, d.now())
        .await
        .unwrap();
    d.stores.budget.commit("call-1", 1234).await.unwrap();
    // A failed job, a pending approval, a discovery finding, a janitor run.
    let failing = submit(d, "flaky").await;
    let mut job = nightshift_core::job::Job::new(
        "job-f".into(),
        Some(failing.id.clone()),
        nightshift_core::job::JobKind::Build,
        Priority::Low,
        1,
        None,
        d.now(),
    );
    job.payload = Value::Null;
    d.stores.jobs.create_job(&job).await.unwrap();
    let (_, lease) = d
        .stores
        .jobs
        .claim_job("job-f", "w", Duration::from_secs(60), d.now())
        .await
        .unwrap();
    let outcome = JobOutcome {
        state: JobState::Failed,
        reason: Some("the tests fail after the session".into()),
        tokens_used: 10,
    };
    d.stores
        .jobs
        .complete_job(&lease, &outcome, d.now())
        .await
        .unwrap();
    let waiting = crate::setup::triaged(d, "needs a look").await;
    planner::plan(d, &waiting.id).await.unwrap();
    let finding = NewTicket {
        id: Some("d_abc".into()),
        kind: TicketType::Bug,
        priority: None,
        title: Some("NullPointer in login, 40 times in 3 days".into()),
        description: None,
        context: TicketContext {
            repo: REPO.into(),
            filepaths: vec![],
            error_logs: vec![],
        },
        acceptance_criteria: vec!["no more NullPointer".into()],
        source: Some(Source::Discovery),
        source_ref: None,
        labels: vec![],
        budget: None,
    };
    nightshift_roles::intake::submit(d, finding, Source::Discovery, "discovery")
        .await
        .unwrap();
    let jr = nightshift_roles::janitor::JanitorReport {
        repo: REPO.into(),
        updated: vec![nightshift_roles::janitor::Line {
            ecosystem: "cargo".into(),
            package: "serde".into(),
            from: "1.0.1".into(),
            to: "1.0.2".into(),
            reason: "tests pass".into(),
        }],
        reverted: vec![nightshift_roles::janitor::Line {
            ecosystem: "cargo".into(),
            package: "rand".into(),
            from: "0.8.5".into(),
            to: "0.9.0".into(),
            reason: "the tests fail".into(),
        }],
        pr: Some(7),
        ..Default::default()
    };
    d.stores
        .audit
        .append(
            NewAuditEvent::new("janitor", "janitor_run").detail(serde_json::to_value(&jr).unwrap()),
            d.now(),
        )
        .await
        .unwrap();

    let app = serve(nightshift_api::router(d.clone())).await;
    let body: Value = reqwest::get(format!("{app}/report"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let md = body["markdown"].as_str().unwrap();
    for want in [
        "**1 done · 1 PRs opened · 1 merged · 1 jobs failed · 1 approvals waiting · 1234 tokens spent in all**",
        &format!("- `{}` zero test (merged, acme/calc)", t.id),
        &format!("| merged | acme/calc#{} | zero test |", pr.number),
        "| job-f | build |",
        "the tests fail after the session",
        &format!("| {} | zero test | 1234 | 2000000 |", t.id),
        "- spec of `",
        "- acme/calc: 1 updated, 0 skipped, 1 reverted (PR #7)",
        "  - reverted rand 0.9.0: the tests fail",
        "- `d_abc` NullPointer in login, 40 times in 3 days (acme/calc)",
    ] {
        assert!(md.contains(want), "missing {want:?} in:\n{md}");
    }
    assert_eq!(body["report"]["tokens_total"], 1234);
    // A window before any of it: nothing done.
    let empty: Value = reqwest::get(format!("{app}/report?hours=1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        empty["report"]["done"].as_array().unwrap().len(),
        1,
        "an hour covers it all"
    );
    let r = reqwest::get(format!("{app}/report?hours=0")).await.unwrap();
    assert_eq!(r.status(), 400);

    // The 08:00 run sends it to the Slack webhook named by the secret.
    let (url, seen) = slack().await;
    std::fs::create_dir_all(d.settings.data_dir.join("secrets")).unwrap();
    std::fs::write(d.settings.data_dir.join("secrets/slack-webhook"), &url).unwrap();
    let sent = report::run(d).await.unwrap();
    assert_eq!(sent.slack, Some(Ok(())));
    let posted = seen.lock().unwrap()[0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(posted.starts_with("*Nightshift report*\n"), "{posted}");
    assert!(
        posted.contains("```\n| | PR | title | ticket |"),
        "tables become code blocks: {posted}"
    );
    // A webhook that fails is reported without its URL (a secret).
    std::fs::write(
        d.settings.data_dir.join("secrets/slack-webhook"),
        format!("{app}/no-such-hook"),
    )
    .unwrap();
    let sent = report::run(d).await.unwrap();
    let err = sent.slack.unwrap().unwrap_err();
    assert!(
        err.contains("HTTP 404") && !err.contains("no-such-hook"),
        "{err}"
    );
    let ev = d.stores.audit.events_after(0, 1000).await.unwrap();
    assert_eq!(
        ev.iter().filter(|e| e.action == "nightly_report").count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reaper_deletes_finished_tickets_branches_and_keeps_audit_and_logs_for_their_retention()
{
    let reg = crate::setup::registry().await;
    let g = setup(None, |s| crate::setup::use_registry(s, &reg));
    let d = &g.deps;
    let (merged, pr) = in_review(&g, "merged one", 9, &[("a.txt", "a\n")]).await;
    let (open, open_pr) = in_review(&g, "still open", 9, &[("b.txt", "b\n")]).await;
    let merged = apply(
        d,
        &merged,
        TicketEvent::PassReview,
        "reviewer",
        Value::Null,
        |_| {},
    )
    .await
    .unwrap();
    g.forge
        .merge_pr(REPO, pr.number, "merged one")
        .await
        .unwrap();
    apply(
        d,
        &merged,
        TicketEvent::Merge,
        "api:ana",
        Value::Null,
        |_| {},
    )
    .await
    .unwrap();
    let bare = g.forge.repo_path(REPO).unwrap();
    let branches = || git(&bare, &["branch", "--format=%(refname:short)"]);
    assert!(branches().contains(&pr.head));
    let r = reaper::reap(d).await.unwrap();
    assert_eq!(
        r.retention.branches_deleted,
        [format!("{REPO}:{}", pr.head)]
    );
    assert!(
        !branches().contains(&pr.head),
        "the merged ticket's branch is gone"
    );
    assert!(
        branches().contains(&open_pr.head),
        "an open ticket's branch stays"
    );
    assert_eq!(
        d.stores.tickets.get_ticket(&open.id).await.unwrap().state,
        TicketState::InReview
    );
    // Again: nothing more to delete, and no error for the missing branch.
    assert!(
        reaper::reap(d)
            .await
            .unwrap()
            .retention
            .branches_deleted
            .is_empty()
    );
    assert_eq!(
        g.forge.get_pr(REPO, pr.number).await.unwrap().state,
        PrState::Merged
    );

    // Retention, on a clock that moves: audit events and job directories.
    let clock = manual_clock();
    let r = roles_with(clock.clone(), SLEEPER, |s| {
        s.retention.audit_days = 30;
        s.retention.job_logs_days = 7;
    });
    let d = &r.deps;
    for i in 0..5 {
        d.stores
            .audit
            .append(
                NewAuditEvent::new("test", "old").detail(json!({"i": i})),
                clock.now(),
            )
            .await
            .unwrap();
    }
    let job = nightshift_core::job::Job::new(
        "old-job".into(),
        None,
        nightshift_core::job::JobKind::Build,
        Priority::Low,
        1,
        None,
        clock.now(),
    );
    d.stores.jobs.create_job(&job).await.unwrap();
    let (_, lease) = d
        .stores
        .jobs
        .claim_job("old-job", "w", Duration::from_secs(60), clock.now())
        .await
        .unwrap();
    d.stores
        .jobs
        .complete_job(
            &lease,
            &JobOutcome {
                state: JobState::Failed,
                reason: None,
                tokens_used: 0,
            },
            clock.now(),
        )
        .await
        .unwrap();
    let live = nightshift_core::job::Job::new(
        "live-job".into(),
        None,
        nightshift_core::job::JobKind::Build,
        Priority::Low,
        1,
        None,
        clock.now(),
    );
    d.stores.jobs.create_job(&live).await.unwrap();
    for j in ["old-job", "live-job"] {
        std::fs::create_dir_all(d.settings.jobs_dir().join(j).join("1")).unwrap();
        std::fs::write(d.settings.jobs_dir().join(j).join("1/stderr.log"), "log\n").unwrap();
    }
    clock.advance(chrono::Duration::days(10));
    let rep = reaper::reap(d).await.unwrap();
    assert_eq!(rep.retention.audit_events_pruned, 0, "not 30 days yet");
    assert_eq!(rep.retention.job_dirs_deleted, ["old-job"]);
    assert!(
        d.settings.jobs_dir().join("live-job").is_dir(),
        "a job still queued keeps its directory"
    );
    d.stores
        .audit
        .append(NewAuditEvent::new("test", "recent"), clock.now())
        .await
        .unwrap();
    clock.advance(chrono::Duration::days(25));
    let rep = reaper::reap(d).await.unwrap();
    assert!(rep.retention.audit_events_pruned >= 5, "{rep:?}");
    let left = d.stores.audit.events_after(0, 1000).await.unwrap();
    assert!(
        left.iter().all(|e| e.action != "old"),
        "every event older than 30 days is gone"
    );
    assert!(left.iter().any(|e| e.action == "recent"));
    let mut v = ChainVerifier::default();
    v.feed(&left).unwrap();
    v.finish().expect("the pruned log still verifies");
}
