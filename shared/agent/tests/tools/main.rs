//! Integration tests for the agent's tools: real files in temp dirs, real
//! processes. One test binary; the modules below group the tools.

mod breaker;
mod confine;
mod files;
mod run;
mod search;
mod tests_cmd;

use nightshift_agent::tools::{ToolOutcome, Toolbox, ToolboxConfig, Workspace};
use nightshift_core::llm::ToolCall;
use serde_json::Value;
use tempfile::TempDir;

/// A fresh workspace in a temp dir with the default configuration.
pub fn setup() -> (TempDir, Toolbox) {
    setup_with(ToolboxConfig::default())
}

pub fn setup_with(config: ToolboxConfig) -> (TempDir, Toolbox) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ws = Workspace::new(dir.path()).expect("workspace");
    (dir, Toolbox::new(ws, config))
}

pub fn call(name: &str, arguments: Value) -> ToolCall {
    ToolCall {
        id: "call-1".into(),
        name: name.into(),
        arguments,
    }
}

pub async fn exec(tb: &Toolbox, name: &str, arguments: Value) -> ToolOutcome {
    tb.execute(&call(name, arguments)).await
}

/// Writes a file under the temp dir, creating parents.
pub fn put(dir: &TempDir, rel: &str, content: &str) {
    let p = dir.path().join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(p, content).expect("write");
}

#[tokio::test]
async fn specs_name_every_tool_with_an_object_schema() {
    let (_dir, tb) = setup();
    let specs = tb.specs();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "read_file",
            "write_file",
            "edit",
            "list",
            "grep",
            "run",
            "run_tests"
        ]
    );
    for s in &specs {
        assert_eq!(s.parameters["type"], "object", "{}", s.name);
        assert!(s.parameters["properties"].is_object(), "{}", s.name);
        assert!(!s.description.is_empty());
    }
    let required = |n: &str| {
        specs
            .iter()
            .find(|s| s.name == n)
            .map(|s| s.parameters["required"].clone())
    };
    assert_eq!(
        required("edit"),
        Some(serde_json::json!(["path", "old", "new"]))
    );
    assert_eq!(required("run"), Some(serde_json::json!(["command"])));
    assert_eq!(required("read_file"), Some(serde_json::json!(["path"])));
}

#[tokio::test]
async fn unknown_tools_and_bad_arguments_are_failed_outcomes() {
    let (_dir, tb) = setup();
    let o = exec(&tb, "delete_everything", serde_json::json!({})).await;
    assert!(!o.ok);
    assert!(
        o.output.contains("unknown tool `delete_everything`"),
        "{}",
        o.output
    );

    let o = exec(&tb, "read_file", serde_json::json!({})).await;
    assert!(!o.ok);
    assert!(
        o.output.contains("invalid arguments for read_file"),
        "{}",
        o.output
    );
    assert!(o.output.contains("path"), "{}", o.output);

    let o = exec(&tb, "read_file", serde_json::json!({"path": 7})).await;
    assert!(!o.ok, "{}", o.output);

    let o = exec(
        &tb,
        "write_file",
        serde_json::json!({"path": "a", "content": "x", "mode": 1}),
    )
    .await;
    assert!(!o.ok);
    assert!(o.output.contains("mode"), "{}", o.output);

    let o = exec(&tb, "run", serde_json::json!("not json")).await;
    assert!(!o.ok);
}

#[tokio::test]
async fn arguments_sent_as_a_json_string_are_accepted() {
    let (dir, tb) = setup();
    put(&dir, "a.txt", "hello\n");
    let o = exec(
        &tb,
        "read_file",
        Value::String(r#"{"path":"a.txt"}"#.into()),
    )
    .await;
    assert!(o.ok, "{}", o.output);
    assert!(o.output.contains("hello"));
}
