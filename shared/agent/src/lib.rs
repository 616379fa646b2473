//! The builder's machinery: LLM providers behind the `LlmProvider` port, the
//! tools the agent uses inside its sandbox, and (to come) the agent loop itself.
//!
//! # Layout
//! - [`llm`]: OpenAI-compatible and Anthropic adapters, retries, routing and fallback.
//! - [`tools`]: read, write, edit, list, grep, run, run_tests, confined to a workspace.

pub mod llm;
pub mod tools;
