//! API keys never show: not in `Debug`, not in errors (even when the provider
//! quotes the key back), not in what is logged.

use crate::helpers::{Canned, FakeProvider, client, closed_port_url, openai_error, simple_request};
use crate::logs;
use nightshift_agent::llm::{Anthropic, OpenAiCompatible, RetryPolicy, Retrying, Route, Router};
use nightshift_core::llm::{LlmError, LlmProvider};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "sk-live-SECRET-0123456789";

fn assert_no_key(what: &str, text: &str) {
    assert!(!text.contains(KEY), "the key leaked into {what}: {text}");
    assert!(
        !text.contains("SECRET-0123"),
        "part of the key leaked into {what}: {text}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_key_is_in_no_debug_output_error_or_log() {
    let (logs, _guard) = logs::capture();
    // GIVEN a provider that quotes the refused key back, and one that fails with it
    let fake = FakeProvider::start(vec![
        Canned::status(
            401,
            openai_error(
                &format!("Incorrect API key provided: {KEY}."),
                "invalid_request_error",
            ),
        ),
        Canned::status(
            500,
            openai_error(&format!("upstream rejected {KEY}"), "server_error"),
        ),
        Canned::status(401, openai_error("again", "invalid_request_error")),
    ])
    .await;
    let openai = Arc::new(OpenAiCompatible::new(
        "openai",
        format!("{}/v1", fake.url),
        Some(SecretString::from(KEY)),
        client(),
    ));
    let anthropic = Arc::new(Anthropic::new(
        "anthropic",
        closed_port_url().await,
        SecretString::from(KEY),
        client(),
    ));
    let retrying = Retrying::new(
        openai.clone(),
        RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
        },
    );
    let router = Router::new().with_route(
        "builder",
        vec![
            Route::new(anthropic.clone(), "claude"),
            Route::new(openai.clone(), "gpt"),
        ],
    );

    // WHEN the adapters are formatted and fail in every way
    let refused = openai.chat(&simple_request()).await.expect_err("401");
    let retried = retrying
        .chat(&simple_request())
        .await
        .expect_err("500 then 401");
    let unreachable = anthropic
        .chat(&simple_request())
        .await
        .expect_err("closed port");
    let routed = router
        .chat("builder", &simple_request())
        .await
        .expect_err("all fail");

    // THEN the key is nowhere, though the server did see it
    assert_eq!(
        fake.requests()[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_no_key("Debug of the OpenAI adapter", &format!("{openai:?}"));
    assert_no_key("Debug of the Anthropic adapter", &format!("{anthropic:?}"));
    assert_no_key("Debug of the retry wrapper", &format!("{retrying:?}"));
    assert_no_key("Debug of the router", &format!("{router:?}"));
    assert!(format!("{openai:?}").contains("REDACTED"), "{openai:?}");
    for (what, error) in [
        ("a 401", &refused),
        ("a retried error", &retried),
        ("a transport error", &unreachable),
        ("a routed error", &routed),
    ] {
        assert_no_key(what, &format!("{error} {error:?}"));
    }
    assert!(
        refused
            .to_string()
            .contains("Incorrect API key provided: [redacted]"),
        "{refused}"
    );
    let logged = logs.text();
    assert!(logged.contains("retrying"), "nothing was logged: {logged}");
    assert_no_key("the logs", &logged);
}

#[tokio::test]
async fn a_key_that_cannot_be_a_header_fails_without_quoting_it() {
    let fake = FakeProvider::start(vec![Canned::status(200, serde_json::json!({}))]).await;
    let broken = format!("{KEY}\nx-injected: 1");
    let openai = OpenAiCompatible::new(
        "openai",
        &fake.url,
        Some(SecretString::from(broken.clone())),
        client(),
    );
    let anthropic = Anthropic::new("anthropic", &fake.url, SecretString::from(broken), client());

    for error in [
        openai.chat(&simple_request()).await.expect_err("bad key"),
        anthropic
            .chat(&simple_request())
            .await
            .expect_err("bad key"),
    ] {
        assert!(matches!(error, LlmError::NotConfigured { .. }), "{error:?}");
        assert!(!error.is_retryable());
        assert_no_key("a bad-key error", &format!("{error} {error:?}"));
    }
    assert!(
        fake.requests().is_empty(),
        "nothing is sent with a broken key"
    );
}
