//! Registry dependencies of a `Cargo.toml`.

use std::collections::BTreeSet;
use toml::{Table, Value};

const SECTIONS: &[&str] = &[
    "dependencies",
    "dev-dependencies",
    "build-dependencies",
    // Old spellings Cargo still accepts.
    "dev_dependencies",
    "build_dependencies",
];

/// Crate names fetched from crates.io, by their registry name (`package`
/// when the dependency is renamed).
pub(super) fn registry_names(text: &str) -> Result<BTreeSet<String>, String> {
    let doc = super::parse_toml(text)?;
    let mut names = BTreeSet::new();
    collect(&doc, "", &mut names)?;
    if let Some(targets) = doc.get("target") {
        let targets = targets.as_table().ok_or("`target` is not a table")?;
        for (cfg, target) in targets {
            let target = target
                .as_table()
                .ok_or_else(|| format!("`target.{cfg}` is not a table"))?;
            collect(target, &format!("target.{cfg}."), &mut names)?;
        }
    }
    if let Some(workspace) = doc.get("workspace") {
        let workspace = workspace.as_table().ok_or("`workspace` is not a table")?;
        if let Some(deps) = workspace.get("dependencies") {
            section(deps, "workspace.dependencies", &mut names)?;
        }
    }
    Ok(names)
}

fn collect(table: &Table, prefix: &str, names: &mut BTreeSet<String>) -> Result<(), String> {
    for key in SECTIONS {
        if let Some(deps) = table.get(*key) {
            section(deps, &format!("{prefix}{key}"), names)?;
        }
    }
    Ok(())
}

fn section(deps: &Value, label: &str, names: &mut BTreeSet<String>) -> Result<(), String> {
    let deps = deps
        .as_table()
        .ok_or_else(|| format!("`[{label}]` is not a table"))?;
    for (key, spec) in deps {
        match spec {
            Value::String(_) => {
                names.insert(key.clone());
            }
            Value::Table(t) => {
                // Not fetched from crates.io: a local path, a git repository,
                // another registry, or inherited from the workspace (where it
                // is checked once, as a `[workspace.dependencies]` entry).
                let elsewhere = ["path", "git", "registry", "registry-index"]
                    .iter()
                    .any(|k| t.contains_key(*k));
                let inherited = t.get("workspace").and_then(Value::as_bool) == Some(true);
                if elsewhere || inherited {
                    continue;
                }
                let name = match t.get("package") {
                    None => key.clone(),
                    Some(Value::String(real)) => real.clone(),
                    Some(_) => return Err(format!("`[{label}] {key}`: `package` is not a string")),
                };
                names.insert(name);
            }
            _ => {
                return Err(format!(
                    "`[{label}] {key}` is neither a version nor a table"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        registry_names(text).unwrap().into_iter().collect()
    }

    #[test]
    fn every_dependency_section_and_renames() {
        let text = r#"
[package]
name = "app"

[dependencies]
serde = "1"
json = { package = "serde_json", version = "1" }
local = { path = "../local" }
forked = { git = "https://github.com/x/forked" }
inherited = { workspace = true }
internal = { version = "1", registry = "corp" }

[dev-dependencies]
proptest = { version = "1", default-features = false }

[build-dependencies]
cc = "1"

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[target.x86_64-pc-windows-msvc.dev-dependencies]
windows-sys = "0.59"

[workspace.dependencies]
tokio = { version = "1", features = ["full"] }
member = { path = "crates/member", version = "0.1" }
"#;
        assert_eq!(
            names(text),
            [
                "cc",
                "libc",
                "proptest",
                "serde",
                "serde_json",
                "tokio",
                "windows-sys"
            ]
        );
    }

    #[test]
    fn malformed_sections_are_errors_that_say_where() {
        assert_eq!(
            registry_names("[dependencies]\nserde = 1\n").unwrap_err(),
            "`[dependencies] serde` is neither a version nor a table"
        );
        assert_eq!(
            registry_names("dependencies = 3").unwrap_err(),
            "`[dependencies]` is not a table"
        );
        let err =
            registry_names("[package]\nname = \"x\"\n[dependencies\nserde = \"1\"\n").unwrap_err();
        assert!(err.starts_with("invalid TOML at line 3"), "{err}");
    }
}
