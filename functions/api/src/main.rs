//! The api function: the same axum router as `nightshift up`, through
//! lambda_http behind API Gateway (its authorizer guards the ticket and
//! approval routes; the webhook route checks GitHub's HMAC itself).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    nightshift_lambda::wiring::init_tracing();
    let (deps, _) = nightshift_lambda::wiring::aws_deps().await?;
    let webhook_secret = deps
        .secrets
        .get(&deps.settings.api.webhook_secret)
        .await
        .ok();
    // API Gateway's authorizer has checked the caller: no token here.
    let auth = nightshift_api::ApiAuth {
        token: None,
        webhook_secret,
    };
    lambda_http::run(nightshift_api::router_with(deps, auth)).await
}
