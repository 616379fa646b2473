//! A loopback server answering chat completions from a script (the last reply
//! repeats) and recording every request body; workspaces in temp directories;
//! small providers for the failures a server cannot easily produce.

use async_trait::async_trait;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nightshift_agent::llm::OpenAiCompatible;
use nightshift_agent::session::{Session, SessionLimits};
use nightshift_agent::tools::{Toolbox, ToolboxConfig, Workspace};
use nightshift_core::llm::{ChatRequest, ChatResponse, LlmError, LlmProvider};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Shared {
    replies: Arc<Mutex<VecDeque<(u16, Value)>>>,
    bodies: Arc<Mutex<Vec<Value>>>,
}

pub struct ScriptedServer {
    pub url: String,
    shared: Shared,
}

impl ScriptedServer {
    pub async fn start(replies: Vec<(u16, Value)>) -> Self {
        let shared = Shared {
            replies: Arc::new(Mutex::new(replies.into())),
            bodies: Arc::default(),
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

    /// The request bodies received, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.shared.bodies.lock().expect("lock").clone()
    }

    pub fn provider(&self) -> Arc<dyn LlmProvider> {
        Arc::new(OpenAiCompatible::new(
            "scripted",
            format!("{}/v1", self.url),
            None,
            reqwest::Client::new(),
        ))
    }
}

async fn answer(State(shared): State<Shared>, Json(body): Json<Value>) -> Response {
    shared.bodies.lock().expect("lock").push(body);
    let reply = {
        let mut replies = shared.replies.lock().expect("lock");
        if replies.len() > 1 {
            replies.pop_front()
        } else {
            replies.front().cloned()
        }
    };
    match reply {
        Some((status, body)) => (
            StatusCode::from_u16(status).expect("a valid status"),
            Json(body),
        )
            .into_response(),
        None => (StatusCode::IM_A_TEAPOT, "no scripted reply").into_response(),
    }
}

/// An assistant reply asking for one tool call.
pub fn tool_reply(id: &str, name: &str, args: Value, prompt: u64, completion: u64) -> (u16, Value) {
    (
        200,
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "served",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": id, "type": "function",
                    "function": {"name": name, "arguments": args.to_string()}}]
            }}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion}
        }),
    )
}

/// An assistant reply in plain text; `finish` is the OpenAI finish_reason.
pub fn text_reply(text: &str, finish: &str, prompt: u64, completion: u64) -> (u16, Value) {
    (
        200,
        json!({
            "id": "chatcmpl-2", "object": "chat.completion", "model": "served",
            "choices": [{"index": 0, "finish_reason": finish,
                "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion}
        }),
    )
}

/// A temporary directory (no git) holding `files`.
pub fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    for (path, content) in files {
        let full = dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(full, content).expect("write a file");
    }
    dir
}

pub fn toolbox(root: &Path) -> Toolbox {
    let config = ToolboxConfig {
        test_command: Some("true".into()),
        ..ToolboxConfig::default()
    };
    Toolbox::new(Workspace::new(root).expect("a workspace"), config)
}

pub fn limits() -> SessionLimits {
    SessionLimits {
        max_turns: 10,
        loop_limit: 3,
        ..SessionLimits::with_timeout(Duration::from_secs(60))
    }
}

pub fn session(provider: Arc<dyn LlmProvider>, root: &Path, limits: SessionLimits) -> Session {
    Session::new(
        provider,
        "model-x",
        toolbox(root),
        "You are a test builder.",
        "Fix the bug in src/lib.rs.",
        limits,
    )
}

/// A provider whose ticket budget is spent: the way `Budgeted` refuses a call.
pub struct Broke;

#[async_trait]
impl LlmProvider for Broke {
    fn name(&self) -> &str {
        "broke"
    }
    async fn chat(&self, _req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        Err(LlmError::BudgetExhausted {
            ticket_id: "t-1".into(),
            asked: 5000,
            available: 12,
        })
    }
}

/// A provider that never answers.
pub struct Hanging;

#[async_trait]
impl LlmProvider for Hanging {
    fn name(&self) -> &str {
        "hanging"
    }
    async fn chat(&self, _req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        std::future::pending().await
    }
}
