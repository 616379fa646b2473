//! Every way a session ends other than the model finishing.

use crate::helpers::{Broke, Hanging, ScriptedServer, limits, session, tool_reply, workspace};
use nightshift_agent::session::{SessionEnd, SessionLimits, Step};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test]
async fn the_same_read_over_and_over_is_a_loop() {
    // GIVEN a model that keeps reading the same unchanged file
    let dir = workspace(&[("src/lib.rs", "fn main() {}\n")]);
    let server = ScriptedServer::start(vec![tool_reply(
        "call_r",
        "read_file",
        json!({"path": "src/lib.rs"}),
        10,
        1,
    )])
    .await;

    // WHEN the session runs with a loop limit of 3
    let report = session(server.provider(), dir.path(), limits())
        .run(std::future::pending::<()>())
        .await;

    // THEN it stopped on the third identical step
    let SessionEnd::LoopDetected { reason } = &report.end else {
        panic!("expected a loop, got {:?}", report.end);
    };
    assert!(reason.contains("read_file"), "{reason}");
    assert_eq!(report.turns, 3);
    assert_eq!(report.transcript.len(), 3);
    assert_eq!(server.bodies().len(), 3);
}

#[tokio::test]
async fn max_turns_stops_a_model_that_never_finishes() {
    // GIVEN a model that always wants another tool, with the loop breaker out of the way
    let dir = workspace(&[("a.txt", "a")]);
    let server = ScriptedServer::start(vec![tool_reply("call_l", "list", json!({}), 10, 1)]).await;
    let limits = SessionLimits {
        max_turns: 2,
        loop_limit: 100,
        ..limits()
    };

    // WHEN the session runs
    let report = session(server.provider(), dir.path(), limits)
        .run(std::future::pending::<()>())
        .await;

    // THEN two calls were made and the third was not
    assert_eq!(report.end, SessionEnd::MaxTurns);
    assert_eq!(report.turns, 2);
    assert_eq!(server.bodies().len(), 2);
}

#[tokio::test]
async fn a_past_deadline_ends_the_session_without_calling() {
    let dir = workspace(&[("a.txt", "a")]);
    let server = ScriptedServer::start(vec![tool_reply("c", "list", json!({}), 1, 1)]).await;
    let limits = SessionLimits {
        deadline: Instant::now(),
        ..limits()
    };

    let report = session(server.provider(), dir.path(), limits)
        .run(std::future::pending::<()>())
        .await;

    assert_eq!(report.end, SessionEnd::Deadline);
    assert_eq!(report.turns, 0);
    assert!(server.bodies().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_deadline_passing_during_a_call_abandons_it() {
    // GIVEN a provider that never answers and a ten-minute deadline
    let dir = workspace(&[("a.txt", "a")]);
    let mut s = session(
        Arc::new(Hanging),
        dir.path(),
        SessionLimits::with_timeout(Duration::from_secs(600)),
    );

    // WHEN a step is taken (the paused clock jumps to the deadline)
    let step = s.step().await;

    // THEN the session ended on the deadline
    assert_eq!(step, Step::Finished(SessionEnd::Deadline));
}

#[tokio::test]
async fn an_exhausted_budget_ends_the_session() {
    let dir = workspace(&[("a.txt", "a")]);
    let report = session(Arc::new(Broke), dir.path(), limits())
        .run(std::future::pending::<()>())
        .await;

    let SessionEnd::BudgetExhausted { message } = &report.end else {
        panic!("expected budget exhausted, got {:?}", report.end);
    };
    assert!(
        message.contains("budget exhausted for ticket t-1"),
        "{message}"
    );
    assert_eq!(report.turns, 0);
}

#[tokio::test]
async fn a_provider_refusal_ends_the_session_as_llm_failed() {
    let dir = workspace(&[("a.txt", "a")]);
    let server = ScriptedServer::start(vec![(
        400,
        json!({"error": {"message": "model not found", "type": "invalid_request_error"}}),
    )])
    .await;

    let report = session(server.provider(), dir.path(), limits())
        .run(std::future::pending::<()>())
        .await;

    let SessionEnd::LlmFailed { message } = &report.end else {
        panic!("expected an LLM failure, got {:?}", report.end);
    };
    assert!(message.contains("model not found"), "{message}");
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_a_session_mid_call() {
    // GIVEN a session waiting on a model that never answers
    let dir = workspace(&[("a.txt", "a")]);
    let s = session(Arc::new(Hanging), dir.path(), limits());

    // WHEN shutdown fires after a second
    let report = s.run(tokio::time::sleep(Duration::from_secs(1))).await;

    // THEN the session reports Stopped
    assert_eq!(report.end, SessionEnd::Stopped);
    assert_eq!(report.turns, 0);
}
