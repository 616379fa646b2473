//! The dispatcher function: its queue (a ticket became ready) and its
//! one-minute schedule both run one dispatch pass; an SQS batch's messages
//! are only wake-ups, so one pass answers them all.

use aws_lambda_events::event::sqs::SqsBatchResponse;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use nightshift_lambda::{ScheduledRole, scheduled, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    wiring::init_tracing();
    let (deps, _) = wiring::aws_deps(wiring::Needs::NOTHING.with_launcher()).await?;
    run(service_fn(|e: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move {
            let done = scheduled(&deps, ScheduledRole::DISPATCHER).await?;
            tracing::info!(%done, "dispatch pass done");
            // From SQS: every message handled (the pass is the effect).
            if e.payload.get("Records").is_some() {
                return Ok::<serde_json::Value, Error>(serde_json::to_value(
                    SqsBatchResponse::default(),
                )?);
            }
            Ok(serde_json::json!({ "done": done }))
        }
    }))
    .await
}
