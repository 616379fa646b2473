//! `nightshift report`, `night-shift` and `janitor`: the nightly report, the
//! night shift's batch approval, and the weekly janitor on demand.

use nightshift_core::settings::Settings;
use std::process::ExitCode;

pub async fn report(
    settings: Settings,
    hours: u32,
    json: bool,
    send: bool,
) -> anyhow::Result<ExitCode> {
    let deps = crate::wiring::deps(settings, crate::config_path().as_deref()).await?;
    if send {
        // As the 08:00 run does it: the last 24 hours, recorded, and sent to Slack.
        let sent = nightshift_roles::report::run(&deps).await?;
        println!("{}", sent.markdown);
        return Ok(match sent.slack {
            None => {
                eprintln!(
                    "not sent: set [report] slack_webhook_secret to a secret holding the webhook URL"
                );
                ExitCode::from(2)
            }
            Some(Ok(())) => {
                eprintln!("sent to Slack");
                ExitCode::SUCCESS
            }
            Some(Err(e)) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        });
    }
    anyhow::ensure!(
        (1..=24 * 90).contains(&hours),
        "--hours must be between 1 and 2160"
    );
    let until = deps.now();
    let r = nightshift_roles::report::build(
        &deps,
        until - chrono::Duration::hours(i64::from(hours)),
        until,
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("{}", r.to_markdown());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn night_shift(
    settings: Settings,
    label: Option<String>,
    all: bool,
    repo: Option<String>,
) -> anyhow::Result<ExitCode> {
    let deps = crate::wiring::deps(settings, crate::config_path().as_deref()).await?;
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let batch = nightshift_roles::approvals::Batch { label, all, repo };
    let r =
        nightshift_roles::approvals::approve_batch(&deps, &batch, &format!("cli:{user}")).await?;
    for t in &r.approved {
        println!("approved {t}");
    }
    for s in &r.skipped {
        println!("skipped {s}");
    }
    println!(
        "{} spec(s) approved; the dispatcher takes them in priority order, at most {} at a time",
        r.approved.len(),
        deps.settings.dispatcher.max_concurrent_jobs
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn janitor(settings: Settings, repo: Option<String>) -> anyhow::Result<ExitCode> {
    let mut settings = settings;
    if let Some(r) = repo {
        settings.janitor.repos = vec![r];
    }
    anyhow::ensure!(
        !settings.janitor.repos.is_empty(),
        "no repository: list them under [janitor] repos, or pass --repo owner/name"
    );
    let deps = crate::wiring::deps(settings, crate::config_path().as_deref()).await?;
    for id in nightshift_roles::janitor::schedule(&deps).await? {
        println!("launched {id}");
    }
    Ok(ExitCode::SUCCESS)
}
