//! The log source contract on CloudWatch Logs (moto).

use crate::moto;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use nightshift_aws::CloudWatchLogs;
use nightshift_contract::LogSourceFixture;
use std::sync::Arc;

async fn make() -> LogSourceFixture {
    let client = aws_sdk_cloudwatchlogs::Client::new(&moto::config().await);
    let group = moto::unique("/nightshift/app");
    client
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    client
        .create_log_stream()
        .log_group_name(&group)
        .log_stream_name("web-1")
        .send()
        .await
        .unwrap();
    let events: Vec<InputLogEvent> = nightshift_contract::logs::seed()
        .into_iter()
        .map(|r| {
            InputLogEvent::builder()
                .timestamp(r.at.unwrap().timestamp_millis())
                .message(r.message)
                .build()
                .unwrap()
        })
        .collect();
    client
        .put_log_events()
        .log_group_name(&group)
        .log_stream_name("web-1")
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();
    LogSourceFixture {
        source: Arc::new(CloudWatchLogs::new(client)),
        name: group,
        guard: Box::new(()),
    }
}

nightshift_contract::logs_contract!(make);
