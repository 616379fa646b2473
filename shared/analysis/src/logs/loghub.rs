//! Reading LogHub's `*_structured.csv` files: the parsed log with a ground-truth
//! `EventId` per message, used by the accuracy tests and `nightshift bench logs`.
//! The CSV splitter is small but complete (RFC 4180 quoting), so no CSV crate.

use std::io;
use std::path::Path;

/// Splits CSV text into records of fields. A field may be double-quoted, and then
/// holds commas, line breaks and doubled quotes (`""` for `"`). Records end at
/// `\n` or `\r\n`; a final line break does not start an empty record.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false; // inside a quoted section
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// Reads a LogHub structured CSV (header `LineId,...,Content,EventId,EventTemplate`;
/// the other columns differ per data set) into `(Content, EventId)` pairs.
pub fn load_loghub_structured(path: &Path) -> io::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)?;
    content_and_event_ids(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

/// The I/O-free part of [`load_loghub_structured`].
pub fn content_and_event_ids(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut records = parse_csv(text).into_iter();
    let header = records.next().ok_or("empty file")?;
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
            .ok_or_else(|| format!("no {name} column in the header"))
    };
    let (content, event) = (column("Content")?, column("EventId")?);
    records
        .enumerate()
        .filter(|(_, r)| !(r.len() == 1 && r[0].is_empty()))
        .map(|(i, mut r)| {
            if r.len() <= content.max(event) {
                return Err(format!(
                    "record {} has {} fields, fewer than the header",
                    i + 1,
                    r.len()
                ));
            }
            Ok((
                std::mem::take(&mut r[content]),
                std::mem::take(&mut r[event]),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_hold_commas_quotes_and_newlines() {
        let csv = "a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",\n";
        assert_eq!(
            parse_csv(csv),
            vec![
                vec!["a", "b", "c"],
                vec!["1", "x, y", "say \"hi\""],
                vec!["2", "two\nlines", ""],
            ]
        );
        assert_eq!(parse_csv("x"), vec![vec!["x"]]);
        assert!(parse_csv("").is_empty());
    }

    #[test]
    fn finds_content_and_event_id_by_name() {
        let csv = "LineId,Time,Program,Content,EventId,EventTemplate\n\
                   1,10.30 16:49:06,chrome.exe,\"a:1 close, 0 bytes sent\",E8,\"<*> close, <*>\"\n";
        let rows = content_and_event_ids(csv).expect("valid");
        assert_eq!(
            rows,
            vec![("a:1 close, 0 bytes sent".to_owned(), "E8".to_owned())]
        );
        assert!(
            content_and_event_ids("LineId,Content\n1,x\n")
                .unwrap_err()
                .contains("EventId")
        );
        assert!(
            content_and_event_ids("Content,EventId\nonly\n")
                .unwrap_err()
                .contains("fewer")
        );
    }

    #[test]
    fn loads_a_file() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("x_structured.csv");
        std::fs::write(
            &path,
            "LineId,Content,EventId\n1,\"hello, world\",E1\n2,bye,E2\n",
        )?;
        let rows = load_loghub_structured(&path)?;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, "hello, world");
        let err = load_loghub_structured(&dir.path().join("missing.csv")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        Ok(())
    }
}
