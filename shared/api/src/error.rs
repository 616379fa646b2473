//! API errors: JSON bodies `{"error": "...", "field": "..."}` with the status
//! that tells the client whether to fix the request or try again.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nightshift_core::StoreError;
use nightshift_core::ticket::InputError;
use nightshift_roles::RoleError;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
    /// The offending field, for a bad request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn bad_request(field: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody {
                error: message.into(),
                field: field.map(str::to_string),
            },
        }
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        Self::bad_request(Some(&e.field), e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
            StoreError::Conflict { .. } | StoreError::AlreadyExists { .. } => StatusCode::CONFLICT,
            StoreError::BudgetExhausted { .. } => StatusCode::PAYMENT_REQUIRED,
            StoreError::Corrupt { .. } | StoreError::Backend { .. } => {
                tracing::error!(error = ?e, "store failed");
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        Self {
            status,
            body: ErrorBody {
                error: e.to_string(),
                field: None,
            },
        }
    }
}

impl From<RoleError> for ApiError {
    fn from(e: RoleError) -> Self {
        match e {
            RoleError::Store(s) => s.into(),
            RoleError::Input(i) => i.into(),
            RoleError::Illegal(i) => Self {
                status: StatusCode::CONFLICT,
                body: ErrorBody {
                    error: i.to_string(),
                    field: None,
                },
            },
            RoleError::Forge(f) => {
                let status = match &f {
                    nightshift_core::forge::ForgeError::NotFound { .. } => StatusCode::NOT_FOUND,
                    nightshift_core::forge::ForgeError::Refused { .. } => StatusCode::CONFLICT,
                    nightshift_core::forge::ForgeError::Backend { .. } => {
                        tracing::error!(error = ?f, "forge failed");
                        StatusCode::BAD_GATEWAY
                    }
                };
                Self {
                    status,
                    body: ErrorBody {
                        error: f.to_string(),
                        field: None,
                    },
                }
            }
            RoleError::Agent(m) => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                body: ErrorBody {
                    error: m,
                    field: None,
                },
            },
            RoleError::Launch(l) => {
                tracing::error!(error = ?l, "launch failed");
                Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    body: ErrorBody {
                        error: l.to_string(),
                        field: None,
                    },
                }
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
