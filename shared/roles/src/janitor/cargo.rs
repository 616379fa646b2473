//! Cargo: the direct dependencies of the root manifest, their locked
//! versions, the versions crates.io offers (with publish dates, for the
//! release age), and one update at a time with `cargo update --precise`,
//! editing the requirement when the new version is outside it.

use super::{Candidate, Published};
use semver::{Version, VersionReq};
use std::collections::BTreeMap;
use std::path::Path;

/// A registry dependency of the manifest: its name in the registry and the
/// requirement as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Direct {
    pub name: String,
    pub req: String,
}

/// The registry dependencies of `manifest` (path, git and workspace-inherited
/// ones left out), first table first.
pub fn direct_dependencies(manifest: &str) -> Result<Vec<Direct>, String> {
    let doc: toml::Table = manifest.parse().map_err(|e| format!("Cargo.toml: {e}"))?;
    let mut out: Vec<Direct> = Vec::new();
    for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(deps) = doc.get(table).and_then(|t| t.as_table()) else {
            continue;
        };
        for (key, spec) in deps {
            let (name, req) = match spec {
                toml::Value::String(v) => (key.clone(), v.clone()),
                toml::Value::Table(t) => {
                    if ["path", "git", "workspace", "registry"]
                        .iter()
                        .any(|k| t.contains_key(*k))
                    {
                        continue;
                    }
                    let Some(v) = t.get("version").and_then(|v| v.as_str()) else {
                        continue;
                    };
                    let name = t.get("package").and_then(|p| p.as_str()).unwrap_or(key);
                    (name.to_string(), v.to_string())
                }
                _ => continue,
            };
            if !out.iter().any(|d| d.name == name) {
                out.push(Direct { name, req });
            }
        }
    }
    Ok(out)
}

/// The locked version of each package (the highest one that meets `req`
/// when several are locked).
pub fn locked_versions(lock: &str) -> Result<BTreeMap<String, Vec<Version>>, String> {
    let doc: toml::Table = lock.parse().map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut out: BTreeMap<String, Vec<Version>> = BTreeMap::new();
    for p in doc
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let (Some(name), Some(v)) = (
            p.get("name").and_then(|n| n.as_str()),
            p.get("version").and_then(|v| v.as_str()),
        ) else {
            continue;
        };
        if let Ok(v) = Version::parse(v) {
            out.entry(name.to_string()).or_default().push(v);
        }
    }
    Ok(out)
}

/// crates.io's `GET /api/v1/crates/{name}/versions`.
#[derive(serde::Deserialize)]
struct VersionsPage {
    versions: Vec<VersionInfo>,
}

#[derive(serde::Deserialize)]
struct VersionInfo {
    num: String,
    #[serde(default)]
    yanked: bool,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// Every release of `name` that is not yanked, with its publish time.
pub async fn releases(
    client: &reqwest::Client,
    api: &str,
    name: &str,
) -> Result<Vec<Published>, String> {
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("`{name}` is not a crate name"));
    }
    let url = format!(
        "{}/api/v1/crates/{name}/versions",
        api.trim_end_matches('/')
    );
    let r = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("crates.io: {}", e.without_url()))?;
    if !r.status().is_success() {
        return Err(format!(
            "crates.io answered HTTP {} for {name}",
            r.status().as_u16()
        ));
    }
    let page: VersionsPage = r
        .json()
        .await
        .map_err(|e| format!("crates.io: {}", e.without_url()))?;
    Ok(page
        .versions
        .into_iter()
        .filter(|v| !v.yanked)
        .filter_map(|v| {
            Some(Published {
                version: Version::parse(&v.num).ok()?,
                at: v.created_at,
            })
        })
        .collect())
}

/// The update candidates of a Cargo checkout (before the release age and
/// ignore list are applied).
pub async fn outdated(
    client: &reqwest::Client,
    api: &str,
    checkout: &Path,
) -> Result<Vec<Candidate>, String> {
    let manifest = std::fs::read_to_string(checkout.join("Cargo.toml"))
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    let lock = std::fs::read_to_string(checkout.join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
    let locked = locked_versions(&lock)?;
    let mut out = Vec::new();
    for d in direct_dependencies(&manifest)? {
        let req = VersionReq::parse(&d.req).ok();
        let Some(current) = locked.get(&d.name).and_then(|vs| {
            vs.iter()
                .filter(|v| req.as_ref().is_none_or(|r| r.matches(v)))
                .max()
                .cloned()
        }) else {
            continue;
        };
        let releases = match releases(client, api, &d.name).await {
            Ok(r) => r,
            Err(e) => {
                out.push(Candidate::unverified(
                    "cargo",
                    &d.name,
                    &current.to_string(),
                    e,
                ));
                continue;
            }
        };
        let newer: Vec<Published> = releases
            .into_iter()
            .filter(|p| p.version.pre.is_empty() && p.version > current)
            .collect();
        if newer.is_empty() {
            continue;
        }
        let compatible = newer
            .iter()
            .filter(|p| req.as_ref().is_some_and(|r| r.matches(&p.version)))
            .map(|p| p.version.clone())
            .max();
        out.push(Candidate {
            ecosystem: "cargo",
            package: d.name.clone(),
            current: current.to_string(),
            compatible: compatible.map(|v| v.to_string()),
            releases: newer,
            requirement: Some(d.req.clone()),
            error: None,
        });
    }
    Ok(out)
}

/// Rewrites the version requirement of `name` in the manifest to `to`
/// (keeping the rest of the file as it is), if `to` is outside it.
pub fn set_requirement(manifest: &str, name: &str, old_req: &str, to: &Version) -> Option<String> {
    if VersionReq::parse(old_req).is_ok_and(|r| r.matches(to)) {
        return None;
    }
    let new_req = to.to_string();
    let mut out = String::with_capacity(manifest.len());
    let mut in_deps = false;
    let mut done = false;
    for line in manifest.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with('[') {
            in_deps = t.contains("dependencies");
        }
        let key = t.split(['=', ' ']).next().unwrap_or("");
        if in_deps && !done && (key == name || line.contains(&format!("package = \"{name}\""))) {
            let quoted = format!("\"{old_req}\"");
            if let Some(at) = line.find(&quoted) {
                out.push_str(&line[..at]);
                out.push_str(&format!("\"{new_req}\""));
                out.push_str(&line[at + quoted.len()..]);
                done = true;
                continue;
            }
        }
        out.push_str(line);
    }
    done.then_some(out)
}

/// Updates `c` to `to`: the requirement rewritten when `to` is outside it,
/// then `cargo update --precise`.
pub async fn apply(checkout: &Path, c: &Candidate, to: &Version) -> Result<(), String> {
    let path = checkout.join("Cargo.toml");
    if let Some(req) = &c.requirement {
        let manifest = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        if let Some(edited) = set_requirement(&manifest, &c.package, req, to) {
            std::fs::write(&path, edited).map_err(|e| e.to_string())?;
        }
    }
    let (spec, to) = (format!("{}@{}", c.package, c.current), to.to_string());
    super::tool(
        checkout,
        "cargo",
        &["update", "--quiet", "--package", &spec, "--precise", &to],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"[package]
name = "app"
version = "0.1.0"

[dependencies]
alpha = "1.0"
beta = { version = "1.0", features = ["x"] }
renamed = { package = "gamma", version = "1.0" }
local = { path = "../local" }
shared = { workspace = true }

[dev-dependencies]
delta = "0.3"
"#;

    #[test]
    fn reads_registry_dependencies_only() {
        let d = direct_dependencies(MANIFEST).unwrap();
        let names: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.name.as_str(), d.req.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("alpha", "1.0"),
                ("beta", "1.0"),
                ("gamma", "1.0"),
                ("delta", "0.3")
            ]
        );
    }

    #[test]
    fn rewrites_only_a_requirement_the_new_version_is_outside_of() {
        let v2 = Version::parse("2.0.0").unwrap();
        assert_eq!(
            set_requirement(MANIFEST, "alpha", "1.0", &Version::parse("1.4.0").unwrap()),
            None
        );
        let m = set_requirement(MANIFEST, "alpha", "1.0", &v2).unwrap();
        assert!(
            m.contains("alpha = \"2.0.0\"\n") && m.contains("beta = { version = \"1.0\""),
            "{m}"
        );
        let m = set_requirement(MANIFEST, "beta", "1.0", &v2).unwrap();
        assert!(
            m.contains("beta = { version = \"2.0.0\", features = [\"x\"] }"),
            "{m}"
        );
        let m = set_requirement(MANIFEST, "gamma", "1.0", &v2).unwrap();
        assert!(
            m.contains("renamed = { package = \"gamma\", version = \"2.0.0\" }"),
            "{m}"
        );
        assert!(m.contains("alpha = \"1.0\""), "{m}");
    }
}
