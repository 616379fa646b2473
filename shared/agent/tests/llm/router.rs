use crate::helpers::{
    Canned, FakeProvider, anthropic_text, client, closed_port_url, openai_error, openai_text,
    simple_request,
};
use nightshift_agent::llm::{
    Anthropic, OpenAiCompatible, ProviderUsage, RetryPolicy, Retrying, Route, Router,
};
use nightshift_core::llm::{LlmError, LlmProvider};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

fn retrying(provider: impl LlmProvider + 'static, attempts: u32) -> Arc<dyn LlmProvider> {
    let policy = RetryPolicy {
        max_attempts: attempts,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(10),
    };
    Arc::new(Retrying::new(Arc::new(provider), policy))
}

fn openai_at(url: &str) -> OpenAiCompatible {
    OpenAiCompatible::new("openai", format!("{url}/v1"), None, client())
}

fn anthropic_at(url: &str) -> Anthropic {
    Anthropic::new("anthropic", url, SecretString::from("k"), client())
}

#[tokio::test(start_paused = true)]
async fn a_rate_limited_provider_falls_back_to_the_next() {
    // GIVEN a builder route whose first provider keeps answering 429
    let limited = FakeProvider::start(vec![
        Canned::status(429, openai_error("Rate limit reached", "requests"))
            .header("retry-after", "2"),
    ])
    .await;
    let backup =
        FakeProvider::start(vec![Canned::ok(anthropic_text("from backup", 100, 20))]).await;
    let router = Router::new().with_route(
        "builder",
        vec![
            Route::new(retrying(openai_at(&limited.url), 3), "gpt-y"),
            Route::new(retrying(anthropic_at(&backup.url), 3), "claude-x"),
        ],
    );

    // WHEN the builder calls
    let response = router
        .chat("builder", &simple_request())
        .await
        .expect("the backup answers");

    // THEN the first provider was tried (with its retries) for its model, then the second for its own
    assert_eq!(limited.requests().len(), 3);
    assert!(
        limited
            .requests()
            .iter()
            .all(|r| r.body["model"] == "gpt-y")
    );
    assert_eq!(backup.requests().len(), 1);
    assert_eq!(backup.requests()[0].body["model"], "claude-x");
    assert_eq!(response.provider, "anthropic");
    assert_eq!(response.model, "claude-x");
    assert_eq!(response.message.content, "from backup");
    let usage = router.usage();
    assert_eq!(
        usage.get("openai"),
        Some(&ProviderUsage {
            calls: 0,
            failures: 1,
            input_tokens: 0,
            output_tokens: 0
        })
    );
    assert_eq!(
        usage.get("anthropic"),
        Some(&ProviderUsage {
            calls: 1,
            failures: 0,
            input_tokens: 100,
            output_tokens: 20
        })
    );
}

#[tokio::test]
async fn an_unreachable_provider_falls_back_and_usage_adds_up() {
    let down = closed_port_url().await;
    let up = FakeProvider::start(vec![Canned::ok(openai_text("ok", 10, 5))]).await;
    let up_provider: Arc<dyn LlmProvider> = Arc::new(OpenAiCompatible::new(
        "local-vllm",
        format!("{}/v1", up.url),
        None,
        client(),
    ));
    let router = Arc::new(Router::new().with_route(
        "triage",
        vec![
            Route::new(Arc::new(anthropic_at(&down)), "claude-haiku"),
            Route::new(up_provider, "qwen"),
        ],
    ));

    // Twice, the second time through the role-bound provider the agent loop takes.
    let first = router
        .chat("triage", &simple_request())
        .await
        .expect("fallback");
    let triage: Arc<dyn LlmProvider> = Arc::new(router.for_role("triage"));
    let second = triage.chat(&simple_request()).await.expect("fallback");

    assert_eq!(first.provider, "local-vllm");
    assert_eq!(second.model, "qwen");
    assert_eq!(triage.name(), "router/triage");
    let usage = router.usage();
    assert_eq!(usage["anthropic"].failures, 2);
    assert_eq!(usage["local-vllm"].calls, 2);
    assert_eq!(usage["local-vllm"].input_tokens, 20);
    assert_eq!(usage["local-vllm"].output_tokens, 10);
}

#[tokio::test]
async fn a_refused_request_does_not_fall_back() {
    let refusing = FakeProvider::start(vec![Canned::status(
        400,
        openai_error("max_tokens is too large", "invalid_request_error"),
    )])
    .await;
    let backup = FakeProvider::start(vec![Canned::ok(anthropic_text("unused", 1, 1))]).await;
    let router = Router::new().with_route(
        "planner",
        vec![
            Route::new(retrying(openai_at(&refusing.url), 3), "gpt-y"),
            Route::new(retrying(anthropic_at(&backup.url), 3), "claude-x"),
        ],
    );

    let error = router
        .chat("planner", &simple_request())
        .await
        .expect_err("a 400");

    assert!(
        matches!(&error, LlmError::Request { status: 400, message, .. } if message == "max_tokens is too large"),
        "{error:?}"
    );
    assert_eq!(refusing.requests().len(), 1);
    assert!(backup.requests().is_empty());
}

#[tokio::test]
async fn roles_without_a_route_use_default_or_are_not_configured() {
    let fake = FakeProvider::start(vec![Canned::ok(openai_text("ok", 1, 1))]).await;
    let only_builder = Router::new().with_route(
        "builder",
        vec![Route::new(Arc::new(openai_at(&fake.url)), "m")],
    );
    let error = only_builder
        .chat("reviewer", &simple_request())
        .await
        .expect_err("no route");
    assert!(
        matches!(&error, LlmError::NotConfigured { role, hint } if role == "reviewer" && hint.contains("[llm.routes]")),
        "{error:?}"
    );

    let with_default = only_builder.with_route(
        "default",
        vec![Route::new(Arc::new(openai_at(&fake.url)), "fallback-model")],
    );
    let response = with_default
        .chat("reviewer", &simple_request())
        .await
        .expect("default");
    assert_eq!(response.model, "fallback-model");
}

#[tokio::test]
async fn when_every_provider_is_down_the_last_error_is_returned() {
    let router = Router::new().with_route(
        "builder",
        vec![
            Route::new(Arc::new(openai_at(&closed_port_url().await)), "a"),
            Route::new(Arc::new(anthropic_at(&closed_port_url().await)), "b"),
        ],
    );

    let error = router
        .chat("builder", &simple_request())
        .await
        .expect_err("all down");

    assert!(
        matches!(&error, LlmError::Transport { provider, .. } if provider == "anthropic"),
        "{error:?}"
    );
}
