//! The HTTP API: one axum router, served by `nightshift up` on 127.0.0.1 and, in
//! AWS, by the api function through lambda_http. Every route is declared with
//! `utoipa::path` and mounted through `utoipa_axum::routes!`, so `/openapi.json`
//! is generated from the same handlers that serve the requests and cannot drift.
//!
//! # Layout
//! - [`tickets`]: submit, list and show tickets.
//! - [`jobs`]: jobs with their progress, and the tail of a job's log.
//! - [`budget`]: tokens spent per ticket and in total.
//! - [`dashboard`]: the web page a team watches and approves from.
//! - [`approvals`]: the spec and merge gates, approved or rejected once (and night shift's batch).
//! - [`report`]: the nightly report, on demand.
//! - [`webhook`]: GitHub's deliveries, checked by their HMAC signature.
//! - [`auth`]: the bearer token on the ticket and approval routes.
//! - [`system`]: health, status and the OpenAPI document.
//! - [`error`]: errors as JSON with the status they deserve.

pub mod approvals;
pub mod auth;
pub mod budget;
pub mod dashboard;
pub mod error;
pub mod jobs;
pub mod report;
pub mod system;
pub mod tickets;
pub mod webhook;

pub use auth::{ApiAuth, Caller};

use axum::extract::DefaultBodyLimit;
use nightshift_roles::Deps;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Nightshift", description = "The autonomous software factory's API."),
    tags(
        (name = "tickets", description = "Work items"),
        (name = "approvals", description = "The spec and merge gates"),
        (name = "jobs", description = "Workers' jobs, their progress and logs"),
        (name = "budget", description = "Tokens spent"),
        (name = "dashboard", description = "The web page (HTML, CSS, JavaScript)"),
        (name = "webhooks", description = "Deliveries from GitHub"),
        (name = "system", description = "Health and status"),
    )
)]
struct ApiDoc;

/// Request bodies larger than this are refused by axum itself (413); up to it,
/// each route applies its own, smaller, limit and answers 400 naming it.
const HARD_BODY_LIMIT: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub deps: Deps,
    pub openapi: Arc<utoipa::openapi::OpenApi>,
    pub auth: ApiAuth,
}

/// The routes behind the token.
fn protected() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tickets::create_ticket, tickets::list_tickets))
        .routes(routes!(tickets::get_ticket))
        .routes(routes!(tickets::list_pulls))
        .routes(routes!(approvals::list_approvals))
        .routes(routes!(approvals::get_approval))
        .routes(routes!(approvals::approve))
        .routes(routes!(approvals::reject))
        .routes(routes!(approvals::approve_batch))
        .routes(routes!(report::get_report))
        .routes(routes!(jobs::list_jobs))
        .routes(routes!(jobs::job_log))
        .routes(routes!(budget::budget))
}

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(protected())
        .routes(routes!(webhook::github))
        .routes(routes!(system::health))
        .routes(routes!(system::status))
        .routes(routes!(system::openapi_json))
        .merge(dashboard::routes())
}

/// The API's router without credentials: the protected routes are open and
/// the webhook refuses every delivery. For loopback use and tests.
pub fn router(deps: Deps) -> axum::Router {
    router_with(deps, ApiAuth::default())
}

/// The API's router, ready to serve, with its credentials.
pub fn router_with(deps: Deps, auth: ApiAuth) -> axum::Router {
    let api = routes().split_for_parts().1;
    let state = AppState {
        deps,
        openapi: Arc::new(api),
        auth,
    };
    let guarded = protected().route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_token,
    ));
    let (router, _) = OpenApiRouter::new()
        .merge(guarded)
        .routes(routes!(webhook::github))
        .routes(routes!(system::health))
        .routes(routes!(system::status))
        .routes(routes!(system::openapi_json))
        .merge(dashboard::routes())
        .split_for_parts();
    router
        .layer(DefaultBodyLimit::max(HARD_BODY_LIMIT))
        .with_state(state)
}

/// The OpenAPI document alone (for `nightshift openapi` and tests).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}
