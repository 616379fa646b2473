use crate::helpers::{
    Canned, FakeProvider, anthropic_error, client, request_with_tool_results, simple_request,
};
use nightshift_agent::llm::Anthropic;
use nightshift_agent::llm::anthropic::API_VERSION;
use nightshift_core::llm::{LlmError, LlmProvider, StopReason};
use secrecy::SecretString;
use serde_json::json;

fn adapter(fake: &FakeProvider) -> Anthropic {
    Anthropic::new(
        "anthropic",
        &fake.url,
        SecretString::from("sk-ant-test-456"),
        client(),
    )
}

#[tokio::test]
async fn a_tool_round_trip_speaks_messages() {
    // GIVEN a server that answers with text and a tool use
    let fake = FakeProvider::start(vec![Canned::ok(json!({
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-served",
        "content": [
            {"type": "text", "text": "Let me look at the tests."},
            {"type": "tool_use", "id": "toolu_01", "name": "read_file",
             "input": {"path": "tests/it.rs"}}
        ],
        "stop_reason": "tool_use",
        "stop_sequence": null,
        "usage": {"input_tokens": 512, "output_tokens": 40}
    }))])
    .await;

    // WHEN the conversation so far, with two tool results, is sent
    let response = adapter(&fake)
        .chat(&request_with_tool_results())
        .await
        .expect("a response");

    // THEN the request had the Messages shape
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some("sk-ant-test-456"));
    assert_eq!(sent.header("anthropic-version"), Some(API_VERSION));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None);
    let body = &sent.body;
    assert_eq!(body["model"], "model-x");
    assert_eq!(body["max_tokens"], 1024);
    assert_eq!(body["system"], "You are a careful engineer.");
    assert_eq!(
        body["tools"],
        json!([{
            "name": "read_file",
            "description": "Reads a file in the workspace.",
            "input_schema": {
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"]
            }
        }])
    );
    // System left the messages; the two tool results share one user turn.
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Fix the bug in src/lib.rs"}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "call_1", "name": "read_file",
                 "input": {"path": "src/lib.rs"}},
                {"type": "tool_use", "id": "call_2", "name": "read_file",
                 "input": {"path": "Cargo.toml"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "fn main() {}"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "[package]"}
            ]}
        ])
    );

    // AND the answer carries the text, the parsed tool call and the usage
    assert_eq!(response.message.content, "Let me look at the tests.");
    assert_eq!(response.message.tool_calls.len(), 1);
    let call = &response.message.tool_calls[0];
    assert_eq!(call.id, "toolu_01");
    assert_eq!(call.name, "read_file");
    assert_eq!(call.arguments, json!({"path": "tests/it.rs"}));
    assert_eq!(response.stop, StopReason::ToolUse);
    assert_eq!(response.usage.input_tokens, 512);
    assert_eq!(response.usage.output_tokens, 40);
    assert_eq!(response.provider, "anthropic");
    assert_eq!(response.model, "model-x");
}

#[tokio::test]
async fn errors_map_by_status_with_the_providers_message() {
    let fake = FakeProvider::start(vec![
        Canned::status(
            400,
            anthropic_error("messages: roles must alternate", "invalid_request_error"),
        ),
        Canned::status(529, anthropic_error("Overloaded", "overloaded_error")),
        Canned::status(429, anthropic_error("Slow down", "rate_limit_error"))
            .header("retry-after", "12"),
    ])
    .await;
    let provider = adapter(&fake);

    let bad = provider.chat(&simple_request()).await.expect_err("400");
    let overloaded = provider.chat(&simple_request()).await.expect_err("529");
    let limited = provider.chat(&simple_request()).await.expect_err("429");

    assert!(
        matches!(&bad, LlmError::Request { status: 400, message, .. } if message == "messages: roles must alternate"),
        "{bad:?}"
    );
    assert!(!bad.is_retryable());
    assert!(
        matches!(&overloaded, LlmError::Server { status: 529, message, .. } if message == "Overloaded"),
        "{overloaded:?}"
    );
    assert!(overloaded.is_retryable());
    assert!(
        matches!(&limited, LlmError::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 12),
        "{limited:?}"
    );
}

#[tokio::test]
async fn max_tokens_and_end_turn_map() {
    let mut cut = crate::helpers::anthropic_text("partial", 3, 64);
    cut["stop_reason"] = json!("max_tokens");
    let fake = FakeProvider::start(vec![
        Canned::ok(crate::helpers::anthropic_text("done", 3, 1)),
        Canned::ok(cut),
    ])
    .await;
    let provider = adapter(&fake);

    let done = provider.chat(&simple_request()).await.expect("a response");
    let partial = provider.chat(&simple_request()).await.expect("a response");

    assert_eq!(done.stop, StopReason::EndTurn);
    assert_eq!(done.message.content, "done");
    assert!(fake.requests()[0].body.get("system").is_none());
    assert!(fake.requests()[0].body.get("tools").is_none());
    assert_eq!(partial.stop, StopReason::MaxTokens);
}
