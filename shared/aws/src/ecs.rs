//! The job launcher on ECS Fargate: RunTask with a container override that
//! carries only the job id (the worker reads everything else from the store),
//! DescribeTasks for its state, StopTask to stop it. ECS's own `Task State
//! Change` events reach the job-events role through EventBridge ([`crate::events`]).

use async_trait::async_trait;
use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ContainerOverride, LaunchType, NetworkConfiguration,
    TaskOverride,
};
use nightshift_core::ports::{JobLauncher, LaunchError, LaunchRequest, LaunchState};

#[derive(Debug, Clone)]
pub struct EcsConfig {
    pub cluster: String,
    pub task_definition: String,
    /// The worker's container name in the task definition.
    pub container: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

pub struct EcsLauncher {
    client: Client,
    cfg: EcsConfig,
}

fn err<E: std::error::Error + Send + Sync + 'static>(
    what: &str,
) -> impl FnOnce(E) -> LaunchError + '_ {
    move |e| LaunchError {
        message: format!("ecs {what} failed: {e}"),
        source: Some(Box::new(e)),
    }
}

/// ECS's `startedBy` (at most 36 characters) for a job's attempt: how a
/// second launch of the same attempt finds the first.
pub fn started_by(req: &LaunchRequest) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (req.job_id.as_str(), req.attempt).hash(&mut h);
    let short: String = req
        .job_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(16)
        .collect();
    format!("ns-{short}-{:016x}", h.finish())
}

impl EcsLauncher {
    pub fn new(client: Client, cfg: EcsConfig) -> Self {
        Self { client, cfg }
    }

    async fn existing(&self, tag: &str) -> Result<Option<String>, LaunchError> {
        for status in [
            aws_sdk_ecs::types::DesiredStatus::Running,
            aws_sdk_ecs::types::DesiredStatus::Stopped,
        ] {
            let out = self
                .client
                .list_tasks()
                .cluster(&self.cfg.cluster)
                .started_by(tag)
                .desired_status(status)
                .send()
                .await
                .map_err(err("list tasks"))?;
            if let Some(arn) = out.task_arns().first() {
                return Ok(Some(arn.clone()));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl JobLauncher for EcsLauncher {
    async fn launch(&self, req: &LaunchRequest) -> Result<String, LaunchError> {
        let tag = started_by(req);
        if let Some(arn) = self.existing(&tag).await? {
            return Ok(arn);
        }
        let network = NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .set_subnets(Some(self.cfg.subnets.clone()))
                    .set_security_groups(Some(self.cfg.security_groups.clone()))
                    .assign_public_ip(if self.cfg.assign_public_ip {
                        AssignPublicIp::Enabled
                    } else {
                        AssignPublicIp::Disabled
                    })
                    .build()
                    .map_err(err("network configuration"))?,
            )
            .build();
        let overrides = TaskOverride::builder()
            .container_overrides(
                ContainerOverride::builder()
                    .name(&self.cfg.container)
                    .set_command(Some(vec![
                        "worker".into(),
                        "--job".into(),
                        req.job_id.clone(),
                    ]))
                    .build(),
            )
            .build();
        let out = self
            .client
            .run_task()
            .cluster(&self.cfg.cluster)
            .task_definition(&self.cfg.task_definition)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network)
            .overrides(overrides)
            .started_by(&tag)
            .count(1)
            .send()
            .await
            .map_err(err("run task"))?;
        if let Some(f) = out.failures().first() {
            return Err(LaunchError {
                message: format!(
                    "ecs could not start the task: {} ({})",
                    f.reason().unwrap_or("?"),
                    f.detail().unwrap_or("")
                ),
                source: None,
            });
        }
        out.tasks()
            .first()
            .and_then(|t| t.task_arn())
            .map(str::to_string)
            .ok_or_else(|| LaunchError {
                message: "ecs started no task and named no failure".into(),
                source: None,
            })
    }

    async fn status(&self, handle: &str) -> Result<LaunchState, LaunchError> {
        let out = self
            .client
            .describe_tasks()
            .cluster(&self.cfg.cluster)
            .tasks(handle)
            .send()
            .await
            .map_err(err("describe tasks"))?;
        let Some(t) = out.tasks().first() else {
            return Ok(LaunchState::Unknown);
        };
        Ok(state_of(
            t.last_status().unwrap_or_default(),
            t.containers()
                .iter()
                .find(|c| c.name() == Some(self.cfg.container.as_str()))
                .and_then(|c| c.exit_code()),
            t.stopped_reason(),
        ))
    }

    async fn stop(&self, handle: &str, reason: &str) -> Result<(), LaunchError> {
        let reason: String = reason.chars().take(255).collect();
        self.client
            .stop_task()
            .cluster(&self.cfg.cluster)
            .task(handle)
            .reason(reason)
            .send()
            .await
            .map_err(err("stop task"))?;
        Ok(())
    }
}

/// A task's state as the port sees it: an exit code when the worker
/// container reported one, the stop reason otherwise.
pub fn state_of(
    last_status: &str,
    exit_code: Option<i32>,
    stopped_reason: Option<&str>,
) -> LaunchState {
    let stopped_reason = stopped_reason.filter(|r| !r.is_empty());
    match last_status {
        "PROVISIONING" | "PENDING" | "ACTIVATING" => LaunchState::Pending,
        "RUNNING" => LaunchState::Running,
        "DEACTIVATING" | "STOPPING" | "DEPROVISIONING" | "STOPPED" => match exit_code {
            Some(code) if stopped_reason.is_none_or(|r| r.starts_with("Essential container")) => {
                LaunchState::Exited { code }
            }
            _ => LaunchState::Stopped {
                reason: stopped_reason.unwrap_or("stopped").to_string(),
            },
        },
        _ => LaunchState::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_from_ecs() {
        assert_eq!(state_of("PROVISIONING", None, None), LaunchState::Pending);
        assert_eq!(state_of("RUNNING", None, None), LaunchState::Running);
        assert_eq!(
            state_of(
                "STOPPED",
                Some(0),
                Some("Essential container in task exited")
            ),
            LaunchState::Exited { code: 0 }
        );
        assert_eq!(
            state_of("STOPPED", Some(137), Some("deadline passed")),
            LaunchState::Stopped {
                reason: "deadline passed".into()
            }
        );
        assert_eq!(
            state_of("STOPPED", None, Some("deadline passed")),
            LaunchState::Stopped {
                reason: "deadline passed".into()
            }
        );
    }

    #[test]
    fn started_by_fits_ecs_and_tells_attempts_apart() {
        let a = started_by(&LaunchRequest {
            job_id: "t_01jqzq7d0s9d7n2t5w3v-b1".into(),
            attempt: 1,
        });
        let b = started_by(&LaunchRequest {
            job_id: "t_01jqzq7d0s9d7n2t5w3v-b1".into(),
            attempt: 2,
        });
        assert!(a.len() <= 36 && b.len() <= 36, "{a}");
        assert_ne!(a, b);
    }
}
