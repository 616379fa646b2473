//! File names as git writes them in diff headers: optionally C-quoted
//! (`"a/t\303\251st"`) when they hold unusual bytes, and ambiguous in the
//! `diff --git a/x b/x` line when they hold spaces.

/// Undoes git's C-style quoting. Octal escapes are bytes of UTF-8, so they
/// are collected as bytes first. Returns the name and the rest of the input
/// after the closing quote, or `None` when `s` is not a quoted name.
pub(super) fn unquote(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some((String::from_utf8_lossy(&out).into_owned(), &body[i + 1..])),
            b'\\' if i + 1 < bytes.len() => {
                let c = bytes[i + 1];
                i += 2;
                match c {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'v' => out.push(11),
                    b'0'..=b'7' => {
                        // Up to three octal digits; the first is already read.
                        let mut value = u32::from(c - b'0');
                        let mut digits = 1;
                        while digits < 3 && i < bytes.len() && (b'0'..=b'7').contains(&bytes[i]) {
                            value = value * 8 + u32::from(bytes[i] - b'0');
                            i += 1;
                            digits += 1;
                        }
                        out.push(value as u8);
                    }
                    other => out.push(other),
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// The name on a `---`/`+++` line (after the marker), without its `a/` or
/// `b/` prefix; `None` for `/dev/null`. Git ends names holding a space with a
/// tab, and other tools put a timestamp after one, so an unquoted name stops
/// at the first tab.
pub(super) fn marker_name(s: &str, prefix: &str) -> Option<String> {
    let name = match unquote(s) {
        Some((name, _)) => name,
        None => s
            .split('\t')
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_string(),
    };
    if name == "/dev/null" {
        return None;
    }
    Some(strip(&name, prefix))
}

/// A name on a `rename from` / `copy to` line: no prefix, maybe quoted.
pub(super) fn plain_name(s: &str) -> String {
    match unquote(s) {
        Some((name, _)) => name,
        None => s.to_string(),
    }
}

/// The old and new names of a `diff --git a/x b/y` header. Unquoted names
/// may contain spaces, so the split is found by assuming both names are
/// equal, which holds for everything but renames and copies; those carry
/// exact names on their `rename`/`copy` lines, which win over the header.
pub(super) fn header_names(rest: &str) -> Option<(String, String)> {
    if let Some((old, tail)) = unquote(rest) {
        let tail = tail.strip_prefix(' ')?;
        let new = match unquote(tail) {
            Some((new, _)) => new,
            None => tail.to_string(),
        };
        return Some((strip(&old, "a/"), strip(&new, "b/")));
    }
    if let Some(at) = rest.find(" \"") {
        let (new, _) = unquote(&rest[at + 1..])?;
        return Some((strip(&rest[..at], "a/"), strip(&new, "b/")));
    }
    // "a/NAME b/NAME": the halves have equal length around " b/".
    if rest.len() >= 5 && (rest.len() - 5).is_multiple_of(2) {
        let half = (rest.len() - 5) / 2;
        if rest.is_char_boundary(2 + half) {
            let (left, right) = rest.split_at(2 + half);
            if let (Some(old), Some(new)) = (left.strip_prefix("a/"), right.strip_prefix(" b/"))
                && old == new
            {
                return Some((old.to_string(), new.to_string()));
            }
        }
    }
    let at = rest.find(" b/")?;
    Some((strip(&rest[..at], "a/"), rest[at + 3..].to_string()))
}

fn strip(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_decodes_octal_utf8_and_escapes() {
        let (name, rest) = unquote(r#""a/t\303\251st \"q\".txt" tail"#).unwrap();
        assert_eq!(name, "a/tést \"q\".txt");
        assert_eq!(rest, " tail");
        assert_eq!(unquote(r#""tab\there""#).unwrap().0, "tab\there");
        assert!(unquote("plain").is_none());
        assert!(unquote("\"unterminated").is_none());
    }

    #[test]
    fn marker_names_drop_prefix_tab_and_dev_null() {
        assert_eq!(
            marker_name("b/my file.txt\t", "b/").as_deref(),
            Some("my file.txt")
        );
        assert_eq!(
            marker_name("a/x.rs\t2024-01-01 00:00", "a/").as_deref(),
            Some("x.rs")
        );
        assert_eq!(marker_name("/dev/null", "a/"), None);
        assert_eq!(
            marker_name(r#""b/\303\251.md""#, "b/").as_deref(),
            Some("é.md")
        );
    }

    #[test]
    fn header_names_with_spaces_quotes_and_renames() {
        let same = header_names("a/dir with space/b/x.txt b/dir with space/b/x.txt").unwrap();
        assert_eq!(
            same,
            (
                "dir with space/b/x.txt".into(),
                "dir with space/b/x.txt".into()
            )
        );
        let quoted = header_names(r#""a/\303\251" "b/\303\251""#).unwrap();
        assert_eq!(quoted, ("é".into(), "é".into()));
        let renamed = header_names("a/old.rs b/new.rs").unwrap();
        assert_eq!(renamed, ("old.rs".into(), "new.rs".into()));
        assert!(header_names("nonsense").is_none());
    }
}
