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
        tokio::spawn(async move { sqs_batch(&d, &idem, QueueRole::TRIAGE, e).await })
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
    let again = sqs_batch(d, &idem, QueueRole::TRIAGE, event.clone()).await;
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
    let out = sqs_batch(d, &idem, QueueRole::JOB_EVENTS, batch.clone()).await;
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
    sqs_batch(d, &idem, QueueRole::JOB_EVENTS, batch).await;
    assert_eq!(d.stores.tickets.get_ticket(&t.id).await.unwrap().version, v);
    if let Some(h) = &job.launch_handle {
        let _ = d.launcher.stop(h, "test over").await;
    }
}

/// An HTTP API request (payload format 2.0) as API Gateway hands it to the
/// api function, with the claims its JWT authorizer verified, if any.
fn http_api_request(
    method: &str,
    path: &str,
    body: Option<&str>,
    claims: Option<serde_json::Value>,
) -> lambda_http::Request {
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "r3pmxmplak",
        "domainName": "r3pmxmplak.execute-api.us-east-2.amazonaws.com",
        "domainPrefix": "r3pmxmplak",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1",
            "userAgent": "Mozilla/5.0"
        },
        "requestId": "JKJaXmPLvHcESHA=",
        "routeKey": format!("{method} {path}"),
        "stage": "$default",
        "time": "22/Nov/2026:09:41:58 +0000",
        "timeEpoch": 1795340518000_u64
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({ "jwt": { "claims": claims, "scopes": null } });
    }
    let event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "content-type": "application/json",
            "authorization": "Bearer eyJraWQiOiJleGFtcGxlIn0.e30.c2ln"
        },
        "requestContext": context,
        "body": body,
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

#[tokio::test]
async fn behind_the_jwt_authorizer_a_decision_is_recorded_as_the_tokens_person() {
    use tower::ServiceExt;
    let g = crate::setup::setup(None, |_| {});
    let app = nightshift_lambda::http::router(g.deps.clone(), nightshift_api::ApiAuth::default());
    let mut pending = Vec::new();
    for title in ["add subtracts", "mul adds"] {
        let t = crate::setup::triaged(&g.deps, title).await;
        nightshift_roles::planner::plan(&g.deps, &t.id)
            .await
            .unwrap();
        pending.push(
            nightshift_roles::approvals::pending_for_ticket(&g.deps, &t.id)
                .await
                .unwrap(),
        );
    }
    let decide = |id: &str, claims| {
        let path = format!("/approvals/{id}/approve");
        app.clone().oneshot(http_api_request(
            "POST",
            &path,
            Some(r#"{"by": "mallory"}"#),
            claims,
        ))
    };

    // The authorizer verified Alice's token: her name is recorded, not the
    // one the body claims.
    let claims =
        json!({ "sub": "8f0e2c1a", "email": "alice@example.com", "iss": "https://issuer.example" });
    let r = decide(&pending[0].id, Some(claims)).await.unwrap();
    assert_eq!(r.status(), 200);
    let a = g
        .deps
        .stores
        .approvals
        .get_approval(&pending[0].id)
        .await
        .unwrap();
    assert_eq!(a.decided_by.as_deref(), Some("jwt:alice@example.com"));

    // A token with only a subject: the subject. Without verified claims (the
    // shared bearer token locally), the body's name is all there is.
    let r = decide(&pending[1].id, None).await.unwrap();
    assert_eq!(r.status(), 200);
    let a = g
        .deps
        .stores
        .approvals
        .get_approval(&pending[1].id)
        .await
        .unwrap();
    assert_eq!(a.decided_by.as_deref(), Some("api:mallory"));
    let only_sub = http_api_request("GET", "/", None, Some(json!({ "sub": "8f0e2c1a" })));
    assert_eq!(
        nightshift_lambda::http::jwt_caller(&only_sub),
        Some(nightshift_api::Caller("8f0e2c1a".into()))
    );

    // The dashboard's page is public (the template routes it without the
    // authorizer) and is served through the same path.
    let r = app
        .clone()
        .oneshot(http_api_request("GET", "/", None, None))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
