//! Builds the embedded adapters from settings, once.

use anyhow::Context;
use nightshift_core::clock::SystemClock;
use nightshift_core::ports::Stores;
use nightshift_core::settings::{LogFormat, Settings};
use nightshift_local::{Db, FileLogSource, ProcessLauncher, SqliteQueue, SqliteStore};
use nightshift_roles::Deps;
use std::sync::Arc;

pub fn init_tracing(settings: &Settings, quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match settings.log_format {
        LogFormat::Json => fmt.json().try_init(),
        LogFormat::Pretty => fmt.compact().try_init(),
    };
}

/// Every port on embedded backends under `settings.data_dir`.
pub fn deps(mut settings: Settings) -> anyhow::Result<Deps> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    settings.data_dir = settings.data_dir.canonicalize().context("data directory")?;
    let db = Db::open(settings.db_path())
        .with_context(|| format!("cannot open {}", settings.db_path().display()))?;
    let clock = Arc::new(SystemClock);
    let queue = Arc::new(SqliteQueue::new(
        db.clone(),
        settings.queue.max_receives,
        clock.clone(),
    ));
    let data_dir = settings.data_dir.to_string_lossy().to_string();
    let command = if settings.launcher.command.is_empty() {
        let exe = std::env::current_exe()
            .context("cannot find this executable for the worker command")?;
        vec![
            exe.to_string_lossy().to_string(),
            "worker".into(),
            "--job".into(),
            "{job_id}".into(),
        ]
    } else {
        settings.launcher.command.clone()
    };
    // The child gets the data dir and nothing else from us: no secrets.
    let launcher = ProcessLauncher::new(
        command,
        settings.jobs_dir(),
        vec![("NIGHTSHIFT_DATA_DIR".into(), data_dir)],
    )?;
    Ok(Deps {
        stores: Stores::from_one(Arc::new(SqliteStore::new(db))),
        queue,
        launcher: Arc::new(launcher),
        logs: Arc::new(FileLogSource::new(None)),
        clock,
        settings: Arc::new(settings),
    })
}
