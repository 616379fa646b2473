//! The analyzers as commands: `logs mine`, `logs cluster`, `deps audit`,
//! `coverage rank`, `discover`, and their benchmarks.

use anyhow::Context;
use clap::Subcommand;
use nightshift_analysis::{coverage, deps, logs};
use nightshift_core::settings::Settings;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum LogsCmd {
    /// Mine log files and print their templates, most frequent first.
    Mine {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print at most this many templates.
        #[arg(long, default_value_t = 50)]
        top: usize,
    },
    /// Cluster one message per line; write `line,template_id,template` rows in input order.
    Cluster {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
    },
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn read_lines(path: &PathBuf) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn logs_cmd(cmd: LogsCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        LogsCmd::Mine { files, top } => {
            let mut miner = logs::LogMiner::new(logs::MinerConfig::default());
            let mut total = 0u64;
            for f in &files {
                for line in read_lines(f)?.lines().filter(|l| !l.trim().is_empty()) {
                    total += 1;
                    miner.add_at(line, total as i64);
                }
            }
            let mut ts: Vec<&logs::Template> = miner.templates().iter().collect();
            ts.sort_by(|a, b| b.count.cmp(&a.count).then(a.id.cmp(&b.id)));
            let mut out = std::io::stdout().lock();
            writeln!(out, "{total} lines, {} templates", ts.len())?;
            for t in ts.into_iter().take(top) {
                let err = if logs::looks_like_error(&t.text) {
                    " [error]"
                } else {
                    ""
                };
                writeln!(out, "{:>8}  #{:<5} {}{err}", t.count, t.id, t.text)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        LogsCmd::Cluster { input, output } => {
            let text = read_lines(&input)?;
            let mut miner = logs::LogMiner::new(logs::MinerConfig::default());
            let ids: Vec<usize> = text.lines().map(|l| miner.add(l)).collect();
            let mut w = std::io::BufWriter::new(
                std::fs::File::create(&output)
                    .with_context(|| format!("cannot write {}", output.display()))?,
            );
            writeln!(w, "line,template_id,template")?;
            for (i, id) in ids.iter().enumerate() {
                // The cluster a line joined may have merged since: report where it ended up.
                let t = miner.template(*id);
                writeln!(w, "{},{},{}", i + 1, t.id, csv_field(&t.text))?;
            }
            w.flush()?;
            eprintln!(
                "{} lines, {} templates -> {}",
                ids.len(),
                miner.templates().len(),
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(Subcommand)]
pub enum DepsCmd {
    /// Check a lock file against an advisory database. Exit 1 when a
    /// vulnerability is found, 0 when none, 2 on error.
    Audit {
        lockfile: PathBuf,
        /// RustSec advisory-db layout and/or OSV JSON files.
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub fn deps_cmd(cmd: DepsCmd) -> ExitCode {
    let DepsCmd::Audit { lockfile, db, json } = cmd;
    let result = (|| -> Result<Vec<deps::DepFinding>, deps::DepsError> {
        let pkgs = deps::parse_lockfile(&lockfile)?;
        let db = deps::AdvisoryDb::load(&db)?;
        Ok(deps::audit(&pkgs, &db))
    })();
    let findings = match result {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if json {
        match serde_json::to_string_pretty(&findings) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else if findings.is_empty() {
        println!("no advisories apply to {}", lockfile.display());
    } else {
        for f in &findings {
            println!(
                "{:<14} {:<18} {} {}  {}",
                format!("{:?}", f.kind).to_lowercase(),
                f.id,
                f.package,
                f.version,
                f.title
            );
        }
    }
    ExitCode::from(deps::exit_code(&findings))
}

#[derive(Subcommand)]
pub enum CoverageCmd {
    /// Rank files by uncovered lines weighted by churn (git log in --repo).
    Rank {
        reports: Vec<PathBuf>,
        /// The repository checkout, for churn and relative paths.
        #[arg(long)]
        repo: Option<PathBuf>,
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
}

pub fn coverage_cmd(cmd: CoverageCmd, settings: &Settings) -> anyhow::Result<ExitCode> {
    let CoverageCmd::Rank { reports, repo, top } = cmd;
    let mut files = Vec::new();
    for r in &reports {
        let text = read_lines(r)?;
        files.extend(
            coverage::parse_report(&text).with_context(|| format!("reading {}", r.display()))?,
        );
    }
    let mut errors = Vec::new();
    let churn = match &repo {
        Some(root) => {
            coverage::relativize(&mut files, &root.canonicalize()?.to_string_lossy());
            nightshift_roles::discovery::churn(root, settings.discovery.churn_days, &mut errors)
        }
        None => Default::default(),
    };
    for e in errors {
        eprintln!("warning: {e}");
    }
    println!(
        "{:>8} {:>7} {:>7} {:>6}  FILE (uncovered lines)",
        "score", "uncov", "cover%", "churn"
    );
    for r in coverage::rank(&files, &churn).into_iter().take(top) {
        let spans = coverage::format_ranges(&coverage::ranges(&r.file.uncovered));
        println!(
            "{:>8} {:>7} {:>6.1}% {:>6}  {} ({spans})",
            r.score,
            r.file.uncovered.len(),
            r.file.percent(),
            r.churn,
            r.file.path
        );
    }
    Ok(ExitCode::SUCCESS)
}
