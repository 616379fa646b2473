//! The LLM port: one chat call with tools, in a provider-neutral shape. Adapters
//! (OpenAI-compatible, Anthropic) translate to their wire formats; the budget
//! wrapper reserves tokens before every call and settles them after.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    /// The result of a tool call, answering `tool_call_id`.
    Tool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for this call; the tool result must echo it.
    pub id: String,
    pub name: String,
    /// The arguments as JSON (an object).
    pub arguments: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
    /// Tool calls the assistant asked for (assistant messages only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Which call this answers (tool messages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
            tool_calls: vec![],
            tool_call_id: None,
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
            tool_calls: vec![],
            tool_call_id: None,
        }
    }
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: Role::Tool,
            content: content.into(),
            tool_calls: vec![],
            tool_call_id: Some(call_id.into()),
        }
    }
}

/// A tool the model may call: its name, what it does, and a JSON Schema for its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub tools: Vec<ToolSpec>,
    pub max_tokens: u32,
    #[serde(default)]
    pub temperature: Option<f32>,
}

impl ChatRequest {
    /// A rough upper bound of the tokens this call may use (input by characters
    /// / 3, plus the output cap): what the budget reserves before the call.
    pub fn estimated_tokens(&self) -> u64 {
        let chars: usize = self
            .messages
            .iter()
            .map(|m| {
                m.content.len()
                    + m.tool_calls
                        .iter()
                        .map(|c| c.arguments.to_string().len() + c.name.len())
                        .sum::<usize>()
            })
            .sum::<usize>()
            + self
                .tools
                .iter()
                .map(|t| t.description.len() + t.parameters.to_string().len())
                .sum::<usize>();
        (chars as u64).div_ceil(3) + u64::from(self.max_tokens)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The assistant's message, possibly with tool calls.
    pub message: ChatMessage,
    pub usage: Usage,
    pub stop: StopReason,
    /// Which provider and model answered (after routing and fallback).
    pub provider: String,
    pub model: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// 429: try later, or another provider.
    #[error("{provider} is rate limiting{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        provider: String,
        retry_after: Option<Duration>,
    },
    /// 5xx: the provider failed; worth a retry.
    #[error("{provider} failed with HTTP {status}: {message}")]
    Server {
        provider: String,
        status: u16,
        message: String,
    },
    /// 4xx other than 429: the request is wrong; retrying will not help.
    #[error("{provider} refused the request with HTTP {status}: {message}")]
    Request {
        provider: String,
        status: u16,
        message: String,
    },
    #[error("could not reach {provider}: {message}")]
    Transport {
        provider: String,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("{provider} answered something unreadable: {message}")]
    Decode { provider: String, message: String },
    /// The reservation failed: the call was not made (fail closed).
    #[error(
        "budget exhausted for ticket {ticket_id}: the call needs about {asked} tokens, {available} are left"
    )]
    BudgetExhausted {
        ticket_id: String,
        asked: u64,
        available: u64,
    },
    #[error("no LLM is configured for {role}: {hint}")]
    NotConfigured { role: String, hint: String },
}

impl LlmError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Transport { .. }
        )
    }
}

/// One chat completion with tools.
#[async_trait]
pub trait LlmProvider: Send + Sync {
    /// A short name for logs and usage records (`openai`, `anthropic`, `local-vllm`).
    fn name(&self) -> &str;
    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError>;
}

/// The models behind each role: the planner, the builder and the reviewer may
/// each have their own route.
pub trait Models: Send + Sync {
    fn for_role(&self, role: &str) -> std::sync::Arc<dyn LlmProvider>;
}

/// One provider for every role.
pub struct OneModel(pub std::sync::Arc<dyn LlmProvider>);

impl Models for OneModel {
    fn for_role(&self, _role: &str) -> std::sync::Arc<dyn LlmProvider> {
        self.0.clone()
    }
}
