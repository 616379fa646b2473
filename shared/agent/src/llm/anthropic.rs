//! The Anthropic Messages API. Its shape differs from the port's in three ways
//! this adapter bridges: system prompts are a top-level field, not messages;
//! tool calls and tool results are content blocks inside assistant and user
//! turns; and the conversation must alternate roles, so consecutive turns of the
//! same role (several tool results, or tool results then user text) are merged.

use super::http;
use async_trait::async_trait;
use nightshift_core::llm::{
    ChatMessage, ChatRequest, ChatResponse, LlmError, LlmProvider, Role, StopReason, ToolCall,
    Usage,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const DEFAULT_BASE_URL: &str = nightshift_core::settings::llm::ANTHROPIC_BASE_URL;
/// The API version this adapter speaks (sent as `anthropic-version`).
pub const API_VERSION: &str = "2023-06-01";

/// An Anthropic endpoint. `Debug` shows the key as redacted (`secrecy`).
#[derive(Debug, Clone)]
pub struct Anthropic {
    name: String,
    base_url: String,
    api_key: SecretString,
    client: reqwest::Client,
}

impl Anthropic {
    /// `base_url` is everything before `/v1/messages` ([`DEFAULT_BASE_URL`] for
    /// the public API). Build `client` with [`super::http_client`].
    pub fn new(
        name: impl Into<String>,
        base_url: impl Into<String>,
        api_key: SecretString,
        client: reqwest::Client,
    ) -> Self {
        Self {
            name: name.into(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key,
            client,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

#[async_trait]
impl LlmProvider for Anthropic {
    fn name(&self) -> &str {
        &self.name
    }

    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let key = http::key_header(&self.name, "", &self.api_key)?;
        let request = self
            .client
            .post(format!("{}/v1/messages", self.base_url))
            .header("x-api-key", key)
            .header("anthropic-version", API_VERSION)
            .json(&wire_request(req));
        let bytes = http::send(&self.name, request, Some(&self.api_key)).await?;
        let wire: WireResponse = http::decode(&self.name, &bytes)?;
        Ok(from_wire(&self.name, &req.model, wire))
    }
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: Vec<BlockOut<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockOut<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: &'a str,
    },
}

#[derive(Serialize)]
struct WireTool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
}

fn wire_request(req: &ChatRequest) -> WireRequest<'_> {
    let system: Vec<&str> = req
        .messages
        .iter()
        .filter(|m| m.role == Role::System && !m.content.is_empty())
        .map(|m| m.content.as_str())
        .collect();
    let mut messages: Vec<WireMessage<'_>> = Vec::new();
    for m in &req.messages {
        let (role, blocks) = match m.role {
            Role::System => continue,
            Role::User => ("user", text_block(&m.content)),
            Role::Assistant => {
                let mut blocks = text_block(&m.content);
                blocks.extend(m.tool_calls.iter().map(|c| BlockOut::ToolUse {
                    id: &c.id,
                    name: &c.name,
                    input: &c.arguments,
                }));
                ("assistant", blocks)
            }
            Role::Tool => (
                "user",
                vec![BlockOut::ToolResult {
                    tool_use_id: m.tool_call_id.as_deref().unwrap_or_default(),
                    content: &m.content,
                }],
            ),
        };
        // The API rejects empty content, and wants roles to alternate.
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => messages.push(WireMessage {
                role,
                content: blocks,
            }),
        }
    }
    WireRequest {
        model: &req.model,
        max_tokens: req.max_tokens,
        system: (!system.is_empty()).then(|| system.join("\n\n")),
        messages,
        tools: req
            .tools
            .iter()
            .map(|t| WireTool {
                name: &t.name,
                description: &t.description,
                input_schema: &t.parameters,
            })
            .collect(),
        temperature: req.temperature,
    }
}

/// Empty text blocks are refused by the API, so empty text is no block at all.
fn text_block(text: &str) -> Vec<BlockOut<'_>> {
    if text.is_empty() {
        vec![]
    } else {
        vec![BlockOut::Text { text }]
    }
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    content: Vec<BlockIn>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockIn {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Thinking, citations and whatever comes next: not part of the port.
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    // Cached prompt tokens are counted apart from `input_tokens`; the budget
    // must see them too.
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

fn from_wire(provider: &str, model: &str, wire: WireResponse) -> ChatResponse {
    let mut texts = Vec::new();
    let mut tool_calls = Vec::new();
    for block in wire.content {
        match block {
            BlockIn::Text { text } => texts.push(text),
            BlockIn::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                id,
                name,
                arguments: if input.is_null() {
                    Value::Object(Default::default())
                } else {
                    input
                },
            }),
            BlockIn::Other => {}
        }
    }
    let stop = match wire.stop_reason.as_deref() {
        Some("end_turn") | None => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_owned()),
    };
    let u = wire.usage;
    ChatResponse {
        message: ChatMessage {
            role: Role::Assistant,
            content: texts.join("\n"),
            tool_calls,
            tool_call_id: None,
        },
        usage: Usage {
            input_tokens: u.input_tokens
                + u.cache_creation_input_tokens.unwrap_or(0)
                + u.cache_read_input_tokens.unwrap_or(0),
            output_tokens: u.output_tokens,
        },
        stop,
        provider: provider.to_owned(),
        model: model.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_results_then_user_text_make_one_user_turn() {
        let mut call = ChatMessage::user("");
        call.role = Role::Assistant;
        call.tool_calls = vec![
            ToolCall {
                id: "a".into(),
                name: "read".into(),
                arguments: json!({}),
            },
            ToolCall {
                id: "b".into(),
                name: "grep".into(),
                arguments: json!({}),
            },
        ];
        let req = ChatRequest {
            model: "m".into(),
            messages: vec![
                ChatMessage::system("one"),
                ChatMessage::user("go"),
                call,
                ChatMessage::tool_result("a", "ra"),
                ChatMessage::tool_result("b", "rb"),
                ChatMessage::user("and?"),
                ChatMessage::system("two"),
            ],
            tools: vec![],
            max_tokens: 5,
            temperature: None,
        };
        let body = serde_json::to_value(wire_request(&req)).unwrap_or_default();
        assert_eq!(body["system"], "one\n\ntwo");
        let roles: Vec<_> = body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["role"].clone())
            .collect();
        assert_eq!(roles, [json!("user"), json!("assistant"), json!("user")]);
        assert_eq!(
            body["messages"][1]["content"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(
            body["messages"][2]["content"],
            json!([
                {"type": "tool_result", "tool_use_id": "a", "content": "ra"},
                {"type": "tool_result", "tool_use_id": "b", "content": "rb"},
                {"type": "text", "text": "and?"}
            ])
        );
    }

    #[test]
    fn unknown_blocks_are_skipped_and_cache_tokens_count() {
        let wire: WireResponse = serde_json::from_value(json!({
            "content": [{"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "hi"}],
            "stop_reason": "refusal",
            "usage": {"input_tokens": 3, "output_tokens": 2, "cache_read_input_tokens": 10,
                      "cache_creation_input_tokens": null}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let res = from_wire("p", "m", wire);
        assert_eq!(res.message.content, "hi");
        assert_eq!(res.stop, StopReason::Other("refusal".into()));
        assert_eq!(res.usage.input_tokens, 13);
    }
}
