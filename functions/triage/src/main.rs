//! The triage function: SQS batches for the triage role, each message once
//! (idempotency records), failures reported per message.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use nightshift_lambda::{QueueRole, sqs_batch, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    wiring::init_tracing();
    let (deps, idem) = wiring::aws_deps(wiring::Needs::NOTHING).await?;
    run(service_fn(|e: LambdaEvent<SqsEvent>| {
        let (deps, idem) = (deps.clone(), idem.clone());
        async move {
            Ok::<SqsBatchResponse, Error>(
                sqs_batch(&deps, &idem, QueueRole::TRIAGE, e.payload).await,
            )
        }
    }))
    .await
}
