//! The queue loop every queue-driven role shares: receive, handle, delete. A
//! failure that may pass is retried with backoff; a message that can never be
//! handled (bad body, unknown ticket) goes to the dead letter queue at once with
//! its reason; either way the messages behind it keep flowing.

use crate::{Deps, RoleError};
use nightshift_core::queue::QueueMessage;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandlerError {
    /// May succeed later: released with backoff, dead-lettered after the receive limit.
    Retry(String),
    /// Will never succeed: dead-lettered now with this reason.
    Poison(String),
}

impl From<RoleError> for HandlerError {
    fn from(e: RoleError) -> Self {
        match &e {
            RoleError::Store(s) if s.is_not_found() => Self::Poison(e.to_string()),
            _ if e.is_retryable() => Self::Retry(e.to_string()),
            _ => Self::Poison(e.to_string()),
        }
    }
}

pub type Handler = Arc<
    dyn Fn(Deps, String) -> Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>
        + Send
        + Sync,
>;

/// Wraps an async fn as a [`Handler`].
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Deps, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    Arc::new(move |d, b| Box::pin(f(d, b)))
}

/// Parses a message body as JSON of type `T`, or says why it is poison.
pub fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, HandlerError> {
    serde_json::from_str(body).map_err(|e| {
        HandlerError::Poison(format!(
            "message body is not a valid {}: {e}",
            std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("message")
        ))
    })
}

fn backoff(receive_count: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(receive_count.min(6)).min(60))
}

/// Receives one batch and handles it. Returns how many messages were handled
/// (successfully or not).
pub async fn poll_once(deps: &Deps, queue: &str, handle: &Handler) -> Result<usize, RoleError> {
    let visibility = deps.settings.queue.visibility();
    let batch = deps.queue.receive(queue, 10, visibility).await?;
    let n = batch.len();
    for msg in batch {
        // A failed acknowledgement must not abandon the rest of the batch: the
        // message comes back after its visibility timeout anyway.
        let id = msg.id.clone();
        if let Err(e) = handle_one(deps, queue, handle, msg).await {
            tracing::warn!(queue, message_id = %id, error = %e, "could not acknowledge a message; it will be delivered again");
        }
    }
    Ok(n)
}

async fn handle_one(
    deps: &Deps,
    queue: &str,
    handle: &Handler,
    msg: QueueMessage,
) -> Result<(), RoleError> {
    let result = handle(deps.clone(), msg.body.clone()).await;
    match result {
        Ok(()) => deps.queue.delete(queue, &msg.receipt).await?,
        Err(HandlerError::Retry(reason)) => {
            tracing::warn!(queue, message_id = %msg.id, receive_count = msg.receive_count, %reason, "handler failed; will retry");
            deps.queue
                .release(queue, &msg.receipt, backoff(msg.receive_count), &reason)
                .await?;
        }
        Err(HandlerError::Poison(reason)) => {
            tracing::error!(queue, message_id = %msg.id, %reason, "poison message sent to the dead letter queue");
            deps.queue.dead_letter(queue, &msg.receipt, &reason).await?;
        }
    }
    Ok(())
}

/// Polls `queue` until `shutdown`, finishing the message in hand before it stops.
pub async fn run(deps: Deps, queue: &'static str, handle: Handler, shutdown: CancellationToken) {
    let idle = Duration::from_millis(deps.settings.queue.poll_interval_ms);
    tracing::info!(queue, "consumer started");
    while !shutdown.is_cancelled() {
        let pause = match poll_once(&deps, queue, &handle).await {
            Ok(0) => idle,
            Ok(_) => Duration::ZERO,
            Err(e) => {
                tracing::error!(queue, error = %e, "queue poll failed");
                idle * 5
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
    tracing::info!(queue, "consumer stopped");
}
