//! Registry dependencies a change adds to a manifest: the names a model is
//! most likely to invent, and the ones the registry gate looks up.
//!
//! Only dependencies fetched from the public registry count. Path, git and
//! URL dependencies, workspace-inherited ones and ones from another registry
//! are skipped: looking them up on crates.io, PyPI or npm would prove nothing.
//!
//! # Layout
//! - `cargo.rs`: `Cargo.toml`.
//! - `npm.rs`: `package.json`.
//! - `python.rs`: `requirements*.txt`, `pyproject.toml` and PEP 508 strings.

mod cargo;
mod npm;
mod python;

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

pub use python::normalise_pypi_name;

/// A package registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ecosystem {
    #[serde(rename = "crates")]
    Crates,
    #[serde(rename = "pypi")]
    PyPI,
    #[serde(rename = "npm")]
    Npm,
}

impl Ecosystem {
    /// The registry's name as people write it, for messages.
    pub fn registry_name(self) -> &'static str {
        match self {
            Ecosystem::Crates => "crates.io",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Npm => "npm",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ecosystem::Crates => "crates",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Npm => "npm",
        })
    }
}

/// A dependency on a registry package. PyPI names are PEP 503 normalised;
/// crate and npm names are kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Dependency {
    pub ecosystem: Ecosystem,
    pub name: String,
    /// The manifest's path in the repository.
    pub manifest: String,
}

/// A manifest that could not be read; names the file and what did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("{file}: {what}")]
    Invalid { file: String, what: String },
    #[error("{file}: not a manifest this gate reads")]
    Unsupported { file: String },
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Cargo,
    PackageJson,
    Requirements,
    Pyproject,
}

fn kind(path: &str) -> Option<Kind> {
    let (dir, name) = match path.rsplit_once('/') {
        Some((dir, name)) => (dir, name),
        None => ("", path),
    };
    let parent = dir.rsplit('/').next().unwrap_or_default();
    match name {
        "Cargo.toml" => Some(Kind::Cargo),
        "package.json" => Some(Kind::PackageJson),
        "pyproject.toml" => Some(Kind::Pyproject),
        // requirements.txt, requirements-dev.txt, and requirements/base.txt.
        _ if name.ends_with(".txt")
            && (name.starts_with("requirements") || parent == "requirements") =>
        {
            Some(Kind::Requirements)
        }
        _ => None,
    }
}

/// Whether [`new_dependencies`] reads this file.
pub fn is_manifest(path: &str) -> bool {
    kind(path).is_some()
}

/// Registry dependencies in `after` that are not in `before`, sorted and
/// deduplicated. A missing `after` (deleted file) adds nothing; a missing
/// `before` (new file) makes every dependency new. An unparseable `after` is
/// an error. An unparseable `before` counts as empty, so every dependency is
/// checked rather than none.
pub fn new_dependencies(
    path: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<Vec<Dependency>, ManifestError> {
    let kind = kind(path).ok_or_else(|| ManifestError::Unsupported {
        file: path.to_string(),
    })?;
    let Some(after) = after else {
        return Ok(vec![]);
    };
    let added = names(kind, after).map_err(|what| ManifestError::Invalid {
        file: path.to_string(),
        what,
    })?;
    let existing = match before.map(|b| names(kind, b)) {
        None => BTreeSet::new(),
        Some(Ok(names)) => names,
        Some(Err(what)) => {
            tracing::debug!(file = path, %what, "previous manifest did not parse; checking every dependency");
            BTreeSet::new()
        }
    };
    let ecosystem = match kind {
        Kind::Cargo => Ecosystem::Crates,
        Kind::PackageJson => Ecosystem::Npm,
        Kind::Requirements | Kind::Pyproject => Ecosystem::PyPI,
    };
    Ok(added
        .difference(&existing)
        .map(|name| Dependency {
            ecosystem,
            name: name.clone(),
            manifest: path.to_string(),
        })
        .collect())
}

fn names(kind: Kind, text: &str) -> Result<BTreeSet<String>, String> {
    match kind {
        Kind::Cargo => cargo::registry_names(text),
        Kind::PackageJson => npm::registry_names(text),
        Kind::Requirements => python::requirements_names(text),
        Kind::Pyproject => python::pyproject_names(text),
    }
}

/// A TOML document, or where and why it did not parse (one line, no snippet
/// of the file).
fn parse_toml(text: &str) -> Result<toml::Table, String> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .and_then(|s| text.get(..s.start))
            .map(|before| before.matches('\n').count() + 1);
        let message = e.message().trim().to_string();
        match line {
            Some(line) => format!("invalid TOML at line {line}: {message}"),
            None => format!("invalid TOML: {message}"),
        }
    })
}

#[cfg(test)]
mod tests;
