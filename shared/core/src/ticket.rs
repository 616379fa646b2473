//! The standard ticket interface: what every intake (API, CLI, GitHub, discovery)
//! produces, and how raw input is checked before anything is stored.

use crate::Timestamp;
use crate::state::TicketState;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TicketType {
    Bug,
    Feature,
    Chore,
}

impl TicketType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bug => "bug",
            Self::Feature => "feature",
            Self::Chore => "chore",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Medium,
    High,
}

impl Priority {
    /// Higher is taken first.
    pub fn rank(self) -> i64 {
        match self {
            Self::Low => 1,
            Self::Medium => 2,
            Self::High => 3,
        }
    }
    pub fn from_rank(rank: i64) -> Self {
        match rank {
            r if r >= 3 => Self::High,
            2 => Self::Medium,
            _ => Self::Low,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// Where a ticket came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    #[default]
    Api,
    Cli,
    Github,
    Discovery,
    Janitor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TicketContext {
    /// The repository the work is for: `owner/name` on GitHub, or a local forge name.
    pub repo: String,
    #[serde(default)]
    pub filepaths: Vec<String>,
    #[serde(default)]
    pub error_logs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketBudget {
    /// Tokens this ticket may spend on LLM calls, all roles together.
    pub limit_tokens: u64,
}

/// A ticket as submitted: the standard ticket interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    /// Optional client-chosen id; submitting the same id twice stores one ticket.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: TicketType,
    /// Left out, triage assigns it by rule.
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub context: TicketContext,
    pub acceptance_criteria: Vec<String>,
    #[serde(default)]
    pub source: Option<Source>,
    /// A stable reference in the source (issue URL, discovery fingerprint).
    #[serde(default)]
    pub source_ref: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub budget: Option<TicketBudget>,
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: TicketType,
    pub priority: Priority,
    /// Whether `priority` was given by the submitter (triage leaves it alone then).
    pub priority_given: bool,
    pub title: String,
    pub description: String,
    pub context: TicketContext,
    pub acceptance_criteria: Vec<String>,
    pub source: Source,
    pub source_ref: Option<String>,
    pub labels: Vec<String>,
    pub budget: TicketBudget,
    pub state: TicketState,
    /// Why the ticket is in its state, where that needs saying (failed, closed...).
    pub state_reason: Option<String>,
    /// Incremented by every write; every write is conditional on it.
    pub version: u64,
    /// Identical tickets share it; triage closes later duplicates.
    pub fingerprint: String,
    pub duplicate_of: Option<String>,
    /// The architect's plan, once there is one.
    #[serde(default)]
    pub spec: Option<crate::governance::Spec>,
    /// The reviewer's latest verdict on the pull request.
    #[serde(default)]
    pub review: Option<crate::governance::Verdict>,
    /// How many times the builder has been dispatched for this ticket.
    pub build_rounds: u32,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl Ticket {
    pub fn is_active(&self) -> bool {
        !self.state.is_terminal()
    }
}

/// Why input was refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InputError {
    /// The field's path (`context.repo`, `acceptance_criteria[2]`), or `body`.
    pub field: String,
    pub message: String,
}

impl InputError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub const MAX_TITLE_CHARS: usize = 200;
const MAX_PATH_CHARS: usize = 1024;

/// Parses a ticket from raw request bytes: size, UTF-8, JSON shape, then content.
pub fn parse_new_ticket(bytes: &[u8], max_bytes: usize) -> Result<NewTicket, InputError> {
    if bytes.len() > max_bytes {
        return Err(InputError::new(
            "body",
            format!(
                "is {} bytes, over the limit of {max_bytes} bytes",
                bytes.len()
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        InputError::new(
            "body",
            format!(
                "is not valid UTF-8 (first bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    if text.trim().is_empty() {
        return Err(InputError::new(
            "body",
            "is empty; expected a ticket as JSON",
        ));
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    let ticket: NewTicket = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        // serde reports a missing field at its parent's path; name the field itself.
        let field = match (msg.strip_prefix("missing field `"), path.as_str()) {
            (Some(rest), p) => {
                let name = rest.split('`').next().unwrap_or_default();
                if p == "." {
                    name.to_string()
                } else {
                    format!("{p}.{name}")
                }
            }
            (None, ".") => "body".to_string(),
            (None, p) => p.to_string(),
        };
        InputError::new(field, msg)
    })?;
    ticket.validate()?;
    Ok(ticket)
}

impl NewTicket {
    pub fn validate(&self) -> Result<(), InputError> {
        if let Some(id) = &self.id
            && (id.is_empty()
                || id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        {
            return Err(InputError::new(
                "id",
                "must be 1-64 characters of letters, digits, '_' or '-'",
            ));
        }
        let repo = self.context.repo.trim();
        if repo.is_empty() {
            return Err(InputError::new("context.repo", "must not be empty"));
        }
        if repo.len() > 256 || repo.chars().any(char::is_control) {
            return Err(InputError::new(
                "context.repo",
                "must be at most 256 characters with no control characters",
            ));
        }
        if let Some(title) = &self.title
            && title.chars().count() > MAX_TITLE_CHARS
        {
            return Err(InputError::new(
                "title",
                format!("must be at most {MAX_TITLE_CHARS} characters"),
            ));
        }
        for (i, p) in self.context.filepaths.iter().enumerate() {
            let field = format!("context.filepaths[{i}]");
            if p.is_empty() || p.len() > MAX_PATH_CHARS || p.contains('\0') {
                return Err(InputError::new(
                    field,
                    "must be a non-empty path without NUL",
                ));
            }
            if p.starts_with('/') || p.split(['/', '\\']).any(|seg| seg == "..") {
                return Err(InputError::new(
                    field,
                    "must be relative to the repository root, without '..'",
                ));
            }
        }
        if self.acceptance_criteria.is_empty() {
            return Err(InputError::new(
                "acceptance_criteria",
                "needs at least one criterion, so the work can be checked",
            ));
        }
        for (i, c) in self.acceptance_criteria.iter().enumerate() {
            if c.trim().is_empty() {
                return Err(InputError::new(
                    format!("acceptance_criteria[{i}]"),
                    "must not be empty",
                ));
            }
        }
        for (i, l) in self.labels.iter().enumerate() {
            if l.trim().is_empty() || l.len() > 100 {
                return Err(InputError::new(
                    format!("labels[{i}]"),
                    "must be 1-100 characters",
                ));
            }
        }
        if let Some(b) = self.budget
            && (b.limit_tokens == 0 || b.limit_tokens > i64::MAX as u64)
        {
            return Err(InputError::new(
                "budget.limit_tokens",
                format!("must be between 1 and {}", i64::MAX),
            ));
        }
        Ok(())
    }

    /// Turns checked input into a ticket in state `new`.
    pub fn into_ticket(
        self,
        id: String,
        default_source: Source,
        default_budget: u64,
        now: Timestamp,
    ) -> Ticket {
        let description = self.description.unwrap_or_default();
        let title = self
            .title
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| derive_title(self.kind, &description, &self.acceptance_criteria));
        let mut ticket = Ticket {
            id,
            kind: self.kind,
            priority: self.priority.unwrap_or(Priority::Medium),
            priority_given: self.priority.is_some(),
            title: title.trim().to_string(),
            description,
            context: TicketContext {
                repo: self.context.repo.trim().to_string(),
                ..self.context
            },
            acceptance_criteria: self.acceptance_criteria,
            source: self.source.unwrap_or(default_source),
            source_ref: self.source_ref,
            labels: self.labels,
            budget: self.budget.unwrap_or(TicketBudget {
                limit_tokens: default_budget,
            }),
            state: TicketState::New,
            state_reason: None,
            version: 1,
            fingerprint: String::new(),
            duplicate_of: None,
            spec: None,
            review: None,
            build_rounds: 0,
            created_at: now,
            updated_at: now,
        };
        ticket.fingerprint = fingerprint(&ticket);
        ticket
    }
}

fn derive_title(kind: TicketType, description: &str, criteria: &[String]) -> String {
    let first = description
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .or_else(|| criteria.first().map(|c| c.trim()))
        .unwrap_or(kind.as_str());
    first.chars().take(120).collect()
}

/// Identical work has the same fingerprint. A source reference (a GitHub issue, a
/// discovery finding) identifies the work by itself; otherwise the content does,
/// with case and white space folded.
pub fn fingerprint(t: &Ticket) -> String {
    let mut h = Sha256::new();
    if let Some(r) = &t.source_ref {
        h.update(b"ref\0");
        h.update(r.trim().as_bytes());
    } else {
        let fold = |s: &str| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        };
        let mut paths: Vec<String> = t
            .context
            .filepaths
            .iter()
            .map(|p| p.trim().to_string())
            .collect();
        paths.sort();
        let mut criteria: Vec<String> = t.acceptance_criteria.iter().map(|c| fold(c)).collect();
        criteria.sort();
        for part in [
            t.kind.as_str().to_string(),
            t.context.repo.to_lowercase(),
            fold(&t.title),
            fold(&t.description),
            paths.join("\n"),
            criteria.join("\n"),
            t.context
                .error_logs
                .iter()
                .map(|l| fold(l))
                .collect::<Vec<_>>()
                .join("\n"),
        ] {
            h.update(part.as_bytes());
            h.update(b"\0");
        }
    }
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<NewTicket, InputError> {
        parse_new_ticket(s.as_bytes(), 64 * 1024)
    }

    const OK: &str = r#"{"type":"bug","priority":"high","context":{"repo":"acme/api","filepaths":["src/lib.rs"],"error_logs":["panic at x"]},"acceptance_criteria":["no panic"]}"#;

    #[test]
    fn accepts_the_standard_ticket() {
        let t = parse(OK).unwrap();
        assert_eq!(t.kind, TicketType::Bug);
        assert_eq!(t.priority, Some(Priority::High));
        assert_eq!(t.context.filepaths, vec!["src/lib.rs"]);
    }

    #[test]
    fn names_the_missing_field() {
        let e = parse(r#"{"priority":"high","context":{"repo":"a"},"acceptance_criteria":["x"]}"#)
            .unwrap_err();
        assert_eq!(e.field, "type");
        let e = parse(r#"{"type":"bug","context":{},"acceptance_criteria":["x"]}"#).unwrap_err();
        assert_eq!(e.field, "context.repo");
        let e = parse(r#"{"type":"bug","context":{"repo":"a"}}"#).unwrap_err();
        assert_eq!(e.field, "acceptance_criteria");
    }

    #[test]
    fn names_an_unknown_type_and_field() {
        let e = parse(r#"{"type":"bugz","context":{"repo":"a"},"acceptance_criteria":["x"]}"#)
            .unwrap_err();
        assert_eq!(e.field, "type");
        assert!(e.message.contains("unknown variant `bugz`"), "{e}");
        let e = parse(
            r#"{"type":"bug","context":{"repo":"a"},"acceptance_criteria":["x"],"colour":1}"#,
        )
        .unwrap_err();
        assert!(e.message.contains("unknown field `colour`"), "{e}");
    }

    #[test]
    fn refuses_size_utf8_and_content() {
        let e = parse_new_ticket(OK.as_bytes(), 10).unwrap_err();
        assert_eq!(e.field, "body");
        assert!(e.message.contains("over the limit of 10 bytes"));
        let mut bad = OK.as_bytes().to_vec();
        bad[20] = 0xff;
        let e = parse_new_ticket(&bad, 1 << 20).unwrap_err();
        assert_eq!(e.field, "body");
        assert!(e.message.contains("UTF-8"));
        let e = parse(r#"{"type":"bug","context":{"repo":"  "},"acceptance_criteria":["x"]}"#)
            .unwrap_err();
        assert_eq!(e.field, "context.repo");
        let e = parse(r#"{"type":"bug","context":{"repo":"a","filepaths":["../etc/passwd"]},"acceptance_criteria":["x"]}"#).unwrap_err();
        assert_eq!(e.field, "context.filepaths[0]");
        let e =
            parse(r#"{"type":"bug","context":{"repo":"a"},"acceptance_criteria":[]}"#).unwrap_err();
        assert_eq!(e.field, "acceptance_criteria");
    }

    #[test]
    fn fingerprint_folds_case_and_space_but_not_content() {
        let now = chrono::Utc::now();
        let a = parse(OK)
            .unwrap()
            .into_ticket("a".into(), Source::Api, 10, now);
        let mut b_in = parse(OK).unwrap();
        b_in.acceptance_criteria = vec!["  No   PANIC ".into()];
        let b = b_in.into_ticket("b".into(), Source::Api, 10, now);
        assert_eq!(a.fingerprint, b.fingerprint);
        let mut c_in = parse(OK).unwrap();
        c_in.context.repo = "acme/other".into();
        let c = c_in.into_ticket("c".into(), Source::Api, 10, now);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_eq!(
            a.title, "no panic",
            "title derives from the first criterion"
        );
    }
}
