//! The builder's LLM spending, over real parts: the OpenAI-compatible adapter
//! against a loopback server, the SQLite budget ledger.

use axum::{Json, Router, routing::post};
use nightshift_agent::budget::Budgeted;
use nightshift_agent::llm::{OpenAiCompatible, http_client};
use nightshift_core::clock::SystemClock;
use nightshift_core::llm::{ChatMessage, ChatRequest, LlmError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A loopback OpenAI-compatible server that counts calls and reports `usage`
/// tokens for each.
async fn server(usage_total: u64, max_tokens: u64) -> (String, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move |Json(_body): Json<serde_json::Value>| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                Json(serde_json::json!({
                    "id": "chatcmpl-1", "object": "chat.completion", "model": "m",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": "done"}}],
                    "usage": {"prompt_tokens": usage_total - max_tokens, "completion_tokens": max_tokens,
                              "total_tokens": usage_total}
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_callers_against_a_budget_for_ten_make_exactly_ten_calls() {
    let b = crate::helpers::backend();
    let req = ChatRequest {
        model: "m".into(),
        messages: vec![
            ChatMessage::system("You fix bugs."),
            ChatMessage::user("Fix the flaky test."),
        ],
        tools: vec![],
        max_tokens: 200,
        temperature: None,
    };
    let per_call = req.estimated_tokens();
    // Each call really spends what it reserved, so finished calls free nothing.
    let (base, calls) = server(per_call, 200).await;
    b.stores
        .budget
        .open_account("t1", per_call * 10 + per_call / 2)
        .await
        .unwrap();
    let provider = Arc::new(OpenAiCompatible::new(
        "loopback",
        base,
        None,
        http_client(Duration::from_secs(10)).unwrap(),
    ));
    let llm = Budgeted::new(
        provider,
        b.stores.budget.clone(),
        Arc::new(SystemClock),
        "t1",
    );
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (llm, req) = (llm.clone(), req.clone());
            tokio::spawn(async move { llm.chat(&req).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(resp) => {
                assert_eq!(resp.usage.total(), per_call);
                ok += 1;
            }
            Err(LlmError::BudgetExhausted {
                ticket_id, asked, ..
            }) => assert_eq!((ticket_id.as_str(), asked), ("t1", per_call)),
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(ok, 10);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        10,
        "a refused reservation makes no call"
    );
    let acc = b.stores.budget.account("t1").await.unwrap();
    assert_eq!(
        (acc.committed, acc.reserved),
        (per_call * 10, 0),
        "usage recorded against the budget"
    );
}
