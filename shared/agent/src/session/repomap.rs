//! The repository map: the files the model can work with, their sizes and, for
//! common languages, a few top-level names, so the first turns go to the right
//! files instead of to `list` and `grep`. It honours `.gitignore` (also in a
//! checkout without `.git`), skips `.git` itself, is sorted for determinism, and
//! is bounded: past the limit it says how many entries were left out.

use regex::Regex;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

/// Files larger than this are listed but not scanned for names.
const MAX_SCAN_BYTES: u64 = 128 * 1024;
/// Names shown per file.
const MAX_NAMES: usize = 8;

/// A newline-separated map of at most `max_entries` files under `root`:
/// `path (size)` and, where found, `: name, name, ...`.
pub fn repo_map(root: &Path, max_entries: usize) -> String {
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .sort_by_file_path(|a, b| a.cmp(b))
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    let mut out = String::new();
    let mut shown = 0usize;
    let mut left_out = 0usize;
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        if shown >= max_entries {
            left_out += 1;
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        // A file name is untrusted too: a newline in one could forge map lines.
        let shown_path = rel.to_string_lossy().replace(char::is_control, "?");
        let _ = write!(out, "{shown_path} ({})", human(size));
        if size <= MAX_SCAN_BYTES {
            let names = symbols(entry.path());
            if !names.is_empty() {
                let _ = write!(out, ": {}", names.join(", "));
            }
        }
        out.push('\n');
        shown += 1;
    }
    if shown == 0 {
        out.push_str("(no files)\n");
    }
    if left_out > 0 {
        let _ = writeln!(out, "[... {left_out} more files not shown ...]");
    }
    out
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// Matches a top-level (unindented) definition; group 1 is the name.
fn pattern(ext: &str) -> Option<&'static Regex> {
    static RUST: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?m)^(?:pub(?:\([^)]*\))?\s+)?(?:(?:async|unsafe|const|extern)\s+)*(?:fn|struct|enum|trait|type|mod|union)\s+([A-Za-z_][A-Za-z0-9_]*)",
        )
    });
    static PY: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^(?:async\s+)?(?:def|class)\s+([A-Za-z_][A-Za-z0-9_]*)"));
    static JS: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?m)^(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\*?|class|interface|type|enum|const|let)\s+([A-Za-z_$][A-Za-z0-9_$]*)",
        )
    });
    static GO: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)^(?:func(?:\s+\([^)]*\))?|type)\s+([A-Za-z_][A-Za-z0-9_]*)"));
    match ext {
        "rs" => Some(&RUST),
        "py" => Some(&PY),
        "ts" | "tsx" | "js" | "jsx" | "mjs" => Some(&JS),
        "go" => Some(&GO),
        _ => None,
    }
}

/// The patterns are constants (not input), checked by the unit tests below.
fn re(p: &str) -> Regex {
    Regex::new(p).expect("a constant pattern compiles")
}

fn symbols(path: &Path) -> Vec<String> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let Some(re) = pattern(ext) else {
        return Vec::new();
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut names: Vec<String> = Vec::new();
    for c in re.captures_iter(&text) {
        if let Some(m) = c.get(1)
            && !names.iter().any(|n| n == m.as_str())
        {
            names.push(m.as_str().to_owned());
            if names.len() >= MAX_NAMES {
                names.push("...".into());
                break;
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ext: &str, src: &str) -> Vec<String> {
        let re = pattern(ext).expect("a pattern");
        re.captures_iter(src).map(|c| c[1].to_owned()).collect()
    }

    #[test]
    fn finds_top_level_names_per_language() {
        assert_eq!(
            names(
                "rs",
                "pub fn add() {}\nstruct S;\n    fn inner() {}\npub(crate) async fn go() {}\n"
            ),
            ["add", "S", "go"]
        );
        assert_eq!(
            names("py", "class A:\n    def m(self): pass\ndef f(): pass\n"),
            ["A", "f"]
        );
        assert_eq!(
            names(
                "ts",
                "export function run() {}\nexport default class App {}\n"
            ),
            ["run", "App"]
        );
        assert_eq!(
            names(
                "go",
                "func (s *S) Do() {}\ntype S struct{}\nfunc main() {}\n"
            ),
            ["Do", "S", "main"]
        );
    }
}
