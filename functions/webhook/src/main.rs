//! The webhook function: GitHub's deliveries to `POST /webhooks/github`,
//! served by the same axum router as `nightshift up` through lambda_http. The
//! route has no authorizer: the router checks GitHub's HMAC with the secret
//! read from SSM in init, and refuses every delivery without one.

use anyhow::Context;
use nightshift_lambda::wiring::{self, Needs};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    wiring::init_tracing();
    let (deps, _) = wiring::aws_deps(Needs::NOTHING.with_forge()).await?;
    let webhook_secret = deps
        .secrets
        .get(&deps.settings.api.webhook_secret)
        .await
        .context("the GitHub webhook's secret")?;
    let auth = nightshift_api::ApiAuth {
        token: None,
        webhook_secret: Some(webhook_secret),
    };
    lambda_http::run(nightshift_lambda::http::router(deps, auth)).await
}
