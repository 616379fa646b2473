//! The discovery role: on its schedule, runs the analyzers over each configured
//! repository and turns their findings into `ready-for-robot` tickets.
//!
//! A finding's ticket id is derived from its fingerprint, so the same finding
//! maps to the same ticket however often discovery runs (intake is idempotent by
//! id), and discovery never closes or changes a ticket it filed earlier: a
//! finding that disappears (fixed, or a log that rotated) leaves its ticket to
//! the humans and roles working on it.

use crate::transition::apply;
use crate::{Deps, RoleError, RoleResult, intake};
use nightshift_analysis::finding::{Finding, FindingKind};
use nightshift_analysis::{advisories, coverage, deps as depcheck, recurring};
use nightshift_core::ports::LogRecord;
use nightshift_core::settings::{DiscoverySettings, RepoDiscovery};
use nightshift_core::state::{TicketEvent, TicketState};
use nightshift_core::ticket::{NewTicket, Priority, Source, TicketContext, TicketType};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DiscoveryReport {
    pub repos: usize,
    pub findings: usize,
    /// Tickets filed by this run.
    pub created: Vec<String>,
    /// Findings whose ticket was filed by an earlier run.
    pub existing: Vec<String>,
    /// Root-cause notes recorded (closed tickets, never worked on).
    pub notes: Vec<String>,
    /// What could not be read, per source; the rest of the run goes on.
    pub errors: Vec<String>,
}

/// One discovery pass over every configured repository.
pub async fn run(deps: &Deps) -> RoleResult<DiscoveryReport> {
    let cfg = deps.settings.discovery.clone();
    let mut report = DiscoveryReport {
        repos: cfg.repos.len(),
        ..Default::default()
    };
    let since = deps.now() - chrono::Duration::days(i64::from(cfg.log_window_days));
    for repo in &cfg.repos {
        let mut records = Vec::new();
        for source in &repo.logs {
            let name = resolve(repo, Path::new(source))
                .to_string_lossy()
                .into_owned();
            match deps.logs.fetch(&name, Some(since), MAX_LOG_RECORDS).await {
                Ok(r) => records.extend(r),
                Err(e) => report
                    .errors
                    .push(format!("{}: log {source}: {e}", repo.repo)),
            }
        }
        let (r, c) = (repo.clone(), cfg.clone());
        let (findings, errors) = tokio::task::spawn_blocking(move || analyze(&r, &c, &records))
            .await
            .map_err(|e| {
                RoleError::Store(nightshift_core::StoreError::backend(
                    "discovery task failed",
                    e,
                ))
            })?;
        report
            .errors
            .extend(errors.into_iter().map(|e| format!("{}: {e}", repo.repo)));
        report.findings += findings.len();
        file_findings(deps, &repo.repo, &findings, &mut report).await?;
    }
    tracing::info!(
        findings = report.findings,
        created = report.created.len(),
        errors = report.errors.len(),
        "discovery ran"
    );
    Ok(report)
}

fn resolve(repo: &RepoDiscovery, p: &Path) -> PathBuf {
    match &repo.path {
        Some(root) if p.is_relative() => root.join(p),
        _ => p.to_path_buf(),
    }
}

/// Log records read per source and run, at most.
const MAX_LOG_RECORDS: usize = 1_000_000;

/// Runs the pure analyzers over the log `records` (already fetched through the
/// log source port) and the repository's coverage reports and lock files (read
/// here). Errors are collected, not fatal.
pub fn analyze(
    repo: &RepoDiscovery,
    cfg: &DiscoverySettings,
    records: &[LogRecord],
) -> (Vec<Finding>, Vec<String>) {
    let mut findings = Vec::new();
    let mut errors = Vec::new();

    if !records.is_empty() {
        let rc = recurring::RecurringConfig {
            min_count: cfg.min_error_count,
            min_days: cfg.min_distinct_days,
            fixability_threshold: cfg.fixability_threshold,
        };
        let lines = records.iter().map(|r| {
            (
                r.at.map(|t| t.format("%Y-%m-%d").to_string()),
                r.message.as_str(),
            )
        });
        findings.extend(recurring::recurring_errors(lines, &rc));
    }

    let mut files = Vec::new();
    for p in &repo.coverage {
        match std::fs::read_to_string(resolve(repo, p))
            .map_err(|e| e.to_string())
            .and_then(|t| coverage::parse_report(&t).map_err(|e| e.to_string()))
        {
            Ok(f) => files.extend(f),
            Err(e) => errors.push(format!("coverage {}: {e}", p.display())),
        }
    }
    if !files.is_empty() {
        if let Some(root) = &repo.path {
            coverage::relativize(&mut files, &root.to_string_lossy());
        }
        let churn = repo
            .path
            .as_deref()
            .map(|root| churn(root, cfg.churn_days, &mut errors))
            .unwrap_or_default();
        let ranked = coverage::rank(&files, &churn);
        findings.extend(coverage::findings(
            &ranked,
            cfg.coverage_top,
            cfg.coverage_min_uncovered,
        ));
    }

    if !repo.lockfiles.is_empty() {
        match cfg.advisory_db.as_deref().map(depcheck::AdvisoryDb::load) {
            None => {
                errors.push("lock files are configured but discovery.advisory_db is not set".into())
            }
            Some(Err(e)) => errors.push(format!("advisory db: {e}")),
            Some(Ok(db)) => {
                for p in &repo.lockfiles {
                    match depcheck::parse_lockfile(&resolve(repo, p)) {
                        Ok(pkgs) => findings.extend(advisories::findings(
                            &depcheck::audit(&pkgs, &db),
                            &p.to_string_lossy(),
                        )),
                        Err(e) => errors.push(format!("lock file {}: {e}", p.display())),
                    }
                }
            }
        }
    }
    (findings, errors)
}

/// Commits per file over the last `days` days, from git.
pub fn churn(
    root: &Path,
    days: u32,
    errors: &mut Vec<String>,
) -> std::collections::HashMap<String, u32> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "log",
            &format!("--since={days}.days"),
            "--format=%x00",
            "--name-only",
            "--no-renames",
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => coverage::parse_churn(&String::from_utf8_lossy(&o.stdout)),
        Ok(o) => {
            errors.push(format!(
                "git log in {}: {}",
                root.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            ));
            Default::default()
        }
        Err(e) => {
            errors.push(format!("git log in {}: {e}", root.display()));
            Default::default()
        }
    }
}

/// The ticket id a finding always maps to.
pub fn ticket_id(f: &Finding) -> String {
    format!("d_{}", &f.fingerprint[..f.fingerprint.len().min(32)])
}

fn ticket_for(repo: &str, f: &Finding) -> NewTicket {
    let (kind, priority, tag) = match f.kind {
        FindingKind::Vulnerability => (TicketType::Bug, Priority::High, "dependencies"),
        FindingKind::DependencyWarning => (TicketType::Chore, Priority::Medium, "dependencies"),
        FindingKind::RecurringError => (TicketType::Bug, Priority::Medium, "logs"),
        FindingKind::RootCauseNote => (TicketType::Bug, Priority::Low, "logs"),
        FindingKind::PoorCoverage => (TicketType::Chore, Priority::Low, "coverage"),
    };
    let mut labels = vec![
        "ready-for-robot".to_string(),
        "discovery".into(),
        format!("discovery:{tag}"),
    ];
    if f.kind == FindingKind::Vulnerability {
        labels.push("security".into());
    }
    NewTicket {
        id: Some(ticket_id(f)),
        kind,
        priority: Some(priority),
        title: Some(
            f.title
                .chars()
                .take(nightshift_core::ticket::MAX_TITLE_CHARS)
                .collect(),
        ),
        description: Some(f.description.clone()),
        context: TicketContext {
            repo: repo.to_string(),
            filepaths: f.filepaths.clone(),
            error_logs: if tag == "logs" {
                f.evidence.clone()
            } else {
                Vec::new()
            },
        },
        acceptance_criteria: f.acceptance_criteria.clone(),
        source: Some(Source::Discovery),
        source_ref: Some(format!("discovery:{}", f.fingerprint)),
        labels,
        budget: None,
    }
}

/// Files each finding as its ticket, once.
pub async fn file_findings(
    deps: &Deps,
    repo: &str,
    findings: &[Finding],
    report: &mut DiscoveryReport,
) -> RoleResult<()> {
    for f in findings {
        let (ticket, created) =
            intake::submit(deps, ticket_for(repo, f), Source::Discovery, "discovery").await?;
        if !created {
            report.existing.push(ticket.id);
            continue;
        }
        if f.kind == FindingKind::RootCauseNote && ticket.state == TicketState::New {
            let reason = format!(
                "root-cause note: fixability {}/10 is below the threshold {}; recorded, not worked on",
                f.score, deps.settings.discovery.fixability_threshold
            );
            apply(
                deps,
                &ticket,
                TicketEvent::Close,
                "discovery",
                serde_json::json!({ "reason": reason }),
                |t| t.state_reason = Some(reason.clone()),
            )
            .await?;
            report.notes.push(ticket.id);
        } else {
            report.created.push(ticket.id);
        }
    }
    Ok(())
}
