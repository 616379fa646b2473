//! lcov tracefiles: `SF:<path>` opens a file's record, `DA:<line>,<hits>[,<checksum>]`
//! gives a line, `end_of_record` closes it. Other records (FN, BRDA, LF, LH, ...)
//! are skipped; the counts are derived from the DA lines themselves.

use super::{CoverageError, FileCoverage};
use std::collections::BTreeMap;

fn malformed(line: usize, message: impl Into<String>) -> CoverageError {
    CoverageError::Malformed {
        format: "lcov",
        line,
        message: message.into(),
    }
}

pub fn parse_lcov(text: &str) -> Result<Vec<FileCoverage>, CoverageError> {
    let mut out = Vec::new();
    let mut current: Option<(String, BTreeMap<u32, u64>)> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if let Some(path) = line.strip_prefix("SF:") {
            if current.is_some() {
                return Err(malformed(
                    n,
                    "SF: before the previous record's end_of_record",
                ));
            }
            current = Some((path.to_string(), BTreeMap::new()));
        } else if let Some(rest) = line.strip_prefix("DA:") {
            let Some((_, lines)) = current.as_mut() else {
                return Err(malformed(n, "DA: outside a record (no SF: before it)"));
            };
            let mut parts = rest.split(',');
            let ln = parts.next().and_then(|s| s.trim().parse::<u32>().ok());
            // Some tools write hit counts as floats or negative numbers; treat >0 as hit.
            let hits = parts.next().and_then(|s| s.trim().parse::<f64>().ok());
            let (Some(ln), Some(hits)) = (ln, hits) else {
                return Err(malformed(
                    n,
                    format!("expected DA:<line>,<hits>, got `{line}`"),
                ));
            };
            let h = if hits > 0.0 { hits as u64 } else { 0 };
            *lines.entry(ln).or_insert(0) += h;
        } else if line == "end_of_record" {
            let Some((path, lines)) = current.take() else {
                return Err(malformed(n, "end_of_record without SF:"));
            };
            out.push(to_file(path, &lines));
        }
    }
    if let Some((path, lines)) = current.take() {
        // A missing final end_of_record is common enough to accept.
        out.push(to_file(path, &lines));
    }
    Ok(out)
}

pub(super) fn to_file(path: String, lines: &BTreeMap<u32, u64>) -> FileCoverage {
    let uncovered: Vec<u32> = lines
        .iter()
        .filter(|(_, h)| **h == 0)
        .map(|(l, _)| *l)
        .collect();
    let found = lines.len() as u32;
    FileCoverage {
        path,
        lines_found: found,
        lines_hit: found - uncovered.len() as u32,
        uncovered,
    }
}
