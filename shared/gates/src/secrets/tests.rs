use super::*;
use crate::diff::{AddedLine, parse_unified};

// Token-shaped test values are assembled at run time so this file does not
// itself trip secret scanners on push.
fn token(prefix: &str, body: &str, times: usize) -> String {
    format!("{prefix}{}", body.repeat(times))
}

fn file(path: &str, lines: &[&str]) -> FileDiff {
    FileDiff {
        path: path.into(),
        old_path: None,
        new_file: false,
        deleted: false,
        binary: false,
        added: lines
            .iter()
            .enumerate()
            .map(|(i, t)| AddedLine {
                line: i as u32 + 1,
                text: t.to_string(),
            })
            .collect(),
        removed: 0,
    }
}

/// The rule names reported for one line, checking the secret is not echoed.
fn rules_for(line: &str, secret: &str) -> Vec<String> {
    let findings = scan(&[file("f", &[line])]);
    for f in &findings {
        assert!(!f.message.contains(secret), "leaked in {:?}", f.message);
    }
    findings
        .iter()
        .map(|f| f.message.split(':').next().unwrap().to_string())
        .collect()
}

#[test]
fn every_shape_rule_fires_and_redacts() {
    let gh = token("ghp_", "a1B2", 9);
    let pat = token("github_pat_", "11AB_cd", 4);
    let slack = token("xoxb-", "1234-abcd", 2);
    let hook = format!(
        "https://hooks.slack.com/services/T{}/B{}/{}",
        "0A1B2C3D",
        "4E5F6G7H",
        "x9y8".repeat(6)
    );
    let stripe = token("sk_live_", "4eC39HqLyjWD", 2);
    let restricted = token("rk_test_", "51Hx0aZ", 3);
    let cases = [
        (format!("key = \"{gh}\""), gh.clone(), "github-token"),
        (
            format!("GH={pat}"),
            pat.clone(),
            "github-fine-grained-token",
        ),
        (format!("slack: {slack}"), slack.clone(), "slack-token"),
        (
            format!("url = \"{hook}\""),
            hook.clone(),
            "slack-webhook-url",
        ),
        (
            format!("Stripe.api = '{stripe}'"),
            stripe.clone(),
            "stripe-secret-key",
        ),
        (
            format!("x = {restricted}"),
            restricted.clone(),
            "stripe-secret-key",
        ),
        (
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE".into(),
            "AKIAIOSFODNN7EXAMPLE".into(),
            "aws-access-key-id",
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----".into(),
            "b3BlbnNzaC1rZXk".into(),
            "private-key",
        ),
        (
            "-----BEGIN PGP PRIVATE KEY BLOCK-----".into(),
            "PGP PRIVATE".into(),
            "private-key",
        ),
    ];
    for (line, secret, rule) in cases {
        assert_eq!(rules_for(&line, &secret), [rule], "{line}");
    }
}

#[test]
fn aws_secret_key_is_reported_once_with_its_redacted_head() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let findings = scan(&[file(
        "config.ini",
        &[&format!("aws_secret_access_key = {secret}")],
    )]);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].message, "aws-secret-access-key: `wJal…`");
    assert_eq!(
        (findings[0].file.as_deref(), findings[0].line),
        (Some("config.ini"), Some(1))
    );
    // The JSON spelling of the same key.
    assert_eq!(
        rules_for(&format!("\"SecretAccessKey\": \"{secret}\""), secret),
        ["aws-secret-access-key"]
    );
    // 41 characters is not an AWS secret key, and the name alone is not one.
    assert!(
        rules_for(&format!("aws_secret_access_key = {secret}A"), secret)
            .iter()
            .all(|r| r != "aws-secret-access-key")
    );
}

#[test]
fn generic_assignments_need_length_entropy_and_no_placeholder() {
    let value = "q8Zr2vLk9PwX4nT7bY1m";
    assert_eq!(
        rules_for(&format!("DB_PASSWORD=\"{value}\""), value),
        ["generic-secret"]
    );
    assert_eq!(
        rules_for(&format!("\"client_secret\": \"{value}\","), value),
        ["generic-secret"]
    );
    assert_eq!(
        rules_for(&format!("api_key => '{value}'"), value),
        ["generic-secret"]
    );
    assert_eq!(
        rules_for(&format!("auth_token: {value}"), value),
        ["generic-secret"]
    );
    let msg = &scan(&[file("f", &[&format!("apiKey = \"{value}\"")])])[0].message;
    assert_eq!(
        msg,
        "generic-secret: `apiKey` is assigned a high-entropy value `q8Zr…`"
    );

    let quiet = [
        "password = \"short1A\"",                                  // too short
        "password = \"aaaaaaaaaaaaaaaaaaaaaaaa\"",                 // no entropy
        "api_key = \"${API_KEY_FROM_THE_ENVIRONMENT}\"",           // template
        "token: \"{{ secrets.DEPLOY_TOKEN_2024 }}\"",              // template
        "secret = \"your_secret_key_here_123\"",                   // placeholder
        "password = \"<put-the-real-one-here-9>\"",                // placeholder
        "api_key = os.environ[\"OPENAI_API_KEY_2\"]",              // env lookup
        "let token = env::var(\"GITHUB_TOKEN_V2\")?;",             // env lookup
        "const apiKey = process.env.STRIPE_API_KEY_9;",            // env lookup
        "private_key_path = \"/etc/ssl/private/server-key1.pem\"", // a path
        "token_url = \"https://auth.corp.io/oauth2/v1/token\"",    // a URL
        "let token = self.load_token(cfg, 42);",                   // code
        "if password == \"q8Zr2vLk9PwX4nT7bY1m\" {",               // comparison
        "name = \"q8Zr2vLk9PwX4nT7bY1m\"",                         // name is not a credential
    ];
    for line in quiet {
        assert_eq!(
            rules_for(line, "q8Zr2vLk9PwX4nT7bY1m"),
            Vec::<String>::new(),
            "{line}"
        );
    }
}

#[test]
fn only_added_text_lines_are_scanned() {
    let diff = "\
diff --git a/.env b/.env
--- a/.env
+++ b/.env
@@ -1,2 +1,2 @@
-AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
 AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLF
+REGION=eu-west-1
";
    assert!(scan(&parse_unified(diff)).is_empty());
    let mut binary = file("blob.bin", &["AKIAIOSFODNN7EXAMPLE"]);
    binary.binary = true;
    assert!(scan(&[binary]).is_empty());
}

#[test]
fn gate_passes_clean_and_fails_with_a_count() {
    let clean = secrets_gate(&[file("a.rs", &["let x = 1;"])]);
    assert_eq!(
        (clean.status, clean.summary.as_str()),
        (GateStatus::Pass, "no secrets in added lines")
    );
    let dirty = secrets_gate(&[file(
        "a",
        &["k=AKIAIOSFODNN7EXAMPLE", "-----BEGIN RSA PRIVATE KEY-----"],
    )]);
    assert_eq!(dirty.status, GateStatus::Fail);
    assert_eq!(dirty.summary, "2 possible secrets in added lines");
    assert_eq!(dirty.findings[1].line, Some(2));
}

#[test]
fn entropy_and_redaction() {
    assert_eq!(entropy("aaaa"), 0.0);
    assert!((entropy("abcd") - 2.0).abs() < 1e-9);
    assert_eq!(redact("AKIAIOSFODNN7EXAMPLE"), "AKIA…");
    assert_eq!(redact("ab"), "ab…");
}
