//! `git diff` output parsed into what the gates look at: each file's paths,
//! kind of change, added lines with their new line numbers, and the number of
//! removed lines.
//!
//! Hunk bodies are read by their `@@` line counts rather than by their first
//! character alone, so a removed line that reads `-- x` (shown as `--- x`) is
//! not mistaken for the next file's header.

mod names;

use serde::Serialize;

/// One file of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDiff {
    /// The new path, or the old one if the file was deleted.
    pub path: String,
    /// The path before a rename or copy; `None` when it did not change.
    pub old_path: Option<String>,
    pub new_file: bool,
    pub deleted: bool,
    pub binary: bool,
    pub added: Vec<AddedLine>,
    pub removed: usize,
}

/// A line the change adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddedLine {
    /// Its line number in the new file, from 1.
    pub line: u32,
    pub text: String,
}

/// Parses `git diff` (or plain unified diff) output. Text that is not part of
/// a diff is skipped rather than rejected: the gates must see every file the
/// diff does name.
pub fn parse_unified(diff: &str) -> Vec<FileDiff> {
    let mut parser = Parser::default();
    for line in diff.lines() {
        parser.line(line);
    }
    parser.flush();
    parser.files
}

/// What is known of the file being read; paths are resolved at the end
/// because the exact ones (`rename to`, `+++`) come after the header.
#[derive(Default)]
struct Pending {
    header: Option<(String, String)>,
    /// `Some(None)` is `/dev/null`.
    minus: Option<Option<String>>,
    plus: Option<Option<String>>,
    moved_from: Option<String>,
    moved_to: Option<String>,
    new_file: bool,
    deleted: bool,
    binary: bool,
    seen_hunk: bool,
    added: Vec<AddedLine>,
    removed: usize,
}

#[derive(Default)]
struct Parser {
    files: Vec<FileDiff>,
    current: Option<Pending>,
    /// Lines still expected in the current hunk, old and new side.
    old_left: u32,
    new_left: u32,
    /// The new-file number of the next added or context line.
    new_line: u32,
}

impl Parser {
    fn line(&mut self, line: &str) {
        if self.old_left > 0 || self.new_left > 0 {
            if self.hunk_line(line) {
                return;
            }
            // A short hunk: resynchronise on whatever this line is.
            self.old_left = 0;
            self.new_left = 0;
        }
        self.header_line(line);
    }

    /// Returns false when the line cannot belong to a hunk.
    fn hunk_line(&mut self, line: &str) -> bool {
        let Some(file) = self.current.as_mut() else {
            return false;
        };
        match line.as_bytes().first() {
            // Some tools strip the single space of an empty context line.
            Some(b' ') | None => {
                self.old_left = self.old_left.saturating_sub(1);
                self.new_left = self.new_left.saturating_sub(1);
                self.new_line += 1;
            }
            Some(b'+') => {
                file.added.push(AddedLine {
                    line: self.new_line,
                    text: line[1..].to_string(),
                });
                self.new_left = self.new_left.saturating_sub(1);
                self.new_line += 1;
            }
            Some(b'-') => {
                file.removed += 1;
                self.old_left = self.old_left.saturating_sub(1);
            }
            Some(b'\\') => {} // "\ No newline at end of file"
            Some(_) => return false,
        }
        true
    }

    fn header_line(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            self.flush();
            let header = names::header_names(rest);
            self.current = Some(Pending {
                header,
                ..Pending::default()
            });
            return;
        }
        if let Some(rest) = line.strip_prefix("--- ") {
            // Without a `diff --git` header (plain unified diff), `---` is
            // what starts the next file.
            let starts_file = match &self.current {
                None => true,
                Some(f) => f.seen_hunk || f.minus.is_some(),
            };
            if starts_file {
                self.flush();
                self.current = Some(Pending::default());
            }
            self.file().minus = Some(names::marker_name(rest, "a/"));
            return;
        }
        if line.starts_with("@@ ") {
            if let Some((old_count, new_start, new_count)) = hunk_header(line) {
                self.file().seen_hunk = true;
                self.old_left = old_count;
                self.new_left = new_count;
                self.new_line = new_start;
            }
            return;
        }
        let Some(file) = self.current.as_mut() else {
            return;
        };
        if let Some(rest) = line.strip_prefix("+++ ") {
            file.plus = Some(names::marker_name(rest, "b/"));
        } else if line.starts_with("new file mode") {
            file.new_file = true;
        } else if line.starts_with("deleted file mode") {
            file.deleted = true;
        } else if let Some(rest) = line
            .strip_prefix("rename from ")
            .or(line.strip_prefix("copy from "))
        {
            file.moved_from = Some(names::plain_name(rest));
        } else if let Some(rest) = line
            .strip_prefix("rename to ")
            .or(line.strip_prefix("copy to "))
        {
            file.moved_to = Some(names::plain_name(rest));
        } else if line.starts_with("Binary files ") || line == "GIT binary patch" {
            file.binary = true;
        }
    }

    fn file(&mut self) -> &mut Pending {
        self.current.get_or_insert_with(Pending::default)
    }

    fn flush(&mut self) {
        self.old_left = 0;
        self.new_left = 0;
        let Some(p) = self.current.take() else { return };
        let (header_old, header_new) = match p.header {
            Some((old, new)) => (Some(old), Some(new)),
            None => (None, None),
        };
        let deleted = p.deleted || matches!(p.plus, Some(None));
        let new_file = p.new_file || matches!(p.minus, Some(None));
        let new = p.moved_to.or(p.plus.flatten()).or(header_new);
        let old = p.moved_from.or(p.minus.flatten()).or(header_old);
        let path = if deleted {
            old.clone().or(new.clone())
        } else {
            new.clone().or(old.clone())
        };
        let Some(path) = path else { return };
        let old_path = old.filter(|old| !deleted && *old != path);
        self.files.push(FileDiff {
            path,
            old_path,
            new_file,
            deleted,
            binary: p.binary,
            added: p.added,
            removed: p.removed,
        });
    }
}

/// `@@ -a[,b] +c[,d] @@ ...` as (b, c, d); a missing count means 1.
fn hunk_header(line: &str) -> Option<(u32, u32, u32)> {
    let mut parts = line.strip_prefix("@@ ")?.split(' ');
    let (_, old_count) = range(parts.next()?.strip_prefix('-')?)?;
    let (new_start, new_count) = range(parts.next()?.strip_prefix('+')?)?;
    Some((old_count, new_start, new_count))
}

fn range(s: &str) -> Option<(u32, u32)> {
    match s.split_once(',') {
        Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
        None => Some((s.parse().ok()?, 1)),
    }
}

#[cfg(test)]
mod tests;
