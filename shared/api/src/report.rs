//! The nightly report, on demand.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Query, State};
use nightshift_roles::report::Report;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The window, in hours back from now (default 24, at most 24 × 90).
    pub hours: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportBody {
    /// The report as Markdown, as the nightly run sends it.
    pub markdown: String,
    pub report: Report,
}

/// What happened in the last `hours` (24 by default): tickets done, pull
/// requests, failed jobs and why, budget, pending approvals, janitor runs and
/// discovery findings.
#[utoipa::path(
    get, path = "/report", tag = "tickets", params(ReportQuery),
    responses((status = 200, body = ReportBody), (status = 400, body = ErrorBody))
)]
pub async fn get_report(
    State(s): State<AppState>,
    Query(q): Query<ReportQuery>,
) -> Result<Json<ReportBody>, ApiError> {
    let hours = q.hours.unwrap_or(24);
    if hours == 0 || hours > 24 * 90 {
        return Err(ApiError::bad_request(Some("hours"), "between 1 and 2160"));
    }
    let until = s.deps.now();
    let report = nightshift_roles::report::build(
        &s.deps,
        until - chrono::Duration::hours(i64::from(hours)),
        until,
    )
    .await?;
    Ok(Json(ReportBody {
        markdown: report.to_markdown(),
        report,
    }))
}
