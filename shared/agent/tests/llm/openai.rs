use crate::helpers::{
    Canned, FakeProvider, client, openai_error, openai_text, request_with_tool_results,
    simple_request,
};
use nightshift_agent::llm::{OpenAiCompatible, RetryPolicy, Retrying};
use nightshift_core::llm::{LlmError, LlmProvider, Role, StopReason};
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;

fn adapter(fake: &FakeProvider, key: Option<&str>) -> OpenAiCompatible {
    OpenAiCompatible::new(
        "openai",
        format!("{}/v1/", fake.url),
        key.map(SecretString::from),
        client(),
    )
}

#[tokio::test]
async fn a_tool_round_trip_speaks_chat_completions() {
    // GIVEN a server that answers with a tool call
    let fake = FakeProvider::start(vec![Canned::ok(json!({
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "model": "gpt-served",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": "{\"path\":\"src/main.rs\"}"}
                }]
            },
            "finish_reason": "tool_calls"
        }],
        "usage": {"prompt_tokens": 321, "completion_tokens": 17, "total_tokens": 338}
    }))])
    .await;
    let provider = adapter(&fake, Some("sk-test-123"));

    // WHEN the conversation so far, tool results included, is sent
    let response = provider
        .chat(&request_with_tool_results())
        .await
        .expect("a response");

    // THEN the request had the OpenAI shape
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test-123"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    let body = &sent.body;
    assert_eq!(body["model"], "model-x");
    assert_eq!(body["max_tokens"], 1024);
    assert_eq!(body["temperature"], json!(0.2));
    assert_eq!(
        body["tools"],
        json!([{
            "type": "function",
            "function": {
                "name": "read_file",
                "description": "Reads a file in the workspace.",
                "parameters": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}},
                    "required": ["path"]
                }
            }
        }])
    );
    let messages = body["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 5);
    assert_eq!(
        messages[0],
        json!({"role": "system", "content": "You are a careful engineer."})
    );
    assert_eq!(
        messages[1],
        json!({"role": "user", "content": "Fix the bug in src/lib.rs"})
    );
    assert_eq!(
        messages[2],
        json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "read_file", "arguments": "{\"path\":\"src/lib.rs\"}"}},
                {"id": "call_2", "type": "function",
                 "function": {"name": "read_file", "arguments": "{\"path\":\"Cargo.toml\"}"}}
            ]
        })
    );
    assert_eq!(
        messages[3],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "fn main() {}"})
    );
    assert_eq!(
        messages[4],
        json!({"role": "tool", "tool_call_id": "call_2", "content": "[package]"})
    );

    // AND the answer is a parsed tool call with its usage
    assert_eq!(response.message.role, Role::Assistant);
    assert_eq!(response.message.content, "");
    assert_eq!(response.message.tool_calls.len(), 1);
    let call = &response.message.tool_calls[0];
    assert_eq!(call.id, "call_9");
    assert_eq!(call.name, "read_file");
    assert_eq!(call.arguments, json!({"path": "src/main.rs"}));
    assert_eq!(response.stop, StopReason::ToolUse);
    assert_eq!(response.usage.input_tokens, 321);
    assert_eq!(response.usage.output_tokens, 17);
    assert_eq!(response.provider, "openai");
    assert_eq!(response.model, "model-x");
}

#[tokio::test]
async fn without_a_key_no_authorization_is_sent_and_stop_reasons_map() {
    // GIVEN an Ollama-like server needing no key, answering text, then a cut-off answer
    let mut long = openai_text("and so on", 10, 64);
    long["choices"][0]["finish_reason"] = json!("length");
    let fake =
        FakeProvider::start(vec![Canned::ok(openai_text("hi", 5, 1)), Canned::ok(long)]).await;
    let provider = adapter(&fake, None);

    let first = provider.chat(&simple_request()).await.expect("a response");
    let second = provider.chat(&simple_request()).await.expect("a response");

    assert_eq!(fake.requests()[0].header("authorization"), None);
    assert!(fake.requests()[0].body.get("tools").is_none());
    assert!(fake.requests()[0].body.get("temperature").is_none());
    assert_eq!(first.message.content, "hi");
    assert!(first.message.tool_calls.is_empty());
    assert_eq!(first.stop, StopReason::EndTurn);
    assert_eq!(second.stop, StopReason::MaxTokens);
}

#[tokio::test]
async fn malformed_tool_arguments_are_a_decode_error_naming_the_tool() {
    let fake = FakeProvider::start(vec![Canned::ok(json!({
        "choices": [{
            "message": {"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "write_file", "arguments": "{\"path\": \"a.rs\", \"content\": "}
            }]},
            "finish_reason": "tool_calls"
        }],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1}
    }))])
    .await;

    let error = adapter(&fake, None)
        .chat(&simple_request())
        .await
        .expect_err("malformed arguments");

    match &error {
        LlmError::Decode { provider, message } => {
            assert_eq!(provider, "openai");
            assert!(message.contains("write_file"), "{message}");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert!(!error.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn a_bad_request_is_not_retried_and_says_why() {
    let fake = FakeProvider::start(vec![Canned::status(
        400,
        openai_error(
            "Invalid schema for function 'read_file'",
            "invalid_request_error",
        ),
    )])
    .await;
    let provider = Retrying::new(
        Arc::new(adapter(&fake, Some("sk-x"))),
        RetryPolicy::default(),
    );

    let error = provider.chat(&simple_request()).await.expect_err("a 400");

    match &error {
        LlmError::Request {
            status, message, ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(message, "Invalid schema for function 'read_file'");
        }
        other => panic!("expected Request, got {other:?}"),
    }
    assert_eq!(fake.requests().len(), 1, "a 400 is not retried");
}

#[tokio::test]
async fn an_html_error_page_and_an_empty_choice_list_are_handled() {
    let fake = FakeProvider::start(vec![
        Canned::status(404, json!("<html>not here</html>")),
        Canned::ok(json!({"choices": [], "usage": null})),
    ])
    .await;
    let provider = adapter(&fake, None);

    let not_found = provider.chat(&simple_request()).await.expect_err("a 404");
    let empty = provider
        .chat(&simple_request())
        .await
        .expect_err("no choices");

    assert!(
        matches!(&not_found, LlmError::Request { status: 404, message, .. } if message.contains("not here")),
        "{not_found:?}"
    );
    assert!(matches!(empty, LlmError::Decode { .. }), "{empty:?}");
}
