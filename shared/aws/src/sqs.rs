//! The queue port on SQS. One SQS queue per logical queue, each with its own
//! dead letter queue; the names map to URLs given at start-up (in Lambda, from
//! the template's outputs through the environment).
//!
//! Two things SQS does not do by itself, done here on top of it:
//! - **Reasons.** A released message is sent again (same body, delayed) with
//!   its receive count and the handler's error as message attributes, and the
//!   received copy is deleted; so the last error survives to the dead letter
//!   queue, and the count survives processes. (A crash between the two sends
//!   the message twice: the queue is at-least-once anyway.)
//! - **The receive limit.** A message received more often than the limit is
//!   moved to the dead letter queue by the receive that notices, with a
//!   reason naming the limit and the last error; the template's redrive
//!   policy (maxReceiveCount) is the net beneath, for Lambda's own receives.
//!
//! Message ids are the first send's id, carried in an attribute, so a
//! released message keeps its id.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName};
use nightshift_core::ports::Queue;
use nightshift_core::queue::{DeadLetter, QueueMessage, QueueStats};
use nightshift_core::{StoreError, StoreResult};
use std::collections::HashMap;
use std::time::Duration;

const ID: &str = "nightshift-id";
const COUNT: &str = "nightshift-count";
const ERROR: &str = "nightshift-error";
const REASON: &str = "nightshift-reason";
const DEAD_AT: &str = "nightshift-dead-at";

/// A logical queue's SQS queue and its dead letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrls {
    pub url: String,
    pub dlq_url: String,
}

pub struct SqsQueue {
    client: Client,
    queues: HashMap<String, QueueUrls>,
    max_receives: u32,
    /// What this process received and has not settled, by receipt: the port
    /// passes only the receipt to `release` and `dead_letter`, and they need
    /// the id, the count and the body to send the copy. (In Lambda, SQS's
    /// event source receives and batch failures release; nothing here is used.)
    inflight: std::sync::Mutex<Inflight>,
}

/// Receipts this process holds, and those a later receive made stale.
#[derive(Default)]
struct Inflight {
    live: HashMap<String, Meta>,
    /// SQS documents that deleting with an older receipt of a message that
    /// was received again "succeeds, but the message will not be deleted";
    /// moto deletes it. Known stale receipts are therefore not sent.
    stale: std::collections::HashSet<String>,
}

#[derive(Debug, Clone)]
struct Meta {
    id: String,
    count: u32,
    body: String,
}

/// Receipts remembered at most; beyond it the oldest are forgotten (their
/// messages reappear after the visibility timeout, as SQS does anyway).
const MAX_INFLIGHT: usize = 10_000;

fn backend<E: std::error::Error + Send + Sync + 'static>(
    what: &'static str,
) -> impl FnOnce(E) -> StoreError {
    move |e| StoreError::backend(what, e)
}

fn attr(v: impl Into<String>) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .expect("data type is set")
}

fn get_attr(m: &aws_sdk_sqs::types::Message, name: &str) -> Option<String> {
    m.message_attributes()?
        .get(name)?
        .string_value()
        .map(str::to_string)
}

impl SqsQueue {
    /// `queues`: logical name → URLs; `max_receives`: receives before a
    /// message is given up on.
    pub fn new(client: Client, queues: HashMap<String, QueueUrls>, max_receives: u32) -> Self {
        Self {
            client,
            queues,
            max_receives,
            inflight: std::sync::Mutex::new(Inflight::default()),
        }
    }

    /// Creates `<prefix>-<name>` and `<prefix>-<name>-dlq` for each name (for
    /// tests and local experiments; in AWS the template creates them).
    pub async fn create(
        client: Client,
        prefix: &str,
        names: &[&str],
        max_receives: u32,
    ) -> StoreResult<Self> {
        let mut queues = HashMap::new();
        for n in names {
            let dlq = client
                .create_queue()
                .queue_name(format!("{prefix}-{n}-dlq"))
                .send()
                .await
                .map_err(backend("sqs create dlq"))?;
            let url = client
                .create_queue()
                .queue_name(format!("{prefix}-{n}"))
                .send()
                .await
                .map_err(backend("sqs create queue"))?;
            queues.insert(
                n.to_string(),
                QueueUrls {
                    url: url.queue_url().unwrap_or_default().to_string(),
                    dlq_url: dlq.queue_url().unwrap_or_default().to_string(),
                },
            );
        }
        Ok(Self::new(client, queues, max_receives))
    }

    fn remember(&self, receipt: &str, meta: Meta) {
        let mut m = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if m.live.len() >= MAX_INFLIGHT {
            m.live.clear();
        }
        if m.stale.len() >= MAX_INFLIGHT {
            m.stale.clear();
        }
        let older: Vec<String> = m
            .live
            .iter()
            .filter(|(_, v)| v.id == meta.id)
            .map(|(k, _)| k.clone())
            .collect();
        for r in older {
            m.live.remove(&r);
            m.stale.insert(r);
        }
        m.live.insert(receipt.to_string(), meta);
    }

    fn take(&self, receipt: &str) -> Option<Meta> {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .live
            .remove(receipt)
    }

    fn is_stale(&self, receipt: &str) -> bool {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stale
            .contains(receipt)
    }

    fn urls(&self, queue: &str) -> StoreResult<&QueueUrls> {
        self.queues
            .get(queue)
            .ok_or_else(|| StoreError::not_found("queue", queue))
    }

    async fn send_with(
        &self,
        url: &str,
        body: &str,
        delay: Duration,
        attrs: Vec<(&str, String)>,
    ) -> StoreResult<String> {
        let mut req = self
            .client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .delay_seconds(delay.as_secs().min(900) as i32);
        for (k, v) in attrs {
            req = req.message_attributes(k, attr(v));
        }
        let out = req.send().await.map_err(backend("sqs send"))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, queue: &str, body: &str, delay: Duration) -> StoreResult<String> {
        let urls = self.urls(queue)?;
        let id = nightshift_core::new_id("msg");
        self.send_with(
            &urls.url,
            body,
            delay,
            vec![(ID, id.clone()), (COUNT, "0".into())],
        )
        .await?;
        Ok(id)
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> StoreResult<Vec<QueueMessage>> {
        let urls = self.urls(queue)?.clone();
        let out = self
            .client
            .receive_message()
            .queue_url(&urls.url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(visibility.as_secs().min(43_200) as i32)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(backend("sqs receive"))?;
        let mut got = Vec::new();
        for m in out.messages() {
            let receipt = m.receipt_handle().unwrap_or_default().to_string();
            let earlier: u32 = get_attr(m, COUNT).and_then(|c| c.parse().ok()).unwrap_or(0);
            let now: u32 = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            let count = earlier + now;
            let body = m.body().unwrap_or_default().to_string();
            let id =
                get_attr(m, ID).unwrap_or_else(|| m.message_id().unwrap_or_default().to_string());
            if count > self.max_receives {
                let last = get_attr(m, ERROR).unwrap_or_else(|| "no error recorded".into());
                let reason = format!(
                    "received {} times, more than the limit of {}; last error: {last}",
                    count - 1,
                    self.max_receives
                );
                self.send_with(
                    &urls.dlq_url,
                    &body,
                    Duration::ZERO,
                    vec![
                        (ID, id),
                        (COUNT, (count - 1).to_string()),
                        (REASON, reason),
                        (DEAD_AT, chrono::Utc::now().to_rfc3339()),
                    ],
                )
                .await?;
                self.delete(queue, &receipt).await?;
                continue;
            }
            self.remember(
                &receipt,
                Meta {
                    id: id.clone(),
                    count,
                    body: body.clone(),
                },
            );
            got.push(QueueMessage {
                id,
                body,
                receipt,
                receive_count: count,
            });
        }
        Ok(got)
    }

    async fn delete(&self, queue: &str, receipt: &str) -> StoreResult<()> {
        let urls = self.urls(queue)?;
        if self.is_stale(receipt) {
            return Ok(());
        }
        self.take(receipt);
        match self
            .client
            .delete_message()
            .queue_url(&urls.url)
            .receipt_handle(receipt)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // A stale receipt: the message was deleted before, or received
            // again since. Deleting twice is not an error.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_receipt_handle_is_invalid()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::backend("sqs delete", e)),
        }
    }

    async fn release(
        &self,
        queue: &str,
        receipt: &str,
        delay: Duration,
        reason: &str,
    ) -> StoreResult<()> {
        let urls = self.urls(queue)?.clone();
        // Only the current receipt may release: a stale one is a conflict.
        // Making it visible at once is harmless, as the copy below replaces it.
        let live = self
            .client
            .change_message_visibility()
            .queue_url(&urls.url)
            .receipt_handle(receipt)
            .visibility_timeout(30)
            .send()
            .await;
        if let Err(e) = live {
            return Err(StoreError::conflict(
                "message",
                receipt,
                format!(
                    "cannot release: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                ),
            ));
        }
        let Some(Meta { id, count, body }) = self.take(receipt) else {
            return Err(StoreError::conflict(
                "message",
                receipt,
                "not in flight from this process",
            ));
        };
        self.send_with(
            &urls.url,
            &body,
            delay,
            vec![
                (ID, id),
                (COUNT, count.to_string()),
                (ERROR, reason.chars().take(1000).collect()),
            ],
        )
        .await?;
        self.delete(queue, receipt).await
    }

    async fn dead_letter(&self, queue: &str, receipt: &str, reason: &str) -> StoreResult<()> {
        let urls = self.urls(queue)?.clone();
        let Some(Meta { id, count, body }) = self.take(receipt) else {
            return Err(StoreError::conflict(
                "message",
                receipt,
                "not in flight from this process",
            ));
        };
        self.send_with(
            &urls.dlq_url,
            &body,
            Duration::ZERO,
            vec![
                (ID, id),
                (COUNT, count.to_string()),
                (REASON, reason.chars().take(1000).collect()),
                (DEAD_AT, chrono::Utc::now().to_rfc3339()),
            ],
        )
        .await?;
        self.delete(queue, receipt).await
    }

    async fn dead_letters(&self, queue: &str, limit: usize) -> StoreResult<Vec<DeadLetter>> {
        let urls = self.urls(queue)?.clone();
        let mut out: Vec<DeadLetter> = Vec::new();
        let mut receipts = Vec::new();
        while out.len() < limit {
            let got = self
                .client
                .receive_message()
                .queue_url(&urls.dlq_url)
                .max_number_of_messages((limit - out.len()).clamp(1, 10) as i32)
                .visibility_timeout(30)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(backend("sqs receive dlq"))?;
            if got.messages().is_empty() {
                break;
            }
            for m in got.messages() {
                receipts.push(m.receipt_handle().unwrap_or_default().to_string());
                out.push(DeadLetter {
                    id: get_attr(m, ID)
                        .unwrap_or_else(|| m.message_id().unwrap_or_default().to_string()),
                    queue: queue.to_string(),
                    body: m.body().unwrap_or_default().to_string(),
                    reason: get_attr(m, REASON)
                        .unwrap_or_else(|| "moved by the redrive policy (maxReceiveCount)".into()),
                    receive_count: get_attr(m, COUNT).and_then(|c| c.parse().ok()).unwrap_or(0),
                    dead_at: get_attr(m, DEAD_AT)
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                        .map(Into::into)
                        .unwrap_or_else(chrono::Utc::now),
                });
            }
        }
        // Looking is not taking: make them visible again.
        for r in receipts {
            let _ = self
                .client
                .change_message_visibility()
                .queue_url(&urls.dlq_url)
                .receipt_handle(r)
                .visibility_timeout(0)
                .send()
                .await;
        }
        Ok(out)
    }

    async fn redrive(&self, queue: &str, limit: usize) -> StoreResult<u64> {
        let urls = self.urls(queue)?.clone();
        let mut moved = 0u64;
        while (moved as usize) < limit {
            let got = self
                .client
                .receive_message()
                .queue_url(&urls.dlq_url)
                .max_number_of_messages((limit - moved as usize).clamp(1, 10) as i32)
                .visibility_timeout(60)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(backend("sqs receive dlq"))?;
            if got.messages().is_empty() {
                break;
            }
            for m in got.messages() {
                let id = get_attr(m, ID)
                    .unwrap_or_else(|| m.message_id().unwrap_or_default().to_string());
                self.send_with(
                    &urls.url,
                    m.body().unwrap_or_default(),
                    Duration::ZERO,
                    vec![(ID, id), (COUNT, "0".into())],
                )
                .await?;
                self.client
                    .delete_message()
                    .queue_url(&urls.dlq_url)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .map_err(backend("sqs delete dlq"))?;
                moved += 1;
            }
        }
        Ok(moved)
    }

    async fn stats(&self, queue: &str) -> StoreResult<QueueStats> {
        let urls = self.urls(queue)?.clone();
        let count = |a: &HashMap<QueueAttributeName, String>, k: QueueAttributeName| -> u64 {
            a.get(&k).and_then(|v| v.parse().ok()).unwrap_or(0)
        };
        let main = self
            .client
            .get_queue_attributes()
            .queue_url(&urls.url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(backend("sqs attributes"))?;
        let dlq = self
            .client
            .get_queue_attributes()
            .queue_url(&urls.dlq_url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(backend("sqs attributes"))?;
        let (m, d) = (
            main.attributes().cloned().unwrap_or_default(),
            dlq.attributes().cloned().unwrap_or_default(),
        );
        Ok(QueueStats {
            visible: count(&m, QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: count(
                &m,
                QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            ) + count(&m, QueueAttributeName::ApproximateNumberOfMessagesDelayed),
            dead: count(&d, QueueAttributeName::ApproximateNumberOfMessages)
                + count(
                    &d,
                    QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                ),
        })
    }
}
