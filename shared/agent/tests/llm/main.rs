//! The LLM adapters against loopback HTTP servers speaking each provider's wire
//! format: what goes out (path, headers, body shape), what comes back (tool
//! calls, usage, stop reasons), failures, retries under a paused clock, routing
//! with fallback, settings, and that API keys never leak.

mod anthropic;
mod helpers;
mod logs;
mod openai;
mod retry;
mod router;
mod secrets;
mod settings;
