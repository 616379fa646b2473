//! Path confinement. The model names files with strings it made up; every one of
//! them goes through [`Workspace::resolve`] before any file is touched, so a tool
//! can never read or write outside the checkout: absolute paths and `..` escapes
//! are refused lexically, and symlinks are caught by canonicalizing the nearest
//! ancestor that exists (the rest of the path does not exist yet, so it cannot
//! be a link).

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

/// Why a path the model gave was refused. The messages are written for the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("`{0}` is an absolute path; give a path relative to the workspace root")]
    Absolute(String),
    #[error("`{0}` leaves the workspace; give a path inside it")]
    Escapes(String),
    #[error("`{0}` goes through a symlink that points outside the workspace")]
    SymlinkOutside(String),
    #[error("`{0}` goes through a symlink whose target does not exist")]
    DanglingSymlink(String),
    #[error("`{0}` is inside .git; change the repository with `run` and git commands instead")]
    InsideGit(String),
    #[error("cannot resolve `{path}`: {message}")]
    Io { path: String, message: String },
}

/// The sandbox checkout the tools work in. The root is canonical, so comparisons
/// against canonicalized paths are meaningful.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// Opens an existing directory as the workspace.
    pub fn new(root: impl AsRef<Path>) -> std::io::Result<Self> {
        let root = std::fs::canonicalize(root.as_ref())?;
        if !root.is_dir() {
            return Err(std::io::Error::new(
                ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(Self { root })
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Maps a model-supplied relative path to a real path inside the workspace.
    /// `""` and `"."` are the root. The result may not exist yet.
    pub fn resolve(&self, rel: &str) -> Result<PathBuf, PathError> {
        let given = || rel.to_string();
        if rel.contains('\0') {
            return Err(PathError::Io {
                path: rel.replace('\0', "\\0"),
                message: "the path contains a NUL byte".into(),
            });
        }
        let mut parts: Vec<OsString> = Vec::new();
        for c in Path::new(rel).components() {
            match c {
                Component::CurDir => {}
                Component::Normal(s) => parts.push(s.to_owned()),
                Component::ParentDir => {
                    if parts.pop().is_none() {
                        return Err(PathError::Escapes(given()));
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(PathError::Absolute(given()));
                }
            }
        }
        // The longest prefix that exists (as an entry, links not followed).
        let mut existing = parts.len();
        loop {
            let candidate = join_all(&self.root, &parts[..existing]);
            match std::fs::symlink_metadata(&candidate) {
                Ok(_) => break,
                Err(e)
                    if existing > 0
                        && matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) =>
                {
                    existing -= 1;
                }
                Err(e) => {
                    return Err(PathError::Io {
                        path: given(),
                        message: e.to_string(),
                    });
                }
            }
        }
        let anchor = join_all(&self.root, &parts[..existing]);
        let canonical = match std::fs::canonicalize(&anchor) {
            Ok(p) => p,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(PathError::DanglingSymlink(given()));
            }
            Err(e) => {
                return Err(PathError::Io {
                    path: given(),
                    message: e.to_string(),
                });
            }
        };
        if !canonical.starts_with(&self.root) {
            return Err(PathError::SymlinkOutside(given()));
        }
        Ok(join_all(&canonical, &parts[existing..]))
    }

    /// Like [`resolve`](Self::resolve), and also refuses anything inside a `.git`
    /// directory (or a `.git` file of a worktree): the tools must not rewrite the
    /// repository's internals behind git's back.
    pub fn resolve_for_write(&self, rel: &str) -> Result<PathBuf, PathError> {
        let path = self.resolve(rel)?;
        if self
            .relative(&path)
            .components()
            .any(|c| c.as_os_str() == ".git")
        {
            return Err(PathError::InsideGit(rel.to_string()));
        }
        Ok(path)
    }

    /// A resolved path shown relative to the root (`.` for the root itself).
    pub fn display(&self, path: &Path) -> String {
        let rel = self.relative(path);
        if rel.as_os_str().is_empty() {
            ".".into()
        } else {
            rel.to_string_lossy().into_owned()
        }
    }

    fn relative<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }
}

fn join_all(base: &Path, parts: &[OsString]) -> PathBuf {
    let mut p = base.to_path_buf();
    p.extend(parts);
    p
}
