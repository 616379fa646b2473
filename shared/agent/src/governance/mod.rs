//! The architect's and the reviewer's model calls: one question, one JSON
//! answer, no tools. The prompts fence everything a person wrote as untrusted
//! data (after stripping hidden characters), and the answer is read strictly:
//! a reply that is not the asked-for JSON gets one request to fix it, then
//! counts as a failed call.
//!
//! # Layout
//! - [`planner`]: ticket (and repository map, and earlier rejections) to a [`Spec`](nightshift_core::governance::Spec).
//! - [`reviewer`]: diff, spec, style guide and gate results to a critique.

pub mod planner;
pub mod reviewer;

use nightshift_core::llm::{ChatMessage, ChatRequest, LlmError, LlmProvider, Usage};
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("the model's answer was not the JSON asked for: {0}")]
    Unreadable(String),
}

/// The first `{ ... }` object in `text` (models like to wrap JSON in fences
/// or prose), found by matching braces outside strings.
pub fn extract_json(text: &str) -> Option<&str> {
    let start = text.find('{')?;
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for (i, c) in text[start..].char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[start..start + i + 1]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Asks `system` + `user` and reads the answer as `T`; one retry with the
/// parse error when it does not read. Returns the answer and the tokens spent.
pub async fn ask_json<T: DeserializeOwned>(
    llm: &dyn LlmProvider,
    system: String,
    user: String,
    max_tokens: u32,
) -> Result<(T, Usage), AskError> {
    let mut messages = vec![ChatMessage::system(system), ChatMessage::user(user)];
    let mut usage = Usage::default();
    for attempt in 0..2 {
        let req = ChatRequest {
            model: String::new(),
            messages: messages.clone(),
            tools: Vec::new(),
            max_tokens,
            temperature: Some(0.0),
        };
        let resp = llm.chat(&req).await?;
        usage.input_tokens += resp.usage.input_tokens;
        usage.output_tokens += resp.usage.output_tokens;
        let text = resp.message.content.clone();
        let parsed = extract_json(&text)
            .ok_or_else(|| "no JSON object in the answer".to_string())
            .and_then(|j| serde_json::from_str::<T>(j).map_err(|e| e.to_string()));
        match parsed {
            Ok(v) => return Ok((v, usage)),
            Err(e) if attempt == 0 => {
                messages.push(resp.message);
                messages.push(ChatMessage::user(format!(
                    "That answer could not be read ({e}). Reply again with only the JSON object, \
                     exactly in the shape asked for."
                )));
            }
            Err(e) => return Err(AskError::Unreadable(e)),
        }
    }
    unreachable!("the loop returns on its second attempt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_object_inside_fences_and_prose() {
        let t = "Sure!\n```json\n{\"a\": \"}{\", \"b\": {\"c\": 1}}\n```\nmore {x}";
        assert_eq!(extract_json(t), Some("{\"a\": \"}{\", \"b\": {\"c\": 1}}"));
        assert_eq!(
            extract_json("{\"a\": \"\\\"}\"}"),
            Some("{\"a\": \"\\\"}\"}")
        );
        assert_eq!(extract_json("no json"), None);
        assert_eq!(extract_json("{ unclosed"), None);
    }
}
