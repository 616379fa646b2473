//! Registry dependencies of `requirements*.txt` and `pyproject.toml`, both
//! built on one PEP 508 reader. Names are PEP 503 normalised so that
//! `Foo_Bar` and `foo-bar` are one package, as they are on PyPI.

use std::collections::BTreeSet;
use toml::{Table, Value};

/// PEP 503: lowercase, and every run of `-`, `_` and `.` becomes one `-`.
pub fn normalise_pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The distribution name of a PEP 508 requirement, normalised, or `None` for
/// a direct reference (`name @ https://...`), which does not come from PyPI.
fn pep508_name(req: &str) -> Result<Option<String>, String> {
    let req = req.trim();
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(req.len());
    let name = &req[..end];
    let valid = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid {
        return Err(format!("`{req}` does not start with a package name"));
    }
    let mut rest = req[end..].trim_start();
    if rest.starts_with('[') {
        let close = rest
            .find(']')
            .ok_or_else(|| format!("`{req}`: unclosed extras"))?;
        rest = rest[close + 1..].trim_start();
    }
    match rest.chars().next() {
        Some('@') => Ok(None),
        // Versions, markers, or pip's per-requirement options (`--hash`).
        None | Some('(' | '<' | '>' | '=' | '!' | '~' | ';' | ',' | '-') => {
            Ok(Some(normalise_pypi_name(name)))
        }
        Some(_) => Err(format!("`{req}` is not a PEP 508 requirement")),
    }
}

/// Requirement names in a pip requirements file.
pub(super) fn requirements_names(text: &str) -> Result<BTreeSet<String>, String> {
    let mut names = BTreeSet::new();
    let mut pending = String::new();
    let mut first_line = 0;
    for (i, raw) in text.lines().enumerate() {
        if pending.is_empty() {
            first_line = i + 1;
        }
        // A comment starts at a `#` at the start or after whitespace; a `#`
        // inside a URL fragment (`#egg=`) is not one.
        let line = match raw
            .char_indices()
            .find(|&(at, c)| c == '#' && (at == 0 || raw[..at].ends_with(char::is_whitespace)))
        {
            Some((at, _)) => &raw[..at],
            None => raw,
        };
        // A trailing backslash continues the requirement on the next line.
        if let Some(head) = line.trim_end().strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let req = std::mem::take(&mut pending);
        let req = req.trim();
        if req.is_empty() || skipped_requirement(req) {
            continue;
        }
        if let Some(name) = pep508_name(req).map_err(|e| format!("line {first_line}: {e}"))? {
            names.insert(name);
        }
    }
    Ok(names)
}

/// Options (`-r`, `-e`, `--index-url`), URLs, local paths and archives: none
/// of them names a PyPI package.
fn skipped_requirement(req: &str) -> bool {
    req.starts_with(['-', '.', '/', '~', '$'])
        || req.contains("://")
        || [".whl", ".zip", ".tar.gz", ".tgz"]
            .iter()
            .any(|ext| req.ends_with(ext))
}

/// Dependency names in a `pyproject.toml`: PEP 621 `[project]`, PEP 735
/// `[dependency-groups]`, `[build-system] requires` and Poetry's tables.
pub(super) fn pyproject_names(text: &str) -> Result<BTreeSet<String>, String> {
    let doc = super::parse_toml(text)?;
    let mut names = BTreeSet::new();
    if let Some(project) = doc.get("project").and_then(Value::as_table) {
        if let Some(deps) = project.get("dependencies") {
            pep508_list(deps, "project.dependencies", &mut names)?;
        }
        if let Some(extras) = project.get("optional-dependencies") {
            let extras = extras
                .as_table()
                .ok_or("`project.optional-dependencies` is not a table")?;
            for (extra, deps) in extras {
                pep508_list(
                    deps,
                    &format!("project.optional-dependencies.{extra}"),
                    &mut names,
                )?;
            }
        }
    }
    if let Some(requires) = doc.get("build-system").and_then(|b| b.get("requires")) {
        pep508_list(requires, "build-system.requires", &mut names)?;
    }
    if let Some(groups) = doc.get("dependency-groups").and_then(Value::as_table) {
        for (group, deps) in groups {
            let label = format!("dependency-groups.{group}");
            let deps = deps
                .as_array()
                .ok_or_else(|| format!("`{label}` is not a list"))?;
            // `{ include-group = "..." }` entries name other groups.
            let strings: Vec<Value> = deps.iter().filter(|d| d.is_str()).cloned().collect();
            pep508_list(&Value::Array(strings), &label, &mut names)?;
        }
    }
    if let Some(poetry) = doc
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(Value::as_table)
    {
        for key in ["dependencies", "dev-dependencies"] {
            if let Some(deps) = poetry.get(key) {
                poetry_table(deps, &format!("tool.poetry.{key}"), &mut names)?;
            }
        }
        if let Some(groups) = poetry.get("group").and_then(Value::as_table) {
            for (group, body) in groups {
                if let Some(deps) = body.get("dependencies") {
                    poetry_table(
                        deps,
                        &format!("tool.poetry.group.{group}.dependencies"),
                        &mut names,
                    )?;
                }
            }
        }
    }
    Ok(names)
}

fn pep508_list(value: &Value, label: &str, names: &mut BTreeSet<String>) -> Result<(), String> {
    let list = value
        .as_array()
        .ok_or_else(|| format!("`{label}` is not a list"))?;
    for item in list {
        let req = item
            .as_str()
            .ok_or_else(|| format!("`{label}` holds a non-string"))?;
        if let Some(name) = pep508_name(req).map_err(|e| format!("`{label}`: {e}"))? {
            names.insert(name);
        }
    }
    Ok(())
}

fn poetry_table(value: &Value, label: &str, names: &mut BTreeSet<String>) -> Result<(), String> {
    let deps = value
        .as_table()
        .ok_or_else(|| format!("`[{label}]` is not a table"))?;
    for (name, spec) in deps {
        if name.eq_ignore_ascii_case("python") {
            continue; // the interpreter constraint, not a package
        }
        let from_pypi = match spec {
            Value::String(_) => true,
            Value::Table(t) => from_pypi(t),
            // Several constraints, one per platform or Python version.
            Value::Array(specs) => specs.iter().all(|s| s.as_table().is_some_and(from_pypi)),
            _ => {
                return Err(format!(
                    "`[{label}] {name}` is neither a version nor a table"
                ));
            }
        };
        if from_pypi {
            names.insert(normalise_pypi_name(name));
        }
    }
    Ok(())
}

/// A Poetry table spec without a path, git repository, URL or other source.
fn from_pypi(spec: &Table) -> bool {
    !["path", "git", "url", "source"]
        .iter()
        .any(|k| spec.contains_key(*k))
}

#[cfg(test)]
mod tests;
