//! The api function: the same axum router as `nightshift up`, through
//! lambda_http behind API Gateway, whose JWT authorizer has checked the
//! caller of the ticket, approval, job, budget, report and pull request routes
//! (the dashboard's page and assets are public). GitHub's webhook route goes
//! to the webhook function, so this one holds no webhook secret.

use nightshift_lambda::wiring::{self, Needs};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    wiring::init_tracing();
    let (deps, _) = wiring::aws_deps(Needs::NOTHING.with_forge().with_logs()).await?;
    let auth = nightshift_api::ApiAuth {
        token: None,
        webhook_secret: None,
    };
    lambda_http::run(nightshift_lambda::http::router(deps, auth)).await
}
