//! The builder: runs one build job to its end inside the worker's sandbox
//! directory. Clone (the token stays in git's environment), branch, an agent
//! session under the job's deadline and the ticket's budget, then the worker
//! runs the tests itself (the model's claim does not count), commits with the
//! ticket trailer, pushes the `nightshift/` branch and opens the pull request.
//! Every tool call the model made is appended to the ticket's audit trail.

use crate::transition::apply;
use crate::{Deps, RoleResult};
use nightshift_agent::budget::Budgeted;
use nightshift_agent::git::{GitError, GitWorkspace, branch_name};
use nightshift_agent::session::{
    PromptOptions, Session, SessionEnd, SessionLimits, SessionReport, kickoff_message,
    review_message, system_prompt,
};
use nightshift_agent::tools::{Toolbox, ToolboxConfig, Workspace};
use nightshift_core::audit::NewAuditEvent;
use nightshift_core::forge::{NewPullRequest, PrState, PullRequest};
use nightshift_core::job::{Job, JobKind, JobOutcome, JobState};
use nightshift_core::state::TicketEvent;
use nightshift_core::ticket::Ticket;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Branches no agent may push to, besides the repository's default branch.
pub const PROTECTED_BRANCHES: [&str; 2] = ["main", "master"];

/// Runs the build (or review-round) job `job` in `workdir` until it ends or `shutdown` fires, and
/// says how it ended. Ticket moves it causes (to `in_review`, to
/// `budget_exhausted`) are made here; a failure is left to job-events.
pub async fn run(
    deps: &Deps,
    job: &Job,
    workdir: &Path,
    shutdown: impl Future,
) -> RoleResult<JobOutcome> {
    let Some(ticket_id) = &job.ticket_id else {
        return Ok(JobOutcome::failed("a build job needs a ticket", 0));
    };
    let ticket = deps.stores.tickets.get_ticket(ticket_id).await?;
    let Some(llm) = deps.llm.as_ref().map(|m| m.for_role("builder")) else {
        return Ok(JobOutcome::failed(crate::status::NO_LLM, 0));
    };
    // The dispatcher's reservation was the admission check; from here every LLM
    // call reserves its own share, so the allowance is given back.
    if let Err(e) = deps.stores.budget.release(&job.id).await {
        tracing::warn!(job_id = %job.id, error = %e, "could not release the job's allowance");
    }
    let access = match deps.forge.access(&ticket.context.repo).await {
        Ok(a) => a,
        Err(e) => {
            return Ok(JobOutcome::failed(
                format!("cannot reach {}: {e}", ticket.context.repo),
                0,
            ));
        }
    };
    let checkout = workdir.join("repo");
    let git = match GitWorkspace::clone(&access, &checkout).await {
        Ok(g) => g,
        Err(e) => return Ok(JobOutcome::failed(format!("clone failed: {e}"), 0)),
    };
    // A review round works on the open pull request's branch, with its comments;
    // a build starts a new branch.
    let review = if job.kind == JobKind::AddressReview {
        match open_pr_of(deps, &ticket).await {
            Some(pr) => Some(pr),
            None => {
                return Ok(JobOutcome::failed(
                    "no open pull request to answer the review of",
                    0,
                ));
            }
        }
    } else {
        None
    };
    let branch = match &review {
        Some(pr) => {
            if let Err(e) = git.checkout_branch(&pr.head).await {
                return Ok(JobOutcome::failed(
                    format!("cannot check out {}: {e}", pr.head),
                    0,
                ));
            }
            pr.head.clone()
        }
        None => {
            let b = branch_name(&ticket.id, &ticket.title);
            if let Err(e) = git.create_branch(&b).await {
                return Ok(JobOutcome::failed(format!("cannot create {b}: {e}"), 0));
            }
            b
        }
    };
    let first_message = match &review {
        Some(pr) => match deps.forge.comments(&pr.repo, pr.number).await {
            Ok(comments) => {
                let mut m = review_message(&ticket, pr.number, &comments);
                // Nightshift's own verdict, and a person's merge rejection
                // (the reason a writer gave), are what this round answers.
                if let Some(v) = ticket.review.as_ref().filter(|v| v.requests_changes()) {
                    m.push('\n');
                    m.push_str(&crate::reviewer::feedback(v));
                }
                if let Some(reason) = merge_rejection(deps, &ticket).await {
                    m.push('\n');
                    m.push_str(&reason);
                }
                m
            }
            Err(e) => {
                return Ok(JobOutcome::failed(
                    format!("cannot read the review comments: {e}"),
                    0,
                ));
            }
        },
        None => kickoff_message(&ticket),
    };
    let toolbox = Toolbox::new(
        Workspace::new(&checkout)
            .map_err(|e| nightshift_core::StoreError::backend("workspace", e))?,
        ToolboxConfig::default(),
    );
    let mut protected = vec![".git/".to_string()];
    protected.extend(
        deps.settings
            .governance
            .policy(&ticket.context.repo)
            .protected_paths,
    );
    let opts = PromptOptions {
        test_command: toolbox.test_command(),
        protected_paths: protected,
        ..PromptOptions::default()
    };
    let system = system_prompt(&ticket, &checkout, &opts);
    let left = job
        .deadline
        .map(|d| (d - deps.now()).to_std().unwrap_or_default())
        .unwrap_or(Duration::from_secs(3600));
    let limits = SessionLimits::with_timeout(left);
    let provider = Arc::new(Budgeted::new(
        llm,
        deps.stores.budget.clone(),
        deps.clock.clone(),
        &ticket.id,
    ));
    let session = Session::new(
        provider,
        "builder",
        toolbox.clone(),
        system,
        first_message,
        limits,
    );
    let report = session.run(shutdown).await;
    audit_session(deps, &ticket, job, &report).await?;
    let tokens = report.usage.total();
    match report.end {
        SessionEnd::Done { summary } => {
            let base = &access.default_branch;
            let outcome = finish(
                deps, &ticket, &git, &toolbox, &branch, base, &summary, tokens,
            )
            .await?;
            if let (Some(pr), JobState::Succeeded) = (&review, outcome.state) {
                let note = format!("Addressed the review feedback:\n\n{}", summary.trim());
                if let Err(e) = deps.forge.comment(&pr.repo, pr.number, &note).await {
                    tracing::warn!(pr = pr.number, error = %e, "could not comment on the pull request");
                }
            }
            Ok(outcome)
        }
        SessionEnd::BudgetExhausted { message } => {
            let reason = format!("budget exhausted during the build: {message}");
            let t = deps.stores.tickets.get_ticket(&ticket.id).await?;
            let _ = apply(
                deps,
                &t,
                TicketEvent::ExhaustBudget,
                "builder",
                serde_json::json!({ "reason": reason }),
                |t| t.state_reason = Some(reason.clone()),
            )
            .await;
            Ok(JobOutcome::failed(reason, tokens))
        }
        SessionEnd::LoopDetected { reason } => Ok(JobOutcome::failed(
            format!("stopped by the loop breaker: {reason}"),
            tokens,
        )),
        SessionEnd::MaxTurns => Ok(JobOutcome::failed(
            "the session used all its turns without finishing",
            tokens,
        )),
        SessionEnd::Deadline => Ok(JobOutcome::failed(
            "the job's deadline passed during the session",
            tokens,
        )),
        SessionEnd::LlmFailed { message } => Ok(JobOutcome::failed(
            format!("the LLM failed: {message}"),
            tokens,
        )),
        SessionEnd::Stopped => Ok(JobOutcome::failed(
            "stopped before the session finished",
            tokens,
        )),
    }
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    deps: &Deps,
    ticket: &Ticket,
    git: &GitWorkspace,
    toolbox: &Toolbox,
    branch: &str,
    base: &str,
    summary: &str,
    tokens: u64,
) -> RoleResult<JobOutcome> {
    let tests = toolbox.run_tests().await;
    deps.stores
        .audit
        .append(
            NewAuditEvent::new("builder", "tests_run")
                .ticket(&ticket.id)
                .detail(serde_json::json!({ "command": tests.command, "passed": tests.passed })),
            deps.now(),
        )
        .await?;
    if !tests.passed {
        let tail = tests.tail(600);
        return Ok(JobOutcome::failed(
            format!(
                "the tests fail after the session (`{}`): {tail}",
                tests.command
            ),
            tokens,
        ));
    }
    let message = format!("{}\n\n{}", ticket.title, summary.trim());
    match git.commit_all(&message, &ticket.id).await {
        Ok(_) => {}
        Err(GitError::NothingToCommit) => {
            return Ok(JobOutcome::failed("the session changed nothing", tokens));
        }
        Err(e) => return Ok(JobOutcome::failed(format!("commit failed: {e}"), tokens)),
    }
    let protected: Vec<String> = PROTECTED_BRANCHES.iter().map(|s| s.to_string()).collect();
    if let Err(e) = git.push(branch, &protected).await {
        return Ok(JobOutcome::failed(format!("push failed: {e}"), tokens));
    }
    let stat = git
        .diff_stat()
        .await
        .map(|d| {
            format!(
                "{} files, +{} -{}",
                d.files.len(),
                d.insertions,
                d.deletions
            )
        })
        .unwrap_or_default();
    let body = format!(
        "{summary}\n\n---\nTicket: {}\nTests: `{}` passed\nChange: {stat}\nTokens: {tokens}\n",
        ticket.id, tests.command
    );
    let pr = match deps
        .forge
        .open_pr(&NewPullRequest {
            repo: ticket.context.repo.clone(),
            title: ticket.title.clone(),
            body,
            head: branch.to_string(),
            base: base.to_string(),
            ticket_id: Some(ticket.id.clone()),
        })
        .await
    {
        Ok(pr) => pr,
        Err(e) => {
            return Ok(JobOutcome::failed(
                format!("could not open the pull request: {e}"),
                tokens,
            ));
        }
    };
    let t = deps.stores.tickets.get_ticket(&ticket.id).await?;
    apply(
        deps,
        &t,
        TicketEvent::OpenPr,
        "builder",
        serde_json::json!({ "pr": pr.number, "branch": branch, "tokens": tokens }),
        |t| t.state_reason = Some(format!("pull request #{} on {}", pr.number, branch)),
    )
    .await?;
    crate::reviewer::request(deps, &ticket.id).await?;
    Ok(JobOutcome {
        state: JobState::Succeeded,
        reason: Some(format!("opened pull request #{}", pr.number)),
        tokens_used: tokens,
    })
}

/// The reason of the merge rejection that sent the ticket back, if one did.
async fn merge_rejection(deps: &Deps, ticket: &Ticket) -> Option<String> {
    use nightshift_core::approval::{ApprovalKind, ApprovalStatus};
    let all = deps
        .stores
        .approvals
        .approvals_for_ticket(&ticket.id)
        .await
        .ok()?;
    let last = all.iter().rev().find(|a| a.kind == ApprovalKind::Merge)?;
    (last.status == ApprovalStatus::Rejected).then(|| {
        nightshift_agent::session::untrusted(
            &format!(
                "merge rejection by {}",
                last.decided_by.as_deref().unwrap_or("?")
            ),
            last.reason.as_deref().unwrap_or(""),
        )
    })
}

/// The ticket's open pull request, newest first.
pub(crate) async fn open_pr_of(deps: &Deps, ticket: &Ticket) -> Option<PullRequest> {
    let prs = deps.forge.list_prs(Some(&ticket.context.repo)).await.ok()?;
    prs.into_iter()
        .filter(|p| p.state == PrState::Open && p.ticket_id.as_deref() == Some(ticket.id.as_str()))
        .max_by_key(|p| p.number)
}

/// Every tool call, then how the session ended: the ticket's audit trail.
async fn audit_session(
    deps: &Deps,
    ticket: &Ticket,
    job: &Job,
    report: &SessionReport,
) -> RoleResult<()> {
    for e in &report.transcript {
        let output: String = e.output.chars().take(500).collect();
        let ev = NewAuditEvent::new("builder", "tool_call").ticket(&ticket.id).detail(serde_json::json!({
            "job_id": job.id, "turn": e.turn, "tool": e.name, "arguments": e.arguments, "ok": e.ok, "output": output,
        }));
        deps.stores.audit.append(ev, deps.now()).await?;
    }
    let ev = NewAuditEvent::new("builder", "session_ended")
        .ticket(&ticket.id)
        .detail(serde_json::json!({
            "job_id": job.id, "end": report.end, "turns": report.turns,
            "input_tokens": report.usage.input_tokens, "output_tokens": report.usage.output_tokens,
        }));
    deps.stores.audit.append(ev, deps.now()).await?;
    Ok(())
}
