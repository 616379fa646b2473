//! The log source port on CloudWatch Logs: a source is a log group; records
//! come from FilterLogEvents across its streams, oldest first, paged.

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;
use nightshift_core::Timestamp;
use nightshift_core::ports::{LogRecord, LogSource, LogSourceError};

pub struct CloudWatchLogs {
    client: Client,
}

impl CloudWatchLogs {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl LogSource for CloudWatchLogs {
    async fn fetch(
        &self,
        source: &str,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<LogRecord>, LogSourceError> {
        let mut out: Vec<LogRecord> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self
                .client
                .filter_log_events()
                .log_group_name(source)
                .limit(((limit - out.len()).clamp(1, 10_000)) as i32);
            if let Some(t) = since {
                req = req.start_time(t.timestamp_millis());
            }
            if let Some(t) = &token {
                req = req.next_token(t);
            }
            let page = match req.send().await {
                Ok(p) => p,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    return Err(LogSourceError::NotFound {
                        source_name: source.to_string(),
                    });
                }
                Err(e) => {
                    return Err(LogSourceError::Backend {
                        source_name: source.to_string(),
                        source: Box::new(e),
                    });
                }
            };
            for e in page.events() {
                out.push(LogRecord {
                    at: e
                        .timestamp()
                        .and_then(chrono::DateTime::from_timestamp_millis),
                    message: e.message().unwrap_or_default().to_string(),
                });
            }
            token = page
                .next_token()
                .map(str::to_string)
                .filter(|t| !t.is_empty());
            if token.is_none() || out.len() >= limit || page.events().is_empty() {
                break;
            }
        }
        // Several streams interleave: order by time, stable within one.
        out.sort_by_key(|r| r.at);
        out.truncate(limit);
        Ok(out)
    }
}
