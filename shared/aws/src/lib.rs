//! The AWS adapters, behind the same ports as the embedded ones and passing
//! the same contract suites (against moto, the AWS emulator, in the tests).
//!
//! # Layout
//! - [`sqs`]: the queue port on SQS, each queue with its dead letter queue.
//! - [`ssm`]: secrets from SSM Parameter Store (SecureString, cached, never logged).
//! - [`ecs`]: the job launcher on ECS Fargate.
//! - [`events`]: ECS task state changes as EventBridge delivers them.
//! - [`logs`]: CloudWatch Logs as the discovery loop's log source.

pub mod ecs;
pub mod events;
pub mod logs;
pub mod sqs;
pub mod ssm;

pub use ecs::{EcsConfig, EcsLauncher};
pub use logs::CloudWatchLogs;
pub use sqs::{QueueUrls, SqsQueue};
pub use ssm::SsmSecrets;
