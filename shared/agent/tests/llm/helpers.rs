//! A loopback HTTP server per test standing in for a provider: it records every
//! request it receives and answers with canned responses in the provider's wire
//! format. The last canned response repeats, so "always 429" is one entry.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use nightshift_core::llm::{ChatMessage, ChatRequest, Role, ToolCall, ToolSpec};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl Canned {
    pub fn ok(body: Value) -> Self {
        Self::status(200, body)
    }
    pub fn status(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![],
            body,
        }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    /// On the test's (possibly paused) clock.
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone, Default)]
struct Shared {
    responses: Arc<Mutex<VecDeque<Canned>>>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

pub struct FakeProvider {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    shared: Shared,
}

impl FakeProvider {
    /// Serves `responses` in order on a fresh port; the last one repeats.
    pub async fn start(responses: Vec<Canned>) -> Self {
        let shared = Shared {
            responses: Arc::new(Mutex::new(responses.into())),
            recorded: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, shared }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.recorded.lock().expect("lock").clone()
    }

    /// The gaps between consecutive requests, on the test's clock.
    pub fn gaps(&self) -> Vec<Duration> {
        let requests = self.requests();
        requests.windows(2).map(|w| w[1].at - w[0].at).collect()
    }
}

async fn answer(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.recorded.lock().expect("lock").push(Recorded {
        method,
        path: uri.path().to_owned(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    });
    let canned = {
        let mut responses = shared.responses.lock().expect("lock");
        if responses.len() > 1 {
            responses.pop_front()
        } else {
            responses.front().cloned()
        }
    };
    let Some(canned) = canned else {
        return (StatusCode::IM_A_TEAPOT, "no canned response").into_response();
    };
    let mut response = (
        StatusCode::from_u16(canned.status).expect("a valid status"),
        axum::Json(canned.body),
    )
        .into_response();
    for (name, value) in canned.headers {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).expect("a valid header value"),
        );
    }
    response
}

/// A client without timeouts: under a paused clock a pending timeout could be
/// auto-advanced while the loopback server is still answering.
pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A port nothing listens on.
pub async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://{addr}")
}

pub fn read_tool() -> ToolSpec {
    ToolSpec {
        name: "read_file".into(),
        description: "Reads a file in the workspace.".into(),
        parameters: json!({
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"]
        }),
    }
}

/// A conversation mid-way through a tool loop: the assistant asked for two
/// reads and both results are in.
pub fn request_with_tool_results() -> ChatRequest {
    ChatRequest {
        model: "model-x".into(),
        messages: vec![
            ChatMessage::system("You are a careful engineer."),
            ChatMessage::user("Fix the bug in src/lib.rs"),
            ChatMessage {
                role: Role::Assistant,
                content: String::new(),
                tool_calls: vec![
                    ToolCall {
                        id: "call_1".into(),
                        name: "read_file".into(),
                        arguments: json!({"path": "src/lib.rs"}),
                    },
                    ToolCall {
                        id: "call_2".into(),
                        name: "read_file".into(),
                        arguments: json!({"path": "Cargo.toml"}),
                    },
                ],
                tool_call_id: None,
            },
            ChatMessage::tool_result("call_1", "fn main() {}"),
            ChatMessage::tool_result("call_2", "[package]"),
        ],
        tools: vec![read_tool()],
        max_tokens: 1024,
        temperature: Some(0.2),
    }
}

pub fn simple_request() -> ChatRequest {
    ChatRequest {
        model: "model-x".into(),
        messages: vec![ChatMessage::user("hello")],
        tools: vec![],
        max_tokens: 64,
        temperature: None,
    }
}

/// An OpenAI chat completion answering with plain text.
pub fn openai_text(text: &str, prompt: u64, completion: u64) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-served",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion}
    })
}

/// An Anthropic message answering with plain text.
pub fn anthropic_text(text: &str, input: u64, output: u64) -> Value {
    json!({
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-served",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": input, "output_tokens": output}
    })
}

pub fn openai_error(message: &str, kind: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}

pub fn anthropic_error(message: &str, kind: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}
