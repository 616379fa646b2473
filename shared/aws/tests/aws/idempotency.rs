//! The idempotency contract on DynamoDB (moto).

use crate::moto;
use nightshift_aws::DynamoStore;
use nightshift_contract::IdempotencyFixture;
use std::sync::Arc;

async fn make() -> IdempotencyFixture {
    let client = aws_sdk_dynamodb::Client::new(&moto::config().await);
    let store = DynamoStore::new(client, moto::unique("idem"));
    store.create_table().await.unwrap();
    IdempotencyFixture {
        store: Arc::new(store),
        guard: Box::new(()),
    }
}

nightshift_contract::idempotency_contract!(make);
