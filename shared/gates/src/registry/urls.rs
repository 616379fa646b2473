//! Where each registry answers "does this package exist". Names are checked
//! against the registry's own naming rules first, so a name from a manifest
//! (which the change under review wrote) can never reach outside the path.

use crate::manifests::{Dependency, Ecosystem, normalise_pypi_name};

/// The lookup URL and the name it was built from (the cache key), or why the
/// name cannot be a package on that registry.
pub(super) fn lookup_url(base: &str, dep: &Dependency) -> Result<(String, String), String> {
    let base = base.trim_end_matches('/');
    match dep.ecosystem {
        Ecosystem::Crates => {
            if !valid_crate(&dep.name) {
                return Err(format!("`{}` is not a valid crate name", dep.name));
            }
            let name = dep.name.to_ascii_lowercase();
            // The sparse index layout: 1/, 2/, 3/{first}/, then {ab}/{cd}/.
            let url = match name.len() {
                1 => format!("{base}/1/{name}"),
                2 => format!("{base}/2/{name}"),
                3 => format!("{base}/3/{}/{name}", &name[..1]),
                _ => format!("{base}/{}/{}/{name}", &name[..2], &name[2..4]),
            };
            Ok((url, name))
        }
        Ecosystem::PyPI => {
            if !valid_pypi(&dep.name) {
                return Err(format!("`{}` is not a valid PyPI project name", dep.name));
            }
            let name = normalise_pypi_name(&dep.name);
            Ok((format!("{base}/pypi/{name}/json"), name))
        }
        Ecosystem::Npm => {
            if !valid_npm(&dep.name) {
                return Err(format!("`{}` is not a valid npm package name", dep.name));
            }
            // The registry wants a scoped name's slash encoded.
            Ok((
                format!("{base}/{}", dep.name.replacen('/', "%2f", 1)),
                dep.name.clone(),
            ))
        }
    }
}

/// crates.io: ASCII letters, digits, `-` and `_`, starting with a letter, at
/// most 64 characters.
fn valid_crate(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// PEP 508: letters, digits, `-`, `_` and `.`, starting and ending with a
/// letter or digit.
fn valid_pypi(name: &str) -> bool {
    name.len() <= 200
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// npm: an optional `@scope/` and a name, each of URL-safe characters
/// (`a-z0-9-._~`, upper case allowed for old packages) not starting with `.`
/// or `_`, at most 214 characters in all.
fn valid_npm(name: &str) -> bool {
    fn part(p: &str) -> bool {
        !p.is_empty()
            && !p.starts_with(['.', '_'])
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
    }
    if name.len() > 214 {
        return false;
    }
    match name.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, pkg)| part(scope) && part(pkg)),
        None => part(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(ecosystem: Ecosystem, name: &str) -> Result<String, String> {
        let dep = Dependency {
            ecosystem,
            name: name.into(),
            manifest: "m".into(),
        };
        lookup_url("https://r.test/", &dep).map(|(url, _)| url)
    }

    #[test]
    fn sparse_index_paths() {
        assert_eq!(url(Ecosystem::Crates, "a").unwrap(), "https://r.test/1/a");
        assert_eq!(url(Ecosystem::Crates, "cc").unwrap(), "https://r.test/2/cc");
        assert_eq!(
            url(Ecosystem::Crates, "Syn").unwrap(),
            "https://r.test/3/s/syn"
        );
        assert_eq!(
            url(Ecosystem::Crates, "serde").unwrap(),
            "https://r.test/se/rd/serde"
        );
        assert_eq!(
            url(Ecosystem::Crates, "Serde_JSON").unwrap(),
            "https://r.test/se/rd/serde_json"
        );
    }

    #[test]
    fn pypi_and_npm_paths() {
        assert_eq!(
            url(Ecosystem::PyPI, "Flask_Login").unwrap(),
            "https://r.test/pypi/flask-login/json"
        );
        assert_eq!(
            url(Ecosystem::Npm, "left-pad").unwrap(),
            "https://r.test/left-pad"
        );
        assert_eq!(
            url(Ecosystem::Npm, "@types/node").unwrap(),
            "https://r.test/@types%2fnode"
        );
    }

    #[test]
    fn names_that_could_escape_the_path_are_refused() {
        for name in ["../etc", "a/b", "a?b", "a#b", "a b", "", "1abc", "é"] {
            assert!(url(Ecosystem::Crates, name).is_err(), "{name}");
        }
        for name in ["../x", "x/", "-x", "a%2f", "a b", ""] {
            assert!(url(Ecosystem::PyPI, name).is_err(), "{name}");
        }
        for name in [
            "..", ".hidden", "a/b", "@scope", "@scope/", "@/x", "@s/a/b", "a%2fb", "a?b", "",
        ] {
            assert!(url(Ecosystem::Npm, name).is_err(), "{name}");
        }
    }
}
