//! list and grep. Both see the repository the way git does: `.gitignore`d files
//! (build output, vendored dependencies) and `.git` itself are skipped, which
//! keeps results small and relevant. The walk always starts at the workspace
//! root with parent ignore files off, so a subdirectory honours the root's
//! `.gitignore` but nothing above the checkout leaks in.

use super::files::looks_binary;
use super::text::cut_end;
use super::workspace::Workspace;
use ignore::WalkBuilder;
use ignore::gitignore::GitignoreBuilder;
use serde::Deserialize;
use std::path::{Path, PathBuf};

const DEFAULT_DEPTH: usize = 2;
const MAX_DEPTH: usize = 12;
const MAX_LIST_ENTRIES: usize = 400;
const MAX_MATCHES: usize = 200;
const MAX_MATCH_LINE: usize = 300;
/// Files larger than this are not searched (logs, data dumps).
const MAX_GREP_FILE: u64 = 8 * 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListArgs {
    pub path: Option<String>,
    pub depth: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrepArgs {
    pub pattern: String,
    pub path: Option<String>,
    pub glob: Option<String>,
}

/// A gitignore-aware walk of `target` (inside the workspace), `depth` levels deep.
fn walk(ws: &Workspace, target: &Path, depth: Option<usize>) -> ignore::Walk {
    let base = target
        .strip_prefix(ws.root())
        .map_or(0, |r| r.components().count());
    let keep = target.to_path_buf();
    WalkBuilder::new(ws.root())
        .hidden(false)
        .parents(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .max_depth(depth.map(|d| base + d))
        .sort_by_file_name(|a, b| a.cmp(b))
        // Only the way down to the target and what lies beneath it.
        .filter_entry(move |e| {
            e.file_name() != ".git" && (keep.starts_with(e.path()) || e.path().starts_with(&keep))
        })
        .build()
}

fn target_of(ws: &Workspace, path: Option<&str>) -> Result<(PathBuf, String), String> {
    let shown = path.unwrap_or(".").to_string();
    let target = ws.resolve(&shown).map_err(|e| e.to_string())?;
    if !target.exists() {
        return Err(format!("no such file or directory: {shown}"));
    }
    Ok((target, shown))
}

pub(super) fn list(ws: &Workspace, a: &ListArgs) -> Result<String, String> {
    let (target, shown) = target_of(ws, a.path.as_deref())?;
    if !target.is_dir() {
        return Ok(format!("{shown} is a file"));
    }
    let depth = a.depth.unwrap_or(DEFAULT_DEPTH).clamp(1, MAX_DEPTH);
    let mut out = format!("{}/\n", ws.display(&target));
    let (mut shown_n, mut total) = (0usize, 0usize);
    for entry in walk(ws, &target, Some(depth)).flatten() {
        let Ok(rel) = entry.path().strip_prefix(&target) else {
            continue;
        };
        let level = rel.components().count();
        if level == 0 {
            continue;
        }
        total += 1;
        if shown_n >= MAX_LIST_ENTRIES {
            continue;
        }
        shown_n += 1;
        let name = entry.file_name().to_string_lossy();
        let suffix = match entry.file_type() {
            Some(t) if t.is_dir() => "/",
            Some(t) if t.is_symlink() => " -> (symlink)",
            _ => "",
        };
        out.push_str(&format!("{}{name}{suffix}\n", "  ".repeat(level)));
    }
    if total == 0 {
        out.push_str("  (empty, or everything in it is ignored by .gitignore)\n");
    } else if total > shown_n {
        out.push_str(&format!(
            "[{} more entries not shown; list a subdirectory or use a smaller depth]\n",
            total - shown_n
        ));
    }
    Ok(out)
}

pub(super) fn grep(ws: &Workspace, a: &GrepArgs) -> Result<String, String> {
    let re = regex::RegexBuilder::new(&a.pattern)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| format!("invalid regex `{}`: {e}", a.pattern))?;
    let (target, shown) = target_of(ws, a.path.as_deref())?;
    let glob = match a.glob.as_deref().filter(|g| !g.is_empty()) {
        Some(g) => {
            let mut b = GitignoreBuilder::new(ws.root());
            b.add_line(None, g)
                .map_err(|e| format!("invalid glob `{g}`: {e}"))?;
            Some(b.build().map_err(|e| format!("invalid glob `{g}`: {e}"))?)
        }
        None => None,
    };
    let files: Box<dyn Iterator<Item = PathBuf>> = if target.is_file() {
        // An explicitly named file is searched even if it is ignored.
        Box::new(std::iter::once(target.clone()))
    } else {
        Box::new(
            walk(ws, &target, None)
                .flatten()
                .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
                .map(|e| e.into_path()),
        )
    };
    let mut out = String::new();
    let (mut shown_n, mut total) = (0usize, 0usize);
    for file in files {
        let rel = ws.display(&file);
        if let Some(g) = &glob
            && !g
                .matched_path_or_any_parents(Path::new(&rel), false)
                .is_ignore()
        {
            continue;
        }
        if !std::fs::metadata(&file).is_ok_and(|m| m.len() <= MAX_GREP_FILE) {
            continue;
        }
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        if looks_binary(&bytes) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for (i, line) in text.lines().enumerate() {
            if !re.is_match(line) {
                continue;
            }
            total += 1;
            if shown_n < MAX_MATCHES {
                shown_n += 1;
                let line = line.trim_end();
                let cut = if line.len() > MAX_MATCH_LINE {
                    " [...]"
                } else {
                    ""
                };
                out.push_str(&format!(
                    "{rel}:{}: {}{cut}\n",
                    i + 1,
                    cut_end(line, MAX_MATCH_LINE)
                ));
            }
        }
    }
    if total == 0 {
        let scope = a
            .glob
            .as_deref()
            .map(|g| format!(" (files matching `{g}`)"))
            .unwrap_or_default();
        return Ok(format!("no matches for `{}` in {shown}{scope}", a.pattern));
    }
    if total > shown_n {
        out.push_str(&format!(
            "[{} more matches not shown ({total} in all); narrow the pattern, path or glob]\n",
            total - shown_n
        ));
    }
    Ok(out)
}
