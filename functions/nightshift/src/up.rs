//! `nightshift up`: the API, the queue-driven roles and the scheduler in one
//! process. Ctrl-C or SIGTERM stops taking new work, lets each loop finish the
//! message in hand, and exits; the next start picks up where this one stopped.

use anyhow::Context;
use nightshift_core::settings::Settings;
use nightshift_roles::{Deps, runtime};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

pub async fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    let deps = crate::wiring::deps(settings, crate::config_path().as_deref()).await?;
    let addr = format!("{}:{}", deps.settings.host, deps.settings.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let shutdown = CancellationToken::new();
    let tasks = start(&deps, listener, shutdown.clone()).await?;
    wait_for_signal().await;
    eprintln!("stopping: finishing the work in hand (Ctrl-C again to stop at once)...");
    shutdown.cancel();
    let drain = async {
        for t in tasks {
            let _ = t.await;
        }
    };
    tokio::select! {
        _ = drain => {
            eprintln!("stopped cleanly");
            Ok(ExitCode::SUCCESS)
        }
        _ = wait_for_signal() => {
            // Whatever was in hand is redelivered after its visibility timeout.
            eprintln!("stopped at once; unfinished messages will be delivered again");
            Ok(ExitCode::from(130))
        }
    }
}

/// Starts the role loops and the API on `listener`; returns the tasks to await
/// after `shutdown`.
pub async fn start(
    deps: &Deps,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let local = listener.local_addr()?;
    let auth = crate::wiring::api_auth(&deps.settings, local.ip()).await?;
    let mut tasks = runtime::start(deps, shutdown.clone()).await?;
    let app = nightshift_api::router_with(deps.clone(), auth);
    tasks.push(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the API server failed");
        }
    }));
    eprintln!(
        "Nightshift is up: API on http://{local} (try /status, /openapi.json); data in {}",
        deps.settings.data_dir.display()
    );
    if deps.llm.is_none() {
        eprintln!(
            "No LLM is configured: tickets are triaged and planned by rules, and wait for a person's approval; building waits for an LLM."
        );
    }
    Ok(tasks)
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
