//! A synthetic `Cargo.lock` for the cargo-audit comparison that puts, for every
//! crate of a RustSec database, a release on each side of every bound its
//! advisories name: the bound itself, its neighbours, pre-releases of it and
//! after it, and build-metadata variants, where matching semantics differ
//! most. Real lock files rarely hold such versions; this one holds ~10,000.
//! Versions need not exist on crates.io: neither tool asks.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use semver::{Version, VersionReq};
use serde::Deserialize;

use super::cargo_lock::CRATES_IO_GIT;
use super::error::DepsError;
use super::rustsec::{Versions, split};

#[derive(Deserialize)]
struct FrontMatter {
    #[serde(default)]
    versions: Versions,
}

/// The lock file text for the database at `db_dir` (RustSec layout).
pub fn boundary_lockfile(db_dir: &Path) -> Result<String, DepsError> {
    let crates = db_dir.join("crates");
    let mut by_crate: BTreeMap<String, BTreeSet<Version>> = BTreeMap::new();
    let mut dirs: Vec<_> = fs::read_dir(&crates)
        .map_err(|e| DepsError::io(&crates, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let Some(name) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        let versions = by_crate.entry(name).or_default();
        for v in ["0.0.0", "0.1.0", "1.0.0", "99.0.0"] {
            versions.extend(Version::parse(v).ok());
        }
        for entry in fs::read_dir(&dir).map_err(|e| DepsError::io(&dir, e))? {
            let path = entry.map_err(|e| DepsError::io(&dir, e))?.path();
            if path.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let text = fs::read_to_string(&path).map_err(|e| DepsError::io(&path, e))?;
            let (front, _) = split(&text).map_err(|m| DepsError::advisory(&path, m))?;
            let fm: FrontMatter = toml::from_str(front)
                .map_err(|e| DepsError::advisory(&path, e.message().trim().to_string()))?;
            for req in fm.versions.patched.iter().chain(&fm.versions.unaffected) {
                let Ok(req) = VersionReq::parse(req) else {
                    continue;
                };
                for c in &req.comparators {
                    let pre = c.pre.as_str();
                    let (major, minor, patch) =
                        (c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
                    let mut around = vec![
                        format!("{major}.{minor}.{patch}"),
                        format!("{major}.{minor}.{}", patch + 1),
                        format!("{major}.{minor}.{patch}-alpha.1"),
                        format!("{major}.{minor}.{patch}+build.1"),
                        format!("{major}.{}.0", minor + 1),
                        format!("{}.0.0-rc.1", major + 1),
                    ];
                    if patch > 0 {
                        around.push(format!("{major}.{minor}.{}", patch - 1));
                    }
                    if !pre.is_empty() {
                        around.push(format!("{major}.{minor}.{patch}-{pre}"));
                        around.push(format!("{major}.{minor}.{patch}-{pre}.1"));
                        around.push(format!("{major}.{minor}.{patch}-{pre}+b"));
                    }
                    versions.extend(around.iter().filter_map(|v| Version::parse(v).ok()));
                }
            }
        }
    }
    let mut out =
        String::from("# Synthetic: releases around every bound of every advisory.\nversion = 3\n");
    for (name, versions) in &by_crate {
        for v in versions {
            out.push_str(&format!(
                "\n[[package]]\nname = \"{name}\"\nversion = \"{v}\"\nsource = \"{CRATES_IO_GIT}\"\n"
            ));
        }
    }
    Ok(out)
}
