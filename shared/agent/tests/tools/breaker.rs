//! The loop breaker.

use crate::call;
use nightshift_agent::tools::{LoopBreaker, ToolOutcome};
use serde_json::json;

#[test]
fn the_same_step_with_the_same_result_stops_at_the_limit() {
    let mut b = LoopBreaker::new(3);
    let read = call("read_file", json!({"path": "a.rs", "start_line": 1}));
    let same = ToolOutcome::ok("a.rs (1 lines)\n     1\tx\n");
    let other = call("grep", json!({"pattern": "x"}));
    assert_eq!(b.record(&read, &same), None);
    // Other steps in between do not reset the count: occurrences are per session.
    assert_eq!(b.record(&other, &ToolOutcome::ok("a.rs:1: x")), None);
    // Key order in the arguments does not matter.
    let reordered = call("read_file", json!({"start_line": 1, "path": "a.rs"}));
    assert_eq!(b.record(&reordered, &same), None);
    let reason = b.record(&read, &same).expect("third time stops");
    assert!(
        reason.contains("`read_file` was called 3 times"),
        "{reason}"
    );
    assert!(reason.contains("a.rs"), "{reason}");
    // And keeps saying so.
    assert!(b.record(&read, &same).expect("fourth").contains("4 times"));
}

#[test]
fn a_different_result_or_argument_is_a_different_step() {
    let mut b = LoopBreaker::new(2);
    let run = call("run", json!({"command": "cargo test"}));
    assert_eq!(
        b.record(&run, &ToolOutcome::err("exit status 101\n1 failed")),
        None
    );
    // The code changed in between: a new result is progress, not a loop.
    assert_eq!(
        b.record(&run, &ToolOutcome::err("exit status 101\n2 failed")),
        None
    );
    assert_eq!(
        b.record(
            &call("run", json!({"command": "cargo test -q"})),
            &ToolOutcome::err("exit status 101\n1 failed")
        ),
        None
    );
    // Same output, but ok differs.
    assert_eq!(
        b.record(&run, &ToolOutcome::ok("exit status 101\n1 failed")),
        None
    );
    assert!(
        b.record(&run, &ToolOutcome::err("exit status 101\n1 failed"))
            .is_some()
    );
}

#[test]
fn a_limit_of_zero_acts_as_one() {
    let mut b = LoopBreaker::new(0);
    assert_eq!(b.limit(), 1);
    assert!(
        b.record(&call("list", json!({})), &ToolOutcome::ok("."))
            .is_some()
    );
}
