//! What both adapters share: one JSON POST, and the translation of HTTP failures
//! into `LlmError` variants the retry layer and the router can act on (429 waits,
//! 5xx retries, other 4xx stop). Error text comes from the provider's JSON error
//! body only, never from our request, and any echo of the API key is redacted.

use nightshift_core::llm::LlmError;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::time::{Duration, SystemTime};

/// Longest provider error text kept in an error (characters).
const MAX_MESSAGE_CHARS: usize = 500;

/// A client for LLM calls: a connect timeout so a dead host fails fast, a total
/// timeout because a hung completion would hold a worker forever, and no
/// redirects (a redirected POST silently turns into a GET).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Sends the request and returns the body of a 2xx answer, or the mapped error.
pub(crate) async fn send(
    provider: &str,
    request: reqwest::RequestBuilder,
    key: Option<&SecretString>,
) -> Result<Vec<u8>, LlmError> {
    let response = request.send().await.map_err(|e| transport(provider, e))?;
    let status = response.status();
    if status.is_success() {
        let body = response.bytes().await.map_err(|e| transport(provider, e))?;
        return Ok(body.to_vec());
    }
    let retry_after = retry_after(response.headers(), SystemTime::now());
    // A body we cannot read still leaves the status to act on.
    let body = response.bytes().await.unwrap_or_default();
    let message = redact(error_message(&body), key);
    tracing::debug!(provider, status = status.as_u16(), %message, "llm call failed");
    Err(status_error(
        provider,
        status.as_u16(),
        retry_after,
        message,
    ))
}

/// A header carrying the key, marked sensitive so no HTTP layer logs it. A key
/// with a stray control character cannot be a header; the error says so
/// without quoting the key (`InvalidHeaderValue` prints nothing of it) and is
/// not retryable: the configuration, not the network, is wrong.
pub(crate) fn key_header(
    provider: &str,
    prefix: &str,
    key: &SecretString,
) -> Result<HeaderValue, LlmError> {
    let mut value = HeaderValue::from_str(&format!("{prefix}{}", key.expose_secret().trim()))
        .map_err(|_| LlmError::NotConfigured {
            role: provider.to_owned(),
            hint: "its API key is not a valid HTTP header value; check the secret".into(),
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Parses a 2xx body; a mismatch is a `Decode` error (serde's message, not the body).
pub(crate) fn decode<T: DeserializeOwned>(provider: &str, body: &[u8]) -> Result<T, LlmError> {
    serde_json::from_slice(body).map_err(|e| LlmError::Decode {
        provider: provider.to_owned(),
        message: format!("unexpected response body: {e}"),
    })
}

pub(crate) fn status_error(
    provider: &str,
    status: u16,
    retry_after: Option<Duration>,
    message: String,
) -> LlmError {
    let provider = provider.to_owned();
    match status {
        429 => LlmError::RateLimited {
            provider,
            retry_after,
        },
        // 529 is Anthropic's "overloaded": a server-side condition, worth a retry.
        500..=599 => LlmError::Server {
            provider,
            status,
            message,
        },
        _ => LlmError::Request {
            provider,
            status,
            message,
        },
    }
}

/// `retry-after-ms` (OpenAI) when present, else `Retry-After` in seconds or as an
/// HTTP date (RFC 9110). A date in the past means "now".
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
        && let Ok(d) = Duration::try_from_secs_f64(ms / 1000.0)
    {
        return Some(d);
    }
    parse_retry_after(text(RETRY_AFTER.as_str())?, now)
}

pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The provider's own words: `error.message` (OpenAI, Anthropic, vLLM), `error`
/// as a string (Ollama), `message` or `detail`; else the start of the body.
pub(crate) fn error_message(body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            [
                v.pointer("/error/message"),
                v.get("error"),
                v.get("message"),
                v.get("detail"),
            ]
            .into_iter()
            .flatten()
            .find_map(|m| m.as_str().map(str::to_owned))
        });
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE_CHARS)
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        "(no error message)".to_owned()
    } else {
        clean.to_owned()
    }
}

/// Providers sometimes quote the key they refused; it must not travel on in our errors.
pub(crate) fn redact(message: String, key: Option<&SecretString>) -> String {
    match key.map(|k| k.expose_secret().trim()) {
        Some(k) if !k.is_empty() && message.contains(k) => message.replace(k, "[redacted]"),
        _ => message,
    }
}

/// A network failure, with the URL stripped (a base URL may carry credentials)
/// and the root cause in the message so a one-line log says what happened.
pub(crate) fn transport(provider: &str, error: reqwest::Error) -> LlmError {
    let error = error.without_url();
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "reading the response failed"
    } else {
        "the request failed"
    };
    let mut root: &dyn std::error::Error = &error;
    while let Some(next) = root.source() {
        root = next;
    }
    LlmError::Transport {
        provider: provider.to_owned(),
        message: format!("{what}: {root}"),
        source: Some(Box::new(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn error_message_prefers_the_providers_words() {
        let openai = br#"{"error":{"message":"bad tools","type":"invalid_request_error"}}"#;
        assert_eq!(error_message(openai), "bad tools");
        let ollama = br#"{"error":"model not found"}"#;
        assert_eq!(error_message(ollama), "model not found");
        assert_eq!(
            error_message(b"<html>\nbad gateway</html>"),
            "<html> bad gateway</html>"
        );
        assert_eq!(error_message(b""), "(no error message)");
        assert_eq!(error_message(&[b'x'; 2000]).len(), MAX_MESSAGE_CHARS);
    }

    #[test]
    fn redact_removes_an_echoed_key() {
        let key = SecretString::from("sk-live-123");
        let message = redact("Incorrect API key provided: sk-live-123".into(), Some(&key));
        assert_eq!(message, "Incorrect API key provided: [redacted]");
    }
}
