//! Builds the embedded adapters from settings, once.

use anyhow::Context;
use nightshift_agent::llm::{Router, RouterModels};
use nightshift_core::clock::SystemClock;
use nightshift_core::forge::Forge;
use nightshift_core::llm::Models;
use nightshift_core::ports::Secrets;
use nightshift_core::ports::Stores;
use nightshift_core::settings::SandboxMode;
use nightshift_core::settings::forge::ForgeKind;
use nightshift_core::settings::{LogFormat, Settings};
use nightshift_forge::GitHubForge;
use nightshift_local::{
    Bubblewrap, Db, EnvSecrets, FileLogSource, LocalForge, ProcessLauncher, SqliteQueue,
    SqliteStore,
};
use nightshift_roles::Deps;
use std::path::Path;
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

/// Every port on embedded backends under `settings.data_dir`. `config` is the
/// settings file in use, handed on to the workers this process launches.
pub async fn deps(mut settings: Settings, config: Option<&Path>) -> anyhow::Result<Deps> {
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
    // The child gets the data dir, the settings file, and the LLM keys its
    // providers name (its own tool subprocesses never see them); nothing else.
    let mut child_env = vec![("NIGHTSHIFT_DATA_DIR".to_string(), data_dir)];
    if let Some(path) = config.and_then(|p| p.canonicalize().ok()) {
        child_env.push((
            "NIGHTSHIFT_CONFIG".into(),
            path.to_string_lossy().into_owned(),
        ));
    }
    // Until GitHub App installation tokens land, a worker on the GitHub forge
    // gets the configured token too; it never reaches the agent's tools (their
    // environment is scrubbed) nor the checkout (git reads it from its own env).
    let mut secret_names: Vec<&String> = settings
        .llm
        .providers
        .iter()
        .filter_map(|p| p.api_key_secret.as_ref())
        .collect();
    if settings.forge.kind == ForgeKind::Github {
        secret_names.push(&settings.forge.github.token_secret);
    }
    for name in secret_names {
        let var = EnvSecrets::env_name(name);
        if let Ok(v) = std::env::var(&var) {
            child_env.push((var, v));
        }
    }
    let bwrap = || {
        Bubblewrap::find(
            vec![settings.data_dir.clone()],
            vec![settings.data_dir.join("secrets")],
        )
    };
    let sandbox = match settings.launcher.sandbox {
        SandboxMode::Auto => bwrap(),
        SandboxMode::Bubblewrap => Some(bwrap().context("launcher.sandbox = \"bubblewrap\" but bwrap is not installed (apt-get install bubblewrap)")?),
        SandboxMode::None => None,
    };
    let launcher =
        ProcessLauncher::new(command, settings.jobs_dir(), child_env)?.with_sandbox(sandbox);
    let secrets = EnvSecrets::new(Some(settings.data_dir.join("secrets")));
    let forge: Arc<dyn Forge> = match settings.forge.kind {
        ForgeKind::Local => Arc::new(LocalForge::new(
            db.clone(),
            settings.data_dir.join("forge"),
            nightshift_roles::builder::PROTECTED_BRANCHES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            clock.clone(),
        )),
        ForgeKind::Github => {
            let gh = settings.forge.github.clone();
            let token = secrets
                .get(&gh.token_secret)
                .await
                .context("the GitHub token")?;
            Arc::new(GitHubForge::new(gh, token).context("the GitHub forge")?)
        }
    };
    let llm: Option<Arc<dyn Models>> = if settings.llm.is_configured() {
        let router = Router::build(
            &settings.llm,
            &EnvSecrets::new(Some(settings.data_dir.join("secrets"))),
        )
        .await
        .context("the [llm] settings")?;
        Some(Arc::new(RouterModels(Arc::new(router))))
    } else {
        None
    };
    Ok(Deps {
        stores: Stores::from_one(Arc::new(SqliteStore::new(db))),
        queue,
        launcher: Arc::new(launcher),
        logs: Arc::new(FileLogSource::new(None)),
        forge,
        llm,
        secrets: Arc::new(EnvSecrets::new(Some(settings.data_dir.join("secrets")))),
        clock,
        settings: Arc::new(settings),
    })
}

/// The API's credentials from the Secrets port. Bound beyond loopback, the
/// API needs a token: refusing to start beats serving tickets to anyone.
pub async fn api_auth(
    settings: &Settings,
    ip: std::net::IpAddr,
) -> anyhow::Result<nightshift_api::ApiAuth> {
    use nightshift_core::ports::Secrets;
    let secrets = EnvSecrets::new(Some(settings.data_dir.join("secrets")));
    let token = secrets.get(&settings.api.token_secret).await.ok();
    let webhook_secret = secrets.get(&settings.api.webhook_secret).await.ok();
    if token.is_none() && !ip.is_loopback() {
        anyhow::bail!(
            "the API would listen on {ip} without a token: set {} (or the file secrets/{}) to the bearer token callers must send, or bind to 127.0.0.1",
            EnvSecrets::env_name(&settings.api.token_secret),
            settings.api.token_secret
        );
    }
    Ok(nightshift_api::ApiAuth {
        token,
        webhook_secret,
    })
}
