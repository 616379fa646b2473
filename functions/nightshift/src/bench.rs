//! `nightshift bench ...`: commands that measure and print figures. Never
//! timed tests: these are for people, and for the closing notes.

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Claim throughput and p50/p99 claim latency on the SQLite store.
    Queue {
        #[arg(long, default_value_t = 10_000)]
        items: usize,
        #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8, 64])]
        claimers: Vec<usize>,
    },
    /// Log miner grouping accuracy and lines/s on the LogHub samples.
    Logs {
        #[arg(long, default_value = "../shared/data/loghub")]
        data: PathBuf,
        /// How many times each dataset is fed for the throughput figure.
        #[arg(long, default_value_t = 500)]
        repetitions: usize,
    },
    /// The dependency watchdog against `cargo audit` on the same lock files.
    Deps {
        #[arg(long, default_value = "../shared/data/rustsec-advisory-db")]
        db: PathBuf,
        /// The cargo-audit binary (`cargo install cargo-audit --locked`).
        #[arg(long, default_value = "cargo-audit")]
        cargo_audit: PathBuf,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Also audit a synthetic lock file with releases on both sides of every advisory bound.
        #[arg(long)]
        boundary: bool,
        #[arg(required = true)]
        lockfiles: Vec<PathBuf>,
    },
}

pub async fn run(cmd: BenchCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCmd::Queue { items, claimers } => {
            let dir = tempfile::tempdir()?;
            println!(
                "claims on the SQLite store (WAL), {items} queued jobs, each claimed then completed"
            );
            println!(
                "{:>9} {:>12} {:>10} {:>10} {:>10}",
                "claimers", "claims/s", "p50 ms", "p99 ms", "max ms"
            );
            for c in claimers {
                let r = nightshift_local::bench::claims(dir.path(), items, c).await?;
                anyhow::ensure!(
                    r.left_active == 0 && r.latencies.len() == items,
                    "bench lost or doubled work"
                );
                let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
                println!(
                    "{:>9} {:>12.0} {:>10.3} {:>10.3} {:>10.3}",
                    c,
                    r.claims_per_sec(),
                    ms(r.percentile(0.50)),
                    ms(r.percentile(0.99)),
                    ms(r.percentile(1.0))
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        BenchCmd::Logs { data, repetitions } => {
            anyhow::ensure!(
                data.is_dir(),
                "{} not found: the LogHub samples live in ../shared/data/loghub (pass --data)",
                data.display()
            );
            println!(
                "log miner, one configuration; throughput feeds each dataset {repetitions} times through a warm miner"
            );
            println!(
                "{:<10} {:>9} {:>7} {:>10} {:>14}",
                "dataset", "accuracy", "Drain", "templates", "lines/s"
            );
            for r in nightshift_analysis::logs::bench_loghub(&data, repetitions)? {
                println!(
                    "{:<10} {:>9.4} {:>7} {:>10} {:>14.0}",
                    r.name,
                    r.accuracy,
                    r.drain_reference()
                        .map(|d| format!("{d:.4}"))
                        .unwrap_or_default(),
                    r.templates,
                    r.lines_per_sec()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        BenchCmd::Deps {
            db,
            cargo_audit,
            runs,
            boundary,
            mut lockfiles,
        } => {
            use nightshift_analysis::deps::bench;
            let tmp = tempfile::tempdir()?;
            if boundary {
                let p = tmp.path().join("Cargo.lock");
                std::fs::write(&p, bench::boundary_lockfile(&db)?)?;
                lockfiles.push(p);
            }
            let reports = bench::compare_with_cargo_audit(&lockfiles, &db, &cargo_audit, runs)?;
            println!(
                "dependency audit vs cargo-audit, median of {runs} runs each (ours: load db + parse + audit, in process)"
            );
            println!(
                "{:<40} {:>8} {:>22} {:>10} {:>12} {:>7}",
                "lock file",
                "packages",
                "agree vuln/unm/unsound",
                "ours ms",
                "cargo-audit",
                "ratio"
            );
            for r in &reports {
                let agree: Vec<String> = r
                    .kinds
                    .iter()
                    .map(|k| format!("{}/{}", k.both, k.ours.max(k.cargo_audit)))
                    .collect();
                let name = r.lockfile.to_string_lossy();
                let short: String = name
                    .chars()
                    .rev()
                    .take(40)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                println!(
                    "{short:<40} {:>8} {:>22} {:>10.1} {:>12.1} {:>7.2}",
                    r.packages,
                    agree.join(" "),
                    r.ours_median.as_secs_f64() * 1e3,
                    r.cargo_audit_median.as_secs_f64() * 1e3,
                    r.cargo_audit_median.as_secs_f64() / r.ours_median.as_secs_f64().max(1e-9)
                );
                for k in &r.kinds {
                    for only in &k.only_ours {
                        println!("    only ours:        {only}");
                    }
                    for only in &k.only_cargo_audit {
                        println!("    only cargo-audit: {only}");
                    }
                }
            }
            for k in bench::overall(&reports) {
                println!(
                    "overall {:<13} agreement {:.1}% ({} of {})",
                    k.kind.as_str(),
                    k.agreement * 100.0,
                    k.both,
                    k.ours.max(k.cargo_audit)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
