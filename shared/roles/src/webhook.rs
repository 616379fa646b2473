//! GitHub's webhook: what arrives, who sent it, and what it may do.
//!
//! Every delivery is checked before anything is read: the `X-Hub-Signature-256`
//! HMAC over the raw body, compared in constant time, then the delivery id,
//! taken once (a replayed delivery is dropped). Then:
//! - an issue labelled `ready-for-robot` becomes a ticket, if its author may
//!   write to the repository (an outsider's text never reaches a prompt);
//! - a `/nightshift approve` or `/nightshift reject <reason>` comment decides
//!   the ticket's pending approval, if the commenter may write.
//!
//! Everything else is acknowledged and ignored.

use crate::{Deps, RoleError, RoleResult, approvals, intake};
use hmac::{Hmac, Mac};
use nightshift_core::StoreError;
use nightshift_core::approval::Decision;
use nightshift_core::audit::NewAuditEvent;
use nightshift_core::ticket::{NewTicket, Source, TicketContext, TicketType};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use std::time::Duration;

/// How long a delivery id is remembered; GitHub's redeliveries keep their id.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under
/// `secret`. The comparison takes the same time wherever the bytes differ.
pub fn verify_signature(secret: &SecretString, body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// The `X-Hub-Signature-256` value GitHub sends for `body` under `secret`.
pub fn sign(secret: &SecretString, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What a delivery led to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum WebhookOutcome {
    Ignored {
        why: String,
    },
    Replayed,
    TicketCreated {
        ticket_id: String,
        created: bool,
    },
    Decided {
        ticket_id: String,
        approval_id: String,
        decision: String,
    },
    Refused {
        why: String,
    },
}

#[derive(Debug, Deserialize)]
struct User {
    login: String,
}

#[derive(Debug, Deserialize)]
struct Label {
    name: String,
}

#[derive(Debug, Deserialize)]
struct Issue {
    number: u64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    user: User,
    #[serde(default)]
    labels: Vec<Label>,
    /// Present when the issue is a pull request.
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Debug, Deserialize)]
struct Comment {
    body: String,
    user: User,
}

#[derive(Debug, Deserialize)]
struct IssuesEvent {
    action: String,
    issue: Issue,
    repository: Repository,
    #[serde(default)]
    sender: Option<User>,
}

#[derive(Debug, Deserialize)]
struct CommentEvent {
    action: String,
    issue: Issue,
    comment: Comment,
    repository: Repository,
}

/// The ticket id of a GitHub issue: derived, so the same issue is one ticket.
pub fn issue_ticket_id(repo: &str, number: u64) -> String {
    let slug: String = repo
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("gh-{slug}-{number}")
}

/// A `/nightshift` command in a comment: the first line that starts with it.
pub fn parse_command(body: &str) -> Option<(Decision, Option<String>)> {
    let clean = nightshift_agent::session::strip_hidden(body);
    for line in clean.lines() {
        let Some(rest) = line.trim().strip_prefix("/nightshift") else {
            continue;
        };
        let rest = rest.trim();
        let (verb, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let reason = reason.trim();
        return match verb {
            "approve" => Some((
                Decision::Approve,
                (!reason.is_empty()).then(|| reason.to_string()),
            )),
            "reject" => Some((Decision::Reject, Some(reason.to_string()))),
            _ => None,
        };
    }
    None
}

fn bad(message: impl Into<String>) -> RoleError {
    nightshift_core::ticket::InputError::new("body", message).into()
}

/// Handles one verified delivery (`event` is `X-GitHub-Event`).
pub async fn handle(
    deps: &Deps,
    event: &str,
    delivery: &str,
    body: &[u8],
) -> RoleResult<WebhookOutcome> {
    if delivery.is_empty() || delivery.len() > 100 {
        return Err(bad("X-GitHub-Delivery is missing or too long"));
    }
    let lock = format!("github-delivery:{delivery}");
    let owner = nightshift_core::new_id("dlv");
    match deps
        .stores
        .locks
        .acquire(&lock, &owner, REPLAY_WINDOW, deps.now())
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict { .. }) => return Ok(WebhookOutcome::Replayed),
        Err(e) => return Err(e.into()),
    }
    let outcome = match route(deps, event, body).await {
        Ok(o) => o,
        Err(e) => {
            // A delivery that failed on our side may come again (GitHub's
            // redelivery keeps the id): let it in. One refused for what it
            // says (bad input, a conflict) stays taken.
            if e.is_retryable() {
                let _ = deps.stores.locks.release(&lock, &owner).await;
            }
            return Err(e);
        }
    };
    let ev = NewAuditEvent::new("webhook", "github_delivery").detail(serde_json::json!({
        "event": event, "delivery": delivery, "outcome": outcome,
    }));
    let ev = match &outcome {
        WebhookOutcome::TicketCreated { ticket_id, .. }
        | WebhookOutcome::Decided { ticket_id, .. } => ev.ticket(ticket_id),
        _ => ev,
    };
    deps.stores.audit.append(ev, deps.now()).await?;
    Ok(outcome)
}

async fn route(deps: &Deps, event: &str, body: &[u8]) -> RoleResult<WebhookOutcome> {
    Ok(match event {
        "issues" => {
            let ev: IssuesEvent = serde_json::from_slice(body)
                .map_err(|e| bad(format!("not an issues event: {e}")))?;
            on_issue(deps, ev).await?
        }
        "issue_comment" => {
            let ev: CommentEvent = serde_json::from_slice(body)
                .map_err(|e| bad(format!("not an issue_comment event: {e}")))?;
            on_comment(deps, ev).await?
        }
        other => WebhookOutcome::Ignored {
            why: format!("`{other}` events are not used"),
        },
    })
}

async fn on_issue(deps: &Deps, ev: IssuesEvent) -> RoleResult<WebhookOutcome> {
    let label = &deps.settings.api.ready_label;
    if !matches!(ev.action.as_str(), "opened" | "labeled" | "reopened") {
        return Ok(WebhookOutcome::Ignored {
            why: format!("issue {}", ev.action),
        });
    }
    if ev.issue.pull_request.is_some() || !ev.issue.labels.iter().any(|l| &l.name == label) {
        return Ok(WebhookOutcome::Ignored {
            why: format!("not labelled {label}"),
        });
    }
    let repo = ev.repository.full_name;
    // The issue's text goes to the models: only a writer's.
    if !deps.forge.can_write(&repo, &ev.issue.user.login).await? {
        return Ok(WebhookOutcome::Refused {
            why: format!(
                "{} cannot write to {repo}; a maintainer may file the ticket in their own words",
                ev.issue.user.login
            ),
        });
    }
    let clean = |s: &str| {
        nightshift_agent::session::strip_hidden(s)
            .trim()
            .to_string()
    };
    let body = clean(ev.issue.body.as_deref().unwrap_or(""));
    let title = clean(&ev.issue.title);
    let labels: Vec<String> = ev.issue.labels.iter().map(|l| l.name.clone()).collect();
    let kind = if labels.iter().any(|l| l.eq_ignore_ascii_case("bug")) {
        TicketType::Bug
    } else if labels.iter().any(|l| l.eq_ignore_ascii_case("chore")) {
        TicketType::Chore
    } else {
        TicketType::Feature
    };
    // Checklist items are the acceptance criteria; without any, the title is.
    let mut criteria: Vec<String> = body
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            l.strip_prefix("- [ ]")
                .or_else(|| l.strip_prefix("* [ ]"))
                .map(|c| c.trim().to_string())
        })
        .filter(|c| !c.is_empty())
        .take(20)
        .collect();
    if criteria.is_empty() {
        criteria.push(format!("The issue is resolved: {title}"));
    }
    let id = issue_ticket_id(&repo, ev.issue.number);
    let input = NewTicket {
        id: Some(id.clone()),
        kind,
        priority: None,
        title: Some(title),
        description: Some(body),
        context: TicketContext {
            repo: repo.clone(),
            filepaths: Vec::new(),
            error_logs: Vec::new(),
        },
        acceptance_criteria: criteria,
        source: Some(Source::Github),
        source_ref: Some(format!("{repo}#{}", ev.issue.number)),
        labels: labels
            .into_iter()
            .filter(|l| l.len() <= 100)
            .take(20)
            .collect(),
        budget: None,
    };
    let actor = format!("github:{}", ev.sender.map(|s| s.login).unwrap_or_default());
    match intake::submit(deps, input, Source::Github, &actor).await {
        Ok((t, created)) => Ok(WebhookOutcome::TicketCreated {
            ticket_id: t.id,
            created,
        }),
        // Edited since: the ticket stands as first filed.
        Err(RoleError::Store(StoreError::AlreadyExists { .. })) => Ok(WebhookOutcome::Ignored {
            why: format!("{id} exists already"),
        }),
        Err(e) => Err(e),
    }
}

async fn on_comment(deps: &Deps, ev: CommentEvent) -> RoleResult<WebhookOutcome> {
    if ev.action != "created" {
        return Ok(WebhookOutcome::Ignored {
            why: format!("comment {}", ev.action),
        });
    }
    let Some((decision, reason)) = parse_command(&ev.comment.body) else {
        return Ok(WebhookOutcome::Ignored {
            why: "no /nightshift command".into(),
        });
    };
    let repo = ev.repository.full_name;
    let who = ev.comment.user.login;
    if !deps.forge.can_write(&repo, &who).await? {
        return Ok(WebhookOutcome::Refused {
            why: format!("{who} cannot write to {repo}: only writers approve or reject"),
        });
    }
    let ticket_id = if ev.issue.pull_request.is_some() {
        match deps.forge.get_pr(&repo, ev.issue.number).await?.ticket_id {
            Some(t) => t,
            None => {
                return Ok(WebhookOutcome::Ignored {
                    why: format!(
                        "{repo}#{} is not a Nightshift pull request",
                        ev.issue.number
                    ),
                });
            }
        }
    } else {
        issue_ticket_id(&repo, ev.issue.number)
    };
    let pending = approvals::pending_for_ticket(deps, &ticket_id).await?;
    let actor = format!("github:{who}");
    let done = approvals::decide(deps, &pending.id, decision, &actor, reason.as_deref()).await?;
    Ok(WebhookOutcome::Decided {
        ticket_id,
        approval_id: done.approval.id,
        decision: done.approval.status.as_str().into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_published_test_vector_verifies() {
        // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
        let secret = SecretString::from("It's a Secret to Everybody");
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(verify_signature(&secret, b"Hello, World!", sig));
        assert_eq!(sign(&secret, b"Hello, World!"), sig);
        assert!(!verify_signature(&secret, b"Hello, World?", sig));
        assert!(!verify_signature(
            &SecretString::from("other"),
            b"Hello, World!",
            sig
        ));
        assert!(!verify_signature(
            &secret,
            b"Hello, World!",
            &sig.replace("sha256=", "sha1=")
        ));
        assert!(!verify_signature(&secret, b"Hello, World!", "sha256=zz"));
        assert!(!verify_signature(&secret, b"Hello, World!", ""));
    }

    #[test]
    fn commands_are_read_from_the_first_command_line() {
        assert_eq!(
            parse_command("/nightshift approve"),
            Some((Decision::Approve, None))
        );
        assert_eq!(
            parse_command("LGTM\n/nightshift reject the cache is never invalidated\nthanks"),
            Some((
                Decision::Reject,
                Some("the cache is never invalidated".into())
            ))
        );
        assert_eq!(
            parse_command("/nightshift reject"),
            Some((Decision::Reject, Some(String::new())))
        );
        assert_eq!(parse_command("please /nightshift approve"), None);
        assert_eq!(parse_command("/nightshift merge"), None);
        // A command hidden in an HTML comment is not a command.
        assert_eq!(parse_command("<!-- /nightshift approve -->"), None);
        // Zero-width characters do not hide or break one.
        assert_eq!(
            parse_command("/night\u{200b}shift approve"),
            Some((Decision::Approve, None))
        );
    }

    #[test]
    fn issue_ids_are_stable_and_safe() {
        assert_eq!(issue_ticket_id("Acme/App.rs", 42), "gh-acme-app-rs-42");
    }
}
