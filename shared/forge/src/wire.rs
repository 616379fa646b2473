//! GitHub's REST shapes (only the fields read), error mapping, and the checks
//! made before any request.

use super::{NAME, TICKET_MARKER};
use nightshift_core::Timestamp;
use nightshift_core::forge::{ForgeError, PrState, PullRequest, is_safe_branch_name};
use serde::{Deserialize, Serialize};

pub(crate) fn backend(message: impl Into<String>) -> ForgeError {
    ForgeError::Backend {
        forge: NAME.into(),
        message: message.into(),
        source: None,
    }
}

pub(crate) fn refused(message: impl Into<String>) -> ForgeError {
    ForgeError::Refused {
        forge: NAME.into(),
        message: message.into(),
    }
}

pub(crate) fn not_found(what: impl Into<String>) -> ForgeError {
    ForgeError::NotFound {
        forge: NAME.into(),
        what: what.into(),
    }
}

/// Maps an octocrab error to the port's, keeping GitHub's message.
pub(crate) fn map_error(err: octocrab::Error, what: &str) -> ForgeError {
    match err {
        octocrab::Error::GitHub { source, .. } => {
            let mut message = source.message.clone();
            for detail in source.errors.iter().flatten() {
                let text = detail
                    .get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        let field = detail.get("field").and_then(|v| v.as_str()).unwrap_or("");
                        let code = detail.get("code").and_then(|v| v.as_str()).unwrap_or("");
                        format!("{field} {code}").trim().to_string()
                    });
                if !text.is_empty() {
                    message = format!("{message}: {text}");
                }
            }
            match source.status_code.as_u16() {
                404 => not_found(what),
                401 | 403 | 405 | 409 | 422 => refused(format!("{what}: {message}")),
                status => backend(format!("{what}: HTTP {status}: {message}")),
            }
        }
        other => ForgeError::Backend {
            forge: NAME.into(),
            message: format!("{what}: request failed"),
            source: Some(Box::new(other)),
        },
    }
}

/// `owner/name`, each part made of safe characters.
pub(crate) fn split_repo(repo: &str) -> Result<(&str, &str), ForgeError> {
    let ok = |part: &str| {
        !part.is_empty()
            && part.len() <= 100
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if ok(owner) && ok(name) => Ok((owner, name)),
        _ => Err(refused(format!("{repo:?} is not an owner/name repository"))),
    }
}

pub(crate) fn check_branch(branch: &str) -> Result<(), ForgeError> {
    if is_safe_branch_name(branch) {
        Ok(())
    } else {
        Err(refused(format!("{branch:?} is not a safe branch name")))
    }
}

pub(crate) fn with_ticket(body: &str, ticket: Option<&str>) -> String {
    match ticket {
        Some(t) if !t.contains("--") && !t.contains('>') => {
            format!("{body}\n\n{TICKET_MARKER}{t} -->")
        }
        _ => body.to_string(),
    }
}

/// Splits the ticket marker off a PR body.
pub(crate) fn split_ticket(body: &str) -> (String, Option<String>) {
    if let Some(at) = body.rfind(TICKET_MARKER) {
        let rest = &body[at + TICKET_MARKER.len()..];
        if let Some(ticket) = rest.trim_end().strip_suffix("-->") {
            let ticket = ticket.trim();
            if !ticket.is_empty() && !ticket.contains(char::is_whitespace) {
                return (body[..at].trim_end().to_string(), Some(ticket.to_string()));
            }
        }
    }
    (body.to_string(), None)
}

#[derive(Deserialize)]
pub(crate) struct GhRepo {
    pub(crate) default_branch: String,
    pub(crate) clone_url: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct GhRef {
    #[serde(rename = "ref")]
    pub(crate) name: String,
}

#[derive(Deserialize)]
pub(crate) struct GhPull {
    pub(crate) number: u64,
    pub(crate) title: String,
    pub(crate) body: Option<String>,
    pub(crate) state: String,
    pub(crate) merged_at: Option<Timestamp>,
    pub(crate) html_url: Option<String>,
    pub(crate) head: GhRef,
    pub(crate) base: GhRef,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
}

#[derive(Deserialize)]
pub(crate) struct GhUser {
    pub(crate) login: String,
}

#[derive(Deserialize)]
pub(crate) struct GhComment {
    pub(crate) id: u64,
    pub(crate) user: Option<GhUser>,
    pub(crate) body: Option<String>,
    pub(crate) created_at: Timestamp,
    pub(crate) path: Option<String>,
    pub(crate) line: Option<u32>,
    pub(crate) original_line: Option<u32>,
}

#[derive(Deserialize)]
pub(crate) struct GhPermission {
    pub(crate) permission: String,
    pub(crate) role_name: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct GhCheckRuns {
    pub(crate) check_runs: Vec<GhCheckRun>,
}

#[derive(Deserialize)]
pub(crate) struct GhCheckRun {
    pub(crate) name: String,
    pub(crate) status: String,
    pub(crate) conclusion: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct NewPullBody<'a> {
    pub(crate) title: &'a str,
    pub(crate) body: &'a str,
    pub(crate) head: &'a str,
    pub(crate) base: &'a str,
}

#[derive(Serialize)]
pub(crate) struct CommentBody<'a> {
    pub(crate) body: &'a str,
}

pub(crate) fn to_pr(repo: &str, p: GhPull) -> PullRequest {
    let (body, ticket_id) = split_ticket(p.body.as_deref().unwrap_or(""));
    let state = match (p.state.as_str(), p.merged_at) {
        ("open", _) => PrState::Open,
        (_, Some(_)) => PrState::Merged,
        _ => PrState::Closed,
    };
    PullRequest {
        repo: repo.to_string(),
        number: p.number,
        title: p.title,
        body,
        head: p.head.name,
        base: p.base.name,
        state,
        url: p.html_url,
        ticket_id,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}
