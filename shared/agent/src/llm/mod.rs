//! LLM providers behind the core `LlmProvider` port.
//!
//! Two wire formats cover the providers we care about: OpenAI Chat Completions
//! (OpenAI, Ollama, vLLM, any compatible gateway) and Anthropic Messages. Both
//! adapters map HTTP failures the same way (429 rate limited, 5xx server, other
//! 4xx a bad request, network errors transport), so the layers above decide on
//! one vocabulary: [`Retrying`] retries what is worth retrying, and [`Router`]
//! picks the (provider, model) for a role and falls back when one is down.
//! API keys are `SecretString`s from the `Secrets` port; they are redacted in
//! `Debug`, never in an error, and sent only in sensitive headers.
//!
//! # Layout
//! - [`openai`]: the OpenAI-compatible adapter.
//! - [`anthropic`]: the Anthropic adapter.
//! - `http`: what both share: the client, status mapping, `Retry-After`.
//! - [`retry`]: exponential backoff with full jitter, honouring `Retry-After`.
//! - [`router`]: routes per role, fallback, usage totals.
//! - [`config`]: the `[llm]` settings and building all of the above from them.

pub mod anthropic;
pub mod config;
mod http;
pub mod openai;
pub mod retry;
pub mod router;

pub use anthropic::Anthropic;
pub use config::{
    LlmConfigError, LlmSettings, LlmSettingsExt, ProviderKind, ProviderSettings,
    ProviderSettingsExt, RetrySettings, RetrySettingsExt, RouteTarget,
};
pub use http::http_client;
pub use openai::OpenAiCompatible;
pub use retry::{RetryPolicy, Retrying};
pub use router::{DEFAULT_ROUTE, ProviderUsage, RoleProvider, Route, Router, RouterModels};
