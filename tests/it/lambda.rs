//! The Lambda handlers driven with the event payloads AWS sends, on embedded
//! backends: every SQS message has one effect however often (and however
//! concurrently) it is delivered; a bad one fails alone; an ECS task that
//! stopped before its worker finished fails the job and its ticket.

use crate::helpers::roles;
use aws_lambda_events::event::sqs::SqsEvent;
use nightshift_core::ports::IdempotencyStore;
use nightshift_core::state::TicketState;
use nightshift_lambda::{QueueRole, sqs_batch};
use nightshift_local::SqliteStore;
use serde_json::json;
use std::sync::Arc;

/// An SQS event as Lambda's event source mapping delivers it (the shape of
/// AWS's documented example), one record per body.
fn sqs_event(bodies: &[(String, String)]) -> SqsEvent {
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id,
                "receiptHandle": format!("AQEB{id}"),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1545082649185"
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:nightshift-triage",
                "awsRegion": "us-east-2"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_message_delivered_three_times_concurrently_has_one_effect() {
    let r = roles();
    let d = &r.deps;
    let idem: Arc<dyn IdempotencyStore> = Arc::new(SqliteStore::new(r.backend.db.clone()));
    let mut bodies = Vec::new();
    for i in 0..5 {
        let t = crate::setup::submit(d, &format!("ticket {i}")).await;
        bodies.push((format!("msg-{i}"), json!({ "ticket_id": t.id }).to_string()));
    }
    bodies.push(("msg-bad".into(), "{not json".into()));
    let event = sqs_event(&bodies);
    let deliveries = (0..3).map(|_| {
        let (d, idem, e) = (d.clone(), idem.clone(), event.clone());
        tokio::spawn(async move { sqs_batch(&d, &idem, QueueRole::Triage, e).await })
    });
    let mut failed: Vec<Vec<String>> = Vec::new();
    for r in futures::future::join_all(deliveries).await {
        failed.push(
            r.unwrap()
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect(),
        );
    }
    // The bad message fails in every delivery, alone; a good one fails only
    // where another delivery held it (SQS brings those back).
    for f in &failed {
        assert!(f.contains(&"msg-bad".to_string()), "{failed:?}");
    }
    // SQS redelivers what failed: the good ones are done already.
    let again = sqs_batch(d, &idem, QueueRole::Triage, event.clone()).await;
    let ids: Vec<String> = again
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    assert_eq!(ids, ["msg-bad"]);
    // Exactly one effect per ticket: one `triage` event each.
    let events = d.stores.audit.events_after(0, 10_000).await.unwrap();
    for (_, body) in &bodies[..5] {
        let id = serde_json::from_str::<serde_json::Value>(body).unwrap()["ticket_id"]
            .as_str()
            .unwrap()
            .to_string();
        let n = events
            .iter()
            .filter(|e| e.ticket_id.as_deref() == Some(id.as_str()) && e.action == "triage")
            .count();
        assert_eq!(n, 1, "{id}");
        assert_eq!(
            d.stores.tickets.get_ticket(&id).await.unwrap().state,
            TicketState::Triaged
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_task_that_stopped_early_fails_its_job_and_ticket() {
    let r = roles();
    let d = &r.deps;
    let idem: Arc<dyn IdempotencyStore> = Arc::new(SqliteStore::new(r.backend.db.clone()));
    let t = crate::helpers::ready_ticket(
        d,
        "fix it",
        nightshift_core::ticket::Priority::High,
        "acme/app",
        None,
    )
    .await;
    let jid = nightshift_roles::dispatcher::dispatch(d, "test")
        .await
        .unwrap()
        .launched
        .remove(0);
    // ECS says the worker's task stopped (EventBridge → SQS → job-events).
    let event = json!({
        "version": "0", "id": "3317b2af-7005-947d-b652-f55e762e571a",
        "detail-type": "ECS Task State Change", "source": "aws.ecs",
        "account": "111122223333", "time": "2026-11-22T05:40:00Z", "region": "us-east-2",
        "resources": ["arn:aws:ecs:us-east-2:111122223333:task/nightshift/b99d40b3"],
        "detail": {
            "clusterArn": "arn:aws:ecs:us-east-2:111122223333:cluster/nightshift",
            "taskArn": "arn:aws:ecs:us-east-2:111122223333:task/nightshift/b99d40b3",
            "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
            "stoppedReason": "Task failed to start: CannotPullContainerError",
            "containers": [{"name": "worker", "lastStatus": "STOPPED"}],
            "overrides": {"containerOverrides": [{"name": "worker", "command": ["worker", "--job", jid]}]}
        }
    });
    let batch = sqs_event(&[("evt-1".into(), event.to_string())]);
    let out = sqs_batch(d, &idem, QueueRole::JobEvents, batch.clone()).await;
    assert!(out.batch_item_failures.is_empty());
    let job = d.stores.jobs.get_job(&jid).await.unwrap();
    assert_eq!(job.state, nightshift_core::job::JobState::Failed);
    assert_eq!(
        job.reason.as_deref(),
        Some("the worker's task stopped: Task failed to start: CannotPullContainerError")
    );
    let t = d.stores.tickets.get_ticket(&t.id).await.unwrap();
    assert_eq!(t.state, TicketState::Failed);
    assert!(t.state_reason.unwrap().contains("CannotPullContainerError"));
    // Delivered again: nothing more happens.
    let v = t.version;
    sqs_batch(d, &idem, QueueRole::JobEvents, batch).await;
    assert_eq!(d.stores.tickets.get_ticket(&t.id).await.unwrap().version, v);
    if let Some(h) = &job.launch_handle {
        let _ = d.launcher.stop(h, "test over").await;
    }
}
