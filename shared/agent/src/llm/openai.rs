//! The OpenAI Chat Completions wire format, which OpenAI, Ollama
//! (`http://localhost:11434/v1`), vLLM, llama.cpp and most gateways speak: one
//! adapter for all of them, told apart only by `base_url` and an optional key.
//!
//! The servers differ in small ways this adapter absorbs rather than exposes:
//! arguments arrive as a JSON string (OpenAI) or an object (some local servers),
//! an empty string for a tool without arguments, and a `finish_reason` of `stop`
//! even when the message carries tool calls.

use super::http;
use async_trait::async_trait;
use nightshift_core::llm::{
    ChatMessage, ChatRequest, ChatResponse, LlmError, LlmProvider, Role, StopReason, ToolCall,
    Usage,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An OpenAI-compatible endpoint. `Debug` shows the key as redacted (`secrecy`).
#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    name: String,
    base_url: String,
    api_key: Option<SecretString>,
    client: reqwest::Client,
}

impl OpenAiCompatible {
    /// `base_url` is everything before `/chat/completions`, e.g.
    /// `https://api.openai.com/v1`. Without a key no `Authorization` header is sent
    /// (Ollama, a local vLLM). Build `client` with [`super::http_client`].
    pub fn new(
        name: impl Into<String>,
        base_url: impl Into<String>,
        api_key: Option<SecretString>,
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
impl LlmProvider for OpenAiCompatible {
    fn name(&self) -> &str {
        &self.name
    }

    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let body = wire_request(req);
        let mut request = self
            .client
            .post(format!("{}/chat/completions", self.base_url))
            .json(&body);
        if let Some(key) = &self.api_key {
            let value = http::key_header(&self.name, "Bearer ", key)?;
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let bytes = http::send(&self.name, request, self.api_key.as_ref()).await?;
        let wire: WireResponse = http::decode(&self.name, &bytes)?;
        from_wire(&self.name, &req.model, wire)
    }
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    /// `null` for an assistant turn that only calls tools.
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireCallOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

#[derive(Serialize)]
struct WireCallOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionOut<'a>,
}

#[derive(Serialize)]
struct WireFunctionOut<'a> {
    name: &'a str,
    /// The wire format wants the arguments as a JSON *string*.
    arguments: String,
}

#[derive(Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireToolFunction<'a>,
}

#[derive(Serialize)]
struct WireToolFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

fn wire_request(req: &ChatRequest) -> WireRequest<'_> {
    let messages = req
        .messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::Tool => "tool",
            };
            let only_calls = m.content.is_empty() && !m.tool_calls.is_empty();
            let content = (!only_calls).then_some(m.content.as_str());
            let tool_calls = m
                .tool_calls
                .iter()
                .map(|c| WireCallOut {
                    id: &c.id,
                    kind: "function",
                    function: WireFunctionOut {
                        name: &c.name,
                        arguments: c.arguments.to_string(),
                    },
                })
                .collect();
            WireMessage {
                role,
                content,
                tool_calls,
                tool_call_id: m.tool_call_id.as_deref(),
            }
        })
        .collect();
    let tools = req
        .tools
        .iter()
        .map(|t| WireTool {
            kind: "function",
            function: WireToolFunction {
                name: &t.name,
                description: &t.description,
                parameters: &t.parameters,
            },
        })
        .collect();
    WireRequest {
        model: &req.model,
        messages,
        tools,
        max_tokens: req.max_tokens,
        temperature: req.temperature,
    }
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessageIn,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessageIn {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireCallIn>>,
}

#[derive(Deserialize)]
struct WireCallIn {
    #[serde(default)]
    id: Option<String>,
    function: WireFunctionIn,
}

#[derive(Deserialize)]
struct WireFunctionIn {
    name: String,
    #[serde(default)]
    arguments: Value,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

fn from_wire(provider: &str, model: &str, wire: WireResponse) -> Result<ChatResponse, LlmError> {
    let Some(choice) = wire.choices.into_iter().next() else {
        return Err(LlmError::Decode {
            provider: provider.to_owned(),
            message: "the response has no choices".into(),
        });
    };
    let tool_calls = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, call)| {
            let arguments =
                parse_arguments(provider, &call.function.name, call.function.arguments)?;
            Ok(ToolCall {
                // A server that omits ids still needs the result to echo one.
                id: call.id.unwrap_or_else(|| format!("call_{i}")),
                name: call.function.name,
                arguments,
            })
        })
        .collect::<Result<Vec<_>, LlmError>>()?;
    let stop = match choice.finish_reason.as_deref() {
        _ if !tool_calls.is_empty() => StopReason::ToolUse,
        Some("stop") | None => StopReason::EndTurn,
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_owned()),
    };
    let usage = wire.usage.map_or_else(Usage::default, |u| Usage {
        input_tokens: u.prompt_tokens,
        output_tokens: u.completion_tokens,
    });
    Ok(ChatResponse {
        message: ChatMessage {
            role: Role::Assistant,
            content: choice.message.content.unwrap_or_default(),
            tool_calls,
            tool_call_id: None,
        },
        usage,
        stop,
        provider: provider.to_owned(),
        model: model.to_owned(),
    })
}

/// Tool arguments as a JSON object: a string is parsed (empty means no
/// arguments), an object is taken as is; anything else names the tool in a
/// `Decode` error so the agent loop can tell the model what went wrong.
fn parse_arguments(provider: &str, tool: &str, raw: Value) -> Result<Value, LlmError> {
    let decode = |message: String| LlmError::Decode {
        provider: provider.to_owned(),
        message,
    };
    let value = match raw {
        Value::String(s) if s.trim().is_empty() => return Ok(Value::Object(Default::default())),
        Value::String(s) => serde_json::from_str(&s).map_err(|e| {
            decode(format!(
                "the arguments of tool call {tool} are not valid JSON: {e}"
            ))
        })?,
        Value::Null => return Ok(Value::Object(Default::default())),
        other => other,
    };
    if value.is_object() {
        Ok(value)
    } else {
        Err(decode(format!(
            "the arguments of tool call {tool} are not a JSON object"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_accept_strings_objects_and_nothing() {
        let parse = |v| parse_arguments("p", "read", v);
        assert_eq!(parse(json!("{\"a\":1}")).ok(), Some(json!({"a": 1})));
        assert_eq!(parse(json!({"a": 1})).ok(), Some(json!({"a": 1})));
        assert_eq!(parse(json!("")).ok(), Some(json!({})));
        assert_eq!(parse(Value::Null).ok(), Some(json!({})));
        let err = parse(json!("[1,2]")).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("read")));
    }

    #[test]
    fn an_assistant_turn_that_only_calls_tools_has_null_content() {
        let mut msg = ChatMessage::user("");
        msg.role = Role::Assistant;
        msg.tool_calls = vec![ToolCall {
            id: "c1".into(),
            name: "read".into(),
            arguments: json!({"path": "a"}),
        }];
        let req = ChatRequest {
            model: "m".into(),
            messages: vec![msg],
            tools: vec![],
            max_tokens: 10,
            temperature: Some(0.2),
        };
        let text = serde_json::to_string(&wire_request(&req)).unwrap_or_default();
        // f32 goes out as written, not as 0.20000000298023224.
        assert!(text.contains("\"temperature\":0.2,") || text.ends_with("\"temperature\":0.2}"));
        let body: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(body["messages"][0]["content"], Value::Null);
        let arguments = &body["messages"][0]["tool_calls"][0]["function"]["arguments"];
        assert_eq!(arguments, "{\"path\":\"a\"}");
        assert!(body.get("tools").is_none());
    }
}
