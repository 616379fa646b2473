//! The integration test binary: contract suites against the embedded adapters,
//! the roles end to end, the HTTP API on a real port, and the CLI as a process.

mod agent;
mod api;
mod builder;
mod cli;
mod concurrency;
mod contract;
mod dashboard;
mod discovery;
mod factory;
mod forge;
mod governance;
mod helpers;
mod janitor;
mod lambda;
mod ops;
mod review;
mod roles;
mod scripts;
mod setup;
mod webhook;
