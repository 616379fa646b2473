//! The tool specs the model sees: names, descriptions and JSON Schemas. The
//! descriptions state the limits (caps, timeouts, exact-match rules) so the model
//! can plan around them instead of discovering them by failing.

use nightshift_core::llm::ToolSpec;
use serde_json::{Value, json};
use std::time::Duration;

fn spec(name: &str, description: String, properties: Value, required: &[&str]) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description,
        parameters: json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        }),
    }
}

fn path_prop(what: &str) -> Value {
    json!({ "type": "string", "description": format!("{what}, relative to the repository root (no absolute paths, no `..` out of it)") })
}

pub(super) fn all(
    default_timeout: Duration,
    max_timeout: Duration,
    test_command: Option<&str>,
) -> Vec<ToolSpec> {
    let tests = match test_command {
        Some(c) => format!("This repository's test command is `{c}`."),
        None => "No test command was found for this repository; the tool will say so.".into(),
    };
    vec![
        spec(
            "read_file",
            "Read a text file, shown with line numbers (`  12\\tcode`; the number and tab are not part of the file). \
             Optionally a line range. Output is capped at 2000 lines / 64 KiB; the tool says where to continue. \
             Binary files are refused."
                .into(),
            json!({
                "path": path_prop("The file"),
                "start_line": { "type": "integer", "minimum": 1, "description": "First line to show, counting from 1 (default 1)" },
                "end_line": { "type": "integer", "minimum": 1, "description": "Last line to show, inclusive (default: end of file)" },
            }),
            &["path"],
        ),
        spec(
            "write_file",
            "Create or overwrite a whole file with the given content; missing parent directories are created. \
             Files inside .git cannot be written. Prefer `edit` for changing part of an existing file."
                .into(),
            json!({
                "path": path_prop("The file to write"),
                "content": { "type": "string", "description": "The complete new content of the file" },
            }),
            &["path", "content"],
        ),
        spec(
            "edit",
            "Replace one exact occurrence of `old` with `new` in a file. `old` must match the file exactly \
             (whitespace and indentation included, without read_file's line numbers) and occur exactly once; \
             if it occurs several times, include more surrounding lines. Returns the changed line range."
                .into(),
            json!({
                "path": path_prop("The file to edit"),
                "old": { "type": "string", "description": "The exact text to replace; must occur exactly once" },
                "new": { "type": "string", "description": "The replacement text (empty to delete)" },
            }),
            &["path", "old", "new"],
        ),
        spec(
            "list",
            "List a directory as an indented tree (directories end in `/`), skipping .git and files ignored by \
             .gitignore. At most 400 entries are shown."
                .into(),
            json!({
                "path": path_prop("The directory to list (default: the repository root)"),
                "depth": { "type": "integer", "minimum": 1, "maximum": 12, "description": "How many levels deep to go (default 2)" },
            }),
            &[],
        ),
        spec(
            "grep",
            "Search file contents with a regular expression (Rust regex syntax, matched per line), skipping .git, \
             binary files and files ignored by .gitignore. Results are `path:line: text`, at most 200; the tool \
             says how many more there were."
                .into(),
            json!({
                "pattern": { "type": "string", "description": "The regular expression, e.g. `fn\\s+parse_`; use (?i) for case-insensitive" },
                "path": path_prop("A directory or file to search (default: the repository root)"),
                "glob": { "type": "string", "description": "Only search files matching this gitignore-style glob, e.g. `*.rs` or `src/**/*.ts`" },
            }),
            &["pattern"],
        ),
        spec(
            "run",
            format!(
                "Run a shell command (`sh -c`) in the repository root. No stdin and no credentials in the \
                 environment; HOME is the repository. Background processes are killed when the command ends. \
                 Returns the exit status, then stdout and stderr interleaved (the first and last 8 KiB if longer). \
                 Timeout: {} s by default, at most {} s.",
                default_timeout.as_secs(),
                max_timeout.as_secs()
            ),
            json!({
                "command": { "type": "string", "description": "The command line, e.g. `cargo build 2>&1 | head -50`" },
                "timeout_secs": { "type": "integer", "minimum": 1, "maximum": max_timeout.as_secs(), "description": "Seconds before the command is killed" },
            }),
            &["command"],
        ),
        spec(
            "run_tests",
            format!(
                "Run the repository's test suite and report PASSED or FAILED with the (bounded) output. {tests} \
                 The same sandbox as `run`."
            ),
            json!({}),
            &[],
        ),
    ]
}
