//! Who may call the API. The ticket, approval and pull-request routes need
//! `Authorization: Bearer <token>` when a token is configured (it must be when
//! the API binds beyond loopback; `nightshift up` refuses to start otherwise).
//! In AWS an API Gateway authorizer guards the same routes. The GitHub
//! webhook is not behind the token: its HMAC signature is checked instead.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// The API's credentials, loaded once at start-up from the Secrets port.
#[derive(Clone, Default)]
pub struct ApiAuth {
    /// The bearer token; `None` leaves the protected routes open (loopback only).
    pub token: Option<SecretString>,
    /// The GitHub webhook's HMAC secret; `None` refuses every delivery.
    pub webhook_secret: Option<SecretString>,
}

impl std::fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiAuth")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Who the deployment has authenticated, when it names a person: on AWS the
/// api function sets it from the claims API Gateway's JWT authorizer has
/// verified. Decisions are then recorded as that person (`jwt:<name>`),
/// whatever a request's `by` says; with the shared bearer token, which names
/// nobody, `by` is the only name there is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

/// Whether `presented` is the token, in time independent of where they differ.
pub fn token_matches(token: &SecretString, presented: &str) -> bool {
    let want = token.expose_secret().as_bytes();
    !want.is_empty() && bool::from(want.ct_eq(presented.as_bytes()))
}

/// The middleware on the protected routes.
pub async fn require_token(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = &s.auth.token else {
        return next.run(req).await;
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if token_matches(token, presented.trim()) {
        return next.run(req).await;
    }
    let mut r = ApiError {
        status: StatusCode::UNAUTHORIZED,
        body: ErrorBody {
            error: "this route needs `Authorization: Bearer <token>` (the [api] token_secret)"
                .into(),
            field: None,
        },
    }
    .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}
