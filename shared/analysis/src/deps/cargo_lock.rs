//! `Cargo.lock` reader, for the four formats cargo has written: v1 (checksums
//! in `[metadata]`; the oldest files also have a `[root]` table for the
//! workspace root, skipped like any path package), v2 (no `version` key,
//! checksums inline), v3 and v4 (`version = 3|4`). All of them list
//! `[[package]]` tables with `name`, `version` and, for anything outside the
//! workspace, `source`; that is all the watchdog needs.
//!
//! Only packages from the crates.io index are returned. That is what cargo-audit
//! does (rustsec's `Database::query_vulnerabilities` skips every package whose
//! source is not the default registry): RustSec advisories are about crates.io
//! releases, and a git, path or other-registry package that shares a name with
//! one is a different piece of code. Both spellings of the crates.io source
//! are accepted, the git index and the sparse one, because they name the same
//! releases. cargo-audit 0.22.2 lets the sparse spelling through that filter
//! but then matches no advisory to it (it compares the source kinds, registry
//! against sparse); cargo writes the git spelling for crates.io whatever the
//! protocol, so real lock files do not meet the difference.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::error::{DepsError, line_of};
use super::{Ecosystem, LockedPackage};

/// The crates.io index as cargo writes it in `source`, whatever protocol fetched it.
pub(crate) const CRATES_IO_GIT: &str = "registry+https://github.com/rust-lang/crates.io-index";
/// The sparse spelling, written by some tools; cargo itself writes the git one.
pub(crate) const CRATES_IO_SPARSE: &str = "sparse+https://index.crates.io/";

#[derive(Deserialize)]
struct RawLock {
    version: Option<Spanned<i64>>,
    #[serde(default)]
    package: Vec<RawPackage>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: Spanned<String>,
    version: Spanned<String>,
    source: Option<String>,
}

/// Whether a `source` value names the crates.io index.
pub(crate) fn is_crates_io(source: Option<&str>) -> bool {
    matches!(source, Some(s) if s == CRATES_IO_GIT || s == CRATES_IO_SPARSE)
}

/// Parses `text` (the contents of `path`) into its crates.io packages.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Vec<LockedPackage>, DepsError> {
    let raw: RawLock = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        DepsError::lockfile(
            path,
            line,
            format!("not a valid Cargo.lock: {}", e.message().trim()),
        )
    })?;
    if let Some(v) = &raw.version
        && !(1..=4).contains(v.get_ref())
    {
        return Err(DepsError::lockfile(
            path,
            Some(line_of(text, v.span().start)),
            format!(
                "unsupported Cargo.lock format version {}; this reader knows versions 1 to 4",
                v.get_ref()
            ),
        ));
    }
    let mut packages = Vec::with_capacity(raw.package.len());
    for p in raw.package {
        let name = p.name.get_ref();
        let version = p.version.get_ref();
        if name.is_empty() {
            return Err(DepsError::lockfile(
                path,
                Some(line_of(text, p.name.span().start)),
                "package with an empty `name`",
            ));
        }
        if let Err(e) = semver::Version::parse(version) {
            return Err(DepsError::lockfile(
                path,
                Some(line_of(text, p.version.span().start)),
                format!("package `{name}` has version `{version}`, which is not semver: {e}"),
            ));
        }
        if !is_crates_io(p.source.as_deref()) {
            continue;
        }
        packages.push(LockedPackage {
            name: p.name.into_inner(),
            version: p.version.into_inner(),
            ecosystem: Ecosystem::Cargo,
        });
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    // With the `[root]` table of the oldest lock files, which is never audited.
    const V1: &str = r#"
[root]
name = "app"
version = "0.1.0"

[[package]]
name = "app-helper"
version = "0.1.0"
dependencies = ["smallvec 0.6.9 (registry+https://github.com/rust-lang/crates.io-index)"]

[[package]]
name = "smallvec"
version = "0.6.9"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "local-fork"
version = "1.0.0"
source = "git+https://example.com/fork.git#abc"

[metadata]
"checksum smallvec 0.6.9 (registry+https://github.com/rust-lang/crates.io-index)" = "00"
"#;

    #[test]
    fn v1_keeps_only_crates_io_packages() {
        let got = parse(Path::new("Cargo.lock"), V1).expect("v1 parses");
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].name.as_str(), got[0].version.as_str()),
            ("smallvec", "0.6.9")
        );
    }

    #[test]
    fn v2_has_no_version_key() {
        let text = "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"00\"\n";
        let got = parse(Path::new("Cargo.lock"), text).expect("v2 parses");
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn v4_and_sparse_source() {
        let text = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"sparse+https://index.crates.io/\"\nchecksum = \"00\"\n";
        let got = parse(Path::new("Cargo.lock"), text).expect("v4 parses");
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn errors_name_line_and_field() {
        let text = "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"one\"\n";
        let e = parse(Path::new("x/Cargo.lock"), text).expect_err("bad version");
        let msg = e.to_string();
        assert!(msg.starts_with("x/Cargo.lock:5: package `a`"), "{msg}");

        let e = parse(Path::new("Cargo.lock"), "[[package]]\nname = \"a\"\n").expect_err("missing");
        assert!(e.to_string().contains("version"), "{e}");

        let e = parse(Path::new("Cargo.lock"), "version = 9\n").expect_err("v9");
        assert!(e.to_string().contains("Cargo.lock:1: unsupported"), "{e}");
    }
}
