//! read_file, write_file and edit. Edits are exact string replacements that must
//! match once: a model that misremembers the file gets told so (not found, or
//! found N times) instead of silently changing the wrong place.

use super::text::cut_end;
use super::workspace::Workspace;
use serde::Deserialize;
use std::io::ErrorKind;
use std::path::Path;

/// Files larger than this are not loaded whole; the model is pointed to grep/run.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Cap on the text read_file returns, line numbers included.
const MAX_READ_BYTES: usize = 64 * 1024;
const MAX_READ_LINES: usize = 2_000;
/// Longer lines are shortened in read_file output (minified files).
const MAX_LINE_BYTES: usize = 2_000;
/// How many lines of the edited region the edit tool echoes back.
const EDIT_ECHO_LINES: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReadArgs {
    pub path: String,
    pub start_line: Option<u64>,
    pub end_line: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WriteArgs {
    pub path: String,
    pub content: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EditArgs {
    pub path: String,
    pub old: String,
    pub new: String,
}

/// True when the first 8 KiB hold a NUL byte, the same heuristic git uses.
pub(super) fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(8192)].contains(&0)
}

/// Loads an existing regular file, refusing directories, huge files and binaries.
fn load(path: &Path, shown: &str) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => format!("no such file: {shown}"),
        _ => format!("cannot read {shown}: {e}"),
    })?;
    if meta.is_dir() {
        return Err(format!(
            "{shown} is a directory; use `list` to see what it holds"
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{shown} is {} bytes, too large to load; use `grep` or `run` (head, sed -n) to look at parts of it",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if looks_binary(&bytes) {
        return Err(format!(
            "{shown} looks like a binary file (it contains NUL bytes); not shown"
        ));
    }
    Ok(bytes)
}

pub(super) fn read_file(ws: &Workspace, a: &ReadArgs) -> Result<String, String> {
    let path = ws.resolve(&a.path).map_err(|e| e.to_string())?;
    let bytes = load(&path, &a.path)?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let total = lines.len();
    if total == 0 {
        return Ok(format!("{} is empty", a.path));
    }
    let start = a.start_line.unwrap_or(1);
    let end = a.end_line.map_or(total, |e| (e as usize).min(total));
    if start == 0 {
        return Err("start_line counts from 1".into());
    }
    if start as usize > total {
        return Err(format!(
            "start_line {start} is past the end of {} ({total} lines)",
            a.path
        ));
    }
    let start = start as usize;
    if end < start {
        return Err(format!("end_line {end} is before start_line {start}"));
    }
    let mut out = String::new();
    let mut shown_to = start - 1;
    for (i, line) in lines[start - 1..end].iter().enumerate() {
        let n = start + i;
        let row = if line.len() > MAX_LINE_BYTES {
            let kept = cut_end(line, MAX_LINE_BYTES);
            format!(
                "{n:>6}\t{kept} [... {} more bytes on this line]\n",
                line.len() - kept.len()
            )
        } else {
            format!("{n:>6}\t{line}\n")
        };
        if i >= MAX_READ_LINES || out.len() + row.len() > MAX_READ_BYTES {
            break;
        }
        out.push_str(&row);
        shown_to = n;
    }
    if shown_to == start - 1 {
        // Not even one line fit (cannot happen with the caps above, but say so).
        return Err(format!("line {start} of {} is too long to show", a.path));
    }
    let mut header = format!("{} ({total} lines", a.path);
    if start > 1 || shown_to < total {
        header.push_str(&format!(", showing {start}-{shown_to}"));
    }
    if !bytes.is_empty() && std::str::from_utf8(&bytes).is_err() {
        header.push_str(", not valid UTF-8: shown lossily");
    }
    header.push_str(")\n");
    if shown_to < end {
        out.push_str(&format!(
            "[output capped at {MAX_READ_LINES} lines / {} KiB: lines {}-{end} not shown; read again with start_line={}]\n",
            MAX_READ_BYTES / 1024,
            shown_to + 1,
            shown_to + 1
        ));
    }
    Ok(header + &out)
}

pub(super) fn write_file(ws: &Workspace, a: &WriteArgs) -> Result<String, String> {
    let path = ws.resolve_for_write(&a.path).map_err(|e| e.to_string())?;
    if path.is_dir() {
        return Err(format!("{} is a directory; give a file path", a.path));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create the directories for {}: {e}", a.path))?;
    }
    let existed = path.exists();
    std::fs::write(&path, &a.content).map_err(|e| format!("cannot write {}: {e}", a.path))?;
    Ok(format!(
        "{} {} ({} bytes, {} lines)",
        if existed { "overwrote" } else { "created" },
        a.path,
        a.content.len(),
        a.content.lines().count()
    ))
}

pub(super) fn edit(ws: &Workspace, a: &EditArgs) -> Result<String, String> {
    let path = ws.resolve_for_write(&a.path).map_err(|e| e.to_string())?;
    if a.old.is_empty() {
        return Err(
            "`old` is empty; give the exact text to replace (use write_file to create a file)"
                .into(),
        );
    }
    if a.old == a.new {
        return Err("`old` and `new` are the same; nothing would change".into());
    }
    let bytes = load(&path, &a.path).map_err(|e| {
        if e.starts_with("no such file") {
            format!("{e}; use write_file to create it")
        } else {
            e
        }
    })?;
    let content = String::from_utf8(bytes).map_err(|_| {
        format!(
            "{} is not valid UTF-8; edit cannot match it exactly",
            a.path
        )
    })?;
    let count = content.matches(a.old.as_str()).count();
    let Some(at) = content.find(a.old.as_str()) else {
        return Err(format!(
            "old string not found in {}; read_file the region and copy the text exactly, whitespace included",
            a.path
        ));
    };
    if count > 1 {
        return Err(format!(
            "old string occurs {count} times in {}; include more context to make it unique",
            a.path
        ));
    }
    let updated = format!(
        "{}{}{}",
        &content[..at],
        a.new,
        &content[at + a.old.len()..]
    );
    std::fs::write(&path, &updated).map_err(|e| format!("cannot write {}: {e}", a.path))?;

    let first = content[..at].matches('\n').count() + 1;
    let span = |s: &str| s.matches('\n').count() + 1 - usize::from(s.ends_with('\n'));
    let old_last = first + span(&a.old) - 1;
    if a.new.is_empty() {
        return Ok(format!(
            "edited {}: removed the text at lines {first}-{old_last}",
            a.path
        ));
    }
    let new_last = first + span(&a.new) - 1;
    let mut out = format!(
        "edited {}: lines {first}-{old_last} replaced; they are now lines {first}-{new_last}:\n",
        a.path
    );
    for (i, line) in updated
        .lines()
        .skip(first - 1)
        .take(new_last + 1 - first)
        .enumerate()
    {
        if i == EDIT_ECHO_LINES {
            out.push_str(&format!("[... through line {new_last}]\n"));
            break;
        }
        out.push_str(&format!(
            "{:>6}\t{}\n",
            first + i,
            cut_end(line, MAX_LINE_BYTES)
        ));
    }
    Ok(out)
}
