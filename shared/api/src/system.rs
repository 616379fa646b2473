//! Health, status and the OpenAPI document.

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use nightshift_roles::status::StatusReport;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// Liveness: the process answers and its store is reachable.
#[utoipa::path(get, path = "/health", tag = "system", responses((status = 200, body = Health), (status = 503)))]
pub async fn health(State(s): State<AppState>) -> Result<Json<Health>, ApiError> {
    s.deps.stores.tickets.count_by_state().await?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

/// What the factory is doing, and what waits and why.
#[utoipa::path(get, path = "/status", tag = "system", responses((status = 200, body = StatusReport)))]
pub async fn status(State(s): State<AppState>) -> Result<Json<StatusReport>, ApiError> {
    Ok(Json(nightshift_roles::status::status(&s.deps).await?))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "system", responses((status = 200, description = "OpenAPI 3.1")))]
pub async fn openapi_json(State(s): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json((*s.openapi).clone())
}
