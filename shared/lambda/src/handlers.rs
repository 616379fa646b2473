//! The handlers every function's `main.rs` calls: a batch of SQS messages for
//! a queue-driven role (each message once, by its idempotency record), a
//! scheduled run, and ECS task state changes for job-events. Plain async
//! functions over [`Deps`]: the tests drive them with real event payloads on
//! embedded backends; in AWS the same code runs over the AWS adapters.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use nightshift_aws::events::TaskStateChange;
use nightshift_core::job::{JobOutcome, JobState};
use nightshift_core::ports::{Claim, IdempotencyStore, LaunchState};
use nightshift_roles::{Deps, RoleError, TicketMessage};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A handler's future, boxed so that a role is a plain function pointer.
pub type Handling<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A role fed by a queue: the name its idempotency records carry, and its
/// handler for one message's body. A function's `main.rs` names one of the
/// constants, so its binary links that role's code and no other role's.
#[derive(Clone, Copy)]
pub struct QueueRole {
    pub name: &'static str,
    handle: for<'a> fn(&'a Deps, &'a str) -> Handling<'a, Result<String, HandleError>>,
}

impl QueueRole {
    pub const TRIAGE: QueueRole = QueueRole {
        name: "triage",
        handle: |d, body| Box::pin(triage(d, body)),
    };
    pub const PLANNER: QueueRole = QueueRole {
        name: "planner",
        handle: |d, body| Box::pin(plan(d, body)),
    };
    pub const REVIEWER: QueueRole = QueueRole {
        name: "reviewer",
        handle: |d, body| Box::pin(review(d, body)),
    };
    pub const JOB_EVENTS: QueueRole = QueueRole {
        name: "job-events",
        handle: |d, body| Box::pin(task_stopped(d, body)),
    };

    /// Handles one message's body; `Ok` is a finished effect.
    pub async fn handle(self, deps: &Deps, body: &str) -> Result<String, HandleError> {
        (self.handle)(deps, body).await
    }
}

impl std::fmt::Debug for QueueRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// A role run by a schedule, chosen like a [`QueueRole`].
#[derive(Clone, Copy)]
pub struct ScheduledRole {
    pub name: &'static str,
    run: for<'a> fn(&'a Deps) -> Handling<'a, Result<String, RoleError>>,
}

impl ScheduledRole {
    pub const REAPER: ScheduledRole = ScheduledRole {
        name: "reaper",
        run: |d| {
            Box::pin(async move { Ok(format!("{:?}", nightshift_roles::reaper::reap(d).await?)) })
        },
    };
    pub const DISCOVERY: ScheduledRole = ScheduledRole {
        name: "discovery",
        run: |d| {
            Box::pin(async move { Ok(format!("{:?}", nightshift_roles::discovery::run(d).await?)) })
        },
    };
    pub const DISPATCHER: ScheduledRole = ScheduledRole {
        name: "dispatcher",
        run: |d| Box::pin(dispatch(d)),
    };
    pub const JANITOR: ScheduledRole = ScheduledRole {
        name: "janitor",
        run: |d| {
            Box::pin(async move {
                Ok(format!(
                    "{:?}",
                    nightshift_roles::janitor::schedule(d).await?
                ))
            })
        },
    };
    pub const REPORTER: ScheduledRole = ScheduledRole {
        name: "reporter",
        run: |d| Box::pin(async move { Ok(nightshift_roles::report::run(d).await?.markdown) }),
    };
}

impl std::fmt::Debug for ScheduledRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// How long a message stays claimed while its handler works: a Lambda never
/// runs longer than 15 minutes.
pub const IN_PROGRESS: Duration = Duration::from_secs(15 * 60);
/// How long a handled message is remembered: longer than SQS keeps a message.
pub const KEEP: chrono::Duration = chrono::Duration::days(15);

/// The container that runs `nightshift worker` in the task definition.
pub const WORKER_CONTAINER: &str = "worker";

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("{0}")]
    Bad(String),
    #[error(transparent)]
    Role(#[from] RoleError),
}

fn ticket_of(body: &str) -> Result<String, HandleError> {
    serde_json::from_str::<TicketMessage>(body)
        .map(|m| m.ticket_id)
        .map_err(|e| HandleError::Bad(format!("not a ticket message ({e}): {body:.200}")))
}

async fn triage(deps: &Deps, body: &str) -> Result<String, HandleError> {
    let out = nightshift_roles::triage::triage(deps, &ticket_of(body)?).await?;
    Ok(format!("{out:?}"))
}

async fn plan(deps: &Deps, body: &str) -> Result<String, HandleError> {
    let out = nightshift_roles::planner::plan(deps, &ticket_of(body)?).await?;
    Ok(format!("{out:?}"))
}

async fn review(deps: &Deps, body: &str) -> Result<String, HandleError> {
    let job = nightshift_roles::reviewer::announce(deps, &ticket_of(body)?).await?;
    Ok(format!("review job {job:?}"))
}

async fn dispatch(deps: &Deps) -> Result<String, RoleError> {
    let owner = format!("lambda-{}", nightshift_core::new_id("pass"));
    let r = nightshift_roles::dispatcher::dispatch(deps, &owner).await?;
    Ok(format!("launched {:?}", r.launched))
}

/// An ECS task of a worker stopped (EventBridge → the job-events queue): a
/// job its worker did not finish is failed with why the task stopped, and
/// job-events settles its ticket and budget. A finished job is settled again
/// (idempotent).
pub async fn task_stopped(deps: &Deps, body: &str) -> Result<String, HandleError> {
    let event: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| HandleError::Bad(format!("not an EventBridge event: {e}")))?;
    let change = TaskStateChange::from_event(&event).map_err(HandleError::Bad)?;
    let Some(job_id) = change.job_id(WORKER_CONTAINER) else {
        return Ok(format!("task {} ran no job", change.task_arn));
    };
    let state = change.state(WORKER_CONTAINER);
    let job = match deps.stores.jobs.get_job(&job_id).await {
        Ok(j) => j,
        Err(e) if e.is_not_found() => return Ok(format!("job {job_id} is not known")),
        Err(e) => return Err(RoleError::from(e).into()),
    };
    let job = if job.state.is_finished() {
        job
    } else {
        let why = match &state {
            LaunchState::Exited { code } => {
                format!("the worker's task exited with {code} before finishing the job")
            }
            LaunchState::Stopped { reason } => format!("the worker's task stopped: {reason}"),
            _ => {
                return Ok(format!(
                    "task of {job_id} is {}, nothing to do yet",
                    change.last_status
                ));
            }
        };
        let outcome = JobOutcome {
            state: JobState::Failed,
            reason: Some(why),
            tokens_used: job.tokens_used,
        };
        match deps
            .stores
            .jobs
            .finish_job(&job_id, &outcome, deps.now())
            .await
        {
            Ok(j) => j,
            // It finished meanwhile: settle what is there.
            Err(e) if e.is_conflict() => deps
                .stores
                .jobs
                .get_job(&job_id)
                .await
                .map_err(RoleError::from)?,
            Err(e) => return Err(RoleError::from(e).into()),
        }
    };
    nightshift_roles::jobs::on_job_finished(deps, &job).await?;
    Ok(format!("job {job_id} {}", job.state.as_str()))
}

/// A batch for `role`: each message handled at most once (an idempotency
/// record per message id, claimed before and completed after), failures
/// reported per message so SQS retries only those, and dead-letters them
/// after maxReceiveCount.
pub async fn sqs_batch(
    deps: &Deps,
    idem: &Arc<dyn IdempotencyStore>,
    role: QueueRole,
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for m in event.records {
        let id = m.message_id.clone().unwrap_or_default();
        let key = format!("{}:{id}", role.name);
        let fail = |response: &mut SqsBatchResponse| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id.clone();
            response.batch_item_failures.push(f);
        };
        match idem.claim(&key, IN_PROGRESS, deps.now()).await {
            Ok(Claim::Acquired) => {}
            Ok(Claim::Done(_)) => continue,
            // Another delivery is at it: let SQS bring this one back later.
            Ok(Claim::InProgress) => {
                fail(&mut response);
                continue;
            }
            Err(e) => {
                tracing::error!(message_id = %id, error = %e, "idempotency record unavailable");
                fail(&mut response);
                continue;
            }
        }
        match role.handle(deps, m.body.as_deref().unwrap_or("")).await {
            Ok(what) => {
                if let Err(e) = idem.complete(&key, Some(&what), deps.now() + KEEP).await {
                    tracing::warn!(message_id = %id, error = %e, "handled, but the record was not completed");
                }
            }
            Err(e) => {
                tracing::warn!(message_id = %id, role = role.name, error = %e, "message failed");
                let _ = idem.release(&key).await;
                fail(&mut response);
            }
        }
    }
    response
}

/// A scheduled run (EventBridge Scheduler / rule → the function).
pub async fn scheduled(deps: &Deps, role: ScheduledRole) -> Result<String, RoleError> {
    (role.run)(deps).await
}
