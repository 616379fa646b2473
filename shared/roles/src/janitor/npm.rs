//! npm: `npm outdated --json` says what is behind, the registry's packument
//! says when each version was published, and `npm install <pkg>@<version>`
//! (scripts off) updates package.json and package-lock.json.

use super::{Candidate, Published};
use semver::Version;
use std::path::Path;

#[derive(serde::Deserialize)]
struct Outdated {
    current: Option<String>,
    wanted: Option<String>,
}

/// Reads `npm outdated --json`: `{name: {current, wanted, latest, ...}}`.
/// Packages that are not installed (no `current`) are left out.
pub fn parse_outdated(json: &str) -> Result<Vec<(String, String, Option<String>)>, String> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let map: std::collections::BTreeMap<String, Outdated> =
        serde_json::from_str(json).map_err(|e| format!("npm outdated --json: {e}"))?;
    Ok(map
        .into_iter()
        .filter_map(|(name, o)| Some((name, o.current?, o.wanted)))
        .collect())
}

#[derive(serde::Deserialize)]
struct Packument {
    #[serde(default)]
    time: std::collections::BTreeMap<String, String>,
}

/// Every release of `name` with its publish time.
pub async fn releases(
    client: &reqwest::Client,
    registry: &str,
    name: &str,
) -> Result<Vec<Published>, String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@/-_.".contains(c))
    {
        return Err(format!("`{name}` is not an npm package name"));
    }
    let url = format!(
        "{}/{}",
        registry.trim_end_matches('/'),
        name.replace('/', "%2f")
    );
    let r = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("npm: {}", e.without_url()))?;
    if !r.status().is_success() {
        return Err(format!(
            "npm answered HTTP {} for {name}",
            r.status().as_u16()
        ));
    }
    let p: Packument = r
        .json()
        .await
        .map_err(|e| format!("npm: {}", e.without_url()))?;
    Ok(p.time
        .into_iter()
        .filter_map(|(v, at)| {
            Some(Published {
                version: Version::parse(&v).ok()?,
                at: chrono::DateTime::parse_from_rfc3339(&at).ok()?.into(),
            })
        })
        .collect())
}

/// The update candidates of an npm checkout.
pub async fn outdated(
    client: &reqwest::Client,
    registry: &str,
    checkout: &Path,
) -> Result<Vec<Candidate>, String> {
    let out = tokio::process::Command::new("npm")
        .args(["outdated", "--json", "--registry", registry])
        .current_dir(checkout)
        .output()
        .await
        .map_err(|e| format!("cannot run npm (install Node.js and npm): {e}"))?;
    // npm outdated exits 1 when something is outdated.
    let listed = parse_outdated(&String::from_utf8_lossy(&out.stdout))?;
    let mut cands = Vec::new();
    for (name, current, wanted) in listed {
        let Ok(cur) = Version::parse(&current) else {
            continue;
        };
        match releases(client, registry, &name).await {
            Ok(rel) => {
                let newer: Vec<Published> = rel
                    .into_iter()
                    .filter(|p| p.version.pre.is_empty() && p.version > cur)
                    .collect();
                if !newer.is_empty() {
                    cands.push(Candidate {
                        ecosystem: "npm",
                        package: name,
                        current,
                        compatible: wanted,
                        releases: newer,
                        requirement: None,
                        error: None,
                    });
                }
            }
            Err(e) => cands.push(Candidate::unverified("npm", &name, &current, e)),
        }
    }
    Ok(cands)
}

/// Updates `c` to `to` with `npm install` (scripts off).
pub async fn apply(
    checkout: &Path,
    registry: &str,
    c: &Candidate,
    to: &Version,
) -> Result<(), String> {
    let spec = format!("{}@{to}", c.package);
    let args = [
        "install",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--registry",
        registry,
        &spec,
    ];
    super::tool(checkout, "npm", &args).await
}

/// `npm ci` (scripts off): node_modules exactly as the lock file says.
pub async fn install_locked(checkout: &Path, registry: &str) -> Result<(), String> {
    let args = [
        "ci",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--registry",
        registry,
    ];
    super::tool(checkout, "npm", &args).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_npm_outdated_output() {
        let json = r#"{
          "left-pad": {"current": "1.1.0", "wanted": "1.3.0", "latest": "1.3.0", "dependent": "app", "location": "node_modules/left-pad"},
          "lodash": {"current": "4.17.20", "wanted": "4.17.21", "latest": "4.17.21", "dependent": "app"},
          "missing-one": {"wanted": "2.0.0", "latest": "2.0.0", "dependent": "app"}
        }"#;
        let got = parse_outdated(json).unwrap();
        assert_eq!(
            got,
            [
                (
                    "left-pad".to_string(),
                    "1.1.0".to_string(),
                    Some("1.3.0".to_string())
                ),
                (
                    "lodash".to_string(),
                    "4.17.20".to_string(),
                    Some("4.17.21".to_string())
                ),
            ]
        );
        assert!(parse_outdated("").unwrap().is_empty());
        assert!(parse_outdated("not json").is_err());
    }
}
