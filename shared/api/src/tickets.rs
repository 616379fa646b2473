//! Ticket routes.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use nightshift_core::approval::Approval;
use nightshift_core::audit::AuditEvent;
use nightshift_core::budget::BudgetAccount;
use nightshift_core::job::Job;
use nightshift_core::ports::{JobFilter, TicketFilter};
use nightshift_core::state::TicketState;
use nightshift_core::ticket::{NewTicket, Source, Ticket, parse_new_ticket};
use serde::{Deserialize, Serialize};

/// Submit a ticket in the standard ticket format. 201 with the stored ticket; 200
/// with the existing one when a ticket with the same `id` was submitted before.
#[utoipa::path(
    post, path = "/tickets", tag = "tickets",
    request_body(content = NewTicket, description = "The standard ticket interface", content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Ticket),
        (status = 200, description = "Already submitted under this id", body = Ticket),
        (status = 400, description = "Malformed: the error names the field", body = ErrorBody),
    )
)]
pub async fn create_ticket(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Ticket>), ApiError> {
    let input = parse_new_ticket(&body, s.deps.settings.limits.max_ticket_bytes)?;
    let (ticket, created) =
        nightshift_roles::intake::submit(&s.deps, input, Source::Api, "api").await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(ticket),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only tickets in this state.
    pub state: Option<String>,
    /// Only tickets for this repository.
    pub repo: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketList {
    pub tickets: Vec<Ticket>,
}

/// List tickets, newest first.
#[utoipa::path(
    get, path = "/tickets", tag = "tickets", params(ListQuery),
    responses((status = 200, body = TicketList), (status = 400, body = ErrorBody))
)]
pub async fn list_tickets(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<TicketList>, ApiError> {
    let state = match q.state.as_deref() {
        None | Some("") => None,
        Some(st) => Some(TicketState::parse(st).ok_or_else(|| {
            let all: Vec<&str> = TicketState::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::bad_request(
                Some("state"),
                format!(
                    "state: unknown state `{st}`, expected one of {}",
                    all.join(", ")
                ),
            )
        })?),
    };
    let filter = TicketFilter {
        state,
        repo: q.repo,
        limit: q.limit,
    };
    Ok(Json(TicketList {
        tickets: s.deps.stores.tickets.list_tickets(&filter).await?,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketDetail {
    pub ticket: Ticket,
    /// The audit trail, oldest first.
    pub events: Vec<AuditEvent>,
    pub jobs: Vec<Job>,
    pub approvals: Vec<Approval>,
    pub budget: Option<BudgetAccount>,
}

/// One ticket with its audit trail, jobs, approvals and budget.
#[utoipa::path(
    get, path = "/tickets/{id}", tag = "tickets",
    params(("id" = String, Path, description = "Ticket id")),
    responses((status = 200, body = TicketDetail), (status = 404, body = ErrorBody))
)]
pub async fn get_ticket(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TicketDetail>, ApiError> {
    Ok(Json(ticket_detail(&s.deps, &id).await?))
}

/// Shared with the CLI's `ticket show`.
pub async fn ticket_detail(
    deps: &nightshift_roles::Deps,
    id: &str,
) -> Result<TicketDetail, nightshift_core::StoreError> {
    let st = &deps.stores;
    let ticket = st.tickets.get_ticket(id).await?;
    let budget = match st.budget.account(id).await {
        Ok(a) => Some(a),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    Ok(TicketDetail {
        events: st.audit.events_for_ticket(id).await?,
        jobs: st
            .jobs
            .list_jobs(&JobFilter {
                ticket_id: Some(id.to_string()),
                ..Default::default()
            })
            .await?,
        approvals: st.approvals.approvals_for_ticket(id).await?,
        budget,
        ticket,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullsQuery {
    /// Only pull requests of this repository (`owner/name`).
    pub repo: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PullList {
    pub pulls: Vec<nightshift_core::forge::PullRequest>,
}

/// Pull requests the builder opened, newest first.
#[utoipa::path(
    get, path = "/pulls", tag = "tickets", params(PullsQuery),
    responses((status = 200, body = PullList), (status = 404, body = ErrorBody))
)]
pub async fn list_pulls(
    State(s): State<AppState>,
    Query(q): Query<PullsQuery>,
) -> Result<Json<PullList>, ApiError> {
    use nightshift_core::forge::ForgeError;
    match s.deps.forge.list_prs(q.repo.as_deref()).await {
        Ok(mut pulls) => {
            pulls.sort_by_key(|p| std::cmp::Reverse(p.created_at));
            Ok(Json(PullList { pulls }))
        }
        Err(ForgeError::NotFound { what, .. }) => Err(ApiError {
            status: StatusCode::NOT_FOUND,
            body: ErrorBody {
                error: format!("{what} not found"),
                field: Some("repo".into()),
            },
        }),
        Err(e) => Err(ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: ErrorBody {
                error: e.to_string(),
                field: None,
            },
        }),
    }
}
