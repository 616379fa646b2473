//! The CLI's commands besides `up` and `worker`: thin wrappers over the roles,
//! printing for people (or JSON with `--json`).

use anyhow::Context;
use clap::{Args, Subcommand};
use nightshift_core::audit::ChainVerifier;
use nightshift_core::ports::TicketFilter;
use nightshift_core::settings::Settings;
use nightshift_core::state::TicketState;
use nightshift_core::ticket::{
    NewTicket, Priority, Source, TicketBudget, TicketContext, TicketType, parse_new_ticket,
};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum TicketCmd {
    /// Add a ticket, from flags or from a JSON file in the standard format (`-` for stdin).
    Add(Box<AddArgs>),
    /// List tickets, newest first.
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        repo: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Show a ticket with its audit trail, jobs and budget.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct AddArgs {
    /// A ticket as JSON (the standard ticket interface); `-` reads stdin.
    #[arg(long, conflicts_with_all = ["kind", "title", "repo"])]
    json: Option<PathBuf>,
    #[arg(long = "type", value_parser = ["bug", "feature", "chore"])]
    kind: Option<String>,
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    description: Option<String>,
    #[arg(long)]
    repo: Option<String>,
    #[arg(long, value_parser = ["low", "medium", "high"])]
    priority: Option<String>,
    /// A file the work concerns (repeatable).
    #[arg(long = "file")]
    files: Vec<String>,
    /// An error log line (repeatable).
    #[arg(long = "error-log")]
    error_logs: Vec<String>,
    /// An acceptance criterion (repeatable; at least one).
    #[arg(long = "criterion")]
    criteria: Vec<String>,
    #[arg(long = "label")]
    labels: Vec<String>,
    /// Token budget for this ticket.
    #[arg(long)]
    budget: Option<u64>,
    #[arg(long)]
    id: Option<String>,
    /// Print the stored ticket as JSON.
    #[arg(long = "print-json")]
    print_json: bool,
}

/// Ticket text is untrusted: control characters (terminal escapes) never reach
/// the operator's terminal.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// An input error for the user: printed as `error: <field>: <message>`, exit 2.
fn usage(e: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {e}");
    Ok(ExitCode::from(2))
}

fn from_flags(a: &AddArgs) -> Result<NewTicket, String> {
    let kind = match a.kind.as_deref() {
        Some("bug") => TicketType::Bug,
        Some("feature") => TicketType::Feature,
        Some("chore") => TicketType::Chore,
        _ => return Err("type: missing; pass --type bug|feature|chore (or --json FILE)".into()),
    };
    let Some(repo) = a.repo.clone() else {
        return Err("context.repo: missing; pass --repo OWNER/NAME".into());
    };
    Ok(NewTicket {
        id: a.id.clone(),
        kind,
        priority: a.priority.as_deref().map(|p| match p {
            "high" => Priority::High,
            "low" => Priority::Low,
            _ => Priority::Medium,
        }),
        title: a.title.clone(),
        description: a.description.clone(),
        context: TicketContext {
            repo,
            filepaths: a.files.clone(),
            error_logs: a.error_logs.clone(),
        },
        acceptance_criteria: a.criteria.clone(),
        source: None,
        source_ref: None,
        labels: a.labels.clone(),
        budget: a.budget.map(|limit_tokens| TicketBudget { limit_tokens }),
    })
}

pub async fn ticket(settings: Settings, cmd: TicketCmd) -> anyhow::Result<ExitCode> {
    let deps = crate::wiring::deps(settings, crate::config_path().as_deref()).await?;
    match cmd {
        TicketCmd::Add(a) => {
            let input = match &a.json {
                Some(path) => {
                    let mut bytes = Vec::new();
                    if path.as_os_str() == "-" {
                        std::io::stdin()
                            .read_to_end(&mut bytes)
                            .context("reading stdin")?;
                    } else {
                        bytes = std::fs::read(path)
                            .with_context(|| format!("reading {}", path.display()))?;
                    }
                    match parse_new_ticket(&bytes, deps.settings.limits.max_ticket_bytes) {
                        Ok(t) => t,
                        Err(e) => return usage(e),
                    }
                }
                None => match from_flags(&a)
                    .map_err(|e| e.to_string())
                    .and_then(|t| t.validate().map(|_| t).map_err(|e| e.to_string()))
                {
                    Ok(t) => t,
                    Err(e) => return usage(e),
                },
            };
            let (t, created) =
                match nightshift_roles::intake::submit(&deps, input, Source::Cli, "cli").await {
                    Ok(r) => r,
                    Err(nightshift_roles::RoleError::Input(e)) => return usage(e),
                    Err(nightshift_roles::RoleError::Store(
                        e @ nightshift_core::StoreError::AlreadyExists { .. },
                    )) => {
                        return usage(e);
                    }
                    Err(e) => return Err(e.into()),
                };
            if a.print_json {
                println!("{}", serde_json::to_string_pretty(&t)?);
            } else {
                println!(
                    "{} {} ({}, {}) {}",
                    if created { "added" } else { "exists" },
                    t.id,
                    t.state,
                    t.priority.as_str(),
                    clean(&t.title)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TicketCmd::List {
            state,
            repo,
            limit,
            json,
        } => {
            let state = match state.as_deref().map(|s| TicketState::parse(s).ok_or(s)) {
                Some(Err(s)) => return usage(format!("state: unknown state `{s}`")),
                Some(Ok(s)) => Some(s),
                None => None,
            };
            let tickets = deps
                .stores
                .tickets
                .list_tickets(&TicketFilter {
                    state,
                    repo,
                    limit: Some(limit),
                })
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tickets)?);
            } else {
                println!(
                    "{:<32} {:<24} {:<7} {:<8} {:<20} TITLE",
                    "ID", "STATE", "TYPE", "PRIORITY", "REPO"
                );
                for t in tickets {
                    println!(
                        "{:<32} {:<24} {:<7} {:<8} {:<20} {}",
                        t.id,
                        t.state.as_str(),
                        t.kind.as_str(),
                        t.priority.as_str(),
                        clean(&t.context.repo),
                        clean(&t.title)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TicketCmd::Show { id, json } => {
            let d = match nightshift_api::tickets::ticket_detail(&deps, &id).await {
                Ok(d) => d,
                Err(e) if e.is_not_found() => return usage(e),
                Err(e) => return Err(e.into()),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
                return Ok(ExitCode::SUCCESS);
            }
            let t = &d.ticket;
            println!("{}  {}\n", t.id, clean(&t.title));
            println!(
                "  state      {}{}",
                t.state,
                t.state_reason
                    .as_deref()
                    .map(|r| format!(" ({})", clean(r)))
                    .unwrap_or_default()
            );
            println!(
                "  type       {}   priority {}   source {:?}",
                t.kind.as_str(),
                t.priority.as_str(),
                t.source
            );
            println!("  repo       {}", clean(&t.context.repo));
            for f in &t.context.filepaths {
                println!("  file       {}", clean(f));
            }
            for c in &t.acceptance_criteria {
                println!("  criterion  {}", clean(c));
            }
            if let Some(b) = &d.budget {
                println!(
                    "  budget     {} of {} tokens spent, {} reserved",
                    b.committed, b.limit, b.reserved
                );
            }
            for j in &d.jobs {
                println!(
                    "  job        {} {} attempt {} {}",
                    j.id,
                    j.state.as_str(),
                    j.attempt,
                    j.reason.as_deref().unwrap_or("")
                );
            }
            println!("\n  audit trail:");
            for e in &d.events {
                let states = match (e.from_state, e.to_state) {
                    (Some(f), Some(t)) if f != t => format!("{f} -> {t}"),
                    (_, Some(t)) => t.to_string(),
                    _ => String::new(),
                };
                let detail = if e.detail.is_null() {
                    String::new()
                } else {
                    e.detail.to_string()
                };
                println!(
                    "  #{:<5} {}  {:<11} {:<14} {:<30} {}",
                    e.seq,
                    e.at.format("%Y-%m-%d %H:%M:%S"),
                    e.actor,
                    e.action,
                    states,
                    detail
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn status(settings: Settings, json: bool) -> anyhow::Result<ExitCode> {
    let deps = crate::wiring::deps(settings, crate::config_path().as_deref()).await?;
    let s = nightshift_roles::status::status(&deps).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("tickets:");
    if s.tickets.is_empty() {
        println!("  none yet: add one with `nightshift ticket add` or POST /tickets");
    }
    for (state, n) in &s.tickets {
        println!("  {state:<24} {n}");
    }
    println!(
        "jobs: {} active of {} allowed",
        s.active_jobs, s.max_concurrent_jobs
    );
    println!("approvals pending: {}", s.pending_approvals);
    println!("tokens spent: {}", s.tokens_committed);
    println!("queues (visible / in flight / dead):");
    for (q, st) in &s.queues {
        println!("  {q:<12} {} / {} / {}", st.visible, st.in_flight, st.dead);
    }
    if !s.waiting.is_empty() {
        println!("waiting:");
        for w in &s.waiting {
            println!("  - {w}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Check the hash chain from the first event to the last.
    Verify,
}

pub async fn audit(settings: Settings, cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    let deps = crate::wiring::deps(settings, crate::config_path().as_deref()).await?;
    match cmd {
        AuditCmd::Verify => {
            let (mut verifier, mut after) = (ChainVerifier::default(), 0u64);
            loop {
                let page = deps.stores.audit.events_after(after, 1000).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                if let Err(e) = verifier.feed(&page) {
                    eprintln!("audit log BROKEN: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
            match verifier.finish() {
                Ok((n, Some((seq, hash)))) => {
                    println!("audit log ok: {n} events, chain intact up to #{seq} ({hash})")
                }
                Ok((_, None)) => println!("audit log ok: empty"),
                Err(e) => {
                    eprintln!("audit log BROKEN: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(Subcommand)]
pub enum DlqCmd {
    /// List dead letters with their reasons.
    List { queue: Option<String> },
    /// Send a queue's dead letters back to it.
    Redrive { queue: String },
}

pub async fn dlq(settings: Settings, cmd: DlqCmd) -> anyhow::Result<ExitCode> {
    let deps = crate::wiring::deps(settings, crate::config_path().as_deref()).await?;
    match cmd {
        DlqCmd::List { queue } => {
            let queues: Vec<String> = match queue {
                Some(q) => vec![q],
                None => nightshift_core::queue::names::ALL
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            };
            for q in queues {
                for d in deps.queue.dead_letters(&q, 1000).await? {
                    println!(
                        "{q}\t{}\t{}\treceived {}x\t{}\t{}",
                        d.id,
                        d.dead_at.to_rfc3339(),
                        d.receive_count,
                        clean(&d.reason),
                        clean(&d.body)
                    );
                }
            }
        }
        DlqCmd::Redrive { queue } => {
            let n = deps.queue.redrive(&queue, 1000).await?;
            println!("{n} message(s) sent back to {queue}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn discover(settings: Settings, json: bool) -> anyhow::Result<ExitCode> {
    if settings.discovery.repos.is_empty() {
        eprintln!(
            "error: no repositories to look at: add [[discovery.repos]] entries to nightshift.toml (see README)"
        );
        return Ok(ExitCode::from(2));
    }
    let deps = crate::wiring::deps(settings, crate::config_path().as_deref()).await?;
    let r = nightshift_roles::discovery::run(&deps).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{} repositories, {} findings: {} new tickets, {} already filed, {} root-cause notes",
            r.repos,
            r.findings,
            r.created.len(),
            r.existing.len(),
            r.notes.len()
        );
        for id in &r.created {
            println!("  new  {id}");
        }
        for e in &r.errors {
            println!("  could not read: {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
