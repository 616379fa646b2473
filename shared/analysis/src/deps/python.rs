//! Python lock files: pinned `requirements*.txt` (as `pip freeze` or
//! `pip-compile` write them) and `poetry.lock`.
//!
//! A requirements file is only a lock file where it pins, so only `name==version`
//! lines are read (extras and environment markers allowed); unpinned or ranged
//! lines, `==1.*` wildcards, `===` arbitrary equality, URLs, local paths and
//! `name @ url` references, options (`-r`, `-c`, `-e`, `--index-url`, per-line `--hash`) and
//! comments are skipped, since there is no single version to check. A pin whose
//! version is not PEP 440 is an error naming the line, as is a line that is
//! not a requirement at all. Names are normalised per PEP 503 so that
//! `Django`, `django` and `DJANGO` meet the same advisory.
//!
//! In `poetry.lock`, packages from git, a directory, a file or a URL are left
//! out: advisories are about releases published on PyPI.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use super::error::{DepsError, line_of};
use super::pep440::Pep440Version;
use super::{Ecosystem, LockedPackage};

/// `name[extras] <specifiers>`: a PEP 508 name, optional extras, then the rest.
static REQUIREMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(.*)$")
        .expect("the requirement pattern is a valid regex")
});

/// PEP 503 normalisation: lowercase, runs of `-`, `_` and `.` become one `-`.
pub fn normalise_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.extend(c.to_lowercase());
            in_sep = false;
        }
    }
    out
}

/// Parses a pinned requirements file.
pub(crate) fn parse_requirements(path: &Path, text: &str) -> Result<Vec<LockedPackage>, DepsError> {
    // Join `\`-continued lines, remembering where each logical line starts.
    let mut logical: Vec<(usize, String)> = Vec::new();
    let mut continued = false;
    for (i, raw) in text.lines().enumerate() {
        let (body, continues) = match raw.strip_suffix('\\') {
            Some(body) => (body, true),
            None => (raw, false),
        };
        match logical.last_mut() {
            Some((_, line)) if continued => {
                line.push(' ');
                line.push_str(body);
            }
            _ => logical.push((i + 1, body.to_string())),
        }
        continued = continues;
    }
    let mut packages = Vec::new();
    for (line_no, line) in logical {
        let pin = requirement(&line).map_err(|m| DepsError::lockfile(path, Some(line_no), m))?;
        packages.extend(pin);
    }
    Ok(packages)
}

/// One logical line: `Ok(None)` for lines that pin nothing.
fn requirement(line: &str) -> Result<Option<LockedPackage>, String> {
    let no_comment = match line.find('#') {
        Some(0) => "",
        Some(i) if line[..i].ends_with(char::is_whitespace) => &line[..i],
        _ => line,
    };
    // Per-line options such as `--hash=...` follow the requirement after a space.
    let body = no_comment
        .split(" -")
        .next()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    // Options, URLs, and local paths or archives (`./pkg`, `dist/x.whl`).
    if body.is_empty() || body.starts_with(['-', '.', '/', '~']) || body.contains(['/', '\\']) {
        return Ok(None);
    }
    let caps = REQUIREMENT
        .captures(body)
        .ok_or_else(|| format!("`{body}` is not a requirement (expected `name==version`)"))?;
    let (name, spec) = (&caps[1], caps[2].trim());
    if spec.starts_with('@') || spec.starts_with("===") {
        return Ok(None);
    }
    let Some(version) = spec.strip_prefix("==") else {
        if spec.is_empty() || spec.starts_with(['<', '>', '!', '~', '=', ',']) {
            return Ok(None); // unpinned or ranged
        }
        return Err(format!(
            "`{body}` is not a requirement (expected `name==version`)"
        ));
    };
    let version = version.trim();
    if version.contains(',') || version.ends_with(".*") {
        return Ok(None);
    }
    if version.is_empty() {
        return Err(format!("pin for `{name}` has no version after `==`"));
    }
    Pep440Version::parse(version).map_err(|e| format!("pin for `{name}`: {e}"))?;
    Ok(Some(LockedPackage {
        name: normalise_name(name),
        version: version.to_string(),
        ecosystem: Ecosystem::PyPI,
    }))
}

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: Spanned<String>,
    version: Spanned<String>,
    source: Option<PoetrySource>,
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Parses a `poetry.lock`.
pub(crate) fn parse_poetry(path: &Path, text: &str) -> Result<Vec<LockedPackage>, DepsError> {
    let lock: PoetryLock = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        DepsError::lockfile(
            path,
            line,
            format!("not a valid poetry.lock: {}", e.message().trim()),
        )
    })?;
    let mut packages = Vec::with_capacity(lock.package.len());
    for p in lock.package {
        let local = p.source.as_ref().and_then(|s| s.kind.as_deref());
        if matches!(local, Some("git" | "directory" | "file" | "url")) {
            continue;
        }
        if let Err(e) = Pep440Version::parse(p.version.get_ref()) {
            return Err(DepsError::lockfile(
                path,
                Some(line_of(text, p.version.span().start)),
                format!("package `{}`: {e}", p.name.get_ref()),
            ));
        }
        packages.push(LockedPackage {
            name: normalise_name(p.name.get_ref()),
            version: p.version.into_inner(),
            ecosystem: Ecosystem::PyPI,
        });
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(text: &str) -> Vec<(String, String)> {
        parse_requirements(Path::new("requirements.txt"), text)
            .expect("parses")
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect()
    }

    #[test]
    fn names_normalise() {
        assert_eq!(normalise_name("Foo__Bar.baz"), "foo-bar-baz");
        assert_eq!(normalise_name("zope.interface"), "zope-interface");
    }

    #[test]
    fn reads_pins_and_skips_the_rest() {
        let text = "# top\n-r base.txt\n--index-url https://x/simple\nDjango==3.2.0 ; python_version >= \"3.8\"\n\
                    requests[socks]==2.19.1 \\\n    --hash=sha256:abc\nflask>=1.0\nnumpy\npkg @ https://x/p.whl\n\
                    six==1.*\nurllib3==1.26.4  # pinned\n./vendor/pkg.whl\n.\n";
        assert_eq!(
            pins(text),
            vec![
                ("django".into(), "3.2.0".into()),
                ("requests".into(), "2.19.1".into()),
                ("urllib3".into(), "1.26.4".into()),
            ]
        );
    }
}
