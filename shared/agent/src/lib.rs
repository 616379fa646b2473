//! The builder's machinery: LLM providers behind the `LlmProvider` port, the
//! tools the agent uses inside its sandbox, and the agent loop itself.
//!
//! # Layout
//! - [`budget`]: every call reserves from the ticket's budget first (fail closed).
//! - [`governance`]: the architect's and the reviewer's one-question model calls.
//! - [`git`]: the worker's git operations (clone without leaving the token behind, branch, commit with the ticket trailer, guarded push).
//! - [`llm`]: OpenAI-compatible and Anthropic adapters, retries, routing and fallback.
//! - [`session`]: the agent loop (system prompt, steppable session, report).
//! - [`tools`]: read, write, edit, list, grep, run, run_tests, confined to a workspace.

pub mod budget;
pub mod git;
pub mod governance;
pub mod llm;
pub mod session;
pub mod tools;
