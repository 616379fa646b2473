use super::*;

fn lines(f: &FileDiff) -> Vec<(u32, &str)> {
    f.added.iter().map(|a| (a.line, a.text.as_str())).collect()
}

#[test]
fn modified_file_with_two_hunks_numbers_added_lines_in_the_new_file() {
    let diff = "\
diff --git a/src/main.rs b/src/main.rs
index 3b18e51..a8c2f0d 100644
--- a/src/main.rs
+++ b/src/main.rs
@@ -1,3 +1,4 @@
 fn main() {
+    let x = 1;
     println!(\"hi\");
 }
@@ -10,2 +11,3 @@ fn other() {
 a
-b
+c
+d
";
    let files = parse_unified(diff);
    assert_eq!(files.len(), 1);
    let f = &files[0];
    assert_eq!(f.path, "src/main.rs");
    assert_eq!(f.old_path, None);
    assert!(!f.new_file && !f.deleted && !f.binary);
    assert_eq!(lines(f), [(2, "    let x = 1;"), (12, "c"), (13, "d")]);
    assert_eq!(f.removed, 1);
}

#[test]
fn new_deleted_and_binary_files() {
    let diff = "\
diff --git a/new.txt b/new.txt
new file mode 100644
index 0000000..ce01362
--- /dev/null
+++ b/new.txt
@@ -0,0 +1 @@
+hello
\\ No newline at end of file
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index ce01362..0000000
--- a/gone.txt
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..1c2d3e4
Binary files /dev/null and b/logo.png differ
";
    let files = parse_unified(diff);
    assert_eq!(files.len(), 3);
    assert!(files[0].new_file);
    assert_eq!(lines(&files[0]), [(1, "hello")]);
    assert_eq!(
        (files[1].path.as_str(), files[1].deleted, files[1].removed),
        ("gone.txt", true, 2)
    );
    assert!(files[1].added.is_empty());
    assert_eq!(
        (files[2].path.as_str(), files[2].binary, files[2].new_file),
        ("logo.png", true, true)
    );
}

#[test]
fn rename_keeps_both_paths() {
    let diff = "\
diff --git a/old name.rs b/new name.rs
similarity index 90%
rename from old name.rs
rename to new name.rs
index 1111111..2222222 100644
--- a/old name.rs\t
+++ b/new name.rs\t
@@ -1 +1 @@
-x
+y
";
    let f = &parse_unified(diff)[0];
    assert_eq!(f.path, "new name.rs");
    assert_eq!(f.old_path.as_deref(), Some("old name.rs"));
    assert_eq!((lines(f), f.removed), (vec![(1, "y")], 1));
}

#[test]
fn header_lines_inside_a_hunk_are_content() {
    // Removing "-- comment" and adding "++ x" look like file headers.
    let diff = "\
diff --git a/q.sql b/q.sql
--- a/q.sql
+++ b/q.sql
@@ -1,2 +1,2 @@
--- comment
++++ x
 select 1;
diff --git a/r.sql b/r.sql
--- a/r.sql
+++ b/r.sql
@@ -1 +1 @@
-a
+b
";
    let files = parse_unified(diff);
    assert_eq!(files.len(), 2);
    assert_eq!(lines(&files[0]), [(1, "+++ x")]);
    assert_eq!(files[0].removed, 1);
    assert_eq!(files[1].path, "r.sql");
}

#[test]
fn empty_new_file_with_spaces_takes_its_name_from_the_header() {
    let diff = "diff --git a/my dir/empty file b/my dir/empty file\nnew file mode 100644\nindex 0000000..e69de29\n";
    let f = &parse_unified(diff)[0];
    assert_eq!(f.path, "my dir/empty file");
    assert!(f.new_file && f.added.is_empty());
}

#[test]
fn quoted_names_are_decoded() {
    let diff = "diff --git \"a/caf\\303\\251.txt\" \"b/caf\\303\\251.txt\"\n--- \"a/caf\\303\\251.txt\"\n+++ \"b/caf\\303\\251.txt\"\n@@ -1 +1,2 @@\n x\n+y\n";
    let f = &parse_unified(diff)[0];
    assert_eq!(f.path, "café.txt");
    assert_eq!(lines(f), [(2, "y")]);
}

#[test]
fn plain_unified_diffs_without_git_headers() {
    let diff =
        "--- a/one\n+++ b/one\n@@ -1 +1 @@\n-a\n+b\n--- a/two\n+++ b/two\n@@ -0,0 +1 @@\n+c\n";
    let files = parse_unified(diff);
    let paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["one", "two"]);
    assert_eq!(lines(&files[1]), [(1, "c")]);
}

#[test]
fn noise_and_empty_input_give_nothing() {
    assert!(parse_unified("").is_empty());
    assert!(parse_unified("commit abc\nAuthor: x\n\n    message\n").is_empty());
}

#[test]
fn serialises_for_the_verdict() {
    let f = &parse_unified("--- /dev/null\n+++ b/a\n@@ -0,0 +1 @@\n+z\n")[0];
    let json = serde_json::to_value(f).unwrap();
    assert_eq!(json["path"], "a");
    assert_eq!(json["new_file"], true);
    assert_eq!(json["added"][0]["line"], 1);
}
