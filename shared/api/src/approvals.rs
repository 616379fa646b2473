//! Approval routes: the spec and merge gates, decided once by a person.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use nightshift_core::approval::{Approval, ApprovalStatus, Decision};
use nightshift_core::ticket::Ticket;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApprovalsQuery {
    /// `pending` (the default), or `all` for every approval of `ticket`.
    pub status: Option<String>,
    /// Only this ticket's approvals.
    pub ticket: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApprovalList {
    pub approvals: Vec<Approval>,
}

/// Approvals waiting for a person (oldest first), or one ticket's approvals.
#[utoipa::path(
    get, path = "/approvals", tag = "approvals", params(ApprovalsQuery),
    responses((status = 200, body = ApprovalList), (status = 401, body = ErrorBody))
)]
pub async fn list_approvals(
    State(s): State<AppState>,
    Query(q): Query<ApprovalsQuery>,
) -> Result<Json<ApprovalList>, ApiError> {
    let all = match q.status.as_deref() {
        None | Some("pending") => false,
        Some("all") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                Some("status"),
                format!("`{other}`: use pending or all"),
            ));
        }
    };
    let approvals = match &q.ticket {
        Some(t) => {
            let mut v = s.deps.stores.approvals.approvals_for_ticket(t).await?;
            if !all {
                v.retain(|a| a.status == ApprovalStatus::Pending);
            }
            v
        }
        None if all => {
            return Err(ApiError::bad_request(
                Some("ticket"),
                "status=all needs a ticket",
            ));
        }
        None => s.deps.stores.approvals.pending_approvals().await?,
    };
    Ok(Json(ApprovalList { approvals }))
}

#[utoipa::path(
    get, path = "/approvals/{id}", tag = "approvals",
    params(("id" = String, Path, description = "Approval id")),
    responses((status = 200, body = Approval), (status = 404, body = ErrorBody))
)]
pub async fn get_approval(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Approval>, ApiError> {
    Ok(Json(s.deps.stores.approvals.get_approval(&id).await?))
}

/// A decision's body. `by` names the person (the token says only that the
/// caller may decide); `reason` is required to reject.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub reason: Option<String>,
    pub by: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionResult {
    pub approval: Approval,
    pub ticket: Ticket,
}

fn body(bytes: &Bytes) -> Result<DecisionBody, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(DecisionBody::default());
    }
    if bytes.len() > 16 * 1024 {
        return Err(ApiError::bad_request(
            None,
            "the body is larger than 16 KiB",
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(None, format!("not a decision: {e}")))
}

fn actor(caller: Option<&Caller>, b: &DecisionBody) -> Result<String, ApiError> {
    if let Some(Caller(who)) = caller {
        return Ok(format!("jwt:{who}"));
    }
    match b.by.as_deref().map(str::trim) {
        None | Some("") => Ok("api".into()),
        Some(by)
            if by.len() <= 100
                && by
                    .chars()
                    .all(|c| c.is_alphanumeric() || "-_.@ ".contains(c)) =>
        {
            Ok(format!("api:{by}"))
        }
        Some(_) => Err(ApiError::bad_request(
            Some("by"),
            "at most 100 letters, digits, spaces and -_.@",
        )),
    }
}

async fn decide(
    s: AppState,
    caller: Option<Extension<Caller>>,
    id: String,
    decision: Decision,
    bytes: Bytes,
) -> Result<Json<DecisionResult>, ApiError> {
    let b = body(&bytes)?;
    let who = actor(caller.as_deref(), &b)?;
    let done =
        nightshift_roles::approvals::decide(&s.deps, &id, decision, &who, b.reason.as_deref())
            .await?;
    Ok(Json(DecisionResult {
        approval: done.approval,
        ticket: done.ticket,
    }))
}

/// Approve: the ticket moves on (a spec to the builder, a merge is made).
/// 409 when decided before, or when the ticket has moved on since the request.
#[utoipa::path(
    post, path = "/approvals/{id}/approve", tag = "approvals",
    params(("id" = String, Path, description = "Approval id")),
    request_body(content = DecisionBody, description = "Optional: who decides", content_type = "application/json"),
    responses(
        (status = 200, body = DecisionResult),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Already decided, or the ticket moved on", body = ErrorBody),
    )
)]
pub async fn approve(
    State(s): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<DecisionResult>, ApiError> {
    decide(s, caller, id, Decision::Approve, bytes).await
}

/// Reject with a reason, which goes back to the role that asked (the planner
/// plans again; the builder answers it on its branch).
#[utoipa::path(
    post, path = "/approvals/{id}/reject", tag = "approvals",
    params(("id" = String, Path, description = "Approval id")),
    request_body(content = DecisionBody, description = "The reason is required", content_type = "application/json"),
    responses(
        (status = 200, body = DecisionResult),
        (status = 400, description = "No reason given", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Already decided, or the ticket moved on", body = ErrorBody),
    )
)]
pub async fn reject(
    State(s): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<DecisionResult>, ApiError> {
    decide(s, caller, id, Decision::Reject, bytes).await
}

/// Night shift: approve every pending spec approval of the `ready-for-robot`
/// queue (or of another label, a repository, or all) at once; the dispatcher
/// then works through them under its concurrency cap, in priority order.
/// Merges are never batch-approved.
#[utoipa::path(
    post, path = "/approvals/batch", tag = "approvals",
    request_body(content = BatchBody, description = "Which spec approvals", content_type = "application/json"),
    responses((status = 200, body = nightshift_roles::approvals::BatchResult), (status = 400, body = ErrorBody))
)]
pub async fn approve_batch(
    State(s): State<AppState>,
    caller: Option<Extension<Caller>>,
    bytes: Bytes,
) -> Result<Json<nightshift_roles::approvals::BatchResult>, ApiError> {
    let b: BatchBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        BatchBody::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(None, format!("not a batch: {e}")))?
    };
    let who = actor(
        caller.as_deref(),
        &DecisionBody {
            reason: None,
            by: b.by.clone(),
        },
    )?;
    let batch = nightshift_roles::approvals::Batch {
        label: b.label,
        all: b.all,
        repo: b.repo,
    };
    Ok(Json(
        nightshift_roles::approvals::approve_batch(&s.deps, &batch, &who).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// Only tickets with this label (default: the ready label, `ready-for-robot`).
    pub label: Option<String>,
    /// Every pending spec approval, whatever its labels.
    #[serde(default)]
    pub all: bool,
    pub repo: Option<String>,
    /// Who approves.
    pub by: Option<String>,
}
