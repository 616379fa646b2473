//! Every role as plain async functions over the ports. Lambda handlers, the
//! `nightshift up` loops and the tests all call these; none of them knows which
//! adapters sit behind the ports.
//!
//! # Layout
//! - [`builder`]: one build job: clone, agent session, tests, commit, push, pull request.
//! - [`intake`]: tickets from the API and the CLI.
//! - [`triage`]: the PM role; by rules (priority, duplicates) when no LLM is set.
//! - [`dispatcher`]: ready tickets to jobs, in priority order, under the cap and budget.
//! - [`discovery`]: analyzer findings to `ready-for-robot` tickets, once each.
//! - [`jobs`]: what a finished job means for its ticket (the job-events role).
//! - [`reaper`]: expired leases, expired locks, jobs past their deadline.
//! - [`consumer`]: the queue loop shared by every queue-driven role.
//! - [`scheduler`]: the in-process scheduler for `nightshift up`.
//! - [`runtime`]: every role in one process (`nightshift up`, tests).
//! - [`status`]: what the factory is doing, and what it waits for.
//! - [`transition`]: the only way a ticket changes state.
//! - [`config`]: settings from defaults, `nightshift.toml` and `NIGHTSHIFT_*`.
//!
//! Still to come, each with its issue: planner and reviewer (governance), the
//! builder's agent loop (builder), janitor and reporter.

pub mod approvals;
pub mod builder;
pub mod config;
pub mod consumer;
pub mod discovery;
pub mod dispatcher;
pub mod intake;
pub mod janitor;
pub mod jobs;
pub mod planner;
pub mod reaper;
pub mod report;
pub mod retention;
pub mod reviewer;
pub mod runtime;
pub mod scheduler;
pub mod status;
pub mod transition;
pub mod triage;
pub mod webhook;

use nightshift_core::StoreError;
use nightshift_core::clock::Clock;
use nightshift_core::forge::Forge;
use nightshift_core::llm::Models;
use nightshift_core::ports::{JobLauncher, LogSource, Queue, Secrets, Stores};
use nightshift_core::settings::Settings;
use std::sync::Arc;

/// Everything a role needs, built once at start-up and shared.
#[derive(Clone)]
pub struct Deps {
    pub stores: Stores,
    pub queue: Arc<dyn Queue>,
    pub launcher: Arc<dyn JobLauncher>,
    /// Where discovery reads logs.
    pub logs: Arc<dyn LogSource>,
    /// Where repositories live and pull requests are opened.
    pub forge: Arc<dyn Forge>,
    /// The model of each role (routed, with fallback), or `None` when no LLM is set up.
    pub llm: Option<Arc<dyn Models>>,
    /// Secrets by name (SSM in AWS; env and files locally): never logged.
    pub secrets: Arc<dyn Secrets>,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
}

impl Deps {
    pub fn now(&self) -> nightshift_core::Timestamp {
        self.clock.now()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Illegal(#[from] nightshift_core::state::IllegalTransition),
    #[error(transparent)]
    Input(#[from] nightshift_core::ticket::InputError),
    #[error(transparent)]
    Launch(#[from] nightshift_core::ports::LaunchError),
    #[error(transparent)]
    Forge(#[from] nightshift_core::forge::ForgeError),
    /// A model call failed in a way worth retrying later.
    #[error("{0}")]
    Agent(String),
}

impl RoleError {
    /// Whether handling the same input again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Store(e) => e.is_retryable(),
            Self::Launch(_) | Self::Agent(_) => true,
            Self::Forge(e) => !matches!(e, nightshift_core::forge::ForgeError::Refused { .. }),
            Self::Illegal(_) | Self::Input(_) => false,
        }
    }
}

pub type RoleResult<T> = Result<T, RoleError>;

/// The message the queue-driven roles pass: which ticket to look at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketMessage {
    pub ticket_id: String,
}

impl TicketMessage {
    pub fn body(ticket_id: &str) -> String {
        serde_json::json!({ "ticket_id": ticket_id }).to_string()
    }
}
