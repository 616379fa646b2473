//! The nightly report: what happened in a window (by default the last 24
//! hours) — tickets done, pull requests opened and merged, jobs that failed and
//! why, budget spent per ticket and in total, approvals waiting, the janitor's
//! results, new discovery findings — as data, as Markdown (API, CLI) and as a
//! Slack message when an incoming webhook is configured.
//!
//! Everything comes from the ports: the audit log (ticket moves, janitor runs,
//! discovery's tickets), the job store, the approvals, the budget ledger and
//! the forge. Reading it changes nothing; [`run`] (08:00 UTC) also records that
//! it ran and sends it.

use crate::{Deps, RoleResult};
use nightshift_core::Timestamp;
use nightshift_core::audit::{AuditEvent, NewAuditEvent};
use nightshift_core::forge::PrState;
use nightshift_core::job::JobState;
use nightshift_core::ports::JobFilter;
use nightshift_core::state::TicketState;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketLine {
    pub id: String,
    pub title: String,
    pub state: String,
    pub repo: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PrLine {
    pub repo: String,
    pub number: u64,
    pub title: String,
    pub ticket_id: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FailedJob {
    pub id: String,
    pub kind: String,
    pub ticket_id: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Spend {
    pub ticket_id: String,
    pub title: String,
    pub committed: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PendingLine {
    pub approval_id: String,
    pub kind: String,
    pub ticket_id: String,
    pub title: String,
    /// Hours since it was asked.
    pub waiting_hours: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    #[schema(value_type = String, format = DateTime)]
    pub since: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub until: Timestamp,
    /// Merged or closed in the window.
    pub done: Vec<TicketLine>,
    pub prs_opened: Vec<PrLine>,
    pub prs_merged: Vec<PrLine>,
    pub jobs_failed: Vec<FailedJob>,
    /// Tickets that moved in the window, with what they have spent so far.
    pub budget: Vec<Spend>,
    /// Tokens spent by every ticket, ever.
    pub tokens_total: u64,
    pub pending_approvals: Vec<PendingLine>,
    /// The janitor's runs in the window, as it recorded them.
    #[schema(value_type = Vec<Object>)]
    pub janitor: Vec<serde_json::Value>,
    /// Tickets discovery filed in the window.
    pub findings: Vec<TicketLine>,
}

/// Audit events written in `[since, until)`, oldest first.
async fn events_between(
    deps: &Deps,
    since: Timestamp,
    until: Timestamp,
) -> RoleResult<Vec<AuditEvent>> {
    let (mut out, mut after) = (Vec::new(), 0u64);
    loop {
        let page = deps.stores.audit.events_after(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        out.extend(page.into_iter().filter(|e| e.at >= since && e.at < until));
    }
    Ok(out)
}

async fn line(deps: &Deps, id: &str) -> Option<TicketLine> {
    let t = deps.stores.tickets.get_ticket(id).await.ok()?;
    Some(TicketLine {
        id: t.id,
        title: t.title,
        state: t.state.to_string(),
        repo: t.context.repo,
    })
}

/// The report for `[since, until)`.
pub async fn build(deps: &Deps, since: Timestamp, until: Timestamp) -> RoleResult<Report> {
    let events = events_between(deps, since, until).await?;
    let mut done = Vec::new();
    let mut seen = BTreeSet::new();
    for e in events
        .iter()
        .filter(|e| matches!(e.to_state, Some(TicketState::Merged | TicketState::Closed)))
    {
        if let Some(id) = &e.ticket_id
            && seen.insert(id.clone())
            && let Some(l) = line(deps, id).await
        {
            done.push(l);
        }
    }
    let mut findings = Vec::new();
    for e in events
        .iter()
        .filter(|e| e.action == "created" && e.detail["source"] == "discovery")
    {
        if let Some(l) = match &e.ticket_id {
            Some(id) => line(deps, id).await,
            None => None,
        } {
            findings.push(l);
        }
    }
    let janitor: Vec<serde_json::Value> = events
        .iter()
        .filter(|e| e.action == "janitor_run")
        .map(|e| e.detail.clone())
        .collect();
    let touched: BTreeSet<String> = events.iter().filter_map(|e| e.ticket_id.clone()).collect();
    let mut budget = Vec::new();
    for id in &touched {
        if let (Ok(acc), Ok(t)) = (
            deps.stores.budget.account(id).await,
            deps.stores.tickets.get_ticket(id).await,
        ) && acc.committed > 0
        {
            budget.push(Spend {
                ticket_id: id.clone(),
                title: t.title,
                committed: acc.committed,
                limit: acc.limit,
            });
        }
    }
    budget.sort_by(|a, b| {
        b.committed
            .cmp(&a.committed)
            .then(a.ticket_id.cmp(&b.ticket_id))
    });
    let (mut prs_opened, mut prs_merged) = (Vec::new(), Vec::new());
    match deps.forge.list_prs(None).await {
        Ok(prs) => {
            for p in prs {
                let l = PrLine {
                    repo: p.repo.clone(),
                    number: p.number,
                    title: p.title.clone(),
                    ticket_id: p.ticket_id.clone(),
                    url: p.url.clone(),
                };
                if p.created_at >= since && p.created_at < until {
                    prs_opened.push(l.clone());
                }
                if p.state == PrState::Merged && p.updated_at >= since && p.updated_at < until {
                    prs_merged.push(l);
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "the report could not list pull requests"),
    }
    let jobs_failed = deps
        .stores
        .jobs
        .list_jobs(&JobFilter {
            ticket_id: None,
            states: vec![JobState::Failed, JobState::Cancelled],
            limit: Some(1000),
        })
        .await?
        .into_iter()
        .filter(|j| j.updated_at >= since && j.updated_at < until)
        .map(|j| FailedJob {
            id: j.id,
            kind: j.kind.as_str().into(),
            ticket_id: j.ticket_id,
            reason: j.reason.unwrap_or_else(|| "no reason recorded".into()),
        })
        .collect();
    let mut pending_approvals = Vec::new();
    for a in deps.stores.approvals.pending_approvals().await? {
        let title = deps
            .stores
            .tickets
            .get_ticket(&a.ticket_id)
            .await
            .map(|t| t.title)
            .unwrap_or_default();
        pending_approvals.push(PendingLine {
            waiting_hours: (until - a.requested_at).num_hours().max(0),
            approval_id: a.id,
            kind: a.kind.as_str().into(),
            ticket_id: a.ticket_id,
            title,
        });
    }
    Ok(Report {
        since,
        until,
        done,
        prs_opened,
        prs_merged,
        jobs_failed,
        budget,
        tokens_total: deps.stores.budget.total_committed().await?,
        pending_approvals,
        janitor,
        findings,
    })
}

impl Report {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut m = format!(
            "# Nightshift report\n\n{} to {} (UTC)\n\n",
            self.since.format("%Y-%m-%d %H:%M"),
            self.until.format("%Y-%m-%d %H:%M")
        );
        let _ = writeln!(
            m,
            "**{} done · {} PRs opened · {} merged · {} jobs failed · {} approvals waiting · {} tokens spent in all**\n",
            self.done.len(),
            self.prs_opened.len(),
            self.prs_merged.len(),
            self.jobs_failed.len(),
            self.pending_approvals.len(),
            self.tokens_total
        );
        m.push_str("## Tickets done\n\n");
        if self.done.is_empty() {
            m.push_str("None.\n\n");
        }
        for t in &self.done {
            let _ = writeln!(
                m,
                "- `{}` {} ({}, {})",
                t.id,
                nightshift_core::markdown::cell(&t.title),
                t.state,
                t.repo
            );
        }
        if !self.done.is_empty() {
            m.push('\n');
        }
        m.push_str("## Pull requests\n\n");
        if self.prs_opened.is_empty() && self.prs_merged.is_empty() {
            m.push_str("None opened or merged.\n\n");
        } else {
            m.push_str("| | PR | title | ticket |\n|---|---|---|---|\n");
            for (what, list) in [("opened", &self.prs_opened), ("merged", &self.prs_merged)] {
                for p in list {
                    let _ = writeln!(
                        m,
                        "| {what} | {}#{} | {} | {} |",
                        p.repo,
                        p.number,
                        nightshift_core::markdown::cell(&p.title),
                        p.ticket_id.as_deref().unwrap_or("")
                    );
                }
            }
            m.push('\n');
        }
        m.push_str("## Jobs failed\n\n");
        if self.jobs_failed.is_empty() {
            m.push_str("None.\n\n");
        } else {
            m.push_str("| job | kind | ticket | why |\n|---|---|---|---|\n");
            for j in &self.jobs_failed {
                let why: String = j.reason.chars().take(200).collect();
                let _ = writeln!(
                    m,
                    "| {} | {} | {} | {} |",
                    j.id,
                    j.kind,
                    j.ticket_id.as_deref().unwrap_or(""),
                    nightshift_core::markdown::cell(&why)
                );
            }
            m.push('\n');
        }
        m.push_str("## Budget\n\n");
        let _ = writeln!(m, "{} tokens spent in all.\n", self.tokens_total);
        if !self.budget.is_empty() {
            m.push_str("| ticket | title | spent | limit |\n|---|---|---|---|\n");
            for b in &self.budget {
                let _ = writeln!(
                    m,
                    "| {} | {} | {} | {} |",
                    b.ticket_id,
                    nightshift_core::markdown::cell(&b.title),
                    b.committed,
                    b.limit
                );
            }
            m.push('\n');
        }
        m.push_str("## Waiting for approval\n\n");
        if self.pending_approvals.is_empty() {
            m.push_str("Nothing.\n\n");
        }
        for a in &self.pending_approvals {
            let _ = writeln!(
                m,
                "- {} of `{}` {} (waiting {} h): `{}`",
                a.kind,
                a.ticket_id,
                nightshift_core::markdown::cell(&a.title),
                a.waiting_hours,
                a.approval_id
            );
        }
        if !self.pending_approvals.is_empty() {
            m.push('\n');
        }
        m.push_str("## Janitor\n\n");
        if self.janitor.is_empty() {
            m.push_str("No run in this window.\n\n");
        }
        for j in &self.janitor {
            let count = |k: &str| j[k].as_array().map_or(0, |a| a.len());
            let _ = writeln!(
                m,
                "- {}: {} updated, {} skipped, {} reverted{}",
                j["repo"].as_str().unwrap_or("?"),
                count("updated"),
                count("skipped"),
                count("reverted"),
                j["pr"]
                    .as_u64()
                    .map(|n| format!(" (PR #{n})"))
                    .unwrap_or_default()
            );
            for r in j["reverted"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    m,
                    "  - reverted {} {}: {}",
                    r["package"].as_str().unwrap_or("?"),
                    r["to"].as_str().unwrap_or("?"),
                    nightshift_core::markdown::cell(r["reason"].as_str().unwrap_or(""))
                );
            }
        }
        if !self.janitor.is_empty() {
            m.push('\n');
        }
        m.push_str("## New discovery findings\n\n");
        if self.findings.is_empty() {
            m.push_str("None.\n");
        }
        for f in &self.findings {
            let _ = writeln!(
                m,
                "- `{}` {} ({})",
                f.id,
                nightshift_core::markdown::cell(&f.title),
                f.repo
            );
        }
        m
    }

    /// Slack's incoming-webhook payload: its mrkdwn has no tables or
    /// headings, so headings become bold lines and tables code blocks.
    pub fn to_slack(&self) -> serde_json::Value {
        let mut text = String::new();
        let mut in_table = false;
        for l in self.to_markdown().lines() {
            let is_row = l.starts_with('|');
            if is_row && !in_table {
                text.push_str("```\n");
            }
            if !is_row && in_table {
                text.push_str("```\n");
            }
            in_table = is_row;
            if let Some(h) = l.strip_prefix("# ").or_else(|| l.strip_prefix("## ")) {
                let _ = writeln!(text, "*{h}*");
            } else if let Some(b) = l.strip_prefix("**").and_then(|l| l.strip_suffix("**")) {
                let _ = writeln!(text, "*{b}*");
            } else if !(is_row && l.starts_with("|---")) {
                let _ = writeln!(text, "{l}");
            }
        }
        if in_table {
            text.push_str("```\n");
        }
        serde_json::json!({ "text": text })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("slack webhook request failed: {0}")]
    Request(#[source] reqwest::Error),
    #[error("slack webhook answered HTTP {0}")]
    Status(u16),
}

/// Posts the report to a Slack incoming webhook. The URL is a secret: it is
/// never logged, and errors leave it out.
pub async fn send_to_slack(url: &SecretString, report: &Report) -> Result<(), SendError> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(SendError::Request)?;
    let r = client
        .post(url.expose_secret())
        .json(&report.to_slack())
        .send()
        .await
        .map_err(|e| SendError::Request(e.without_url()))?;
    if !r.status().is_success() {
        return Err(SendError::Status(r.status().as_u16()));
    }
    Ok(())
}

/// What the 08:00 run did.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    pub markdown: String,
    /// `None`: no Slack webhook is configured.
    pub slack: Option<Result<(), String>>,
}

/// The scheduled run: the last 24 hours' report, recorded in the audit log
/// and sent to Slack when `report.slack_webhook_secret` names a secret.
pub async fn run(deps: &Deps) -> RoleResult<Sent> {
    let until = deps.now();
    let report = build(deps, until - chrono::Duration::hours(24), until).await?;
    let markdown = report.to_markdown();
    let slack = match &deps.settings.report.slack_webhook_secret {
        None => None,
        Some(name) => Some(match deps.secrets.get(name).await {
            Ok(url) => send_to_slack(&url, &report)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }),
    };
    if let Some(Err(e)) = &slack {
        tracing::warn!(error = %e, "the report was not sent to Slack");
    }
    let ev = NewAuditEvent::new("reporter", "nightly_report").detail(serde_json::json!({
        "since": report.since, "until": report.until, "done": report.done.len(),
        "prs_opened": report.prs_opened.len(), "prs_merged": report.prs_merged.len(),
        "jobs_failed": report.jobs_failed.len(), "pending_approvals": report.pending_approvals.len(),
        "slack": slack.as_ref().map(|r| r.as_ref().map(|_| "sent").unwrap_or_else(|e| e.as_str())),
    }));
    deps.stores.audit.append(ev, until).await?;
    Ok(Sent { markdown, slack })
}
