//! read_file, write_file and edit.

use crate::{exec, put, setup};
use serde_json::json;

#[tokio::test]
async fn read_file_numbers_lines_and_honours_a_range() {
    let (dir, tb) = setup();
    put(&dir, "src/lib.rs", "one\ntwo\nthree\nfour\n");
    let o = exec(&tb, "read_file", json!({"path": "src/lib.rs"})).await;
    assert!(o.ok, "{}", o.output);
    assert!(
        o.output.starts_with("src/lib.rs (4 lines)\n"),
        "{}",
        o.output
    );
    assert!(o.output.contains("     1\tone\n"));
    assert!(o.output.contains("     4\tfour\n"));

    let o = exec(
        &tb,
        "read_file",
        json!({"path": "src/lib.rs", "start_line": 2, "end_line": 3}),
    )
    .await;
    assert!(o.ok);
    assert!(o.output.contains("showing 2-3"), "{}", o.output);
    assert!(o.output.contains("     2\ttwo\n") && o.output.contains("     3\tthree\n"));
    assert!(!o.output.contains("one") && !o.output.contains("four"));

    let o = exec(
        &tb,
        "read_file",
        json!({"path": "src/lib.rs", "start_line": 9}),
    )
    .await;
    assert!(!o.ok);
    assert!(
        o.output.contains("past the end of src/lib.rs (4 lines)"),
        "{}",
        o.output
    );
}

#[tokio::test]
async fn read_file_failures_say_what_is_wrong() {
    let (dir, tb) = setup();
    let o = exec(&tb, "read_file", json!({"path": "nope.rs"})).await;
    assert!(!o.ok);
    assert_eq!(o.output, "no such file: nope.rs");

    put(&dir, "d/x", "x");
    let o = exec(&tb, "read_file", json!({"path": "d"})).await;
    assert!(!o.ok);
    assert!(o.output.contains("is a directory"), "{}", o.output);

    std::fs::write(dir.path().join("blob.bin"), [0u8, 159, 146, 150, 0, 1]).expect("write");
    let o = exec(&tb, "read_file", json!({"path": "blob.bin"})).await;
    assert!(!o.ok);
    assert!(o.output.contains("binary"), "{}", o.output);
}

#[tokio::test]
async fn read_file_caps_long_files_and_says_where_to_continue() {
    let (dir, tb) = setup();
    let text: String = (1..=3000).map(|i| format!("line {i}\n")).collect();
    put(&dir, "big.txt", &text);
    let o = exec(&tb, "read_file", json!({"path": "big.txt"})).await;
    assert!(o.ok);
    assert!(o.output.contains("  2000\tline 2000\n"));
    assert!(!o.output.contains("line 2001\n"));
    assert!(
        o.output
            .contains("lines 2001-3000 not shown; read again with start_line=2001"),
        "{}",
        &o.output[o.output.len() - 300..]
    );

    let o = exec(
        &tb,
        "read_file",
        json!({"path": "big.txt", "start_line": 2001}),
    )
    .await;
    assert!(o.ok);
    assert!(o.output.contains("  3000\tline 3000\n"));
    assert!(!o.output.contains("not shown"));
}

#[tokio::test]
async fn write_file_creates_parents_and_reports() {
    let (dir, tb) = setup();
    let o = exec(
        &tb,
        "write_file",
        json!({"path": "a/b/c.txt", "content": "x\ny\n"}),
    )
    .await;
    assert!(o.ok, "{}", o.output);
    assert_eq!(o.output, "created a/b/c.txt (4 bytes, 2 lines)");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a/b/c.txt")).expect("read"),
        "x\ny\n"
    );
    let o = exec(
        &tb,
        "write_file",
        json!({"path": "a/b/c.txt", "content": "z"}),
    )
    .await;
    assert!(o.output.starts_with("overwrote"), "{}", o.output);

    let o = exec(&tb, "write_file", json!({"path": "a", "content": "z"})).await;
    assert!(!o.ok);
    assert!(o.output.contains("is a directory"));
}

#[tokio::test]
async fn edit_replaces_one_exact_occurrence_and_reports_lines() {
    let (dir, tb) = setup();
    put(&dir, "m.rs", "fn a() {}\nfn b() {\n    1\n}\nfn c() {}\n");
    let o = exec(&tb, "edit", json!({"path": "m.rs", "old": "fn b() {\n    1\n}", "new": "fn b() {\n    let x = 2;\n    x\n}"})).await;
    assert!(o.ok, "{}", o.output);
    assert!(
        o.output
            .starts_with("edited m.rs: lines 2-4 replaced; they are now lines 2-5:"),
        "{}",
        o.output
    );
    assert!(
        o.output.contains("     3\t    let x = 2;\n"),
        "{}",
        o.output
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("m.rs")).expect("read"),
        "fn a() {}\nfn b() {\n    let x = 2;\n    x\n}\nfn c() {}\n"
    );

    let o = exec(
        &tb,
        "edit",
        json!({"path": "m.rs", "old": "fn c() {}\n", "new": ""}),
    )
    .await;
    assert!(o.ok);
    assert_eq!(o.output, "edited m.rs: removed the text at lines 6-6");
}

#[tokio::test]
async fn edit_failures_name_the_problem() {
    let (dir, tb) = setup();
    put(&dir, "m.rs", "let x = 1;\nlet x = 1;\n");
    let o = exec(
        &tb,
        "edit",
        json!({"path": "m.rs", "old": "let y", "new": "z"}),
    )
    .await;
    assert!(!o.ok);
    assert!(
        o.output.starts_with("old string not found in m.rs"),
        "{}",
        o.output
    );
    let o = exec(
        &tb,
        "edit",
        json!({"path": "m.rs", "old": "let x = 1;", "new": "z"}),
    )
    .await;
    assert!(!o.ok);
    assert_eq!(
        o.output,
        "old string occurs 2 times in m.rs; include more context to make it unique"
    );
    let o = exec(
        &tb,
        "edit",
        json!({"path": "gone.rs", "old": "a", "new": "b"}),
    )
    .await;
    assert!(!o.ok);
    assert!(
        o.output.contains("no such file: gone.rs; use write_file"),
        "{}",
        o.output
    );
    let o = exec(&tb, "edit", json!({"path": "m.rs", "old": "", "new": "b"})).await;
    assert!(!o.ok);
    // Nothing changed.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("m.rs")).expect("read"),
        "let x = 1;\nlet x = 1;\n"
    );
}
