//! The credential shapes the secrets gate looks for. Shape rules match a
//! provider's token format exactly and need no further judgement; the generic
//! rule (in the parent module) needs entropy and placeholder checks.

use regex::Regex;
use std::sync::LazyLock;

/// A provider token format. `group` is the capture holding the secret, used
/// for redaction and so the generic rule does not report it a second time.
pub(super) struct Rule {
    pub name: &'static str,
    pub re: Regex,
    pub group: usize,
}

fn rule(name: &'static str, re: &str, group: usize) -> Rule {
    Rule {
        name,
        re: Regex::new(re).expect("secret rule regex"),
        group,
    }
}

pub(super) static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // The documented example key AKIAIOSFODNN7EXAMPLE is flagged on
        // purpose: an agent that writes a key-shaped value into a file is the
        // behaviour to stop, whether or not the key is live.
        rule(
            "aws-access-key-id",
            r"\b((?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16})\b",
            1,
        ),
        rule(
            "aws-secret-access-key",
            r#"(?i:aws[_-]?secret[_-]?(?:access[_-]?)?key|secret[_-]?access[_-]?key)["']?\s*(?:=>|:=|=|:)\s*["']?([A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)"#,
            1,
        ),
        rule("github-token", r"\b(gh[pousr]_[A-Za-z0-9]{36,})", 1),
        rule(
            "github-fine-grained-token",
            r"\b(github_pat_[A-Za-z0-9_]{22,})",
            1,
        ),
        rule(
            "private-key",
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----",
            0,
        ),
        rule("slack-token", r"\b(xox[baprs]-[A-Za-z0-9-]{10,})", 1),
        rule(
            "slack-webhook-url",
            r"(https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+)",
            1,
        ),
        rule(
            "stripe-secret-key",
            r"\b((?:sk|rk)_(?:live|test)_[0-9a-zA-Z]{16,})",
            1,
        ),
    ]
});

/// `name = value`, `name: value`, `"name": "value"`, `name => value` where the
/// name mentions a credential. Group 1 is the name; the value is group 2
/// (double-quoted), 3 (single-quoted), 4 (backticks) or 5 (bare).
pub(super) static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)([A-Za-z0-9_.-]*(?:secret|token|password|passwd|api[_-]?key|access[_-]?key|private[_-]?key)[A-Za-z0-9_.-]*)["']?\s*(?:=>|:=|=|:)\s*(?:"([^"]*)"|'([^']*)'|`([^`]*)`|([^\s"'`,;=]+))"#,
    )
    .expect("assignment regex")
});
