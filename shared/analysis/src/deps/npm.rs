//! `package-lock.json` (and `npm-shrinkwrap.json`) reader for every
//! `lockfileVersion`: 1 nests a `dependencies` tree, 2 carries both that tree
//! and the flat `packages` map, 3 only the map, keyed by install path
//! (`node_modules/a/node_modules/@scope/b`). The map is read when present.
//!
//! Left out, because no npm advisory is about them: the root project (key
//! `""`), workspace folders (keys outside `node_modules/`), symlinks
//! (`link: true`), and packages resolved from git, a file or a directory (a
//! `resolved` that is not an http(s) tarball, or a v1 `version` that is a URL).
//! An alias (`"x": "npm:real@1.2.3"`) is reported under the real package's name.
//! The same name and version installed at several paths is reported once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::error::DepsError;
use super::{Ecosystem, LockedPackage};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Lock {
    lockfile_version: Option<serde_json::Value>,
    packages: Option<BTreeMap<String, Entry>>,
    dependencies: Option<BTreeMap<String, V1Dep>>,
}

#[derive(Deserialize)]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    #[serde(default)]
    link: bool,
}

#[derive(Deserialize)]
struct V1Dep {
    version: String,
    resolved: Option<String>,
    dependencies: Option<BTreeMap<String, V1Dep>>,
}

/// Parses `text` (the contents of `path`).
pub(crate) fn parse(path: &Path, text: &str) -> Result<Vec<LockedPackage>, DepsError> {
    let lock: Lock = serde_json::from_str(text).map_err(|e| {
        // serde_json ends its message with the position, which the error shows.
        let full = e.to_string();
        let at = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&at).unwrap_or(&full);
        DepsError::lockfile(
            path,
            Some(e.line()),
            format!("not a valid package-lock.json: {message}"),
        )
    })?;
    let version = match &lock.lockfile_version {
        Some(v) => v.as_u64().ok_or_else(|| {
            DepsError::lockfile(
                path,
                None,
                format!("`lockfileVersion` is {v}, expected 1, 2 or 3"),
            )
        })?,
        None => {
            return Err(DepsError::lockfile(
                path,
                None,
                "no `lockfileVersion` field; is this a package-lock.json?",
            ));
        }
    };
    if !(1..=3).contains(&version) {
        return Err(DepsError::lockfile(
            path,
            None,
            format!("unsupported `lockfileVersion` {version}; this reader knows 1, 2 and 3"),
        ));
    }
    let mut seen = BTreeSet::new();
    match (lock.packages, lock.dependencies) {
        (Some(packages), _) => {
            for (key, entry) in packages {
                if let Some(pair) = from_entry(path, &key, entry)? {
                    seen.insert(pair);
                }
            }
        }
        (None, Some(deps)) => walk_v1(path, &deps, "dependencies", &mut seen)?,
        (None, None) => {}
    }
    Ok(seen
        .into_iter()
        .map(|(name, version)| LockedPackage {
            name,
            version,
            ecosystem: Ecosystem::Npm,
        })
        .collect())
}

fn from_registry(resolved: Option<&str>) -> bool {
    resolved.is_none_or(|r| r.starts_with("https://") || r.starts_with("http://"))
}

fn from_entry(path: &Path, key: &str, entry: Entry) -> Result<Option<(String, String)>, DepsError> {
    let Some(idx) = key.rfind("node_modules/") else {
        return Ok(None); // the root project or a workspace folder
    };
    if entry.link || !from_registry(entry.resolved.as_deref()) {
        return Ok(None);
    }
    let Some(version) = entry.version else {
        return Err(DepsError::lockfile(
            path,
            None,
            format!("packages[\"{key}\"] has no `version`"),
        ));
    };
    let name = entry
        .name
        .unwrap_or_else(|| key[idx + "node_modules/".len()..].to_string());
    check_version(path, &format!("packages[\"{key}\"].version"), &version)?;
    Ok(Some((name, version)))
}

fn walk_v1(
    path: &Path,
    deps: &BTreeMap<String, V1Dep>,
    at: &str,
    seen: &mut BTreeSet<(String, String)>,
) -> Result<(), DepsError> {
    for (name, dep) in deps {
        let field = format!("{at}[\"{name}\"]");
        if let Some(nested) = &dep.dependencies {
            walk_v1(path, nested, &format!("{field}.dependencies"), seen)?;
        }
        if !from_registry(dep.resolved.as_deref()) {
            continue;
        }
        let (real, version) = match dep.version.strip_prefix("npm:") {
            Some(alias) => match alias.rsplit_once('@') {
                Some((real, v)) if !real.is_empty() => (real.to_string(), v.to_string()),
                _ => {
                    return Err(DepsError::lockfile(
                        path,
                        None,
                        format!(
                            "{field}.version `{}` is not `npm:name@version`",
                            dep.version
                        ),
                    ));
                }
            },
            None => (name.clone(), dep.version.clone()),
        };
        if !version.starts_with(|c: char| c.is_ascii_digit()) {
            continue; // a git URL, `file:` path or tarball URL: not a registry release
        }
        check_version(path, &format!("{field}.version"), &version)?;
        seen.insert((real, version));
    }
    Ok(())
}

fn check_version(path: &Path, field: &str, version: &str) -> Result<(), DepsError> {
    semver::Version::parse(version).map(|_| ()).map_err(|e| {
        DepsError::lockfile(
            path,
            None,
            format!("{field} `{version}` is not semver: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, String)> {
        parse(Path::new("package-lock.json"), text)
            .expect("parses")
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect()
    }

    #[test]
    fn v3_paths_aliases_links() {
        let text = r#"{"lockfileVersion": 3, "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/@s/a": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/@s/a/-/a-1.0.0.tgz"},
            "node_modules/x/node_modules/b": {"version": "2.0.0"},
            "node_modules/alias": {"name": "real", "version": "3.0.0"},
            "node_modules/ws": {"resolved": "packages/ws", "link": true},
            "packages/ws": {"version": "0.0.1"},
            "node_modules/g": {"version": "1.0.0", "resolved": "git+ssh://git@github.com/o/g.git#abc"}
        }}"#;
        assert_eq!(
            names(text),
            vec![
                ("@s/a".into(), "1.0.0".into()),
                ("b".into(), "2.0.0".into()),
                ("real".into(), "3.0.0".into()),
            ]
        );
    }

    #[test]
    fn v1_tree_with_alias_and_git() {
        let text = r#"{"lockfileVersion": 1, "dependencies": {
            "a": {"version": "1.0.0", "dependencies": {"b": {"version": "0.1.0"}}},
            "sw": {"version": "npm:string-width@4.2.3"},
            "g": {"version": "git+https://github.com/o/g.git#abc"}
        }}"#;
        assert_eq!(
            names(text),
            vec![
                ("a".into(), "1.0.0".into()),
                ("b".into(), "0.1.0".into()),
                ("string-width".into(), "4.2.3".into()),
            ]
        );
    }
}
