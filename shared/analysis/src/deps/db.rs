//! The advisory database: every advisory that can produce a finding, indexed by
//! ecosystem and package name, so an audit costs one hash lookup per package.
//!
//! One directory may hold both formats: the RustSec layout under `crates/`
//! (`rust/`, std advisories, matches no lock file and is not read), and OSV
//! JSON records anywhere below it. Hidden entries (`.git`, `.DS_Store`) are
//! skipped. A file that does not parse fails the load, naming it: an audit that
//! quietly lost an advisory would report a clean bill of health it has not
//! earned. Walking, reading and parsing are split over two threads: the
//! machines this runs on have two cores, and a load is most of an audit's time.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::error::DepsError;
use super::osv::{self, AnyVersion};
use super::rustsec::{self, Unaffected};
use super::{DepKind, Ecosystem};

/// How an advisory decides whether a version is affected.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// RustSec: affected unless inside one of these intervals.
    RustSec(Vec<Unaffected>),
    /// OSV: one `affected` entry.
    Osv(osv::Affected),
}

/// One advisory about one package.
#[derive(Debug, Clone)]
pub(crate) struct Advisory {
    pub id: String,
    pub ecosystem: Ecosystem,
    /// As lock files spell it (PEP 503-normalised for PyPI).
    pub package: String,
    pub kind: DepKind,
    pub title: String,
    pub patched: Vec<String>,
    pub aliases: Vec<String>,
    pub url: Option<String>,
    pub matcher: Matcher,
}

impl Advisory {
    /// Whether the version `text` (parsed as `v`) is affected.
    pub(crate) fn affects(&self, text: &str, v: &AnyVersion) -> bool {
        match (&self.matcher, v) {
            (Matcher::RustSec(ranges), AnyVersion::Semver(v)) => rustsec::is_affected(ranges, v),
            (Matcher::Osv(affected), v) => affected.affects(text, v),
            (Matcher::RustSec(_), AnyVersion::Pep440(_)) => false,
        }
    }
}

/// Advisories loaded from a directory; see the module docs for the layouts.
#[derive(Debug, Default)]
pub struct AdvisoryDb {
    index: HashMap<Ecosystem, HashMap<String, Vec<Advisory>>>,
    count: usize,
}

enum Kind {
    RustSec,
    Osv,
}

impl AdvisoryDb {
    /// Loads the RustSec layout if `dir/crates` exists, plus every `*.json` OSV
    /// record below `dir`. Fails when `dir` holds neither.
    pub fn load(dir: &Path) -> Result<Self, DepsError> {
        let meta = fs::metadata(dir).map_err(|e| DepsError::io(dir, e))?;
        if !meta.is_dir() {
            return Err(DepsError::NoDatabase {
                path: dir.to_path_buf(),
            });
        }
        let crates = dir.join("crates");
        // Expand `crates/` one level so the two threads share its package
        // folders: walking, reading and parsing all happen on both threads.
        let mut units = Vec::new();
        for (path, is_dir) in read_dir(dir)? {
            if is_dir && path == crates {
                units.extend(read_dir(&crates)?);
            } else {
                units.push((path, is_dir));
            }
        }
        let (left, right) = units.split_at(units.len() / 2);
        let (a, b) = std::thread::scope(|s| {
            let other = s.spawn(|| load_units(right, &crates));
            (load_units(left, &crates), other.join())
        });
        let b = b.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let ((files_a, a), (files_b, b)) = (a?, b?);
        if files_a + files_b == 0 && !crates.is_dir() {
            return Err(DepsError::NoDatabase {
                path: dir.to_path_buf(),
            });
        }
        let mut db = Self::default();
        for advisory in a.into_iter().chain(b) {
            db.count += 1;
            db.index
                .entry(advisory.ecosystem)
                .or_default()
                .entry(advisory.package.clone())
                .or_default()
                .push(advisory);
        }
        Ok(db)
    }

    /// How many (advisory, package) entries can produce a finding.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The advisories about `name` in `ecosystem`.
    pub(crate) fn for_package(&self, ecosystem: Ecosystem, name: &str) -> &[Advisory] {
        self.index
            .get(&ecosystem)
            .and_then(|by_name| by_name.get(name))
            .map_or(&[], Vec::as_slice)
    }
}

/// Finds, reads and parses the advisory files in `units` (entries of the
/// database folder); returns how many files there were and their advisories.
fn load_units(
    units: &[(PathBuf, bool)],
    crates: &Path,
) -> Result<(usize, Vec<Advisory>), DepsError> {
    let mut files = Vec::new();
    for (path, is_dir) in units {
        if *is_dir {
            collect(path, crates, &mut files)?;
        } else if let Some(kind) = kind_of(path, crates) {
            files.push((kind, path.clone()));
        }
    }
    let mut out = Vec::with_capacity(files.len());
    for (kind, path) in &files {
        let text = fs::read_to_string(path).map_err(|e| DepsError::io(path, e))?;
        match kind {
            Kind::RustSec => out.extend(rustsec::parse(path, &text)?),
            Kind::Osv => out.extend(osv::parse(path, &text)?),
        }
    }
    Ok((files.len(), out))
}

/// OSV for any `*.json`, RustSec for `crates/<name>/*.md`, else not an advisory.
fn kind_of(path: &Path, crates: &Path) -> Option<Kind> {
    match path.extension()?.to_str()? {
        "json" => Some(Kind::Osv),
        "md" if path.parent().and_then(Path::parent) == Some(crates) => Some(Kind::RustSec),
        _ => None,
    }
}

/// The non-hidden entries of `dir` with whether each is a directory (through
/// symlinks), sorted so loads are reproducible.
fn read_dir(dir: &Path) -> Result<Vec<(PathBuf, bool)>, DepsError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| DepsError::io(dir, e))? {
        let entry = entry.map_err(|e| DepsError::io(dir, e))?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let is_dir = match entry.file_type() {
            Ok(t) if t.is_symlink() => path.is_dir(),
            Ok(t) => t.is_dir(),
            Err(e) => return Err(DepsError::io(&path, e)),
        };
        out.push((path, is_dir));
    }
    out.sort();
    Ok(out)
}

/// Every advisory file below `dir` (see [`kind_of`]).
fn collect(dir: &Path, crates: &Path, files: &mut Vec<(Kind, PathBuf)>) -> Result<(), DepsError> {
    for (path, is_dir) in read_dir(dir)? {
        if is_dir {
            collect(&path, crates, files)?;
        } else if let Some(kind) = kind_of(&path, crates) {
            files.push((kind, path));
        }
    }
    Ok(())
}
