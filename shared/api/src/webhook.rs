//! `POST /webhooks/github`: verified by its HMAC signature, taken once per
//! delivery id; see `nightshift_roles::webhook`.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use nightshift_roles::webhook::{WebhookOutcome, handle, verify_signature};

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn refuse(status: StatusCode, message: &str) -> ApiError {
    ApiError {
        status,
        body: ErrorBody {
            error: message.into(),
            field: None,
        },
    }
}

/// A GitHub webhook delivery (issues, issue_comment). 401 unless signed with
/// the configured secret; 200 with what it led to (a replay changes nothing).
#[utoipa::path(
    post, path = "/webhooks/github", tag = "webhooks",
    request_body(content = Object, description = "A GitHub webhook payload", content_type = "application/json"),
    responses(
        (status = 200, description = "Handled, ignored or a replay", body = Object),
        (status = 401, description = "Missing or wrong X-Hub-Signature-256", body = ErrorBody),
        (status = 503, description = "No webhook secret is configured", body = ErrorBody),
    )
)]
pub async fn github(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let Some(secret) = &s.auth.webhook_secret else {
        return Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "no webhook secret is configured ([api] webhook_secret)",
        ));
    };
    if !verify_signature(secret, &body, header(&headers, "x-hub-signature-256")) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "the X-Hub-Signature-256 signature does not match",
        ));
    }
    let outcome = handle(
        &s.deps,
        header(&headers, "x-github-event"),
        header(&headers, "x-github-delivery"),
        &body,
    )
    .await?;
    let status = match outcome {
        WebhookOutcome::Refused { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::OK,
    };
    Ok((
        status,
        Json(serde_json::to_value(&outcome).unwrap_or_default()),
    ))
}
