//! Retries under a paused clock: `tokio::time::sleep` returns as soon as the
//! runtime is idle, and the gaps between the requests the server saw are the
//! waits, exactly.

use crate::helpers::{
    Canned, FakeProvider, anthropic_error, anthropic_text, client, openai_error, openai_text,
    simple_request,
};
use nightshift_agent::llm::{Anthropic, OpenAiCompatible, RetryPolicy, Retrying};
use nightshift_core::llm::{LlmError, LlmProvider};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn openai(fake: &FakeProvider, policy: RetryPolicy) -> Retrying<OpenAiCompatible> {
    let adapter = OpenAiCompatible::new("openai", format!("{}/v1", fake.url), None, client());
    Retrying::new(Arc::new(adapter), policy)
}

fn policy(max_attempts: u32, base_ms: u64, max_secs: u64) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(base_ms),
        max_delay: Duration::from_secs(max_secs),
    }
}

/// Paused time moves in whole milliseconds, so a wait may end up to 1ms late.
fn about(gap: Duration, expected: Duration) -> bool {
    gap >= expected && gap <= expected + Duration::from_millis(2)
}

#[tokio::test(start_paused = true)]
async fn a_429_is_retried_after_its_retry_after_seconds() {
    // GIVEN a provider that rate limits once, asking for 7 seconds
    let fake = FakeProvider::start(vec![
        Canned::status(429, openai_error("Rate limit reached", "requests"))
            .header("retry-after", "7"),
        Canned::ok(openai_text("hello", 9, 2)),
    ])
    .await;

    // WHEN a call goes through the retry layer
    let response = openai(&fake, policy(4, 500, 30))
        .chat(&simple_request())
        .await
        .expect("success after the wait");

    // THEN the second try came exactly 7s (paused clock) after the first
    assert_eq!(response.message.content, "hello");
    assert_eq!(response.usage.input_tokens, 9);
    let gaps = fake.gaps();
    assert_eq!(gaps.len(), 1);
    assert!(about(gaps[0], Duration::from_secs(7)), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_date_is_honoured_and_long_waits_are_capped() {
    // GIVEN a 429 with an HTTP date 40s ahead, then one asking for an hour
    let in_40s = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(40));
    let fake = FakeProvider::start(vec![
        Canned::status(429, openai_error("slow", "requests")).header("retry-after", in_40s),
        Canned::status(429, openai_error("slower", "requests")).header("retry-after", "3600"),
        Canned::ok(openai_text("ok", 1, 1)),
    ])
    .await;

    openai(&fake, policy(3, 500, 60))
        .chat(&simple_request())
        .await
        .expect("success");

    // THEN the date became a wait of about 40s (HTTP dates have whole seconds),
    // and the hour was capped at max_delay
    let gaps = fake.gaps();
    assert!(
        gaps[0] > Duration::from_secs(38) && gaps[0] <= Duration::from_secs(41),
        "{gaps:?}"
    );
    assert!(about(gaps[1], Duration::from_secs(60)), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn two_500s_then_success_backs_off_with_jitter() {
    let fake = FakeProvider::start(vec![
        Canned::status(500, openai_error("The server had an error", "server_error")),
        Canned::status(500, openai_error("The server had an error", "server_error")),
        Canned::ok(openai_text("finally", 4, 2)),
    ])
    .await;

    let response = openai(&fake, policy(3, 1000, 30))
        .chat(&simple_request())
        .await
        .expect("success on the third try");

    assert_eq!(response.message.content, "finally");
    assert_eq!(fake.requests().len(), 3);
    // Full jitter: the first wait is within [0, 1s], the second within [0, 2s].
    let gaps = fake.gaps();
    assert!(gaps[0] <= Duration::from_millis(1001), "{gaps:?}");
    assert!(gaps[1] <= Duration::from_millis(2001), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_max_attempts_with_the_last_error() {
    // GIVEN an Anthropic endpoint that stays overloaded
    let fake = FakeProvider::start(vec![Canned::status(
        529,
        anthropic_error("Overloaded", "overloaded_error"),
    )])
    .await;
    let adapter = Anthropic::new("anthropic", &fake.url, SecretString::from("k"), client());
    let provider = Retrying::new(Arc::new(adapter), policy(3, 200, 5));

    let error = provider
        .chat(&simple_request())
        .await
        .expect_err("gives up");

    assert!(
        matches!(error, LlmError::Server { status: 529, .. }),
        "{error:?}"
    );
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_dyn_provider_can_be_wrapped_too() {
    let fake = FakeProvider::start(vec![
        Canned::status(503, anthropic_error("busy", "api_error")),
        Canned::ok(anthropic_text("hi", 1, 1)),
    ])
    .await;
    let adapter: Arc<dyn LlmProvider> = Arc::new(Anthropic::new(
        "anthropic",
        &fake.url,
        SecretString::from("k"),
        client(),
    ));
    let provider: Retrying = Retrying::new(adapter, policy(2, 100, 1));

    let response = provider.chat(&simple_request()).await.expect("success");

    assert_eq!(provider.name(), "anthropic");
    assert_eq!(response.message.content, "hi");
}
