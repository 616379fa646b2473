//! The janitor: once a week per repository, with no LLM needed, it lists the
//! outdated dependencies (Cargo: the versions crates.io offers; npm: `npm
//! outdated`), then updates them one at a time — update, run the tests, keep
//! the commit when they pass, revert when they fail, and say why — respecting
//! a minimum release age (security fixes do not wait) and an ignore list. It
//! opens one pull request whose body tables what was updated, skipped and
//! reverted. With an LLM configured, each reverted update becomes a ticket
//! for the builder to fix the breaking change.
//!
//! It runs as a job in the sandbox (it runs the tests): [`schedule`] creates
//! and launches one job per repository (idempotent per day); the worker calls
//! [`run`].
//!
//! # Layout
//! - [`cargo`]: manifests, lock files, crates.io's versions, `cargo update --precise`.
//! - [`npm`]: `npm outdated --json`, the registry's publish times, `npm install`.

pub mod cargo;
pub mod npm;
mod report;

pub use report::{JanitorReport, Line, pr_body};

use crate::{Deps, RoleResult};
use nightshift_agent::git::GitWorkspace;
use nightshift_agent::tools::{Toolbox, ToolboxConfig, Workspace};
use nightshift_core::Timestamp;
use nightshift_core::audit::NewAuditEvent;
use nightshift_core::forge::NewPullRequest;
use nightshift_core::job::{Job, JobKind, JobOutcome, JobState};
use nightshift_core::ticket::Priority;
use semver::Version;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// One release and when it was published.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub version: Version,
    pub at: Timestamp,
}

/// A package with newer releases than the one locked.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub ecosystem: &'static str,
    pub package: String,
    pub current: String,
    /// The newest release the manifest's requirement allows, if any.
    pub compatible: Option<String>,
    /// Newer releases (not yanked, not pre-releases).
    pub releases: Vec<Published>,
    /// The requirement as written (Cargo).
    pub requirement: Option<String>,
    /// Why its releases could not be listed.
    pub error: Option<String>,
}

impl Candidate {
    fn unverified(ecosystem: &'static str, package: &str, current: &str, error: String) -> Self {
        Self {
            ecosystem,
            package: package.into(),
            current: current.into(),
            compatible: None,
            releases: Vec::new(),
            requirement: None,
            error: Some(error),
        }
    }
}

/// What to update a candidate to, or why not: the newest release at least
/// `min_age` old; a security fix (the current version has a vulnerability)
/// takes the newest release whatever its age.
pub fn choose(
    c: &Candidate,
    now: Timestamp,
    min_age: chrono::Duration,
    security: bool,
) -> Result<Version, String> {
    if let Some(e) = &c.error {
        return Err(format!("could not list its releases: {e}"));
    }
    let newest = c
        .releases
        .iter()
        .max_by(|a, b| a.version.cmp(&b.version))
        .ok_or("no newer release")?;
    if security {
        return Ok(newest.version.clone());
    }
    match c
        .releases
        .iter()
        .filter(|p| now - p.at >= min_age)
        .max_by(|a, b| a.version.cmp(&b.version))
    {
        Some(p) => Ok(p.version.clone()),
        None => Err(format!(
            "{} was released {} day(s) ago; the minimum age is {} days",
            newest.version,
            (now - newest.at).num_days(),
            min_age.num_days()
        )),
    }
}

pub(crate) fn slug(repo: &str) -> String {
    repo.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The janitor job of `repo` for the day of `now`.
pub fn job_id(repo: &str, now: Timestamp) -> String {
    format!("janitor-{}-{}", slug(repo), now.format("%Y%m%d"))
}

/// The weekly run: a janitor job per configured repository, created once a
/// day at most and launched.
pub async fn schedule(deps: &Deps) -> RoleResult<Vec<String>> {
    let mut launched = Vec::new();
    for repo in &deps.settings.janitor.repos {
        let now = deps.now();
        let d = &deps.settings.dispatcher;
        let mut job = Job::new(
            job_id(repo, now),
            None,
            JobKind::Janitor,
            Priority::Low,
            d.max_attempts,
            Some(now + chrono::Duration::seconds(d.job_deadline_secs as i64)),
            now,
        );
        job.payload = serde_json::json!({ "repo": repo });
        let (job, _) = deps.stores.jobs.create_job(&job).await?;
        if job.state == JobState::Queued && job.launched_attempt != Some(job.attempt) {
            crate::dispatcher::launch(deps, &job).await?;
            launched.push(job.id);
        }
    }
    Ok(launched)
}

/// The packages whose locked version has a known vulnerability (from the
/// discovery loop's advisory database, when one is configured).
fn vulnerable(deps: &Deps, checkout: &Path) -> BTreeSet<(String, String)> {
    use nightshift_analysis::deps::{AdvisoryDb, DepKind, audit, parse_lockfile};
    let Some(dir) = &deps.settings.discovery.advisory_db else {
        return BTreeSet::new();
    };
    let Ok(db) = AdvisoryDb::load(dir) else {
        return BTreeSet::new();
    };
    let mut out = BTreeSet::new();
    for lock in ["Cargo.lock", "package-lock.json"] {
        if let Ok(pkgs) = parse_lockfile(&checkout.join(lock)) {
            for f in audit(&pkgs, &db)
                .into_iter()
                .filter(|f| f.kind == DepKind::Vulnerability)
            {
                out.insert((f.package, f.version));
            }
        }
    }
    out
}

/// Runs the janitor job `job` (payload `{"repo": ...}`) in `workdir`.
pub async fn run(deps: &Deps, job: &Job, workdir: &Path) -> RoleResult<JobOutcome> {
    let Some(repo) = job.payload["repo"].as_str().map(str::to_string) else {
        return Ok(JobOutcome::failed(
            "a janitor job needs {\"repo\": ...} in its payload",
            0,
        ));
    };
    let access = match deps.forge.access(&repo).await {
        Ok(a) => a,
        Err(e) => return Ok(JobOutcome::failed(format!("cannot reach {repo}: {e}"), 0)),
    };
    let checkout = workdir.join("repo");
    let git = match GitWorkspace::clone(&access, &checkout).await {
        Ok(g) => g,
        Err(e) => return Ok(JobOutcome::failed(format!("clone failed: {e}"), 0)),
    };
    let branch = format!("nightshift/janitor-{}", deps.now().format("%Y-%m-%d"));
    if let Err(e) = git.create_branch(&branch).await {
        return Ok(JobOutcome::failed(
            format!("cannot create {branch}: {e}"),
            0,
        ));
    }
    let toolbox = Toolbox::new(
        Workspace::new(&checkout)
            .map_err(|e| nightshift_core::StoreError::backend("workspace", e))?,
        ToolboxConfig::default(),
    );
    let npm_project =
        checkout.join("package.json").is_file() && checkout.join("package-lock.json").is_file();
    if npm_project
        && let Err(e) = npm::install_locked(&checkout, &deps.settings.janitor.npm_registry).await
    {
        return Ok(JobOutcome::failed(
            format!("npm ci failed before any update: {e}"),
            0,
        ));
    }
    let baseline = toolbox.run_tests().await;
    if !baseline.passed {
        return Ok(JobOutcome::failed(
            format!(
                "the tests fail before any update (`{}`), so no update can be judged",
                baseline.command
            ),
            0,
        ));
    }
    let settings = &deps.settings.janitor;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .user_agent("nightshift-janitor (https://github.com/nightshift)")
        .build()
        .map_err(|e| crate::RoleError::Agent(format!("http client: {e}")))?;
    let mut candidates = Vec::new();
    if checkout.join("Cargo.toml").is_file() && checkout.join("Cargo.lock").is_file() {
        match cargo::outdated(&client, &settings.crates_api, &checkout).await {
            Ok(c) => candidates.extend(c),
            Err(e) => {
                return Ok(JobOutcome::failed(
                    format!("cannot list Cargo's outdated dependencies: {e}"),
                    0,
                ));
            }
        }
    }
    if npm_project {
        match npm::outdated(&client, &settings.npm_registry, &checkout).await {
            Ok(c) => candidates.extend(c),
            Err(e) => {
                return Ok(JobOutcome::failed(
                    format!("cannot list npm's outdated dependencies: {e}"),
                    0,
                ));
            }
        }
    }
    let vulnerable = vulnerable(deps, &checkout);
    let min_age = chrono::Duration::days(i64::from(settings.min_release_age_days));
    let mut report = JanitorReport {
        repo: repo.clone(),
        ..Default::default()
    };
    let mut tried = 0usize;
    for c in candidates {
        let line = |to: &str, reason: String| Line {
            ecosystem: c.ecosystem.into(),
            package: c.package.clone(),
            from: c.current.clone(),
            to: to.into(),
            reason,
        };
        if settings.ignore.iter().any(|i| *i == c.package) {
            report.skipped.push(line("", "on the ignore list".into()));
            continue;
        }
        let security = vulnerable.contains(&(c.package.clone(), c.current.clone()));
        let to = match choose(&c, deps.now(), min_age, security) {
            Ok(v) => v,
            Err(why) => {
                report.skipped.push(line("", why));
                continue;
            }
        };
        if tried >= settings.max_updates {
            report.skipped.push(line(
                &to.to_string(),
                format!("over this run's limit of {} updates", settings.max_updates),
            ));
            continue;
        }
        tried += 1;
        let applied = match c.ecosystem {
            "cargo" => cargo::apply(&checkout, &c, &to).await,
            _ => npm::apply(&checkout, &settings.npm_registry, &c, &to).await,
        };
        let why_not = match applied {
            Err(e) => Some(format!("the update itself failed: {e}")),
            Ok(()) => {
                let tests = toolbox.run_tests().await;
                (!tests.passed).then(|| {
                    format!(
                        "the tests fail (`{}`): {}",
                        tests.command,
                        tests.tail(400).trim()
                    )
                })
            }
        };
        let reason = if security {
            "security fix"
        } else {
            "tests pass"
        };
        match why_not {
            None => {
                let msg = format!("chore(deps): update {} {} -> {to}", c.package, c.current);
                let files = [
                    "Cargo.toml",
                    "Cargo.lock",
                    "package.json",
                    "package-lock.json",
                ];
                match git.commit_paths(&files, &msg).await {
                    Ok(_) => report.updated.push(line(&to.to_string(), reason.into())),
                    Err(e) => {
                        let _ = git.discard_changes().await;
                        report
                            .reverted
                            .push(line(&to.to_string(), format!("could not commit: {e}")));
                    }
                }
            }
            Some(why) => {
                if let Err(e) = git.discard_changes().await {
                    return Ok(JobOutcome::failed(
                        format!("could not revert {}: {e}", c.package),
                        0,
                    ));
                }
                // node_modules is not in git: put back what the lock file says.
                if c.ecosystem == "npm"
                    && let Err(e) = npm::install_locked(&checkout, &settings.npm_registry).await
                {
                    return Ok(JobOutcome::failed(
                        format!("could not reinstall after reverting {}: {e}", c.package),
                        0,
                    ));
                }
                report.reverted.push(line(&to.to_string(), why));
            }
        }
    }
    if !report.updated.is_empty() {
        let protected: Vec<String> = crate::builder::PROTECTED_BRANCHES
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Err(e) = git.push(&branch, &protected).await {
            return Ok(JobOutcome::failed(format!("push failed: {e}"), 0));
        }
        match deps
            .forge
            .open_pr(&NewPullRequest {
                repo: repo.clone(),
                title: format!(
                    "Dependency updates, week of {}",
                    deps.now().format("%Y-%m-%d")
                ),
                body: pr_body(&report),
                head: branch.clone(),
                base: access.default_branch.clone(),
                ticket_id: None,
            })
            .await
        {
            Ok(pr) => report.pr = Some(pr.number),
            Err(e) => {
                return Ok(JobOutcome::failed(
                    format!("could not open the pull request: {e}"),
                    0,
                ));
            }
        }
    }
    if deps.llm.is_some() {
        for r in &report.reverted {
            if let Some(id) = report::file_ticket(deps, &repo, r).await? {
                report.tickets.push(id);
            }
        }
    }
    deps.stores
        .audit
        .append(
            NewAuditEvent::new("janitor", "janitor_run")
                .detail(serde_json::to_value(&report).unwrap_or_default()),
            deps.now(),
        )
        .await?;
    Ok(JobOutcome {
        state: JobState::Succeeded,
        reason: Some(format!(
            "{} updated, {} skipped, {} reverted{}",
            report.updated.len(),
            report.skipped.len(),
            report.reverted.len(),
            report
                .pr
                .map(|n| format!("; pull request #{n}"))
                .unwrap_or_default()
        )),
        tokens_used: 0,
    })
}

/// Runs a package manager in the checkout; its error output (cut) on failure.
pub(crate) async fn tool(checkout: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .current_dir(checkout)
        .output()
        .await
        .map_err(|e| format!("cannot run {program} (is it installed?): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr)
            .trim()
            .chars()
            .take(400)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn cand(releases: &[(&str, &str)]) -> Candidate {
        Candidate {
            ecosystem: "cargo",
            package: "alpha".into(),
            current: "1.0.0".into(),
            compatible: None,
            releases: releases
                .iter()
                .map(|(v, t)| Published {
                    version: Version::parse(v).unwrap(),
                    at: at(t),
                })
                .collect(),
            requirement: Some("1.0".into()),
            error: None,
        }
    }

    #[test]
    fn the_newest_release_old_enough_is_chosen_and_security_fixes_do_not_wait() {
        let now = at("2026-11-22T02:00:00Z");
        let three = chrono::Duration::days(3);
        let c = cand(&[
            ("1.1.0", "2026-10-01T00:00:00Z"),
            ("1.2.0", "2026-11-21T00:00:00Z"),
        ]);
        assert_eq!(choose(&c, now, three, false).unwrap().to_string(), "1.1.0");
        assert_eq!(choose(&c, now, three, true).unwrap().to_string(), "1.2.0");
        let young = cand(&[("1.2.0", "2026-11-21T00:00:00Z")]);
        let err = choose(&young, now, three, false).unwrap_err();
        assert!(
            err.contains("1.2.0 was released 1 day(s) ago; the minimum age is 3 days"),
            "{err}"
        );
    }
}
