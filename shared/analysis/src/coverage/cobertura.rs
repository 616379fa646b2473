//! Cobertura XML: `<class filename="..."><lines><line number="N" hits="H"/>`.
//! Paths are relative to the report's `<source>`; a file split over several
//! classes (coverage.py does this rarely, tarpaulin never) is merged.

use super::{CoverageError, FileCoverage, lcov::to_file};
use quick_xml::Reader;
use quick_xml::events::Event;
use std::collections::BTreeMap;

fn malformed(line: usize, message: impl Into<String>) -> CoverageError {
    CoverageError::Malformed {
        format: "Cobertura",
        line,
        message: message.into(),
    }
}

pub fn parse_cobertura(text: &str) -> Result<Vec<FileCoverage>, CoverageError> {
    let mut reader = Reader::from_str(text);
    let mut files: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut seen_root = false;
    let line_of = |pos: u64| text[..(pos as usize).min(text.len())].matches('\n').count() + 1;
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| malformed(line_of(pos), e.to_string()))?;
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name();
                let attr = |key: &str| -> Result<Option<String>, CoverageError> {
                    for a in e.attributes() {
                        let a = a.map_err(|err| malformed(line_of(pos), err.to_string()))?;
                        if a.key.as_ref() == key {
                            let v = a
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .map_err(|err| malformed(line_of(pos), err.to_string()))?;
                            return Ok(Some(v.into_owned()));
                        }
                    }
                    Ok(None)
                };
                match name.as_ref() {
                    "coverage" => seen_root = true,
                    "class" => {
                        let f = attr("filename")?
                            .ok_or_else(|| malformed(line_of(pos), "<class> without filename"))?;
                        files.entry(f.clone()).or_default();
                        current = Some(f);
                    }
                    "line" => {
                        // <line> also appears inside <method>; the class-level list is the one to count,
                        // and counting a line twice is harmless (same number, hits summed).
                        let Some(f) = &current else { continue };
                        let number = attr("number")?.and_then(|n| n.parse::<u32>().ok());
                        let hits = attr("hits")?.and_then(|h| h.parse::<f64>().ok());
                        let (Some(number), Some(hits)) = (number, hits) else {
                            return Err(malformed(
                                line_of(pos),
                                "<line> needs numeric number= and hits=",
                            ));
                        };
                        let entry = files
                            .entry(f.clone())
                            .or_default()
                            .entry(number)
                            .or_insert(0);
                        *entry = (*entry).max(if hits > 0.0 { hits as u64 } else { 0 });
                    }
                    _ => {}
                }
            }
            Event::End(e) if e.name().as_ref() == "class" => current = None,
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(CoverageError::UnknownFormat);
    }
    Ok(files
        .into_iter()
        .map(|(path, lines)| to_file(path, &lines))
        .collect())
}
