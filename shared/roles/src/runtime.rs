//! Every role in one process, for `nightshift up` and the tests: the
//! queue-driven roles as consumer loops, the scheduled ones on the in-process
//! scheduler. In AWS the same functions run as Lambdas instead.

use crate::consumer::{self, HandlerError, handler};
use crate::{Deps, RoleResult, TicketMessage, dispatcher, reaper, scheduler, triage};
use nightshift_core::queue::names;
use nightshift_core::schedule::SCHEDULES;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A lock owner per dispatch pass: two passes in one process (the queue and the
/// schedule) must exclude each other as two processes do.
fn owner() -> String {
    format!(
        "local-{}-{}",
        std::process::id(),
        nightshift_core::new_id("pass")
    )
}

/// The triage queue's handler: a `{"ticket_id": ...}` message, triaged by rules.
pub fn triage_handler() -> consumer::Handler {
    handler(|deps: Deps, body: String| async move {
        let msg: TicketMessage = consumer::parse(&body)?;
        triage::triage(&deps, &msg.ticket_id)
            .await
            .map(|_| ())
            .map_err(HandlerError::from)
    })
}

/// Resumes what a previous run left (expired leases, stale locks, unannounced
/// tickets, launches not made), then starts every loop. Returns the tasks, which
/// end after `shutdown` once the work in hand is done.
pub async fn start(deps: &Deps, shutdown: CancellationToken) -> RoleResult<Vec<JoinHandle<()>>> {
    let r = reaper::reap(deps).await?;
    let d = dispatcher::dispatch(deps, &owner()).await?;
    tracing::info!(
        requeued = r.requeued.len(),
        reannounced = r.reannounced.len(),
        relaunched = d.relaunched.len(),
        "resumed"
    );

    let mut tasks = Vec::new();
    let dispatch_handler = handler(|deps: Deps, _body: String| async move {
        dispatcher::dispatch(&deps, &owner())
            .await
            .map(|_| ())
            .map_err(HandlerError::from)
    });
    let plan_handler = handler(|deps: Deps, body: String| async move {
        let msg: TicketMessage = consumer::parse(&body)?;
        crate::planner::plan(&deps, &msg.ticket_id)
            .await
            .map(|_| ())
            .map_err(HandlerError::from)
    });
    let review_handler = handler(|deps: Deps, body: String| async move {
        let msg: TicketMessage = consumer::parse(&body)?;
        crate::reviewer::announce(&deps, &msg.ticket_id)
            .await
            .map(|_| ())
            .map_err(HandlerError::from)
    });
    for (queue, h) in [
        (names::TRIAGE, triage_handler()),
        (names::PLAN, plan_handler),
        (names::DISPATCH, dispatch_handler),
        (names::REVIEW, review_handler),
    ] {
        tasks.push(tokio::spawn(consumer::run(
            deps.clone(),
            queue,
            h,
            shutdown.clone(),
        )));
    }
    for entry in SCHEDULES {
        let role: fn(Deps) -> scheduler::BoxedRun = match entry.name {
            "reaper" => |deps| {
                Box::pin(async move {
                    if let Err(e) = reaper::reap(&deps).await {
                        tracing::error!(error = %e, "reaper failed");
                    }
                })
            },
            "discovery" => |deps| {
                Box::pin(async move {
                    if let Err(e) = crate::discovery::run(&deps).await {
                        tracing::error!(error = %e, "discovery failed");
                    }
                })
            },
            "janitor" => |deps| {
                Box::pin(async move {
                    if let Err(e) = crate::janitor::schedule(&deps).await {
                        tracing::error!(error = %e, "janitor failed");
                    }
                })
            },
            "reporter" => |deps| {
                Box::pin(async move {
                    if let Err(e) = crate::report::run(&deps).await {
                        tracing::error!(error = %e, "reporter failed");
                    }
                })
            },
            "dispatcher" => |deps| {
                Box::pin(async move {
                    if let Err(e) = dispatcher::dispatch(&deps, &owner()).await {
                        tracing::error!(error = %e, "dispatcher failed");
                    }
                })
            },
            other => {
                tracing::warn!(schedule = other, "no local runner for this schedule");
                continue;
            }
        };
        let d = deps.clone();
        let job: scheduler::Job = Arc::new(move || role(d.clone()));
        tasks.push(tokio::spawn(scheduler::run(
            *entry,
            deps.clock.clone(),
            job,
            shutdown.clone(),
        )));
    }
    Ok(tasks)
}
