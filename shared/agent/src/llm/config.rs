//! Checking the `[llm]` settings (their types live in
//! `nightshift_core::settings::llm`, so `nightshift.toml` loads them with the rest)
//! and building adapters from them.
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

use super::retry::RetryPolicy;
use super::{Anthropic, OpenAiCompatible, http_client};
use nightshift_core::llm::LlmProvider;
use nightshift_core::ports::{SecretError, Secrets};
pub use nightshift_core::settings::llm::{
    LlmSettings, ProviderKind, ProviderSettings, RetrySettings, RouteTarget,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Checks the `[llm]` table.
pub trait LlmSettingsExt {
    /// Names unique and colon-free, URLs parseable, keys present where required,
    /// every route non-empty and pointing at a declared provider.
    fn validate(&self) -> Result<(), LlmConfigError>;
}

impl LlmSettingsExt for LlmSettings {
    fn validate(&self) -> Result<(), LlmConfigError> {
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

/// Builds the adapter a provider entry describes.
#[allow(async_fn_in_trait)] // used with concrete types only
pub trait ProviderSettingsExt {
    /// The adapter, its key read through `secrets`. Not yet wrapped in retries.
    async fn build(&self, secrets: &dyn Secrets) -> Result<Arc<dyn LlmProvider>, LlmConfigError>;
}

impl ProviderSettingsExt for ProviderSettings {
    async fn build(&self, secrets: &dyn Secrets) -> Result<Arc<dyn LlmProvider>, LlmConfigError> {
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

/// The retry policy a `[llm.retry]` table describes.
pub trait RetrySettingsExt {
    fn policy(&self) -> RetryPolicy;
}

impl RetrySettingsExt for RetrySettings {
    fn policy(&self) -> RetryPolicy {
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
