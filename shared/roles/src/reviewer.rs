//! The reviewer: every pull request the builder opens passes the deterministic
//! gates (tests run by the system, new dependencies checked against their
//! registries, no secret added, no protected path touched, a bounded diff),
//! then an LLM critique against the repository's own style guide and
//! architecture notes. The verdict is posted on the pull request and stored on
//! the ticket; changes requested send the ticket back to the builder (bounded
//! rounds), a pass goes to the merge gate, which full autonomy decides by its
//! thresholds and guided mode leaves to a person.
//!
//! The review runs the pull request's code (its tests), so it runs as a job in
//! the sandbox, like the builder: [`announce`] (the review queue's handler)
//! creates and launches the job; the worker calls [`run`].

use crate::approvals;
use crate::dispatcher;
use crate::transition::apply;
use crate::{Deps, RoleResult, TicketMessage};
use nightshift_agent::budget::Budgeted;
use nightshift_agent::git::GitWorkspace;
use nightshift_agent::governance::reviewer::{CritiqueAnswer, MAX_DOC_BYTES, prompt};
use nightshift_agent::governance::{AskError, ask_json};
use nightshift_agent::session::instruction_file;
use nightshift_agent::tools::{Toolbox, ToolboxConfig, Workspace};
use nightshift_core::approval::ApprovalKind;
use nightshift_core::governance::{GateLine, GateOutcome, ReviewComment, Verdict};
use nightshift_core::job::{Job, JobKind, JobOutcome, JobState};
use nightshift_core::llm::LlmError;
use nightshift_core::queue::names;
use nightshift_core::settings::governance::{Autonomy, GovernanceSettings, RegistrySettings};
use nightshift_core::state::{TicketEvent, TicketState};
use nightshift_core::ticket::Ticket;
use nightshift_gates::diff::parse_unified;
use nightshift_gates::manifests::is_manifest;
use nightshift_gates::registry::{
    ManifestChange, RegistryChecker, RegistryConfig, dependencies_gate,
};
use nightshift_gates::{GateResult, GateStatus, StaticGates, static_gates, tests_gate};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

/// The review job of a ticket's build round.
pub fn job_id(ticket: &Ticket, round: u32) -> String {
    format!("{}-r{round}", ticket.id)
}

/// The review queue's handler: a ticket in review gets its review job
/// (created once per round, launched if not yet launched).
pub async fn announce(deps: &Deps, ticket_id: &str) -> RoleResult<Option<String>> {
    let ticket = deps.stores.tickets.get_ticket(ticket_id).await?;
    if ticket.state != TicketState::InReview {
        return Ok(None);
    }
    let job = dispatcher::create_job(deps, &ticket, ticket.build_rounds, JobKind::Review).await?;
    if job.state == JobState::Queued && job.launched_attempt != Some(job.attempt) {
        dispatcher::launch(deps, &job).await?;
    }
    Ok(Some(job.id))
}

/// Sends the ticket to the review queue.
pub async fn request(deps: &Deps, ticket_id: &str) -> RoleResult<()> {
    deps.queue
        .send(
            names::REVIEW,
            &TicketMessage::body(ticket_id),
            Duration::ZERO,
        )
        .await?;
    Ok(())
}

/// One registry checker per registry configuration, for the life of the
/// process: its cache is what keeps a busy reviewer off the registries.
fn checker(cfg: &RegistrySettings) -> Arc<RegistryChecker> {
    static CHECKERS: LazyLock<Mutex<HashMap<String, Arc<RegistryChecker>>>> =
        LazyLock::new(Default::default);
    let key = format!(
        "{}|{}|{}|{}|{}",
        cfg.crates_index, cfg.pypi, cfg.npm, cfg.timeout_secs, cfg.cache_secs
    );
    let mut all = CHECKERS.lock().unwrap_or_else(|p| p.into_inner());
    all.entry(key)
        .or_insert_with(|| Arc::new(RegistryChecker::new(registry_config(cfg))))
        .clone()
}

pub fn registry_config(cfg: &RegistrySettings) -> RegistryConfig {
    RegistryConfig {
        crates_index: cfg.crates_index.clone(),
        pypi: cfg.pypi.clone(),
        npm: cfg.npm.clone(),
        timeout: Duration::from_secs(cfg.timeout_secs),
        cache_ttl: Duration::from_secs(cfg.cache_secs),
    }
}

fn line(g: GateResult) -> GateLine {
    GateLine {
        gate: g.gate,
        outcome: match g.status {
            GateStatus::Pass => GateOutcome::Pass,
            GateStatus::Fail => GateOutcome::Fail,
            GateStatus::Unverified => GateOutcome::Unverified,
        },
        summary: g.summary,
        findings: g
            .findings
            .into_iter()
            .take(20)
            .map(|f| match (f.file, f.line) {
                (Some(file), Some(l)) => format!("{file}:{l}: {}", f.message),
                (Some(file), None) => format!("{file}: {}", f.message),
                _ => f.message,
            })
            .collect(),
    }
}

/// Runs the review job `job` in `workdir`: gates, critique, verdict, and the
/// ticket's move. The job fails only when the review itself could not be made.
pub async fn run(deps: &Deps, job: &Job, workdir: &Path) -> RoleResult<JobOutcome> {
    let Some(ticket_id) = &job.ticket_id else {
        return Ok(JobOutcome::failed("a review job needs a ticket", 0));
    };
    let ticket = deps.stores.tickets.get_ticket(ticket_id).await?;
    if ticket.state != TicketState::InReview || job_id(&ticket, ticket.build_rounds) != job.id {
        return Ok(JobOutcome::succeeded(
            format!("nothing to review: the ticket is {}", ticket.state),
            0,
        ));
    }
    let Some(pr) = crate::builder::open_pr_of(deps, &ticket).await else {
        return Ok(JobOutcome::failed(
            "the ticket has no open pull request to review",
            0,
        ));
    };
    let access = match deps.forge.access(&ticket.context.repo).await {
        Ok(a) => a,
        Err(e) => {
            return Ok(JobOutcome::failed(
                format!("cannot reach {}: {e}", ticket.context.repo),
                0,
            ));
        }
    };
    let checkout = workdir.join("review");
    let git = match GitWorkspace::clone(&access, &checkout).await {
        Ok(g) => g,
        Err(e) => return Ok(JobOutcome::failed(format!("clone failed: {e}"), 0)),
    };
    if let Err(e) = git.checkout_branch(&pr.head).await {
        return Ok(JobOutcome::failed(
            format!("cannot check out {}: {e}", pr.head),
            0,
        ));
    }
    let head = git.head_sha().await.unwrap_or_default();
    let diff = match git.diff_to(&pr.base).await {
        Ok(d) => d,
        Err(e) => {
            return Ok(JobOutcome::failed(
                format!("cannot diff against {}: {e}", pr.base),
                0,
            ));
        }
    };
    let gov = &deps.settings.governance;
    let policy = gov.policy(&ticket.context.repo);

    // The deterministic gates. Tests first: run here, not taken from the builder's word.
    let files = parse_unified(&diff);
    let toolbox = Toolbox::new(
        Workspace::new(&checkout)
            .map_err(|e| nightshift_core::StoreError::backend("workspace", e))?,
        ToolboxConfig::default(),
    );
    let tests = toolbox.run_tests().await;
    let mut gates = vec![line(tests_gate(
        &tests.command,
        tests.passed,
        tests.tail(600),
    ))];
    let mut changes = Vec::new();
    for f in files.iter().filter(|f| is_manifest(&f.path)) {
        let before = git
            .file_at_base(&pr.base, f.old_path.as_deref().unwrap_or(&f.path))
            .await
            .unwrap_or(None);
        let after = if f.deleted {
            None
        } else {
            std::fs::read_to_string(checkout.join(&f.path)).ok()
        };
        changes.push(ManifestChange {
            path: f.path.clone(),
            before,
            after,
        });
    }
    gates.push(line(
        dependencies_gate(&changes, &checker(&gov.registries)).await,
    ));
    let static_cfg = StaticGates {
        protected_paths: policy.protected_paths.clone(),
        max_diff_lines: policy.max_diff_lines,
    };
    gates.extend(static_gates(&files, &static_cfg).into_iter().map(line));
    let coverage = policy
        .coverage_report
        .as_deref()
        .and_then(|p| line_coverage(&checkout.join(p)));

    // The critique.
    let (mut score, mut comments, mut tokens) = (None, Vec::new(), 0);
    let summary: String;
    if let Some(models) = &deps.llm {
        let docs: Vec<(String, String)> = policy
            .style_files
            .iter()
            .filter_map(|name| {
                instruction_file(&checkout, name, MAX_DOC_BYTES).map(|t| (name.clone(), t))
            })
            .collect();
        let (system, user) = prompt(&ticket, ticket.spec.as_ref(), &diff, &docs, &gates);
        let llm = Budgeted::new(
            models.for_role("reviewer"),
            deps.stores.budget.clone(),
            deps.clock.clone(),
            &ticket.id,
        );
        match ask_json::<CritiqueAnswer>(&llm, system, user, 4096).await {
            Ok((answer, usage)) => {
                let (s, text, c) = answer.into_parts();
                (score, comments, tokens) = (Some(s), c, usage.total());
                summary = text;
            }
            Err(AskError::Llm(LlmError::BudgetExhausted { .. })) => {
                let reason = "budget exhausted during the review".to_string();
                let _ = apply(
                    deps,
                    &ticket,
                    TicketEvent::ExhaustBudget,
                    "reviewer",
                    serde_json::json!({ "reason": reason }),
                    |t| t.state_reason = Some(reason.clone()),
                )
                .await;
                return Ok(JobOutcome::failed(reason, tokens));
            }
            // The gates stand; a person decides without the critique.
            Err(e) => summary = format!("The critique could not be made: {e}."),
        }
    } else {
        summary = "No LLM is configured: the gates ran, a person reviews the code.".into();
    }
    let verdict = Verdict {
        pr: pr.number,
        head,
        score,
        summary,
        comments,
        gates,
        coverage,
        round: ticket.build_rounds,
    };
    if let Err(e) = deps
        .forge
        .comment(&pr.repo, pr.number, &verdict.to_markdown())
        .await
    {
        tracing::warn!(pr = pr.number, error = %e, "could not post the verdict");
    }
    let outcome = conclude(deps, &ticket, verdict).await?;
    Ok(JobOutcome::succeeded(outcome, tokens))
}

/// Stores the verdict and moves the ticket: back to the builder, or on to
/// the merge gate.
async fn conclude(deps: &Deps, ticket: &Ticket, verdict: Verdict) -> RoleResult<String> {
    let detail = serde_json::json!({
        "pr": verdict.pr, "head": verdict.head, "score": verdict.score,
        "gates": verdict.gates.iter().map(|g| (g.gate.clone(), g.outcome)).collect::<Vec<_>>(),
        "blocking": verdict.comments.iter().filter(|c| c.blocking).count(),
    });
    if verdict.requests_changes() {
        let why = changes_reason(&verdict);
        let t = apply(
            deps,
            ticket,
            TicketEvent::RequestChanges,
            "reviewer",
            detail,
            |t| {
                t.state_reason = Some(why.clone());
                t.review = Some(verdict.clone());
            },
        )
        .await?;
        deps.queue
            .send(names::DISPATCH, &TicketMessage::body(&t.id), Duration::ZERO)
            .await?;
        return Ok(format!("changes requested: {why}"));
    }
    let t = apply(
        deps,
        ticket,
        TicketEvent::PassReview,
        "reviewer",
        detail,
        |t| {
            t.state_reason = Some(format!(
                "review passed (score {}); the merge waits for approval",
                verdict.score.map_or("none".into(), |s| s.to_string())
            ));
            t.review = Some(verdict.clone());
        },
    )
    .await?;
    merge_gate(deps, &t).await
}

/// Full autonomy merges when every threshold holds; otherwise a person decides.
pub async fn merge_gate(deps: &Deps, ticket: &Ticket) -> RoleResult<String> {
    let gov = &deps.settings.governance;
    let policy = gov.policy(&ticket.context.repo);
    let misses = if policy.autonomy == Autonomy::Full {
        threshold_misses(gov, ticket)
    } else {
        vec!["guided autonomy: a person approves every merge".to_string()]
    };
    if misses.is_empty() {
        let detail = serde_json::json!({
            "autonomy": "full",
            "confidence": ticket.spec.as_ref().map(|s| s.confidence),
            "score": ticket.review.as_ref().and_then(|v| v.score),
            "coverage": ticket.review.as_ref().and_then(|v| v.coverage),
        });
        let t = approvals::auto_approve(deps, ticket, ApprovalKind::Merge, detail).await?;
        return Ok(format!(
            "auto-approved by full autonomy; the ticket is {}",
            t.state
        ));
    }
    approvals::ensure_requested(deps, ticket, ApprovalKind::Merge, "reviewer").await?;
    deps.stores
        .audit
        .append(
            nightshift_core::audit::NewAuditEvent::new("reviewer", "merge_approval_requested")
                .ticket(&ticket.id)
                .detail(serde_json::json!({ "why": misses })),
            deps.now(),
        )
        .await?;
    Ok(format!(
        "the merge waits for a person: {}",
        misses.join("; ")
    ))
}

/// Why full autonomy may not approve this merge by itself (empty: it may).
pub fn threshold_misses(gov: &GovernanceSettings, ticket: &Ticket) -> Vec<String> {
    let mut misses = Vec::new();
    match ticket.spec.as_ref().map(|s| s.confidence) {
        Some(c) if c >= gov.min_confidence => {}
        c => misses.push(format!(
            "architect confidence {} is below {}",
            c.map_or("unknown".into(), |c| c.to_string()),
            gov.min_confidence
        )),
    }
    let Some(v) = &ticket.review else {
        misses.push("no review verdict".into());
        return misses;
    };
    match v.score {
        Some(s) if s >= gov.min_review_score => {}
        s => misses.push(format!(
            "review score {} is below {}",
            s.map_or("unknown".into(), |s| s.to_string()),
            gov.min_review_score
        )),
    }
    if let Some(c) = v.coverage
        && c < gov.min_coverage
    {
        misses.push(format!(
            "coverage {c:.1}% is below {:.1}%",
            gov.min_coverage
        ));
    }
    for g in v.gates.iter().filter(|g| g.outcome != GateOutcome::Pass) {
        misses.push(format!("gate {}: {}", g.gate, g.outcome.as_str()));
    }
    misses
}

fn changes_reason(v: &Verdict) -> String {
    let mut parts: Vec<String> = v
        .gates
        .iter()
        .filter(|g| g.outcome == GateOutcome::Fail)
        .map(|g| format!("{}: {}", g.gate, g.summary))
        .collect();
    let blocking = v.comments.iter().filter(|c| c.blocking).count();
    if blocking > 0 {
        parts.push(format!("{blocking} blocking review comment(s)"));
    }
    parts.join("; ")
}

/// Line coverage in percent from an lcov or Cobertura report, if readable.
fn line_coverage(path: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    let files = nightshift_analysis::coverage::parse_report(&text).ok()?;
    let (covered, total) = files.iter().fold((0u64, 0u64), |(c, t), f| {
        (c + u64::from(f.lines_hit), t + u64::from(f.lines_found))
    });
    (total > 0).then(|| 100.0 * covered as f64 / total as f64)
}

/// The feedback a review round answers: the verdict's failed gates and
/// blocking comments, written by Nightshift itself.
pub fn feedback(v: &Verdict) -> String {
    let mut m = String::from("Nightshift's review of your last push asked for changes:\n");
    for g in v.gates.iter().filter(|g| g.outcome == GateOutcome::Fail) {
        m.push_str(&format!("- gate {} failed: {}\n", g.gate, g.summary));
        for f in &g.findings {
            m.push_str(&format!("  - {f}\n"));
        }
    }
    for c in v.comments.iter().filter(|c: &&ReviewComment| c.blocking) {
        let at = c.line.map_or(c.file.clone(), |l| format!("{}:{l}", c.file));
        m.push_str(&format!("- {at}: {}\n", c.body.trim()));
    }
    m
}
