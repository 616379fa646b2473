//! The HTTP API on a real port, with every role running behind it.

use crate::helpers::{eventually, spawn_app};
use serde_json::json;
use std::collections::BTreeSet;

fn standard_ticket() -> serde_json::Value {
    json!({
        "type": "bug",
        "priority": "high",
        "title": "Login crashes on an empty password",
        "context": {
            "repo": "acme/api",
            "filepaths": ["src/login.rs"],
            "error_logs": ["thread 'main' panicked at src/login.rs:42:9"]
        },
        "acceptance_criteria": ["an empty password gets a 400", "no panic in the log"]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_ticket_is_stored_triaged_and_audited() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_raw("/tickets", standard_ticket().to_string())
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(body["state"], "new");
    assert_eq!(body["context"]["filepaths"], json!(["src/login.rs"]));
    assert_eq!(body["budget"]["limit_tokens"], 2_000_000);

    // Triaged, then planned by rules and waiting for a person: the trail says so.
    eventually("the ticket is triaged and planned", || async {
        app.get(&format!("/tickets/{id}")).await.1["ticket"]["state"] == "awaiting_spec_approval"
    })
    .await;
    let (status, detail) = app.get(&format!("/tickets/{id}")).await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["created", "triage", "plan", "request_spec_approval"]
    );
    assert_eq!(detail["events"][1]["from_state"], "new");
    assert_eq!(detail["events"][1]["to_state"], "triaged");
    assert_eq!(detail["budget"]["limit"], 2_000_000);
    assert_eq!(detail["approvals"][0]["status"], "pending");

    let (_, list) = app.get("/tickets?state=awaiting_spec_approval").await;
    assert_eq!(list["tickets"].as_array().unwrap().len(), 1);
    let (_, list) = app.get("/tickets?state=new").await;
    assert!(list["tickets"].as_array().unwrap().is_empty());
    let (status, err) = app.get("/tickets?state=done").await;
    assert_eq!((status, err["field"].as_str()), (400, Some("state")));
    let (status, err) = app.get("/tickets/t_nope").await;
    assert_eq!(status, 404);
    assert!(err["error"].as_str().unwrap().contains("t_nope"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_id_twice_stores_one_ticket() {
    let app = spawn_app().await;
    let mut t = standard_ticket();
    t["id"] = json!("gh-acme-api-17");
    let (s1, b1) = app.post_raw("/tickets", t.to_string()).await;
    let (s2, b2) = app.post_raw("/tickets", t.to_string()).await;
    assert_eq!((s1, s2), (201, 200), "a retry gets the stored ticket");
    assert_eq!(
        (&b1["id"], &b1["created_at"]),
        (&b2["id"], &b2["created_at"])
    );
    t["title"] = json!("something else");
    let (s3, b3) = app.post_raw("/tickets", t.to_string()).await;
    assert_eq!(s3, 409, "other content under a taken id is refused: {b3}");
    assert!(b3["error"].as_str().unwrap().contains("gh-acme-api-17"));
    t["id"] = json!("d_0123456789abcdef");
    let (s4, b4) = app.post_raw("/tickets", t.to_string()).await;
    assert_eq!(
        (s4, b4["field"].as_str()),
        (400, Some("id")),
        "discovery's ids are reserved"
    );
    t["id"] = json!("x-1");
    t["source"] = json!("discovery");
    let (s5, b5) = app.post_raw("/tickets", t.to_string()).await;
    assert_eq!((s5, b5["field"].as_str()), (400, Some("source")), "{b5}");
    let (_, list) = app.get("/tickets").await;
    assert_eq!(list["tickets"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_tickets_get_400_naming_the_field_and_change_nothing() {
    let app = spawn_app().await;
    let without = |key: &str| {
        let mut t = standard_ticket();
        t.as_object_mut().unwrap().remove(key);
        t.to_string().into_bytes()
    };
    let mut unknown_type = standard_ticket();
    unknown_type["type"] = json!("epic");
    let mut no_repo = standard_ticket();
    no_repo["context"].as_object_mut().unwrap().remove("repo");
    let mut escaping = standard_ticket();
    escaping["context"]["filepaths"] = json!(["../../etc/passwd"]);
    let mut huge = standard_ticket();
    huge["description"] = json!("x".repeat(70 * 1024));
    let mut invalid_utf8 = standard_ticket().to_string().into_bytes();
    let at = invalid_utf8.len() / 2;
    invalid_utf8[at] = 0xC3;
    invalid_utf8[at + 1] = 0x28;

    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "missing type",
            without("type"),
            "type",
            "missing field `type`",
        ),
        (
            "missing criteria",
            without("acceptance_criteria"),
            "acceptance_criteria",
            "missing field",
        ),
        (
            "unknown type",
            unknown_type.to_string().into_bytes(),
            "type",
            "unknown variant `epic`",
        ),
        (
            "missing repo",
            no_repo.to_string().into_bytes(),
            "context.repo",
            "missing field `repo`",
        ),
        (
            "path escapes",
            escaping.to_string().into_bytes(),
            "context.filepaths[0]",
            "relative",
        ),
        (
            "over the size limit",
            huge.to_string().into_bytes(),
            "body",
            "over the limit of 65536 bytes",
        ),
        ("invalid UTF-8", invalid_utf8, "body", "not valid UTF-8"),
        ("not JSON", b"type=bug".to_vec(), "body", "expected"),
        ("empty", vec![], "body", "empty"),
    ];
    for (what, body, field, says) in cases {
        let (status, err) = app.post_raw("/tickets", body).await;
        assert_eq!(status, 400, "{what}: {err}");
        assert_eq!(err["field"], field, "{what}: {err}");
        assert!(
            err["error"].as_str().unwrap().contains(says),
            "{what}: {err}"
        );
    }
    let (_, list) = app.get("/tickets").await;
    assert!(
        list["tickets"].as_array().unwrap().is_empty(),
        "nothing was stored"
    );
    assert!(
        app.roles
            .deps
            .stores
            .audit
            .events_after(0, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing was audited"
    );
    let (_, status) = app.get("/status").await;
    assert_eq!(
        status["queues"]["triage"]["visible"], 0,
        "nothing was queued"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_status_answer() {
    let app = spawn_app().await;
    let (s, h) = app.get("/health").await;
    assert_eq!((s, h["status"].as_str()), (200, Some("ok")));
    app.post_raw("/tickets", standard_ticket().to_string())
        .await;
    eventually("triaged and planned", || async {
        app.get("/status").await.1["tickets"]["awaiting_spec_approval"] == 1
    })
    .await;
    let (_, st) = app.get("/status").await;
    assert_eq!(st["max_concurrent_jobs"], 5);
    let waiting = st["waiting"].as_array().unwrap();
    assert!(
        waiting
            .iter()
            .any(|w| w.as_str().unwrap().contains("wait for a person's approval")),
        "{st}"
    );
    assert_eq!(st["llm_configured"], false);
    let names_settings = |w: &serde_json::Value| {
        w.as_str()
            .unwrap()
            .contains("[[llm.providers]] and [llm.routes]")
    };
    assert!(waiting.iter().any(names_settings), "{st}");
    app.stop().await;
}

/// Every route the router serves is in /openapi.json, and everything in it is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_route() {
    let app = spawn_app().await;
    let (_, created) = app
        .post_raw("/tickets", standard_ticket().to_string())
        .await;
    let id = created["id"].as_str().unwrap();
    let (status, spec) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    // Every route declared in the API's source is documented...
    let mut declared = BTreeSet::new();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/api/src");
    for entry in std::fs::read_dir(src).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            !text.contains(".route("),
            "routes must be mounted with utoipa_axum::routes!, so they are documented"
        );
        for decl in text.split("#[utoipa::path(").skip(1) {
            let head: String = decl.chars().take(120).collect();
            let method = head.split(',').next().unwrap().trim().to_uppercase();
            let path = head
                .split("path = \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string();
            declared.insert((method, path));
        }
    }
    assert_eq!(declared, documented);
    let expected: BTreeSet<(String, String)> = [
        ("POST", "/tickets"),
        ("GET", "/tickets"),
        ("GET", "/tickets/{id}"),
        ("GET", "/pulls"),
        ("GET", "/approvals"),
        ("GET", "/approvals/{id}"),
        ("POST", "/approvals/{id}/approve"),
        ("POST", "/approvals/{id}/reject"),
        ("GET", "/jobs"),
        ("GET", "/jobs/{id}/log"),
        ("GET", "/budget"),
        ("GET", "/"),
        ("GET", "/dashboard/app.js"),
        ("GET", "/dashboard/style.css"),
        ("POST", "/approvals/batch"),
        ("GET", "/report"),
        ("POST", "/webhooks/github"),
        ("GET", "/health"),
        ("GET", "/status"),
        ("GET", "/openapi.json"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(documented, expected);
    // ...and every documented operation is really served: the ticket's
    // routes succeed; the others answer from their handler (a JSON error
    // body), not the router's bare 404 or 405.
    for (method, path) in &documented {
        let url = app.url(&path.replace("{id}", id));
        if !path.starts_with("/tickets") && (method == "POST" || path.contains("{id}")) {
            let r = match method.as_str() {
                "POST" => app.client.post(url).body("{}").send().await.unwrap(),
                _ => app.client.get(url).send().await.unwrap(),
            };
            let status = r.status();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            assert!(
                status != 405 && (status.is_success() || body["error"].is_string()),
                "{method} {path}: {status} {body}"
            );
            continue;
        }
        let r = match method.as_str() {
            "GET" => app.client.get(url).send().await.unwrap(),
            "POST" => app
                .client
                .post(url)
                .body(standard_ticket().to_string())
                .send()
                .await
                .unwrap(),
            m => panic!("unexpected method {m}"),
        };
        assert!(r.status().is_success(), "{method} {path}: {}", r.status());
    }
    app.stop().await;
}
