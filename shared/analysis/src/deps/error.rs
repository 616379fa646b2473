//! Errors of the dependency watchdog. Every message is lowercase, names the file
//! it is about and, where the format allows, the line or field, so that a person
//! reading the CLI's one-line error knows what to open and what to fix.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{}: unknown lock file name; expected Cargo.lock, package-lock.json, requirements*.txt or poetry.lock",
        path.display()
    )]
    UnknownLockfile { path: PathBuf },

    /// A lock file that could not be understood. `line` is 1-based when known.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Lockfile {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },

    /// An advisory file that could not be understood.
    #[error("{}: invalid advisory: {message}", path.display())]
    Advisory { path: PathBuf, message: String },

    #[error(
        "{}: no advisory database here; expected crates/<name>/RUSTSEC-*.md files (RustSec layout) or OSV *.json files",
        path.display()
    )]
    NoDatabase { path: PathBuf },

    /// The cargo-audit comparison could not run or its output could not be read.
    #[error("cargo-audit comparison: {message}")]
    Bench { message: String },
}

impl DepsError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn lockfile(path: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        Self::Lockfile {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    pub(crate) fn advisory(path: &Path, message: impl Into<String>) -> Self {
        Self::Advisory {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    memchr::memchr_iter(b'\n', &text.as_bytes()[..end]).count() + 1
}
