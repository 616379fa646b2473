//! Path confinement: absolute paths, `..` escapes, symlinks out, and `.git`.

use crate::{exec, put, setup};
use serde_json::json;

#[tokio::test]
async fn paths_outside_the_workspace_are_refused() {
    let (dir, tb) = setup();
    let outside = tempfile::tempdir().expect("outside");
    std::fs::write(outside.path().join("secret"), "s3cret").expect("write");
    let abs = outside.path().join("secret").to_string_lossy().into_owned();

    let o = exec(&tb, "read_file", json!({"path": abs})).await;
    assert!(!o.ok);
    assert!(o.output.contains("absolute path"), "{}", o.output);
    let o = exec(
        &tb,
        "write_file",
        json!({"path": "/tmp/evil", "content": "x"}),
    )
    .await;
    assert!(!o.ok);
    assert!(o.output.contains("absolute path"));

    for p in ["../x", "a/../../x", "./.."] {
        let o = exec(&tb, "write_file", json!({"path": p, "content": "x"})).await;
        assert!(!o.ok, "{p}");
        assert!(
            o.output.contains("leaves the workspace"),
            "{p}: {}",
            o.output
        );
    }
    // `..` that stays inside is fine.
    let o = exec(
        &tb,
        "write_file",
        json!({"path": "a/../inside.txt", "content": "x"}),
    )
    .await;
    assert!(o.ok, "{}", o.output);
    assert!(dir.path().join("inside.txt").is_file());

    // A symlinked directory pointing outside: no reading, no writing through it.
    std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).expect("symlink");
    let o = exec(&tb, "read_file", json!({"path": "out/secret"})).await;
    assert!(!o.ok);
    assert!(
        o.output.contains("symlink that points outside"),
        "{}",
        o.output
    );
    let o = exec(
        &tb,
        "write_file",
        json!({"path": "out/new/file", "content": "x"}),
    )
    .await;
    assert!(!o.ok);
    assert!(!outside.path().join("new").exists());
    // A symlinked file pointing outside.
    std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("leak"))
        .expect("symlink");
    let o = exec(&tb, "read_file", json!({"path": "leak"})).await;
    assert!(!o.ok);
    assert!(!o.output.contains("s3cret"));
    let o = exec(
        &tb,
        "edit",
        json!({"path": "leak", "old": "s3cret", "new": "x"}),
    )
    .await;
    assert!(!o.ok);
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret")).expect("read"),
        "s3cret"
    );
    // A dangling symlink would let a write create a file outside.
    std::os::unix::fs::symlink(outside.path().join("planted"), dir.path().join("dangling"))
        .expect("symlink");
    let o = exec(
        &tb,
        "write_file",
        json!({"path": "dangling", "content": "x"}),
    )
    .await;
    assert!(!o.ok);
    assert!(o.output.contains("does not exist"), "{}", o.output);
    assert!(!outside.path().join("planted").exists());
    // A symlink that stays inside is followed.
    std::os::unix::fs::symlink(dir.path().join("inside.txt"), dir.path().join("alias"))
        .expect("symlink");
    let o = exec(&tb, "read_file", json!({"path": "alias"})).await;
    assert!(o.ok, "{}", o.output);
}

#[tokio::test]
async fn git_internals_cannot_be_written() {
    let (dir, tb) = setup();
    put(&dir, ".git/config", "[core]\n");
    let o = exec(
        &tb,
        "write_file",
        json!({"path": ".git/hooks/pre-commit", "content": "evil"}),
    )
    .await;
    assert!(!o.ok);
    assert!(o.output.contains("inside .git"), "{}", o.output);
    let o = exec(
        &tb,
        "edit",
        json!({"path": "sub/../.git/config", "old": "[core]", "new": "x"}),
    )
    .await;
    assert!(!o.ok);
    assert!(!dir.path().join(".git/hooks").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".git/config")).expect("read"),
        "[core]\n"
    );
}
