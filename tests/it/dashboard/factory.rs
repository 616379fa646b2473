//! The factory's state the dashboard shows: tickets in every state, a job at
//! work with its log, approvals, a pull request, spending.

use super::browser::*;
use crate::helpers::ready_ticket;
use crate::setup::{Gov, REPO, in_review, registry, setup, triaged, use_registry};
use nightshift_core::approval::{ApprovalKind, ApprovalStatus};
use nightshift_core::job::{Job, JobKind};
use nightshift_core::state::{TicketEvent, TicketState};
use nightshift_core::ticket::{Priority, Ticket};
use nightshift_roles::Deps;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

/// Triaged, then planned by the rules (no model): awaiting spec approval.
pub(super) async fn awaiting_spec(d: &Deps, title: &str) -> Ticket {
    let t = triaged(d, title).await;
    nightshift_roles::planner::plan(d, &t.id).await.unwrap();
    let t = d.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::AwaitingSpecApproval);
    t
}

/// The reviewer's job for `ticket_id`, run here (what `nightshift worker` does).
pub(super) async fn review(d: &Deps, ticket_id: &str) {
    let jid = nightshift_roles::reviewer::announce(d, ticket_id)
        .await
        .unwrap()
        .expect("a review job");
    crate::helpers::work_job(d, &jid, |job, dir| async move {
        nightshift_roles::reviewer::run(d, &job, &dir)
            .await
            .unwrap()
    })
    .await;
}

/// A builder session in progress: a ticket in `building`, its job claimed,
/// `tools` recorded as its tool calls, and its stderr log.
pub(super) async fn building(d: &Deps, title: &str, tools: &[&str], log: &str) -> (Ticket, Job) {
    let t = ready_ticket(d, title, Priority::Medium, REPO, Some(250_000)).await;
    let t = nightshift_roles::transition::apply(
        d,
        &t,
        TicketEvent::StartBuild,
        "test",
        Value::Null,
        |t| t.build_rounds += 1,
    )
    .await
    .unwrap();
    let jid = format!("{}-b1", t.id);
    let job = Job::new(
        jid.clone(),
        Some(t.id.clone()),
        JobKind::Build,
        t.priority,
        3,
        None,
        d.now(),
    );
    d.stores.jobs.create_job(&job).await.unwrap();
    let (job, _lease) = d
        .stores
        .jobs
        .claim_job(&jid, "worker-test", Duration::from_secs(600), d.now())
        .await
        .unwrap();
    for tool in tools {
        tool_call(d, &t, &job, tool).await;
    }
    let dir = log_dir(d, &job);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("stderr.log"), log).unwrap();
    (t, job)
}

pub(super) fn log_dir(d: &Deps, job: &Job) -> PathBuf {
    d.settings.jobs_dir().join(&job.id).join("1")
}

pub(super) async fn tool_call(d: &Deps, t: &Ticket, job: &Job, tool: &str) {
    let ev = nightshift_core::audit::NewAuditEvent::new("builder", "tool_call")
        .ticket(&t.id)
        .detail(json!({"job_id": job.id, "tool": tool, "ok": true, "output": "ok"}));
    d.stores.audit.append(ev, d.now()).await.unwrap();
}

/// Spends `tokens` of the ticket's budget (a reservation, committed).
pub(super) async fn spend(d: &Deps, ticket_id: &str, tokens: u64) {
    let rid = format!("{ticket_id}-spend");
    d.stores
        .budget
        .reserve(ticket_id, &rid, tokens + 1000, d.now())
        .await
        .unwrap();
    d.stores.budget.commit(&rid, tokens).await.unwrap();
}

/// The pending approval of `kind` for the ticket.
pub(super) async fn pending_approval(d: &Deps, ticket_id: &str, kind: ApprovalKind) -> String {
    d.stores
        .approvals
        .approvals_for_ticket(ticket_id)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.kind == kind && a.status == ApprovalStatus::Pending)
        .unwrap_or_else(|| panic!("a pending {kind:?} approval for {ticket_id}"))
        .id
}

/// Polls the store until the ticket is in `state`.
pub(super) async fn store_shows(d: &Deps, ticket_id: &str, state: TicketState) -> Ticket {
    until(
        &format!("ticket {ticket_id} to be {state:?} in the store"),
        || async {
            let t = d.stores.tickets.get_ticket(ticket_id).await.unwrap();
            if t.state == state {
                Ok(t)
            } else {
                Err(format!("{:?}", t.state))
            }
        },
    )
    .await
}

/// The repository's test, with a case for negative numbers.
pub(super) const NEGATIVE_TEST: &str =
    ". ./calc.sh\n[ \"$(add 2 3)\" = 5 ] || exit 1\n[ \"$(add -2 1)\" = -1 ] || exit 1\necho ok\n";

pub(super) struct Factory {
    pub(super) g: Gov,
    pub(super) approve_me: Ticket,
    pub(super) reject_me: Ticket,
    pub(super) merge_me: Ticket,
    pub(super) pr_number: u64,
    /// The ready queue, as the page must order it: priority, then age.
    pub(super) ready: Vec<String>,
    pub(super) build: (Ticket, Job),
}

pub(super) async fn factory() -> Factory {
    let reg = registry().await;
    let g = setup(None, |s| use_registry(s, &reg));
    let d = g.deps.clone();
    // The ready queue: created high, low, medium; listed newest first by the
    // API, shown by priority then age by the page.
    let high = ready_ticket(&d, "fix the login timeout", Priority::High, REPO, None).await;
    let low = ready_ticket(&d, "tidy the README", Priority::Low, REPO, None).await;
    let medium = ready_ticket(&d, "cache the config", Priority::Medium, REPO, None).await;
    let (merge_me, pr) = in_review(
        &g,
        "add handles negatives",
        8,
        &[("test.sh", NEGATIVE_TEST)],
    )
    .await;
    review(&d, &merge_me.id).await;
    let merge_me = d.stores.tickets.get_ticket(&merge_me.id).await.unwrap();
    assert_eq!(merge_me.state, TicketState::AwaitingMergeApproval);
    let build = building(
        &d,
        "speed up the parser",
        &["read_file", "edit_file", "run_tests"],
        "session started\nread_file src/parse.rs\nrunning make test\n",
    )
    .await;
    spend(&d, &build.0.id, 43_210).await;
    spend(&d, &merge_me.id, 12_000).await;
    let approve_me = awaiting_spec(&d, "add subtracts").await;
    let reject_me = awaiting_spec(&d, "divide by zero panics").await;
    Factory {
        g,
        approve_me,
        reject_me,
        merge_me,
        pr_number: pr.number,
        ready: vec![high.id, medium.id, low.id],
        build,
    }
}
