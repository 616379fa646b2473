//! OSV advisories (<https://ossf.github.io/osv-schema/>): one JSON record per
//! file, for the ecosystems the watchdog reads lock files of (`npm`, `PyPI`,
//! `crates.io`); other ecosystems and `GIT` ranges are skipped.
//!
//! Evaluation follows the schema's `IsVulnerable` pseudocode: a version is
//! affected when it equals one of `versions`, or when, in some `SEMVER` or
//! `ECOSYSTEM` range that it is below a `limit` of (if any), the last of the
//! version-sorted events it passes is an `introduced` rather than a `fixed` or
//! a `last_affected`. Versions order as semver for npm and crates.io and as
//! PEP 440 for PyPI; an explicit `versions` entry also matches a version equal
//! under that order (`1.0` and `1.0.0` on PyPI). A range event that does not
//! parse fails the load, naming the file, rather than silently matching nothing.
//!
//! Kind: `database_specific.informational` (as in RustSec's OSV export) of
//! `unmaintained` or `unsound` gives that kind, any other informational value
//! (a notice) drops the record, its absence means a vulnerability. Withdrawn
//! records are dropped.

use std::cmp::Ordering;
use std::path::Path;

use serde::Deserialize;

use super::db::{Advisory, Matcher};
use super::error::DepsError;
use super::pep440::Pep440Version;
use super::python::normalise_name;
use super::{DepKind, Ecosystem};

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    withdrawn: Option<serde_json::Value>,
    summary: Option<String>,
    details: Option<String>,
    #[serde(default)]
    affected: Vec<RawAffected>,
    #[serde(default)]
    references: Vec<Reference>,
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawAffected {
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Vec<RawRange>,
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
}

/// A version of one of the OSV ecosystems the watchdog reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd)]
pub(crate) enum AnyVersion {
    Semver(semver::Version),
    Pep440(Pep440Version),
}

impl AnyVersion {
    pub(crate) fn parse(ecosystem: Ecosystem, s: &str) -> Option<Self> {
        match ecosystem {
            Ecosystem::Cargo | Ecosystem::Npm => {
                semver::Version::parse(s.trim()).ok().map(Self::Semver)
            }
            Ecosystem::PyPI => Pep440Version::parse(s).ok().map(Self::Pep440),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Event {
    /// `None` is `introduced: "0"`, before every version.
    Introduced(Option<AnyVersion>),
    Fixed(AnyVersion),
    LastAffected(AnyVersion),
    Limit(AnyVersion),
}

/// One `affected` entry, reduced to what evaluation needs.
#[derive(Debug, Clone)]
pub(crate) struct Affected {
    /// Each listed version as written and, for PyPI, parsed.
    versions: Vec<(String, Option<AnyVersion>)>,
    ranges: Vec<Vec<Event>>,
}

fn ecosystem_of(name: &str) -> Option<Ecosystem> {
    match name {
        "crates.io" => Some(Ecosystem::Cargo),
        "npm" => Some(Ecosystem::Npm),
        "PyPI" => Some(Ecosystem::PyPI),
        _ => None,
    }
}

/// Parses one OSV file into one advisory per affected package it names in a
/// supported ecosystem (none if withdrawn, a notice, or about other ecosystems).
pub(crate) fn parse(path: &Path, text: &str) -> Result<Vec<Advisory>, DepsError> {
    let record: Record = serde_json::from_str(text)
        .map_err(|e| DepsError::advisory(path, format!("not an OSV record: {e}")))?;
    if record.withdrawn.as_ref().is_some_and(|w| !w.is_null()) {
        return Ok(Vec::new());
    }
    let informational = record
        .database_specific
        .as_ref()
        .and_then(|d| d.get("informational"))
        .and_then(|i| i.as_str());
    let kind = match informational {
        None => DepKind::Vulnerability,
        Some("unmaintained") => DepKind::Unmaintained,
        Some("unsound") => DepKind::Unsound,
        Some(_) => return Ok(Vec::new()),
    };
    let title = record
        .summary
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            record
                .details
                .and_then(|d| d.lines().next().map(str::to_string))
        })
        .unwrap_or_else(|| record.id.clone());
    let url = record
        .references
        .iter()
        .find(|r| r.kind.as_deref() == Some("ADVISORY"))
        .or_else(|| record.references.first())
        .and_then(|r| r.url.clone());
    let mut out = Vec::new();
    for (i, entry) in record.affected.into_iter().enumerate() {
        let Some(pkg) = entry.package else { continue };
        let Some(ecosystem) = ecosystem_of(&pkg.ecosystem) else {
            continue;
        };
        let mut ranges = Vec::new();
        let mut patched = Vec::new();
        for range in entry.ranges {
            if range.kind != "SEMVER" && range.kind != "ECOSYSTEM" {
                continue;
            }
            let events = parse_events(ecosystem, &range.events).map_err(|m| {
                DepsError::advisory(path, format!("affected[{i}] ({}): {m}", pkg.name))
            })?;
            patched.extend(events.iter().filter_map(|e| match e {
                Event::Fixed(v) => Some(display(v)),
                _ => None,
            }));
            ranges.push(events);
        }
        let package = match ecosystem {
            Ecosystem::PyPI => normalise_name(&pkg.name),
            _ => pkg.name,
        };
        out.push(Advisory {
            id: record.id.clone(),
            ecosystem,
            package,
            kind,
            title: title.clone(),
            patched,
            aliases: record.aliases.clone(),
            url: url.clone(),
            matcher: Matcher::Osv(Affected {
                versions: entry
                    .versions
                    .into_iter()
                    .map(|s| {
                        let parsed = match ecosystem {
                            Ecosystem::PyPI => AnyVersion::parse(ecosystem, &s),
                            _ => None,
                        };
                        (s, parsed)
                    })
                    .collect(),
                ranges,
            }),
        });
    }
    Ok(out)
}

fn display(v: &AnyVersion) -> String {
    match v {
        AnyVersion::Semver(v) => v.to_string(),
        AnyVersion::Pep440(v) => v.to_string(),
    }
}

fn parse_events(
    ecosystem: Ecosystem,
    raw: &[serde_json::Map<String, serde_json::Value>],
) -> Result<Vec<Event>, String> {
    let mut events = Vec::with_capacity(raw.len());
    for obj in raw {
        let (key, value) = obj.iter().next().ok_or("empty range event")?;
        let text = value
            .as_str()
            .ok_or_else(|| format!("event `{key}` is not a string"))?;
        if key == "introduced" && text == "0" {
            events.push(Event::Introduced(None));
            continue;
        }
        let v = AnyVersion::parse(ecosystem, text)
            .ok_or_else(|| format!("event `{key}: {text}` is not a valid {ecosystem} version"))?;
        events.push(match key.as_str() {
            "introduced" => Event::Introduced(Some(v)),
            "fixed" => Event::Fixed(v),
            "last_affected" => Event::LastAffected(v),
            "limit" => Event::Limit(v),
            other => return Err(format!("unknown range event `{other}`")),
        });
    }
    events.sort_by(|a, b| match (event_version(a), event_version(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
    });
    Ok(events)
}

fn event_version(e: &Event) -> Option<&AnyVersion> {
    match e {
        Event::Introduced(v) => v.as_ref(),
        Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => Some(v),
    }
}

impl Affected {
    /// The schema's `IsVulnerable` for one package entry; `text` is the version
    /// as the lock file spells it, `v` that version parsed.
    pub(crate) fn affects(&self, text: &str, v: &AnyVersion) -> bool {
        let listed = self
            .versions
            .iter()
            .any(|(listed, parsed)| listed == text || parsed.as_ref() == Some(v));
        listed || self.ranges.iter().any(|r| in_range(r, v))
    }
}

fn in_range(events: &[Event], v: &AnyVersion) -> bool {
    let limits: Vec<&AnyVersion> = events
        .iter()
        .filter_map(|e| match e {
            Event::Limit(l) => Some(l),
            _ => None,
        })
        .collect();
    if !limits.is_empty() && !limits.iter().any(|l| v < *l) {
        return false;
    }
    let mut vulnerable = false;
    for e in events {
        match e {
            Event::Introduced(None) => vulnerable = true,
            Event::Introduced(Some(i)) if v >= i => vulnerable = true,
            Event::Fixed(f) if v >= f => vulnerable = false,
            Event::LastAffected(l) if v > l => vulnerable = false,
            _ => {}
        }
    }
    vulnerable
}
