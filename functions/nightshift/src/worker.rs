//! `nightshift worker --job ID`: claims one job, keeps its lease alive, runs it,
//! reports how it ended, and exits. SIGTERM (a stop) ends it cleanly.

use anyhow::Context;
use nightshift_core::job::{JobKind, JobState};
use nightshift_core::settings::Settings;
use std::process::ExitCode;

pub async fn run(settings: Settings, job_id: &str) -> anyhow::Result<ExitCode> {
    // On Fargate the task definition names the table: the AWS adapters, with
    // the secrets ECS injected into the environment. Locally, the data dir.
    let deps = if std::env::var_os("TABLE_NAME").is_some() {
        nightshift_lambda::wiring::aws_deps_with(
            nightshift_lambda::wiring::SecretsFrom::Environment,
            nightshift_lambda::wiring::Needs::NOTHING
                .with_forge()
                .with_models(),
        )
        .await?
        .0
    } else {
        crate::wiring::deps(settings, crate::config_path().as_deref()).await?
    };
    let owner = format!("worker-{}", std::process::id());
    let lease_len = deps.settings.dispatcher.lease();
    let (job, lease) = match deps
        .stores
        .jobs
        .claim_job(job_id, &owner, lease_len, deps.now())
        .await
    {
        Ok(claimed) => claimed,
        Err(e) if e.is_conflict() => {
            eprintln!("job {job_id} is not waiting for a worker: {e}");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e).context("claim"),
    };
    tracing::info!(
        job_id,
        kind = job.kind.as_str(),
        attempt = job.attempt,
        "job claimed"
    );
    let beat = {
        let deps = deps.clone();
        let mut lease = lease.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease_len / 3).await;
                match deps
                    .stores
                    .jobs
                    .heartbeat(&lease, lease_len, deps.now())
                    .await
                {
                    Ok(l) => lease = l,
                    Err(e) => {
                        tracing::error!(error = %e, "lease lost; stopping");
                        std::process::exit(3);
                    }
                }
            }
        })
    };
    // SIGTERM (a Fargate stop, the reaper) ends the session cleanly: what was
    // done is recorded as the job's outcome.
    let stop = async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
        }
    };
    let workdir = std::env::current_dir().context("the sandbox directory")?;
    let outcome = match job.kind {
        JobKind::Build | JobKind::AddressReview => {
            nightshift_roles::builder::run(&deps, &job, &workdir, stop).await?
        }
        JobKind::Review => nightshift_roles::reviewer::run(&deps, &job, &workdir).await?,
        JobKind::Janitor => nightshift_roles::janitor::run(&deps, &job, &workdir).await?,
    };
    beat.abort();
    let done = deps
        .stores
        .jobs
        .complete_job(&lease, &outcome, deps.now())
        .await
        .context("complete")?;
    nightshift_roles::jobs::on_job_finished(&deps, &done).await?;
    eprintln!(
        "job {job_id}: {}",
        done.reason.as_deref().unwrap_or(done.state.as_str())
    );
    Ok(if done.state == JobState::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
