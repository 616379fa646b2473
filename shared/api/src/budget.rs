//! The budget: tokens per ticket and in total.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::State;
use nightshift_core::ports::TicketFilter;
use nightshift_core::state::TicketState;
use serde::Serialize;

/// How many of the newest tickets the per-ticket list covers.
pub const BUDGET_TICKETS: usize = 200;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketSpend {
    pub ticket_id: String,
    pub title: String,
    pub state: TicketState,
    /// The ticket's token limit.
    pub limit: u64,
    /// Held by open reservations (calls in flight).
    pub reserved: u64,
    /// Really spent.
    pub committed: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BudgetReport {
    /// Tokens committed across all tickets, ever.
    pub total_committed: u64,
    /// Tokens held by open reservations of the listed tickets.
    pub total_reserved: u64,
    /// The newest tickets that have an account, newest first.
    pub tickets: Vec<TicketSpend>,
}

/// Tokens spent per ticket (the newest 200 tickets with an account) and in total.
#[utoipa::path(
    get, path = "/budget", tag = "budget",
    responses((status = 200, body = BudgetReport), (status = 401, body = ErrorBody))
)]
pub async fn budget(State(s): State<AppState>) -> Result<Json<BudgetReport>, ApiError> {
    let st = &s.deps.stores;
    let tickets = st
        .tickets
        .list_tickets(&TicketFilter {
            limit: Some(BUDGET_TICKETS),
            ..Default::default()
        })
        .await?;
    let mut out = Vec::with_capacity(tickets.len());
    for t in tickets {
        let a = match st.budget.account(&t.id).await {
            Ok(a) => a,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        out.push(TicketSpend {
            ticket_id: t.id,
            title: t.title,
            state: t.state,
            limit: a.limit,
            reserved: a.reserved,
            committed: a.committed,
        });
    }
    Ok(Json(BudgetReport {
        total_committed: st.budget.total_committed().await?,
        total_reserved: out.iter().map(|t| t.reserved).sum(),
        tickets: out,
    }))
}
