//! The roles over real adapters: SQLite, real child processes, explicit clocks.

use crate::helpers::{SLEEPER, eventually, manual_clock, roles, roles_with};
use nightshift_core::job::{JobOutcome, JobState};
use nightshift_core::ports::{JobFilter, LaunchState};
use nightshift_core::queue::names;
use nightshift_core::state::{TicketEvent, TicketState};
use nightshift_core::ticket::{NewTicket, Priority, Source, Ticket, TicketContext, TicketType};
use nightshift_roles::consumer::{self, HandlerError, handler};
use nightshift_roles::transition::apply;
use nightshift_roles::triage::TriageOutcome;
use nightshift_roles::{Deps, TicketMessage, dispatcher, intake, jobs, reaper, triage};
use std::time::Duration;

fn new_ticket(title: &str, kind: TicketType, priority: Option<Priority>, logs: bool) -> NewTicket {
    NewTicket {
        id: None,
        kind,
        priority,
        title: Some(title.into()),
        description: None,
        context: TicketContext {
            repo: "acme/api".into(),
            filepaths: vec!["src/lib.rs".into()],
            error_logs: if logs {
                vec!["panicked at src/lib.rs:3".into()]
            } else {
                vec![]
            },
        },
        acceptance_criteria: vec![format!("{title} is done")],
        source: None,
        source_ref: None,
        labels: vec![],
        budget: None,
    }
}

/// Submits a ticket and walks it to `ready` through the state machine.
async fn submit(deps: &Deps, t: NewTicket, source: Source) -> (Ticket, bool) {
    intake::submit(deps, t, source, "test").await.unwrap()
}

async fn ready_ticket(deps: &Deps, title: &str, priority: Priority) -> Ticket {
    crate::helpers::ready_ticket(deps, title, priority, "acme/api", None).await
}

async fn stop_all(deps: &Deps) {
    for j in deps
        .stores
        .jobs
        .list_jobs(&JobFilter::default())
        .await
        .unwrap()
    {
        if let Some(h) = j.launch_handle {
            deps.launcher.stop(&h, "test over").await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_sets_priority_by_rules_and_closes_duplicates() {
    let r = roles();
    let d = &r.deps;
    let (a, _) = submit(
        d,
        new_ticket("crash", TicketType::Bug, None, true),
        Source::Api,
    )
    .await;
    let (b, _) = submit(
        d,
        new_ticket("  CRASH ", TicketType::Bug, None, true),
        Source::Cli,
    )
    .await;
    let (c, _) = submit(
        d,
        new_ticket("tidy", TicketType::Chore, None, false),
        Source::Api,
    )
    .await;
    assert_eq!(
        a.fingerprint, b.fingerprint,
        "case and spacing do not make new work"
    );
    // Triage the later one first: it still knows which is the original.
    assert_eq!(
        triage::triage(d, &b.id).await.unwrap(),
        TriageOutcome::Duplicate { of: a.id.clone() }
    );
    assert_eq!(
        triage::triage(d, &a.id).await.unwrap(),
        TriageOutcome::Triaged {
            priority: Priority::High
        }
    );
    assert_eq!(
        triage::triage(d, &c.id).await.unwrap(),
        TriageOutcome::Triaged {
            priority: Priority::Low
        }
    );
    // Delivered again: nothing happens twice.
    assert_eq!(
        triage::triage(d, &a.id).await.unwrap(),
        TriageOutcome::Skipped {
            state: TicketState::Triaged
        }
    );
    let b = d.stores.tickets.get_ticket(&b.id).await.unwrap();
    assert_eq!(
        (b.state, b.duplicate_of.as_deref()),
        (TicketState::Closed, Some(a.id.as_str()))
    );
    assert_eq!(
        d.queue.stats(names::PLAN).await.unwrap().visible,
        2,
        "two tickets handed to the planner"
    );
    // A new identical ticket after the original closed is new work again.
    let a_now = d.stores.tickets.get_ticket(&a.id).await.unwrap();
    apply(
        d,
        &a_now,
        TicketEvent::Close,
        "test",
        serde_json::Value::Null,
        |_| {},
    )
    .await
    .unwrap();
    let (e, _) = submit(
        d,
        new_ticket("crash", TicketType::Bug, None, true),
        Source::Api,
    )
    .await;
    assert!(matches!(
        triage::triage(d, &e.id).await.unwrap(),
        TriageOutcome::Triaged { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatcher_launches_in_priority_order_under_the_cap_with_budget_reserved() {
    let r = roles_with(manual_clock(), SLEEPER, |s| {
        s.dispatcher.max_concurrent_jobs = 3
    });
    let d = &r.deps;
    let mut by_title = std::collections::HashMap::new();
    for (title, p) in [
        ("l1", Priority::Low),
        ("h1", Priority::High),
        ("m1", Priority::Medium),
        ("h2", Priority::High),
        ("m2", Priority::Medium),
    ] {
        let t = ready_ticket(d, title, p).await;
        by_title.insert(t.id.clone(), title);
    }
    let report = dispatcher::dispatch(d, "test").await.unwrap();
    let launched: Vec<&str> = report
        .launched
        .iter()
        .map(|j| by_title[j.trim_end_matches("-b1")])
        .collect();
    assert_eq!(
        launched,
        ["h1", "h2", "m1"],
        "high first, then by age, three at most"
    );
    assert_eq!(report.waiting_for_capacity, 2);
    for jid in &report.launched {
        let job = d.stores.jobs.get_job(jid).await.unwrap();
        let handle = job.launch_handle.clone().expect("launch recorded");
        eventually("the job's process runs", || async {
            d.launcher.status(&handle).await.unwrap() == LaunchState::Running
        })
        .await;
        let tid = job.ticket_id.unwrap();
        let t = d.stores.tickets.get_ticket(&tid).await.unwrap();
        assert_eq!((t.state, t.build_rounds), (TicketState::Building, 1));
        let acc = d.stores.budget.account(&tid).await.unwrap();
        assert_eq!(acc.reserved, d.settings.budget.job_reservation_tokens);
        let trail: Vec<String> = d
            .stores
            .audit
            .events_for_ticket(&tid)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(
            trail.ends_with(&["start_build".to_string(), "job_created".to_string()]),
            "{trail:?}"
        );
    }
    // At the cap, a second pass launches nothing.
    let again = dispatcher::dispatch(d, "test").await.unwrap();
    assert!(again.launched.is_empty() && again.relaunched.is_empty());
    // One job ends; the next pass takes the best waiting ticket.
    let first = d.stores.jobs.get_job(&report.launched[0]).await.unwrap();
    let (_, lease) = d
        .stores
        .jobs
        .claim_job(&first.id, "w", Duration::from_secs(60), d.now())
        .await
        .unwrap();
    let done = JobOutcome {
        state: JobState::Succeeded,
        reason: None,
        tokens_used: 1234,
    };
    let finished = d
        .stores
        .jobs
        .complete_job(&lease, &done, d.now())
        .await
        .unwrap();
    jobs::on_job_finished(d, &finished).await.unwrap();
    let acc = d
        .stores
        .budget
        .account(first.ticket_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (acc.reserved, acc.committed),
        (0, 1234),
        "the reservation is settled with the real spend"
    );
    let next = dispatcher::dispatch(d, "test").await.unwrap();
    assert_eq!(
        next.launched
            .iter()
            .map(|j| by_title[j.trim_end_matches("-b1")])
            .collect::<Vec<_>>(),
        ["m2"]
    );
    stop_all(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatcher_fails_closed_when_the_budget_is_spent() {
    let r = roles();
    let d = &r.deps;
    let t = ready_ticket(d, "pricey", Priority::High).await;
    // Earlier roles already spent all but 10 tokens of the 2M.
    let spent = t.budget.limit_tokens - 10;
    d.stores
        .budget
        .reserve(&t.id, "planning", spent, d.now())
        .await
        .unwrap();
    d.stores.budget.commit("planning", spent).await.unwrap();
    let report = dispatcher::dispatch(d, "test").await.unwrap();
    assert_eq!(report.exhausted, vec![t.id.clone()]);
    assert!(report.launched.is_empty());
    let t = d.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::BudgetExhausted);
    assert!(
        t.state_reason
            .as_deref()
            .unwrap()
            .contains("10 of 2000000 are left"),
        "{:?}",
        t.state_reason
    );
    assert!(
        d.stores
            .jobs
            .list_jobs(&JobFilter::default())
            .await
            .unwrap()
            .is_empty(),
        "no job, no launch"
    );
    assert!(!d.settings.jobs_dir().exists(), "nothing was launched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaper_requeues_a_lost_lease_and_the_dispatcher_relaunches_it() {
    let clock = manual_clock();
    let r = roles_with(clock.clone(), SLEEPER, |_| {});
    let d = &r.deps;
    let t = ready_ticket(d, "flaky worker", Priority::Medium).await;
    let report = dispatcher::dispatch(d, "test").await.unwrap();
    let jid = report.launched[0].clone();
    let (_, lease) = d
        .stores
        .jobs
        .claim_job(&jid, "worker-a", Duration::from_secs(120), d.now())
        .await
        .unwrap();
    clock.advance(chrono::Duration::seconds(121));
    let reaped = reaper::reap(d).await.unwrap();
    assert_eq!(reaped.requeued, vec![jid.clone()]);
    let job = d.stores.jobs.get_job(&jid).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Queued, 2));
    let trail: Vec<String> = d
        .stores
        .audit
        .events_for_ticket(&t.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(trail.last().map(String::as_str), Some("job_requeued"));
    let again = dispatcher::dispatch(d, "test").await.unwrap();
    assert_eq!(again.relaunched, vec![jid.clone()]);
    let job = d.stores.jobs.get_job(&jid).await.unwrap();
    assert_eq!(
        job.launch_handle.as_deref(),
        Some(format!("local:{jid}:2").as_str())
    );
    // The lost worker cannot finish what is no longer its job.
    let late = JobOutcome {
        state: JobState::Succeeded,
        reason: None,
        tokens_used: 0,
    };
    assert!(
        d.stores
            .jobs
            .complete_job(&lease, &late, d.now())
            .await
            .unwrap_err()
            .is_conflict()
    );
    stop_all(d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaper_fails_jobs_past_their_deadline_stops_them_and_fails_the_ticket() {
    let clock = manual_clock();
    let r = roles_with(clock.clone(), SLEEPER, |s| {
        s.dispatcher.job_deadline_secs = 600
    });
    let d = &r.deps;
    let t = ready_ticket(d, "slow", Priority::Medium).await;
    let jid = dispatcher::dispatch(d, "test")
        .await
        .unwrap()
        .launched
        .remove(0);
    let (_, lease) = d
        .stores
        .jobs
        .claim_job(&jid, "w", Duration::from_secs(120), d.now())
        .await
        .unwrap();
    let handle = d
        .stores
        .jobs
        .get_job(&jid)
        .await
        .unwrap()
        .launch_handle
        .unwrap();
    eventually("running", || async {
        d.launcher.status(&handle).await.unwrap() == LaunchState::Running
    })
    .await;
    // Heartbeats keep the lease alive; the deadline still ends it.
    let mut lease = lease;
    for _ in 0..6 {
        clock.advance(chrono::Duration::seconds(100));
        lease = d
            .stores
            .jobs
            .heartbeat(&lease, Duration::from_secs(120), d.now())
            .await
            .unwrap();
    }
    clock.advance(chrono::Duration::seconds(1));
    let reaped = reaper::reap(d).await.unwrap();
    assert_eq!(reaped.failed, vec![jid.clone()]);
    eventually("the process is stopped", || async {
        matches!(
            d.launcher.status(&handle).await.unwrap(),
            LaunchState::Stopped { .. }
        )
    })
    .await;
    let t = d.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::Failed);
    assert!(
        t.state_reason
            .as_deref()
            .unwrap()
            .contains("deadline passed"),
        "{:?}",
        t.state_reason
    );
    let acc = d.stores.budget.account(&t.id).await.unwrap();
    assert_eq!(acc.reserved, 0, "the failed job's reservation is settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaper_releases_expired_locks_and_reannounces_stuck_tickets() {
    let clock = manual_clock();
    let r = roles_with(clock.clone(), SLEEPER, |_| {});
    let d = &r.deps;
    d.stores
        .locks
        .acquire("repo:acme/api", "gone", Duration::from_secs(30), d.now())
        .await
        .unwrap();
    let (t, _) = submit(
        d,
        new_ticket("lost message", TicketType::Bug, None, false),
        Source::Api,
    )
    .await;
    // The intake's message was lost (say the process died before sending it).
    let lost = d
        .queue
        .receive(names::TRIAGE, 10, Duration::from_secs(3600))
        .await
        .unwrap();
    d.queue
        .delete(names::TRIAGE, &lost[0].receipt)
        .await
        .unwrap();
    clock.advance(chrono::Duration::seconds(31));
    let r1 = reaper::reap(d).await.unwrap();
    assert_eq!(r1.locks_released, ["repo:acme/api"]);
    assert!(r1.reannounced.is_empty(), "too early to call it stuck");
    clock.advance(chrono::Duration::seconds(300));
    let r2 = reaper::reap(d).await.unwrap();
    assert_eq!(r2.reannounced, vec![t.id.clone()]);
    assert!(d.stores.locks.list_locks().await.unwrap().is_empty());
    let again = d
        .queue
        .receive(names::TRIAGE, 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(again[0].body, TicketMessage::body(&t.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_go_to_the_dead_letter_queue_and_block_nothing() {
    let clock = manual_clock();
    let r = roles_with(clock.clone(), SLEEPER, |_| {});
    let d = &r.deps;
    let triage_handler = nightshift_roles::runtime::triage_handler();
    d.queue
        .send(names::TRIAGE, "{not json", Duration::ZERO)
        .await
        .unwrap();
    d.queue
        .send(
            names::TRIAGE,
            &TicketMessage::body("t_missing"),
            Duration::ZERO,
        )
        .await
        .unwrap();
    let mut ids = vec![];
    for i in 0..3 {
        let (t, _) = submit(
            d,
            new_ticket(&format!("t{i}"), TicketType::Bug, None, false),
            Source::Api,
        )
        .await;
        ids.push(t.id);
    }
    while consumer::poll_once(d, names::TRIAGE, &triage_handler)
        .await
        .unwrap()
        > 0
    {}
    for id in &ids {
        assert_eq!(
            d.stores.tickets.get_ticket(id).await.unwrap().state,
            TicketState::Triaged
        );
    }
    let dead = d.queue.dead_letters(names::TRIAGE, 10).await.unwrap();
    assert_eq!(dead.len(), 2);
    assert!(
        dead[0].reason.contains("not a valid TicketMessage"),
        "{}",
        dead[0].reason
    );
    assert!(
        dead[1].reason.contains("t_missing not found"),
        "{}",
        dead[1].reason
    );

    // A handler that keeps failing is retried with backoff, then dead-lettered
    // with its last error, after the receive limit (3 here).
    let flaky = handler(|_d: Deps, _b: String| async move {
        Err(HandlerError::Retry("the forge timed out".into()))
    });
    d.queue
        .send(names::REVIEW, "{}", Duration::ZERO)
        .await
        .unwrap();
    for _ in 0..10 {
        consumer::poll_once(d, names::REVIEW, &flaky).await.unwrap();
        clock.advance(chrono::Duration::seconds(61));
    }
    let dead = d.queue.dead_letters(names::REVIEW, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].receive_count, 3);
    assert!(
        dead[0].reason.contains("the forge timed out"),
        "{}",
        dead[0].reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_dies_before_claiming_fails_its_job_and_ticket_at_the_next_reap() {
    let clock = manual_clock();
    let r = roles_with(clock.clone(), "exit 3", |_| {});
    let d = &r.deps;
    let t = ready_ticket(d, "doomed", Priority::Medium).await;
    let jid = dispatcher::dispatch(d, "test")
        .await
        .unwrap()
        .launched
        .remove(0);
    let handle = d
        .stores
        .jobs
        .get_job(&jid)
        .await
        .unwrap()
        .launch_handle
        .unwrap();
    eventually("the worker exits", || async {
        d.launcher.status(&handle).await.unwrap() == LaunchState::Exited { code: 3 }
    })
    .await;
    assert!(
        reaper::reap(d).await.unwrap().failed.is_empty(),
        "a fresh launch gets its grace"
    );
    clock.advance(chrono::Duration::seconds(121));
    assert_eq!(reaper::reap(d).await.unwrap().failed, vec![jid.clone()]);
    let t = d.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::Failed);
    assert!(
        t.state_reason
            .as_deref()
            .unwrap()
            .contains("exited with status 3 before claiming"),
        "{:?}",
        t.state_reason
    );
    assert_eq!(d.stores.budget.account(&t.id).await.unwrap().reserved, 0);
}
