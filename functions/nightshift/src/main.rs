//! The `nightshift` command: `up` runs every role, the API and the scheduler in
//! one process on embedded backends; the other commands work on the same data
//! directory directly, whether or not `up` is running.

mod analysis;
mod bench;
mod commands;
mod governance;
mod ops;
mod up;
mod wiring;
mod worker;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "nightshift",
    version,
    about = "An autonomous software factory: tickets in, reviewed pull requests out."
)]
struct Cli {
    /// Settings file (default: ./nightshift.toml if present). Env: NIGHTSHIFT_CONFIG.
    #[arg(long, global = true, env = "NIGHTSHIFT_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (SQLite file, job sandboxes). Overrides the settings.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the factory: API and dashboard on 127.0.0.1, every role, the scheduler.
    Up {
        #[arg(long)]
        port: Option<u16>,
        #[arg(long)]
        host: Option<String>,
    },
    /// Add, list and show tickets.
    #[command(subcommand)]
    Ticket(Box<commands::TicketCmd>),
    /// What the factory is doing, and what waits and why.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// The audit log.
    #[command(subcommand)]
    Audit(commands::AuditCmd),
    /// Dead letter queues.
    #[command(subcommand)]
    Dlq(commands::DlqCmd),
    /// Benchmarks that print figures.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// Log mining: templates by count, and per-line clustering.
    #[command(subcommand)]
    Logs(analysis::LogsCmd),
    /// The dependency watchdog.
    #[command(subcommand)]
    Deps(analysis::DepsCmd),
    /// The coverage analyst.
    #[command(subcommand)]
    Coverage(analysis::CoverageCmd),
    /// Run the discovery loop once over the configured repositories.
    Discover {
        #[arg(long)]
        json: bool,
    },
    /// Approvals waiting for a person.
    Approvals {
        #[arg(long)]
        json: bool,
    },
    /// Approve an approval (by its id, or the pending one of a ticket).
    Approve {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reject with a reason, which goes back to the role that asked.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// The nightly report (Markdown, or --json); --send runs the 08:00 job now.
    Report {
        #[arg(long, default_value_t = 24)]
        hours: u32,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        send: bool,
    },
    /// Night shift: approve the pending specs of the ready-for-robot queue at once.
    NightShift {
        /// Another label than the ready label.
        #[arg(long)]
        label: Option<String>,
        /// Every pending spec, whatever its labels.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        repo: Option<String>,
    },
    /// Run the janitor now (it runs Sundays at 02:00 UTC under `up`).
    Janitor {
        #[arg(long)]
        repo: Option<String>,
    },
    /// The deterministic gates' checks, by hand.
    #[command(subcommand)]
    Gates(governance::GatesCmd),
    /// Run one job to its end (started by the launcher).
    Worker {
        #[arg(long)]
        job: String,
    },
    /// Print the API's OpenAPI document.
    Openapi,
}

/// The settings file this process reads (explicit, or ./nightshift.toml).
static CONFIG: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();

pub fn config_path() -> Option<PathBuf> {
    CONFIG.get().cloned().flatten()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let file = cli.config.clone().or_else(|| {
        let p = PathBuf::from(nightshift_roles::config::DEFAULT_FILE);
        p.exists().then_some(p)
    });
    let _ = CONFIG.set(file);
    let mut settings = match nightshift_roles::config::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(d) = cli.data_dir {
        settings.data_dir = d;
    }
    let quiet = !matches!(cli.command, Command::Up { .. } | Command::Worker { .. });
    wiring::init_tracing(&settings, quiet);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = rt.block_on(async move {
        match cli.command {
            Command::Up { port, host } => {
                if let Some(p) = port {
                    settings.port = p;
                }
                if let Some(h) = host {
                    settings.host = h;
                }
                up::run(settings).await
            }
            Command::Ticket(cmd) => commands::ticket(settings, *cmd).await,
            Command::Status { json } => commands::status(settings, json).await,
            Command::Audit(cmd) => commands::audit(settings, cmd).await,
            Command::Dlq(cmd) => commands::dlq(settings, cmd).await,
            Command::Bench(cmd) => bench::run(cmd).await,
            Command::Logs(cmd) => analysis::logs_cmd(cmd),
            Command::Deps(cmd) => Ok(analysis::deps_cmd(cmd)),
            Command::Coverage(cmd) => analysis::coverage_cmd(cmd, &settings),
            Command::Discover { json } => commands::discover(settings, json).await,
            Command::Approvals { json } => governance::list(settings, json).await,
            Command::Approve { id, reason } => {
                governance::decide(
                    settings,
                    &id,
                    nightshift_core::approval::Decision::Approve,
                    reason,
                )
                .await
            }
            Command::Reject { id, reason } => {
                governance::decide(
                    settings,
                    &id,
                    nightshift_core::approval::Decision::Reject,
                    Some(reason),
                )
                .await
            }
            Command::Gates(cmd) => governance::gates(settings, cmd).await,
            Command::Report { hours, json, send } => ops::report(settings, hours, json, send).await,
            Command::NightShift { label, all, repo } => {
                ops::night_shift(settings, label, all, repo).await
            }
            Command::Janitor { repo } => ops::janitor(settings, repo).await,
            Command::Worker { job } => worker::run(settings, &job).await,
            Command::Openapi => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&nightshift_api::openapi())?
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
