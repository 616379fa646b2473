//! The session itself. The conversation is the state: every assistant message is
//! appended as it came back (tool calls included) and answered by one
//! `tool_result` per call, so the next request is always a well-formed
//! continuation whatever the provider.

use super::{
    SessionEnd, SessionLimits, SessionReport, Step, TRANSCRIPT_OUTPUT_BYTES, TranscriptEntry,
};
use crate::tools::{LoopBreaker, Toolbox};
use nightshift_core::llm::{ChatMessage, ChatRequest, LlmError, LlmProvider, StopReason, Usage};
use std::future::Future;
use std::sync::Arc;
use tokio::time::{Instant, timeout_at};

/// Said to the model when its reply was cut off by `max_tokens` without a tool
/// call: the reply is not a summary, so the session asks for the rest.
const CUT_OFF: &str = "Your reply was cut off by the output limit. Continue: either call a tool, \
or reply without tool calls with a short summary if the work is done.";

/// One coding session: a model, a toolbox and the conversation between them.
pub struct Session {
    provider: Arc<dyn LlmProvider>,
    model: String,
    toolbox: Toolbox,
    limits: SessionLimits,
    messages: Vec<ChatMessage>,
    breaker: LoopBreaker,
    turns: u32,
    usage: Usage,
    transcript: Vec<TranscriptEntry>,
    end: Option<SessionEnd>,
}

impl Session {
    /// A session that starts from `system` (see [`super::system_prompt`]) and the
    /// first user message (see [`super::kickoff_message`]).
    pub fn new(
        provider: Arc<dyn LlmProvider>,
        model: impl Into<String>,
        toolbox: Toolbox,
        system: impl Into<String>,
        first_user_message: impl Into<String>,
        limits: SessionLimits,
    ) -> Self {
        Self {
            provider,
            model: model.into(),
            toolbox,
            breaker: LoopBreaker::new(limits.loop_limit),
            limits,
            messages: vec![
                ChatMessage::system(system),
                ChatMessage::user(first_user_message),
            ],
            turns: 0,
            usage: Usage::default(),
            transcript: Vec::new(),
            end: None,
        }
    }

    /// The conversation so far.
    pub fn messages(&self) -> &[ChatMessage] {
        &self.messages
    }

    /// LLM calls that returned so far.
    pub fn turns(&self) -> u32 {
        self.turns
    }

    pub fn transcript(&self) -> &[TranscriptEntry] {
        &self.transcript
    }

    /// One LLM call, then the tool calls it asked for, in order. Once a step has
    /// returned `Finished`, every later step returns the same end without calling.
    pub async fn step(&mut self) -> Step {
        if let Some(end) = &self.end {
            return Step::Finished(end.clone());
        }
        match self.turn().await {
            Ok(()) => Step::Continue,
            Err(end) => {
                self.end = Some(end.clone());
                Step::Finished(end)
            }
        }
    }

    /// Steps until the session finishes or `shutdown` completes. A step in flight
    /// when shutdown fires is abandoned (a running tool's process is killed on
    /// drop) and the session ends `Stopped`.
    pub async fn run(mut self, shutdown: impl Future) -> SessionReport {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                _ = &mut shutdown => {
                    self.end.get_or_insert(SessionEnd::Stopped);
                    break;
                }
                step = self.step() => {
                    if let Step::Finished(_) = step {
                        break;
                    }
                }
            }
        }
        self.into_report()
    }

    /// The report as things stand; a session not yet finished reports `Stopped`.
    pub fn into_report(self) -> SessionReport {
        SessionReport {
            end: self.end.unwrap_or(SessionEnd::Stopped),
            turns: self.turns,
            usage: self.usage,
            transcript: self.transcript,
        }
    }

    /// The body of `step`: `Err` carries the end.
    async fn turn(&mut self) -> Result<(), SessionEnd> {
        if self.turns >= self.limits.max_turns {
            return Err(SessionEnd::MaxTurns);
        }
        let deadline = self.limits.deadline;
        if Instant::now() >= deadline {
            return Err(SessionEnd::Deadline);
        }
        let request = ChatRequest {
            model: self.model.clone(),
            messages: self.messages.clone(),
            tools: self.toolbox.specs(),
            max_tokens: self.limits.max_tokens_per_call,
            // Left to the provider: some reasoning models refuse any temperature.
            temperature: None,
        };
        let response = match timeout_at(deadline, self.provider.chat(&request)).await {
            Err(_elapsed) => return Err(SessionEnd::Deadline),
            Ok(Err(e @ LlmError::BudgetExhausted { .. })) => {
                return Err(SessionEnd::BudgetExhausted {
                    message: e.to_string(),
                });
            }
            Ok(Err(e)) => {
                return Err(SessionEnd::LlmFailed {
                    message: e.to_string(),
                });
            }
            Ok(Ok(r)) => r,
        };
        self.turns += 1;
        self.usage.input_tokens = self
            .usage
            .input_tokens
            .saturating_add(response.usage.input_tokens);
        self.usage.output_tokens = self
            .usage
            .output_tokens
            .saturating_add(response.usage.output_tokens);
        tracing::debug!(
            turn = self.turns,
            provider = %response.provider,
            tool_calls = response.message.tool_calls.len(),
            "session turn"
        );

        let mut message = response.message;
        // Whatever role the adapter put, this is the assistant speaking.
        message.role = nightshift_core::llm::Role::Assistant;
        let calls = message.tool_calls.clone();
        if calls.is_empty() {
            let summary = message.content.trim().to_owned();
            self.messages.push(message);
            if response.stop == StopReason::MaxTokens {
                self.messages.push(ChatMessage::user(CUT_OFF));
                return Ok(());
            }
            return Err(SessionEnd::Done { summary });
        }
        self.messages.push(message);
        for call in &calls {
            let outcome = match timeout_at(deadline, self.toolbox.execute(call)).await {
                Ok(o) => o,
                Err(_elapsed) => return Err(SessionEnd::Deadline),
            };
            self.transcript.push(TranscriptEntry {
                turn: self.turns,
                call_id: call.id.clone(),
                name: call.name.clone(),
                arguments: call.arguments.clone(),
                ok: outcome.ok,
                output: crate::tools::text::cut_middle(
                    &outcome.output,
                    TRANSCRIPT_OUTPUT_BYTES / 2,
                    TRANSCRIPT_OUTPUT_BYTES / 2,
                ),
            });
            let looping = self.breaker.record(call, &outcome);
            self.messages
                .push(ChatMessage::tool_result(call.id.clone(), outcome.output));
            if let Some(reason) = looping {
                return Err(SessionEnd::LoopDetected { reason });
            }
        }
        Ok(())
    }
}
