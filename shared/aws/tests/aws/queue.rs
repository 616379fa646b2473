//! The queue contract on SQS (moto).

use crate::moto;
use nightshift_aws::SqsQueue;
use nightshift_contract::{MAX_RECEIVES, QueueFixture};
use std::sync::Arc;

async fn make() -> QueueFixture {
    let client = aws_sdk_sqs::Client::new(&moto::config().await);
    let q = SqsQueue::create(client, &moto::unique("q"), &["a", "b"], MAX_RECEIVES)
        .await
        .unwrap();
    QueueFixture {
        queue: Arc::new(q),
        guard: Box::new(()),
    }
}

nightshift_contract::queue_contract!(make);
