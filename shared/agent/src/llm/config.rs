//! The `[llm]` settings: which providers exist, which (provider, model) pairs
//! serve each role in order of preference, and how hard to retry. Keys are never
//! in settings: a provider names its secret, resolved through the `Secrets` port
//! (SSM in AWS, the environment or a file locally).
//!
//! ```toml
//! [llm.retry]
//! max_attempts = 4
//! base_delay_ms = 500
//! max_delay_secs = 30
//!
//! [[llm.providers]]
//! name = "anthropic"
//! kind = "anthropic"
//! api_key_secret = "llm/anthropic"
//!
//! [[llm.providers]]
//! name = "ollama"
//! kind = "openai"
//! base_url = "http://localhost:11434/v1"
//!
//! [llm.routes]
//! triage = ["ollama:llama3.1:8b"]
//! builder = ["anthropic:claude-sonnet-4-5", "ollama:qwen2.5-coder:32b"]
//! default = ["ollama:llama3.1:8b"]
//! ```
//!
//! A route entry is `provider:model`, split at the first colon, so model names
//! may contain colons (Ollama tags) and provider names may not.

use super::retry::RetryPolicy;
use super::{Anthropic, OpenAiCompatible, anthropic, http_client};
use nightshift_core::llm::LlmProvider;
use nightshift_core::ports::{SecretError, Secrets};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

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

    /// Names unique and colon-free, URLs parseable, keys present where required,
    /// every route non-empty and pointing at a declared provider.
    pub fn validate(&self) -> Result<(), LlmConfigError> {
        let mut names = BTreeSet::new();
        for p in &self.providers {
            if p.name.is_empty() || p.name.contains(':') {
                return Err(LlmConfigError::BadName(p.name.clone()));
            }
            if !names.insert(p.name.as_str()) {
                return Err(LlmConfigError::DuplicateProvider(p.name.clone()));
            }
            let url = p.base_url();
            match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => {
                    return Err(LlmConfigError::BadBaseUrl {
                        provider: p.name.clone(),
                        url: url.to_owned(),
                    });
                }
            }
            if p.kind == ProviderKind::Anthropic && p.api_key_secret.is_none() {
                return Err(LlmConfigError::MissingApiKey(p.name.clone()));
            }
        }
        for (role, targets) in &self.routes {
            if targets.is_empty() {
                return Err(LlmConfigError::EmptyRoute(role.clone()));
            }
            if let Some(t) = targets
                .iter()
                .find(|t| !names.contains(t.provider.as_str()))
            {
                return Err(LlmConfigError::UnknownProvider {
                    role: role.clone(),
                    provider: t.provider.clone(),
                });
            }
        }
        Ok(())
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
            (None, ProviderKind::Openai) => "https://api.openai.com/v1",
            (None, ProviderKind::Anthropic) => anthropic::DEFAULT_BASE_URL,
        }
    }

    /// The adapter, its key read through `secrets`. Not yet wrapped in retries.
    pub async fn build(
        &self,
        secrets: &dyn Secrets,
    ) -> Result<Arc<dyn LlmProvider>, LlmConfigError> {
        let key = match &self.api_key_secret {
            Some(name) => {
                Some(
                    secrets
                        .get(name)
                        .await
                        .map_err(|source| LlmConfigError::Secret {
                            provider: self.name.clone(),
                            source,
                        })?,
                )
            }
            None => None,
        };
        let client = http_client(Duration::from_secs(self.timeout_secs)).map_err(|source| {
            LlmConfigError::Client {
                provider: self.name.clone(),
                source,
            }
        })?;
        let url = self.base_url().to_owned();
        Ok(match (self.kind, key) {
            (ProviderKind::Openai, key) => {
                Arc::new(OpenAiCompatible::new(&self.name, url, key, client))
            }
            (ProviderKind::Anthropic, Some(key)) => {
                Arc::new(Anthropic::new(&self.name, url, key, client))
            }
            (ProviderKind::Anthropic, None) => {
                return Err(LlmConfigError::MissingApiKey(self.name.clone()));
            }
        })
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
        let p = RetryPolicy::default();
        Self {
            max_attempts: p.max_attempts,
            base_delay_ms: p.base_delay.as_millis() as u64,
            max_delay_secs: p.max_delay.as_secs(),
        }
    }
}

impl RetrySettings {
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            base_delay: Duration::from_millis(self.base_delay_ms),
            max_delay: Duration::from_secs(self.max_delay_secs),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LlmConfigError {
    #[error("llm provider name {0:?} must be non-empty and contain no ':'")]
    BadName(String),
    #[error("llm provider {0} is declared twice in [[llm.providers]]")]
    DuplicateProvider(String),
    #[error("llm provider {provider} has base_url {url:?}, which is not an http(s) URL")]
    BadBaseUrl { provider: String, url: String },
    #[error("llm provider {0} needs api_key_secret (the name of the secret holding its key)")]
    MissingApiKey(String),
    #[error("llm route {0} lists no provider; remove it or add \"provider:model\" entries")]
    EmptyRoute(String),
    #[error("llm route {role} uses provider {provider}, which no [[llm.providers]] entry declares")]
    UnknownProvider { role: String, provider: String },
    #[error("the API key of llm provider {provider} could not be read")]
    Secret {
        provider: String,
        #[source]
        source: SecretError,
    },
    #[error("the HTTP client for llm provider {provider} could not be built")]
    Client {
        provider: String,
        #[source]
        source: reqwest::Error,
    },
}
