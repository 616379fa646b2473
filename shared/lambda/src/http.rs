//! The HTTP functions (api, webhook): who API Gateway's JWT authorizer has
//! let in, handed to the shared router as a [`Caller`], so a decision made
//! from the dashboard or the API on AWS is recorded as that person.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use nightshift_api::Caller;

/// The claims tried, in order, for the name a decision is recorded under.
pub const NAME_CLAIMS: [&str; 4] = ["email", "cognito:username", "username", "sub"];

/// The person behind a request that API Gateway's JWT authorizer verified:
/// the first of [`NAME_CLAIMS`] its token carries. `None` for a request
/// without a verified token (the public routes, and the webhook).
pub fn jwt_caller<B>(req: &lambda_http::http::Request<B>) -> Option<Caller> {
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
        return None;
    };
    let claims = &ctx.authorizer.as_ref()?.jwt.as_ref()?.claims;
    NAME_CLAIMS
        .iter()
        .filter_map(|c| claims.get(*c))
        .map(|v| v.trim())
        .find(|v| !v.is_empty())
        .map(|v| Caller(v.chars().take(200).collect()))
}

/// Middleware: puts the request's [`Caller`] where the router's handlers look.
pub async fn caller_from_jwt(mut req: Request, next: Next) -> Response {
    if let Some(caller) = jwt_caller(&req) {
        req.extensions_mut().insert(caller);
    }
    next.run(req).await
}

/// The shared router as the api function serves it.
pub fn router(deps: nightshift_roles::Deps, auth: nightshift_api::ApiAuth) -> axum::Router {
    nightshift_api::router_with(deps, auth).layer(axum::middleware::from_fn(caller_from_jwt))
}
