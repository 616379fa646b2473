//! `nightshift approvals`, `approve`, `reject`: the approval gates from the
//! command line, on the same data directory as `up`; and `gates registry`,
//! which asks the real registries whether packages exist.

use clap::Subcommand;
use nightshift_core::approval::{Approval, Decision};
use nightshift_core::settings::Settings;
use std::process::ExitCode;

/// The person deciding: `cli:<login>` from the environment.
fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

fn show(a: &Approval) {
    println!(
        "{:<40} {:<6} {:<9} ticket {} (v{}), asked by {} at {}{}",
        a.id,
        a.kind.as_str(),
        a.status.as_str(),
        a.ticket_id,
        a.ticket_version,
        a.requested_by,
        a.requested_at.format("%Y-%m-%d %H:%M"),
        a.decided_by
            .as_ref()
            .map(|b| format!(", decided by {b}"))
            .unwrap_or_default()
    );
}

pub async fn list(settings: Settings, json: bool) -> anyhow::Result<ExitCode> {
    let deps = crate::wiring::deps(settings, crate::config_path().as_deref()).await?;
    let pending = deps.stores.approvals.pending_approvals().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&pending)?);
    } else if pending.is_empty() {
        println!("nothing waits for approval");
    } else {
        for a in &pending {
            show(a);
            if let Ok(t) = deps.stores.tickets.get_ticket(&a.ticket_id).await {
                println!("    {}", t.title);
                if let (Some(s), nightshift_core::approval::ApprovalKind::Spec) = (&t.spec, a.kind)
                {
                    println!(
                        "    spec (confidence {}/10, by {}): {}",
                        s.confidence, s.by, s.approach
                    );
                }
                if let (Some(v), nightshift_core::approval::ApprovalKind::Merge) =
                    (&t.review, a.kind)
                {
                    println!(
                        "    PR #{}: score {}, gates {}",
                        v.pr,
                        v.score.map_or("none".into(), |s| s.to_string()),
                        v.gates
                            .iter()
                            .map(|g| format!("{} {}", g.gate, g.outcome.as_str()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Decides approval `id`, or the pending approval of ticket `id`.
pub async fn decide(
    settings: Settings,
    id: &str,
    decision: Decision,
    reason: Option<String>,
) -> anyhow::Result<ExitCode> {
    let deps = crate::wiring::deps(settings, crate::config_path().as_deref()).await?;
    let approval_id = match deps.stores.approvals.get_approval(id).await {
        Ok(a) => a.id,
        Err(e) if e.is_not_found() => {
            nightshift_roles::approvals::pending_for_ticket(&deps, id)
                .await
                .map_err(|e| {
                    anyhow::anyhow!("{id} is neither an approval nor a ticket waiting for one: {e}")
                })?
                .id
        }
        Err(e) => return Err(e.into()),
    };
    match nightshift_roles::approvals::decide(
        &deps,
        &approval_id,
        decision,
        &actor(),
        reason.as_deref(),
    )
    .await
    {
        Ok(done) => {
            show(&done.approval);
            println!(
                "ticket {} is now {}{}",
                done.ticket.id,
                done.ticket.state,
                done.ticket
                    .state_reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(
                if matches!(&e, nightshift_roles::RoleError::Store(s) if s.is_conflict()) {
                    3
                } else {
                    1
                },
            ))
        }
    }
}

#[derive(Subcommand)]
pub enum GatesCmd {
    /// Ask the registries (crates.io, PyPI, npm, or those in [governance.registries])
    /// whether packages exist: `crates:serde pypi:requests npm:left-pad`.
    /// Exit 0 when all exist, 1 when one is missing, 2 when one could not be verified.
    Registry { packages: Vec<String> },
}

pub async fn gates(settings: Settings, cmd: GatesCmd) -> anyhow::Result<ExitCode> {
    use nightshift_gates::{Dependency, Ecosystem, Existence, RegistryChecker};
    let GatesCmd::Registry { packages } = cmd;
    let checker = RegistryChecker::new(nightshift_roles::reviewer::registry_config(
        &settings.governance.registries,
    ));
    let mut worst = 0u8;
    for p in &packages {
        let Some((eco, name)) = p.split_once(':') else {
            anyhow::bail!("`{p}`: write ecosystem:name, with crates, pypi or npm");
        };
        let ecosystem = match eco {
            "crates" | "cargo" => Ecosystem::Crates,
            "pypi" | "pip" => Ecosystem::PyPI,
            "npm" => Ecosystem::Npm,
            other => anyhow::bail!("`{other}`: use crates, pypi or npm"),
        };
        let dep = Dependency {
            ecosystem,
            name: name.to_string(),
            manifest: String::new(),
        };
        match checker.check(&dep).await {
            Existence::Exists => println!("{p}: exists"),
            Existence::Missing => {
                println!("{p}: DOES NOT EXIST");
                worst = worst.max(1);
            }
            Existence::Unverified(why) => {
                println!("{p}: could not verify ({why})");
                worst = worst.max(2);
            }
        }
    }
    Ok(ExitCode::from(match worst {
        0 => 0,
        1 => 1,
        _ => 2,
    }))
}
