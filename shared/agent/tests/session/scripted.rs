//! A whole session replayed from a script: read, edit, run, summary.

use crate::helpers::{ScriptedServer, limits, session, text_reply, tool_reply, workspace};
use nightshift_agent::session::{SessionEnd, Step};
use nightshift_core::llm::Usage;
use serde_json::json;

const BUGGY: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n";

#[tokio::test]
async fn a_scripted_session_reads_edits_runs_and_finishes() {
    // GIVEN a workspace with a bug and a model that reads, fixes, checks, then summarises
    let dir = workspace(&[("src/lib.rs", BUGGY)]);
    let server = ScriptedServer::start(vec![
        tool_reply(
            "call_1",
            "read_file",
            json!({"path": "src/lib.rs"}),
            100,
            10,
        ),
        tool_reply(
            "call_2",
            "edit",
            json!({"path": "src/lib.rs", "old": "a - b", "new": "a + b"}),
            200,
            20,
        ),
        tool_reply(
            "call_3",
            "run",
            json!({"command": "cat src/lib.rs"}),
            300,
            30,
        ),
        text_reply(
            "Fixed `add`: it subtracted instead of adding.",
            "stop",
            400,
            40,
        ),
    ])
    .await;

    // WHEN the session runs with a shutdown that never fires
    let report = session(server.provider(), dir.path(), limits())
        .run(std::future::pending::<()>())
        .await;

    // THEN it ended with the model's summary, and the file is fixed
    assert_eq!(
        report.end,
        SessionEnd::Done {
            summary: "Fixed `add`: it subtracted instead of adding.".into()
        }
    );
    let fixed = std::fs::read_to_string(dir.path().join("src/lib.rs")).expect("read");
    assert!(
        fixed.contains("a + b") && !fixed.contains("a - b"),
        "{fixed}"
    );
    assert_eq!(report.turns, 4);
    assert_eq!(
        report.usage,
        Usage {
            input_tokens: 1000,
            output_tokens: 100
        }
    );

    // AND the transcript has one entry per tool call, in order
    let t = &report.transcript;
    assert_eq!(t.len(), 3);
    let names: Vec<_> = t
        .iter()
        .map(|e| (e.turn, e.call_id.as_str(), e.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (1, "call_1", "read_file"),
            (2, "call_2", "edit"),
            (3, "call_3", "run")
        ]
    );
    assert!(t.iter().all(|e| e.ok), "{t:#?}");
    assert!(t[0].output.contains("a - b"));
    assert!(t[2].output.contains("a + b"));
    assert_eq!(t[1].arguments["new"], "a + b");

    // AND every request answered the previous tool call by its id
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 4);
    assert_eq!(bodies[0]["model"], "model-x");
    assert_eq!(bodies[0]["messages"].as_array().map(Vec::len), Some(2));
    let tools: Vec<_> = bodies[0]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| {
            t["function"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(tools.iter().any(|n| n == "edit") && tools.iter().any(|n| n == "run_tests"));
    for (i, id) in ["call_1", "call_2", "call_3"].iter().enumerate() {
        let messages = bodies[i + 1]["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 2 + 2 * (i + 1));
        let asked = &messages[messages.len() - 2];
        assert_eq!(asked["role"], "assistant");
        assert_eq!(asked["tool_calls"][0]["id"], *id);
        let answered = &messages[messages.len() - 1];
        assert_eq!(answered["role"], "tool");
        assert_eq!(answered["tool_call_id"], *id);
    }
    let last = bodies[1]["messages"]
        .as_array()
        .and_then(|m| m.last().cloned());
    assert!(last.is_some_and(|m| m["content"].as_str().is_some_and(|c| c.contains("a - b"))));
}

#[tokio::test]
async fn stepping_one_turn_at_a_time_and_after_the_end() {
    // GIVEN a model that reads once, then finishes
    let dir = workspace(&[("src/lib.rs", BUGGY)]);
    let server = ScriptedServer::start(vec![
        tool_reply("call_1", "read_file", json!({"path": "src/lib.rs"}), 5, 1),
        text_reply("Nothing to do.", "stop", 5, 1),
    ])
    .await;
    let mut s = session(server.provider(), dir.path(), limits());

    // WHEN it is stepped by hand
    assert_eq!(s.step().await, Step::Continue);
    assert_eq!(s.turns(), 1);
    assert_eq!(s.transcript().len(), 1);
    let done = Step::Finished(SessionEnd::Done {
        summary: "Nothing to do.".into(),
    });
    assert_eq!(s.step().await, done);

    // THEN a step after the end repeats it without calling the model again
    assert_eq!(s.step().await, done);
    assert_eq!(server.bodies().len(), 2);
    assert_eq!(s.into_report().turns, 2);
}

#[tokio::test]
async fn a_reply_cut_off_by_max_tokens_is_not_taken_as_the_summary() {
    // GIVEN a model whose first reply hits the output limit
    let dir = workspace(&[("src/lib.rs", BUGGY)]);
    let server = ScriptedServer::start(vec![
        text_reply("I will now explain at gre", "length", 5, 64),
        text_reply("Done.", "stop", 5, 1),
    ])
    .await;

    // WHEN the session runs
    let report = session(server.provider(), dir.path(), limits())
        .run(std::future::pending::<()>())
        .await;

    // THEN it asked for the rest and ended on the complete reply
    assert_eq!(
        report.end,
        SessionEnd::Done {
            summary: "Done.".into()
        }
    );
    assert_eq!(report.turns, 2);
    let bodies = server.bodies();
    let last = bodies[1]["messages"]
        .as_array()
        .and_then(|m| m.last().cloned());
    assert!(last.is_some_and(|m| m["role"] == "user"));
}
