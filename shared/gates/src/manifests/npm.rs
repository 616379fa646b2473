//! Registry dependencies of a `package.json`.

use serde_json::Value;
use std::collections::BTreeSet;

const SECTIONS: &[&str] = &[
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "optionalDependencies",
];

/// Specs that are not fetched from the npm registry.
const ELSEWHERE: &[&str] = &[
    "file:",
    "link:",
    "workspace:",
    "portal:",
    "git+",
    "git:",
    "github:",
    "gitlab:",
    "bitbucket:",
    "http:",
    "https:",
    ".",
    "/",
    "~",
];

/// Package names fetched from the npm registry; an `npm:real@range` alias
/// counts as `real`.
pub(super) fn registry_names(text: &str) -> Result<BTreeSet<String>, String> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| format!("invalid JSON at line {}: {e}", e.line()))?;
    let doc = doc.as_object().ok_or("the top level is not an object")?;
    let mut names = BTreeSet::new();
    for section in SECTIONS {
        let Some(deps) = doc.get(*section) else {
            continue;
        };
        let deps = deps
            .as_object()
            .ok_or_else(|| format!("`{section}` is not an object"))?;
        for (name, spec) in deps {
            let spec = spec
                .as_str()
                .ok_or_else(|| format!("`{section}.{name}` is not a string"))?
                .trim();
            if let Some(alias) = spec.strip_prefix("npm:") {
                names.insert(alias_target(alias).to_string());
                continue;
            }
            // `user/repo` is GitHub shorthand; a version range never has a `/`.
            if ELSEWHERE.iter().any(|p| spec.starts_with(p)) || spec.contains('/') {
                continue;
            }
            names.insert(name.clone());
        }
    }
    Ok(names)
}

/// `@scope/pkg@^1` → `@scope/pkg`; `pkg@1` → `pkg`; `pkg` → `pkg`.
fn alias_target(alias: &str) -> &str {
    match alias.char_indices().skip(1).find(|&(_, c)| c == '@') {
        Some((at, _)) => &alias[..at],
        None => alias,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_specs_from_every_section_and_aliases() {
        let text = r#"{
  "name": "app",
  "dependencies": { "react": "^18.2.0", "lodash": "latest", "local": "file:../local",
                    "linked": "link:../linked", "mono": "workspace:*", "gh": "github:u/r",
                    "short": "user/repo", "tar": "https://example.com/x.tgz", "g": "git+ssh://git@x/y.git",
                    "old-name": "npm:@scope/real-pkg@^2", "other": "npm:left-pad" },
  "devDependencies": { "@types/node": "20.x" },
  "peerDependencies": { "react-dom": ">=18 <19" },
  "optionalDependencies": { "fsevents": "*" }
}"#;
        let names: Vec<_> = registry_names(text).unwrap().into_iter().collect();
        assert_eq!(
            names,
            [
                "@scope/real-pkg",
                "@types/node",
                "fsevents",
                "left-pad",
                "lodash",
                "react",
                "react-dom"
            ]
        );
    }

    #[test]
    fn malformed_files_are_errors() {
        assert!(
            registry_names("{ \"dependencies\": ")
                .unwrap_err()
                .starts_with("invalid JSON at line 1")
        );
        assert_eq!(
            registry_names("[]").unwrap_err(),
            "the top level is not an object"
        );
        assert_eq!(
            registry_names(r#"{"dependencies": {"x": 1}}"#).unwrap_err(),
            "`dependencies.x` is not a string"
        );
    }

    #[test]
    fn alias_targets() {
        assert_eq!(alias_target("@s/p@1"), "@s/p");
        assert_eq!(alias_target("p@^1"), "p");
        assert_eq!(alias_target("p"), "p");
    }
}
