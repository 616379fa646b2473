//! The AWS adapters against moto, the AWS emulator, on loopback: the same
//! contract suites the embedded adapters pass.

mod idempotency;
mod launcher;
mod logs;
mod moto;
mod queue;
mod secrets;
mod store;
