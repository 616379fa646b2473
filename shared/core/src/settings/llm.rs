//! The `[llm]` settings: which providers exist, which (provider, model) pairs
//! serve each role in order of preference, and how hard to retry. Keys are never
//! in settings: a provider names its secret, resolved through the `Secrets` port.
//! Checking and building live with the adapters (`nightshift_agent::llm`).
//!
//! A route entry is `provider:model`, split at the first colon, so model names
//! may contain colons (Ollama tags) and provider names may not.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// The `[llm]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmSettings {
    pub providers: Vec<ProviderSettings>,
    /// Role name to its (provider, model) list, tried in order. The `default`
    /// route serves roles that have none of their own.
    pub routes: BTreeMap<String, Vec<RouteTarget>>,
    pub retry: RetrySettings,
}

impl LlmSettings {
    /// False when no LLM is set up: the deterministic parts still run.
    pub fn is_configured(&self) -> bool {
        !self.providers.is_empty() && !self.routes.is_empty()
    }
}

/// One `[[llm.providers]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// What routes call it, and what usage records say (`openai`, `local-vllm`).
    pub name: String,
    pub kind: ProviderKind,
    /// Defaults to the public API of `kind`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The secret holding the API key. Required for `anthropic`; for `openai`
    /// without it no `Authorization` header is sent (Ollama, a local vLLM).
    #[serde(default)]
    pub api_key_secret: Option<String>,
    /// The longest one call may take, response included.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    300
}

impl ProviderSettings {
    pub fn base_url(&self) -> &str {
        match (&self.base_url, self.kind) {
            (Some(url), _) => url,
            (None, ProviderKind::Openai) => OPENAI_BASE_URL,
            (None, ProviderKind::Anthropic) => ANTHROPIC_BASE_URL,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI Chat Completions: OpenAI, Ollama, vLLM, llama.cpp, gateways.
    Openai,
    /// The Anthropic Messages API.
    Anthropic,
}

/// `provider:model`, checked when the settings load so a typo fails at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RouteTarget {
    pub provider: String,
    pub model: String,
}

impl TryFrom<String> for RouteTarget {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        match s.split_once(':') {
            Some((p, m)) if !p.trim().is_empty() && !m.trim().is_empty() => Ok(Self {
                provider: p.trim().to_owned(),
                model: m.trim().to_owned(),
            }),
            _ => Err(format!(
                "route entry {s:?} is not \"provider:model\" (e.g. \"openai:gpt-4o-mini\")"
            )),
        }
    }
}

impl From<RouteTarget> for String {
    fn from(t: RouteTarget) -> Self {
        t.to_string()
    }
}

impl fmt::Display for RouteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.model)
    }
}

/// `[llm.retry]`: per provider, before the router falls back to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_secs: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay_ms: 500,
            max_delay_secs: 30,
        }
    }
}
