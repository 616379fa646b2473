//! EventBridge: ECS `Task State Change` events, which the template routes to
//! the job-events queue, read into what the job-events role needs: which job
//! (the task's `startedBy` tag and its container override), and how it ended.

use nightshift_core::ports::LaunchState;
use serde::Deserialize;

/// The parts of an ECS Task State Change event's `detail` the role reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStateChange {
    pub task_arn: String,
    pub last_status: String,
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub stopped_reason: Option<String>,
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default)]
    pub overrides: Option<Overrides>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    #[serde(default)]
    pub exit_code: Option<i32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overrides {
    #[serde(default)]
    pub container_overrides: Vec<ContainerOverride>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOverride {
    pub name: String,
    #[serde(default)]
    pub command: Vec<String>,
}

impl TaskStateChange {
    /// Reads an EventBridge event (the whole envelope) of type
    /// `ECS Task State Change`.
    pub fn from_event(event: &serde_json::Value) -> Result<Self, String> {
        if event["detail-type"] != "ECS Task State Change" {
            return Err(format!(
                "not an ECS Task State Change: {}",
                event["detail-type"]
            ));
        }
        serde_json::from_value(event["detail"].clone())
            .map_err(|e| format!("ECS Task State Change detail: {e}"))
    }

    /// The job the task ran: `worker --job <id>` in the container override.
    pub fn job_id(&self, container: &str) -> Option<String> {
        let o = self
            .overrides
            .as_ref()?
            .container_overrides
            .iter()
            .find(|c| c.name == container)?;
        let at = o.command.iter().position(|a| a == "--job")?;
        o.command.get(at + 1).cloned()
    }

    pub fn state(&self, container: &str) -> LaunchState {
        crate::ecs::state_of(
            &self.last_status,
            self.containers
                .iter()
                .find(|c| c.name == container)
                .and_then(|c| c.exit_code),
            self.stopped_reason.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape AWS documents for ECS task state change events.
    const EVENT: &str = r#"{
      "version": "0", "id": "3317b2af-7005-947d-b652-f55e762e571a",
      "detail-type": "ECS Task State Change", "source": "aws.ecs",
      "account": "111122223333", "time": "2026-11-22T05:40:00Z", "region": "us-west-2",
      "resources": ["arn:aws:ecs:us-west-2:111122223333:task/nightshift/b99d40b3"],
      "detail": {
        "clusterArn": "arn:aws:ecs:us-west-2:111122223333:cluster/nightshift",
        "taskArn": "arn:aws:ecs:us-west-2:111122223333:task/nightshift/b99d40b3",
        "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
        "startedBy": "ns-t_01-b1-00ff00ff00ff00ff",
        "stoppedReason": "Essential container in task exited",
        "containers": [{"name": "worker", "exitCode": 1, "lastStatus": "STOPPED"}],
        "overrides": {"containerOverrides": [{"name": "worker", "command": ["worker", "--job", "t_01-b1"]}]}
      }
    }"#;

    #[test]
    fn reads_the_job_and_how_it_ended() {
        let ev: serde_json::Value = serde_json::from_str(EVENT).unwrap();
        let t = TaskStateChange::from_event(&ev).unwrap();
        assert_eq!(t.job_id("worker").as_deref(), Some("t_01-b1"));
        assert_eq!(t.state("worker"), LaunchState::Exited { code: 1 });
        let mut other = ev.clone();
        other["detail-type"] = "EC2 Instance State-change Notification".into();
        assert!(TaskStateChange::from_event(&other).is_err());
    }
}
