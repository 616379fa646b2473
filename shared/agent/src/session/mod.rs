//! The builder's agent loop: one coding session on one ticket, as a conversation
//! between a model and the [`Toolbox`](crate::tools::Toolbox).
//!
//! A session is a plain value that owns its conversation (`Vec<ChatMessage>`),
//! its loop breaker and its counters; nothing is global. [`Session::step`] makes
//! exactly one LLM call and runs the tool calls it asked for, so a test (or a
//! worker that wants to checkpoint) can drive it turn by turn; [`Session::run`]
//! is that loop plus a shutdown signal. Every way a session can end is a
//! [`SessionEnd`] variant rather than an `Err`, because the caller does the same
//! thing with all of them: record the [`SessionReport`] (its transcript is the
//! audit trail and the job log) and decide what the ticket does next.
//!
//! # Layout
//! - [`prompt`]: the system prompt (role, ticket, repository instructions, map),
//!   with untrusted text stripped of hidden characters and fenced as data.
//! - `repomap`: the compact repository map (gitignore-aware, bounded).
//! - `runner`: [`Session`], `step` and `run`.

pub mod prompt;
mod repomap;
mod runner;

pub use prompt::{
    PromptOptions, bounded, instruction_file, kickoff_message, review_message, strip_hidden,
    system_prompt, untrusted,
};
pub use repomap::repo_map;
pub use runner::Session;

use nightshift_core::llm::Usage;
use serde::Serialize;
use std::time::Duration;
use tokio::time::Instant;

/// Bytes of each tool output kept in the transcript (the model saw all of it).
pub const TRANSCRIPT_OUTPUT_BYTES: usize = 2 * 1024;

/// When a session must stop even if the model has not finished.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// LLM calls allowed; the call after the last one is not made.
    pub max_turns: u32,
    /// Wall-clock end of the session, on tokio's clock (so tests can pause it).
    /// Checked before every call, and an LLM call or tool still running when it
    /// passes is abandoned.
    pub deadline: Instant,
    /// Identical (call, result) steps tolerated before stopping ([`crate::tools::LoopBreaker`]).
    pub loop_limit: u32,
    /// The output cap sent with every LLM call (`max_tokens`).
    pub max_tokens_per_call: u32,
}

impl SessionLimits {
    /// Limits with a deadline `timeout` from now and the other fields at their
    /// defaults (40 turns, loop limit 3, 4096 output tokens per call).
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            max_turns: 40,
            deadline: Instant::now() + timeout,
            loop_limit: 3,
            max_tokens_per_call: 4096,
        }
    }
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionEnd {
    /// The model replied without tool calls: it considers the work done.
    Done { summary: String },
    /// `max_turns` LLM calls were made and the model still wanted more.
    MaxTurns,
    /// The deadline passed.
    Deadline,
    /// The loop breaker fired: the same step kept giving the same result.
    LoopDetected { reason: String },
    /// The ticket's budget could not cover the next call (it was not made).
    BudgetExhausted { message: String },
    /// The provider failed after its own retries and fallbacks.
    LlmFailed { message: String },
    /// The shutdown signal fired.
    Stopped,
}

/// The outcome of one [`Session::step`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The model asked for tools and got their results; call `step` again.
    Continue,
    /// The session is over; further `step`s return the same end.
    Finished(SessionEnd),
}

/// One tool call the model made and what it got back: a line of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TranscriptEntry {
    /// The turn (1-based LLM call) that asked for it.
    pub turn: u32,
    pub call_id: String,
    pub name: String,
    pub arguments: serde_json::Value,
    pub ok: bool,
    /// The tool's output, cut to [`TRANSCRIPT_OUTPUT_BYTES`] (head and tail kept).
    pub output: String,
}

/// What a finished session did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionReport {
    pub end: SessionEnd,
    /// LLM calls that returned a response.
    pub turns: u32,
    /// Token usage summed over those calls.
    pub usage: Usage,
    pub transcript: Vec<TranscriptEntry>,
}
