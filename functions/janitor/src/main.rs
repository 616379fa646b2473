//! The janitor function: run by its EventBridge schedule.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use nightshift_lambda::{ScheduledRole, scheduled, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    wiring::init_tracing();
    let (deps, _) = wiring::aws_deps(
        wiring::Needs::NOTHING
            .with_forge()
            .with_models()
            .with_launcher(),
    )
    .await?;
    run(service_fn(|_e: LambdaEvent<serde_json::Value>| {
        let deps = deps.clone();
        async move {
            let done = scheduled(&deps, ScheduledRole::JANITOR).await?;
            tracing::info!(role = "janitor", %done, "scheduled run done");
            Ok::<serde_json::Value, Error>(serde_json::json!({ "done": done }))
        }
    }))
    .await
}
