//! The agent loop end to end with real parts: the real OpenAI-compatible adapter
//! against a loopback server replaying a scripted conversation, the real toolbox
//! in a temporary directory, and the real prompt builder on real files.

mod helpers;
mod limits;
mod prompt;
mod scripted;
