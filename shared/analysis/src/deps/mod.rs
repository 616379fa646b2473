//! The dependency watchdog: lock files in, known advisories out.
//!
//! A lock file says exactly which release of every dependency a project builds
//! with; an advisory database says which releases are vulnerable, unmaintained
//! or unsound. Checking one against the other is cheap and catches problems
//! nobody would find by reading the code, so the discovery role runs it on
//! every project and turns the findings into tickets.
//!
//! - Lock files ([`parse_lockfile`], chosen by file name): `Cargo.lock` (v1–v4),
//!   `package-lock.json` / `npm-shrinkwrap.json` (lockfileVersion 1–3),
//!   `requirements*.txt` (pins only) and `poetry.lock`. Only packages from the
//!   ecosystem's public registry are returned, as cargo-audit does for Cargo.
//! - Advisories ([`AdvisoryDb::load`]): the RustSec layout
//!   (`crates/<name>/RUSTSEC-*.md`) with cargo-audit's matching semantics, and
//!   OSV JSON records for npm, PyPI and crates.io.
//! - [`audit`] matches them; [`exit_code`] gives the CLI's status; the
//!   [`bench`] module measures agreement and speed against cargo-audit.
//!
//! Each file stays small: `cargo_lock`, `npm`, `python` read lock files,
//! `rustsec` and `osv` read advisories, `pep440` orders Python versions, `db`
//! indexes advisories, `error` words the failures, `boundary` writes the
//! synthetic lock file the benchmark stresses matching with.

pub mod bench;
mod boundary;
mod cargo_lock;
mod db;
mod error;
mod npm;
mod osv;
mod pep440;
mod python;
mod rustsec;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use db::AdvisoryDb;
pub use error::DepsError;
pub use pep440::{InvalidVersion, Pep440Version};
pub use python::normalise_name;

/// What an advisory says about a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    /// A security vulnerability: fails the audit.
    Vulnerability,
    /// The crate or package is no longer maintained: a warning.
    Unmaintained,
    /// The API allows undefined behaviour from safe code: a warning.
    Unsound,
}

impl DepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vulnerability => "vulnerability",
            Self::Unmaintained => "unmaintained",
            Self::Unsound => "unsound",
        }
    }
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One advisory that applies to one locked package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepFinding {
    /// The advisory id (`RUSTSEC-2021-0001`, `GHSA-…`, `PYSEC-…`).
    pub id: String,
    pub package: String,
    pub version: String,
    pub kind: DepKind,
    pub title: String,
    /// Requirements (RustSec) or first fixed versions (OSV) that are not affected.
    pub patched: Vec<String>,
    pub aliases: Vec<String>,
    pub url: Option<String>,
}

/// The package ecosystem a lock file or an advisory belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ecosystem {
    /// crates.io.
    Cargo,
    /// The npm registry.
    Npm,
    /// PyPI.
    PyPI,
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cargo => "crates.io",
            Self::Npm => "npm",
            Self::PyPI => "PyPI",
        })
    }
}

/// A package at the exact version a lock file pins. [`parse_lockfile`] gives
/// PyPI names PEP 503-normalised; [`audit`] normalises them anyway.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    pub ecosystem: Ecosystem,
}

/// The lock file formats, told apart by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Cargo,
    Npm,
    Requirements,
    Poetry,
}

fn format_of(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_str()?;
    match name {
        "Cargo.lock" => Some(Format::Cargo),
        "package-lock.json" | "npm-shrinkwrap.json" => Some(Format::Npm),
        "poetry.lock" => Some(Format::Poetry),
        _ if name.starts_with("requirements") && name.ends_with(".txt") => {
            Some(Format::Requirements)
        }
        _ => None,
    }
}

/// Reads a lock file, choosing the format by its file name. Errors name the
/// file and, where known, the line or field at fault.
pub fn parse_lockfile(path: &Path) -> Result<Vec<LockedPackage>, DepsError> {
    let format = format_of(path).ok_or_else(|| DepsError::UnknownLockfile {
        path: path.to_path_buf(),
    })?;
    let text = std::fs::read_to_string(path).map_err(|e| DepsError::io(path, e))?;
    match format {
        Format::Cargo => cargo_lock::parse(path, &text),
        Format::Npm => npm::parse(path, &text),
        Format::Requirements => python::parse_requirements(path, &text),
        Format::Poetry => python::parse_poetry(path, &text),
    }
}

/// Every advisory that applies to one of `packages`, once per (package,
/// version, advisory), sorted by package, version, then id (as strings, so the
/// order is the same on every machine). A package whose
/// version does not parse for its ecosystem matches nothing.
pub fn audit(packages: &[LockedPackage], db: &AdvisoryDb) -> Vec<DepFinding> {
    let mut findings = Vec::new();
    for p in packages {
        let advisories = match p.ecosystem {
            Ecosystem::PyPI => db.for_package(p.ecosystem, &normalise_name(&p.name)),
            _ => db.for_package(p.ecosystem, &p.name),
        };
        if advisories.is_empty() {
            continue;
        }
        let Some(version) = osv::AnyVersion::parse(p.ecosystem, &p.version) else {
            continue;
        };
        for a in advisories
            .iter()
            .filter(|a| a.affects(&p.version, &version))
        {
            findings.push(DepFinding {
                id: a.id.clone(),
                package: p.name.clone(),
                version: p.version.clone(),
                kind: a.kind,
                title: a.title.clone(),
                patched: a.patched.clone(),
                aliases: a.aliases.clone(),
                url: a.url.clone(),
            });
        }
    }
    findings.sort_by(|a, b| {
        (&a.package, &a.version, &a.id, a.kind).cmp(&(&b.package, &b.version, &b.id, b.kind))
    });
    findings.dedup_by(|a, b| a.package == b.package && a.version == b.version && a.id == b.id);
    findings
}

/// The CLI's exit status for an audit that ran: 1 when any finding is a
/// vulnerability, 0 otherwise (warnings alone do not fail). Errors are 2.
pub fn exit_code(findings: &[DepFinding]) -> u8 {
    u8::from(findings.iter().any(|f| f.kind == DepKind::Vulnerability))
}

/// The exit status for an audit that could not run.
pub const EXIT_ERROR: u8 = 2;
