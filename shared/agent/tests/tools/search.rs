//! list and grep, and their respect for .gitignore.

use crate::{exec, put, setup};
use serde_json::json;

fn repo() -> (tempfile::TempDir, nightshift_agent::tools::Toolbox) {
    let (dir, tb) = setup();
    put(&dir, ".gitignore", "target/\n*.log\n");
    put(&dir, ".git/HEAD", "ref: refs/heads/main\n");
    put(&dir, ".github/workflows/ci.yml", "on: push # needle\n");
    put(&dir, "src/main.rs", "fn main() {\n    needle();\n}\n");
    put(&dir, "src/util/deep.rs", "// needle deep\n");
    put(&dir, "src/util/more/deeper.rs", "x\n");
    put(&dir, "target/debug/out.rs", "needle in build output\n");
    put(&dir, "src/app.log", "needle in a log\n");
    put(&dir, "README.md", "A needle in the readme.\n");
    (dir, tb)
}

#[tokio::test]
async fn list_shows_a_tree_without_ignored_files_or_git() {
    let (_dir, tb) = repo();
    let o = exec(&tb, "list", json!({})).await;
    assert!(o.ok, "{}", o.output);
    let out = &o.output;
    for expected in [
        "./\n",
        "  .github/\n",
        "  .gitignore\n",
        "  src/\n",
        "    main.rs\n",
        "    util/\n",
        "  README.md\n",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    // Depth 2 by default: src/util/deep.rs is three levels down.
    assert!(!out.contains("deep.rs"), "{out}");
    assert!(!out.contains("target"), "{out}");
    assert!(!out.contains("app.log"), "{out}");
    assert!(!out.contains(".git/"), "{out}");
    assert!(!out.contains("HEAD"), "{out}");

    let o = exec(&tb, "list", json!({"path": "src", "depth": 5})).await;
    assert!(o.ok);
    assert!(o.output.starts_with("src/\n"), "{}", o.output);
    assert!(o.output.contains("      deeper.rs\n"), "{}", o.output);
    // The root .gitignore still applies inside a subdirectory.
    assert!(!o.output.contains("app.log"), "{}", o.output);
}

#[tokio::test]
async fn list_failures_and_bounds() {
    let (dir, tb) = setup();
    let o = exec(&tb, "list", json!({"path": "missing"})).await;
    assert!(!o.ok);
    assert!(o.output.contains("no such file or directory: missing"));
    let o = exec(&tb, "list", json!({"path": "../.."})).await;
    assert!(!o.ok);
    for i in 0..450 {
        put(&dir, &format!("many/f{i:03}"), "");
    }
    let o = exec(&tb, "list", json!({"path": "many"})).await;
    assert!(o.ok);
    assert!(
        o.output.contains("[50 more entries not shown"),
        "{}",
        &o.output[o.output.len() - 200..]
    );
}

#[tokio::test]
async fn grep_finds_matches_respecting_gitignore() {
    let (_dir, tb) = repo();
    let o = exec(&tb, "grep", json!({"pattern": "needle"})).await;
    assert!(o.ok, "{}", o.output);
    let out = &o.output;
    assert!(out.contains("src/main.rs:2:     needle();\n"), "{out}");
    assert!(
        out.contains("src/util/deep.rs:1: // needle deep\n"),
        "{out}"
    );
    assert!(
        out.contains("README.md:1: A needle in the readme.\n"),
        "{out}"
    );
    assert!(out.contains(".github/workflows/ci.yml:1:"), "{out}");
    assert!(!out.contains("target/"), "{out}");
    assert!(!out.contains("app.log"), "{out}");

    let o = exec(&tb, "grep", json!({"pattern": "needle", "glob": "*.rs"})).await;
    assert!(o.ok);
    assert_eq!(o.output.lines().count(), 2, "{}", o.output);

    let o = exec(
        &tb,
        "grep",
        json!({"pattern": "needle", "path": "src/util"}),
    )
    .await;
    assert_eq!(o.output, "src/util/deep.rs:1: // needle deep\n");

    let o = exec(
        &tb,
        "grep",
        json!({"pattern": "(?i)A NEEDLE", "path": "README.md"}),
    )
    .await;
    assert_eq!(o.output, "README.md:1: A needle in the readme.\n");

    let o = exec(&tb, "grep", json!({"pattern": "haystack"})).await;
    assert!(o.ok);
    assert_eq!(o.output, "no matches for `haystack` in .");
}

#[tokio::test]
async fn grep_failures_and_bounds() {
    let (dir, tb) = setup();
    let o = exec(&tb, "grep", json!({"pattern": "fn ("})).await;
    assert!(!o.ok);
    assert!(o.output.starts_with("invalid regex `fn (`"), "{}", o.output);
    let o = exec(&tb, "grep", json!({"pattern": "x", "path": "/etc"})).await;
    assert!(!o.ok);

    let text: String = (0..250).map(|i| format!("hit {i}\n")).collect();
    put(&dir, "hits.txt", &text);
    std::fs::write(dir.path().join("hits.bin"), b"hit\0hit\n").expect("write");
    let o = exec(&tb, "grep", json!({"pattern": "^hit"})).await;
    assert!(o.ok);
    assert!(o.output.contains("hits.txt:200: hit 199\n"));
    assert!(!o.output.contains("hit 200\n"));
    assert!(!o.output.contains("hits.bin"));
    assert!(
        o.output.ends_with(
            "[50 more matches not shown (250 in all); narrow the pattern, path or glob]\n"
        ),
        "{}",
        o.output
    );
}
