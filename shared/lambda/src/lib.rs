//! What every Lambda function shares: the handlers (SQS batches with
//! idempotency records, schedules, ECS task events), and the wiring of the
//! AWS adapters from the environment the template sets. Each function's
//! `main.rs` is wiring only.
//!
//! # Layout
//! - [`handlers`]: plain async handlers over `Deps`, tested with real event payloads.
//! - [`wiring`]: the AWS adapters from the template's environment.
//! - [`http`]: the api and webhook functions' router, with the JWT's caller.

pub mod handlers;
pub mod http;
pub mod wiring;

pub use handlers::{QueueRole, ScheduledRole, scheduled, sqs_batch};
