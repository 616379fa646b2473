//! The AWS adapters, behind the same ports as the embedded ones and passing
//! the same contract suites (against moto, the AWS emulator, in the tests).
//!
//! # Layout
//! - [`dynamo`]: every store port on one DynamoDB table (conditional writes, transactions, sparse indexes).
//! - [`sqs`]: the queue port on SQS, each queue with its dead letter queue.
//! - [`ssm`]: secrets from SSM Parameter Store (SecureString, cached, never logged).
//! - [`ecs`]: the job launcher on ECS Fargate.
//! - [`events`]: ECS task state changes as EventBridge delivers them.
//! - [`logs`]: CloudWatch Logs as the discovery loop's log source.
//! - [`idempotency`]: idempotency records in the store's table.

pub mod dynamo;
pub mod ecs;
pub mod events;
pub mod idempotency;
pub mod logs;
pub mod sqs;
pub mod ssm;

/// The HTTPS client every AWS SDK client uses: rustls on ring (see the
/// workspace's Cargo.toml for why not the SDK's default).
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The SDK's settings from the environment (region, credentials, endpoint),
/// with [`https_client`].
pub fn sdk_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https_client())
}

pub use dynamo::DynamoStore;
pub use ecs::{EcsConfig, EcsLauncher};
pub use logs::CloudWatchLogs;
pub use sqs::{QueueUrls, SqsQueue};
pub use ssm::SsmSecrets;
