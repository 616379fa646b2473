//! RustSec advisory files: `crates/<name>/RUSTSEC-YYYY-NNNN.md`, a ```toml fenced
//! front matter (`[advisory]`, `[versions]`, `[affected]`) and a Markdown body
//! whose first `# ` heading is the title.
//!
//! Version matching copies rustsec (the library under cargo-audit) rather than
//! `semver::VersionReq::matches`, because the two differ on pre-releases: rustsec
//! turns every `patched` and `unaffected` requirement into an interval over the
//! total semver order, so `>= 1.2.0` covers `1.3.0-beta` and `< 1.2.0` covers
//! `1.2.0-rc.1`, where `VersionReq::matches` would refuse both. A version is
//! affected when it falls in no interval. Exclusive bounds go through rustsec's
//! `increment` (`1.2.3` → `1.2.4-0`, `1.0.0-rc.1` → `1.0.0-rc.1.0`), so even
//! versions carrying build metadata land where rustsec puts them.
//!
//! rustsec rejects the whole database when one requirement uses an operator it
//! cannot turn into an interval (`1.*` wildcards, more than two comparators, two lower
//! bounds); so do we, naming the file. Withdrawn advisories and informational
//! kinds other than unmaintained and unsound are dropped at load time: cargo-audit
//! never reports the former, and the watchdog does not report notices.
//! `[affected]` (functions, os, arch) does not narrow anything: cargo-audit only
//! uses os and arch when a target is configured, and never the functions.

use std::path::Path;

use semver::{Comparator, Op, Prerelease, Version, VersionReq};
use serde::Deserialize;

use super::cargo_lock::{CRATES_IO_GIT, CRATES_IO_SPARSE};
use super::db::{Advisory, Matcher};
use super::error::DepsError;
use super::{DepKind, Ecosystem};

/// The id rustsec gives its template advisory; loaded by nobody.
const PLACEHOLDER_ID: &str = "RUSTSEC-0000-0000";

#[derive(Deserialize)]
struct FrontMatter {
    advisory: Meta,
    #[serde(default)]
    versions: Versions,
}

#[derive(Deserialize)]
struct Meta {
    id: String,
    package: String,
    #[serde(default)]
    aliases: Vec<String>,
    url: Option<String>,
    informational: Option<String>,
    withdrawn: Option<toml::Value>,
    source: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct Versions {
    #[serde(default)]
    pub(super) patched: Vec<String>,
    #[serde(default)]
    pub(super) unaffected: Vec<String>,
}

/// A half-open interval `[lo, hi)` of versions no advisory affects; `None` is
/// unbounded on that side.
#[derive(Debug, Clone)]
pub(crate) struct Unaffected {
    lo: Option<Version>,
    hi: Option<Version>,
}

impl Unaffected {
    fn contains(&self, v: &Version) -> bool {
        self.lo.as_ref().is_none_or(|lo| v >= lo) && self.hi.as_ref().is_none_or(|hi| v < hi)
    }
}

/// Whether `version` is affected: in none of the unaffected intervals.
pub(crate) fn is_affected(unaffected: &[Unaffected], version: &Version) -> bool {
    !unaffected.iter().any(|r| r.contains(version))
}

/// Parses one advisory file. `Ok(None)` for advisories that report nothing:
/// withdrawn, placeholder, informational notices, or for another registry.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Option<Advisory>, DepsError> {
    let (front, title) = split(text).map_err(|m| DepsError::advisory(path, m))?;
    let fm: FrontMatter = toml::from_str(front)
        .map_err(|e| DepsError::advisory(path, format!("front matter: {}", e.message().trim())))?;
    let meta = fm.advisory;
    if meta.withdrawn.is_some() || meta.id == PLACEHOLDER_ID {
        return Ok(None);
    }
    if let Some(src) = &meta.source
        && src != CRATES_IO_GIT
        && src != CRATES_IO_SPARSE
    {
        return Ok(None);
    }
    let kind = match meta.informational.as_deref() {
        None => DepKind::Vulnerability,
        Some("unmaintained") => DepKind::Unmaintained,
        Some("unsound") => DepKind::Unsound,
        Some(_) => return Ok(None),
    };
    let mut unaffected = Vec::new();
    for req in fm.versions.unaffected.iter().chain(&fm.versions.patched) {
        unaffected.push(interval(req).map_err(|m| {
            DepsError::advisory(path, format!("[versions] requirement `{req}`: {m}"))
        })?);
    }
    let url = meta
        .url
        .or_else(|| Some(format!("https://rustsec.org/advisories/{}", meta.id)));
    Ok(Some(Advisory {
        id: meta.id,
        ecosystem: Ecosystem::Cargo,
        package: meta.package,
        kind,
        title: title.to_string(),
        patched: fm.versions.patched,
        aliases: meta.aliases,
        url,
        matcher: Matcher::RustSec(unaffected),
    }))
}

/// Splits an advisory into its TOML front matter and its title, as rustsec's
/// `Parts::parse` does.
pub(crate) fn split(text: &str) -> Result<(&str, &str), String> {
    let Some(rest) = text.strip_prefix("```toml") else {
        return Err("expected the file to start with a ```toml fenced front matter".into());
    };
    let end = rest
        .find("\n```")
        .ok_or("the ```toml front matter is never closed")?;
    let front = &rest[..end];
    let markdown = rest[end + 4..].trim_start();
    let heading = markdown
        .strip_prefix("# ")
        .ok_or("expected a `# ` title heading after the front matter")?;
    let title = heading.split('\n').next().unwrap_or_default().trim_end();
    Ok((front, title))
}

/// The interval of versions one `patched`/`unaffected` requirement covers,
/// mirroring rustsec's `UnaffectedRange::try_from(&VersionReq)`.
pub(crate) fn interval(req: &str) -> Result<Unaffected, String> {
    let parsed = VersionReq::parse(req).map_err(|e| format!("not a semver requirement: {e}"))?;
    let comparators = &parsed.comparators;
    if comparators.len() > 2 {
        return Err("more than two comparators".into());
    }
    let alone = comparators.len() == 1;
    let (mut lo, mut hi) = (None, None);
    let set = |slot: &mut Option<Version>, v: Version, which: &str| {
        if slot.replace(v).is_some() {
            Err(format!("more than one {which} bound"))
        } else {
            Ok(())
        }
    };
    for c in comparators {
        let v = comparator_version(c);
        match c.op {
            Op::Greater => set(&mut lo, increment(&v)?, "lower")?,
            Op::GreaterEq => set(&mut lo, v, "lower")?,
            Op::Less => set(&mut hi, v, "upper")?,
            Op::LessEq => set(&mut hi, increment(&v)?, "upper")?,
            Op::Exact | Op::Caret | Op::Tilde if !alone => {
                return Err("`=`, `^` and `~` must be alone in their requirement".into());
            }
            Op::Exact => {
                hi = Some(increment(&v)?);
                lo = Some(v);
            }
            Op::Caret => {
                hi = Some(caret_end(c, &v));
                lo = Some(v);
            }
            Op::Tilde => {
                let mut end = match c.minor {
                    None => Version::new(c.major + 1, 0, 0),
                    Some(minor) => Version::new(c.major, minor + 1, 0),
                };
                end.pre = lowest_pre();
                hi = Some(end);
                lo = Some(v);
            }
            _ => return Err(format!("unsupported operator in `{c}`")),
        }
    }
    Ok(Unaffected { lo, hi })
}

fn caret_end(c: &Comparator, v: &Version) -> Version {
    let mut end = if v.major == 0 {
        match (c.minor, c.patch) {
            (Some(0), Some(patch)) => Version::new(0, 0, patch + 1),
            (Some(minor), _) => Version::new(0, minor + 1, 0),
            (None, _) => Version::new(1, 0, 0),
        }
    } else {
        Version::new(v.major + 1, 0, 0)
    };
    end.pre = lowest_pre();
    end
}

fn comparator_version(c: &Comparator) -> Version {
    Version {
        major: c.major,
        minor: c.minor.unwrap_or(0),
        patch: c.patch.unwrap_or(0),
        pre: c.pre.clone(),
        build: semver::BuildMetadata::EMPTY,
    }
}

/// `-0`, the lowest pre-release of a version.
fn lowest_pre() -> Prerelease {
    Prerelease::new("0").unwrap_or(Prerelease::EMPTY)
}

/// The smallest version rustsec considers above `v` (see its `increment`).
fn increment(v: &Version) -> Result<Version, String> {
    let mut next = v.clone();
    next.build = semver::BuildMetadata::EMPTY;
    if v.pre.is_empty() {
        next.patch += 1;
        next.pre = lowest_pre();
    } else {
        next.pre = Prerelease::new(&format!("{}.0", v.pre)).map_err(|e| e.to_string())?;
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn affected(reqs: &[&str], v: &str) -> bool {
        let ranges: Vec<_> = reqs
            .iter()
            .map(|r| interval(r).expect("valid req"))
            .collect();
        is_affected(&ranges, &Version::parse(v).expect("valid version"))
    }

    #[test]
    fn patched_and_unaffected_intervals() {
        assert!(affected(&[">= 0.9.1"], "0.9.0"));
        assert!(!affected(&[">= 0.9.1"], "0.9.1"));
        assert!(!affected(&[">= 0.9.1", "< 0.2.0"], "0.1.5"));
        assert!(affected(&["^0.9.2", ">= 0.10.0-alpha.2"], "0.9.1"));
        assert!(!affected(&["^0.9.2", ">= 0.10.0-alpha.2"], "0.9.7"));
        assert!(affected(&["^0.9.2", ">= 0.10.0-alpha.2"], "0.10.0-alpha.1"));
        assert!(affected(&["~1.2.3"], "1.3.0"));
        assert!(!affected(&["= 1.2.3"], "1.2.3"));
        assert!(affected(&["> 1.2.3"], "1.2.3"));
        assert!(!affected(&["<= 1.2.3"], "1.2.3"));
        assert!(affected(&[], "1.0.0"));
    }

    #[test]
    fn prereleases_follow_rustsec_not_version_req() {
        // VersionReq::matches(">= 1.2.0", 1.3.0-beta) is false; rustsec says patched.
        assert!(!affected(&[">= 1.2.0"], "1.3.0-beta"));
        // ... and a pre-release of the patched version itself is still affected.
        assert!(affected(&[">= 1.2.0"], "1.2.0-rc.1"));
        // `^1.2` stops before any 2.0.0 pre-release.
        assert!(affected(&["^1.2"], "2.0.0-alpha"));
    }

    #[test]
    fn rejects_what_rustsec_rejects() {
        assert!(interval("1.*").is_err());
        // A bare `*` has no comparator: rustsec reads it as "every version".
        assert!(!affected(&["*"], "0.1.0"));
        assert!(interval(">= 1, >= 2").is_err());
        assert!(interval("^1, < 3").is_err());
    }

    #[test]
    fn splits_front_matter_and_title() {
        let text = "```toml\n[advisory]\nid = \"X\"\n```\n\n# A title \n\nbody\n";
        assert_eq!(split(text), Ok(("\n[advisory]\nid = \"X\"", "A title")));
        assert!(split("# no front matter").is_err());
    }
}
