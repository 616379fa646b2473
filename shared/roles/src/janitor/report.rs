//! What a run did: the lines of the pull request's table (and the audit
//! record), the table itself, and the tickets filed for reverted updates.

use super::slug;
use crate::{Deps, RoleResult};
use nightshift_core::ticket::{NewTicket, Priority, Source, TicketContext, TicketType};
use serde::Serialize;

/// One line of the pull request's table and the audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub ecosystem: String,
    pub package: String,
    pub from: String,
    pub to: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JanitorReport {
    pub repo: String,
    pub updated: Vec<Line>,
    pub skipped: Vec<Line>,
    pub reverted: Vec<Line>,
    pub pr: Option<u64>,
    /// Tickets filed for reverted updates (with an LLM configured).
    pub tickets: Vec<String>,
}

/// The pull request's body: a table of every package and what happened.
pub fn pr_body(r: &JanitorReport) -> String {
    let mut b = String::from(
        "The weekly dependency run: each package was updated alone and kept only if the tests passed.\n\n\
         | package | from | to | result | why |\n|---|---|---|---|---|\n",
    );
    for (what, lines) in [
        ("updated", &r.updated),
        ("reverted", &r.reverted),
        ("skipped", &r.skipped),
    ] {
        for l in lines {
            let why: String = l.reason.chars().take(300).collect();
            b.push_str(&format!(
                "| {} ({}) | {} | {} | {what} | {} |\n",
                l.package,
                l.ecosystem,
                l.from,
                if l.to.is_empty() { "-" } else { &l.to },
                nightshift_core::markdown::cell(&why)
            ));
        }
    }
    b
}

/// A reverted update becomes a ticket for the builder (once per package and
/// version: the id is derived from both).
pub(super) async fn file_ticket(deps: &Deps, repo: &str, r: &Line) -> RoleResult<Option<String>> {
    let id = format!("j-{}-{}-{}", slug(repo), slug(&r.package), slug(&r.to));
    let input = NewTicket {
        id: Some(id.clone()),
        kind: TicketType::Chore,
        priority: Some(Priority::Low),
        title: Some(format!("Update {} from {} to {}", r.package, r.from, r.to)),
        description: Some(format!(
            "The janitor's update of {} ({}) from {} to {} was reverted because {}",
            r.package, r.ecosystem, r.from, r.to, r.reason
        )),
        context: TicketContext {
            repo: repo.into(),
            filepaths: vec![match r.ecosystem.as_str() {
                "cargo" => "Cargo.toml".into(),
                _ => "package.json".into(),
            }],
            error_logs: vec![r.reason.clone()],
        },
        acceptance_criteria: vec![format!("{} is at {} and the tests pass", r.package, r.to)],
        source: Some(Source::Janitor),
        source_ref: None,
        labels: vec!["dependencies".into()],
        budget: None,
    };
    match crate::intake::submit(deps, input, Source::Janitor, "janitor").await {
        Ok((t, _)) => Ok(Some(t.id)),
        Err(crate::RoleError::Store(e)) if e.is_conflict() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_tables_every_package() {
        let l = |p: &str, to: &str, why: &str| Line {
            ecosystem: "cargo".into(),
            package: p.into(),
            from: "1.0.0".into(),
            to: to.into(),
            reason: why.into(),
        };
        let r = JanitorReport {
            repo: "acme/app".into(),
            updated: vec![l("alpha", "1.1.0", "tests pass")],
            skipped: vec![l("delta", "", "on the ignore list")],
            reverted: vec![l("gamma", "2.0.0", "the tests fail | badly")],
            ..Default::default()
        };
        let b = pr_body(&r);
        assert!(
            b.contains("| alpha (cargo) | 1.0.0 | 1.1.0 | updated | tests pass |"),
            "{b}"
        );
        assert!(
            b.contains("| gamma (cargo) | 1.0.0 | 2.0.0 | reverted | the tests fail \\| badly |"),
            "{b}"
        );
        assert!(
            b.contains("| delta (cargo) | 1.0.0 | - | skipped | on the ignore list |"),
            "{b}"
        );
    }
}
