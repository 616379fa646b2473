//! Scripted LLM servers on loopback for the builder tests: each request gets
//! the next reply of a script, in the OpenAI-compatible or the Anthropic wire
//! format.

use axum::{Json, Router, routing::post};
use nightshift_agent::llm::{OpenAiCompatible, http_client};
use nightshift_core::llm::LlmProvider;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A scripted provider on loopback: reply `i` to request `i`, the last one again after.
pub async fn scripted(replies: Vec<Value>, path: &'static str) -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = Router::new().route(
        path,
        post(move |Json(body): Json<Value>| {
            let (log, replies) = (log.clone(), replies.clone());
            async move {
                let mut l = log.lock().unwrap();
                l.push(body);
                Json(replies[(l.len() - 1).min(replies.len() - 1)].clone())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

pub type Step<'a> = (&'a str, Value);

/// The OpenAI-compatible adapter pointed at a scripted server.
pub fn openai(base: &str) -> Arc<dyn LlmProvider> {
    Arc::new(OpenAiCompatible::new(
        "loopback",
        format!("{base}/v1"),
        None,
        http_client(Duration::from_secs(30)).unwrap(),
    ))
}

pub fn fix_steps() -> Vec<Step<'static>> {
    vec![
        ("read_file", json!({"path": "calc.sh"})),
        (
            "edit",
            json!({"path": "calc.sh", "old": "$(($1 - $2))", "new": "$(($1 + $2))"}),
        ),
        ("run_tests", json!({})),
    ]
}
pub const SUMMARY: &str = "Fixed add in calc.sh: it subtracted its arguments.";

pub fn openai_script(steps: &[Step], end: Option<&str>) -> Vec<Value> {
    let usage = json!({"prompt_tokens": 100, "completion_tokens": 20});
    let mut out: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, (name, args))| json!({
            "id": format!("r{i}"), "object": "chat.completion", "model": "m", "usage": usage,
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                "tool_calls": [{"id": format!("call_{i}"), "type": "function",
                                "function": {"name": name, "arguments": args.to_string()}}]}}]
        }))
        .collect();
    if let Some(text) = end {
        out.push(json!({"id": "end", "object": "chat.completion", "model": "m", "usage": usage,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]}));
    }
    out
}

pub fn anthropic_script(steps: &[Step], end: &str) -> Vec<Value> {
    let usage = json!({"input_tokens": 100, "output_tokens": 20});
    let mut out: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, (name, args))| json!({"id": format!("msg_{i}"), "type": "message", "role": "assistant", "model": "m",
            "stop_reason": "tool_use", "usage": usage,
            "content": [{"type": "tool_use", "id": format!("toolu_{i}"), "name": name, "input": args}]}))
        .collect();
    out.push(json!({"id": "msg_end", "type": "message", "role": "assistant", "model": "m", "stop_reason": "end_turn",
        "usage": usage, "content": [{"type": "text", "text": end}]}));
    out
}

/// A scripted OpenAI-compatible server and the adapter pointed at it, with the
/// request bodies it received.
pub async fn openai_server(replies: Vec<Value>) -> (Arc<dyn LlmProvider>, Arc<Mutex<Vec<Value>>>) {
    let (base, seen) = scripted(replies, "/v1/chat/completions").await;
    (openai(&base), seen)
}
