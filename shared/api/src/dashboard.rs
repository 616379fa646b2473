//! The dashboard: one page of plain HTML, CSS and JavaScript, embedded in the
//! binary (no front-end build step), that reads the JSON API and polls it.
//! The page and its assets are open; the data behind them needs the token
//! like any other client (the page asks for it on a 401 and keeps it in the
//! browser's localStorage).
//!
//! The files live in `shared/api/dashboard/`, outside `src/` (whose every
//! file is read as Rust by the route test).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("../dashboard/index.html");
const APP_JS: &str = include_str!("../dashboard/app.js");
const STYLE_CSS: &str = include_str!("../dashboard/style.css");

/// Only the page's own script, style and API: no inline script or style, no
/// other origin, no frames, no forms posting anywhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// The dashboard: the queue, running jobs and their logs, approvals to
/// decide, pull requests, the budget, the nightly report and every ticket's
/// audit trail.
#[utoipa::path(
    get, path = "/", tag = "dashboard",
    responses((status = 200, description = "The dashboard page", content_type = "text/html"))
)]
pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// The dashboard's script.
#[utoipa::path(
    get, path = "/dashboard/app.js", tag = "dashboard",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript"))
)]
pub async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// The dashboard's style sheet.
#[utoipa::path(
    get, path = "/dashboard/style.css", tag = "dashboard",
    responses((status = 200, description = "CSS", content_type = "text/css"))
)]
pub async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

/// The page and its assets: open, like health and status (the data comes
/// from the protected routes).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(index))
        .routes(routes!(app_js))
        .routes(routes!(style_css))
}
