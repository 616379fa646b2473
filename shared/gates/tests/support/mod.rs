//! Test support: a scratch git repository producing real `git diff` output,
//! and a loopback stand-in for the package registries.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use nightshift_gates::{FileDiff, ManifestChange, RegistryChecker, RegistryConfig, is_manifest};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A throwaway git repository with one commit of `base`, then `change`
/// applied and staged. `None` deletes a file.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new(base: &[(&str, &str)]) -> Self {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        repo.git(&["init", "-q"]);
        for (path, text) in base {
            repo.write(path, Some(text));
        }
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "--allow-empty", "-m", "base"]);
        repo
    }

    pub fn write(&self, path: &str, text: Option<&str>) {
        let full = self.dir.path().join(path);
        match text {
            Some(text) => {
                std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                std::fs::write(full, text).unwrap();
            }
            None => std::fs::remove_file(full).unwrap(),
        }
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(self.dir.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git is installed");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Applies `change` and returns the staged diff, as the reviewer sees it.
    pub fn diff(&self, change: &[(&str, Option<&str>)]) -> String {
        for (path, text) in change {
            self.write(path, *text);
        }
        self.git(&["add", "-A"]);
        self.git(&["diff", "--cached", "-M", "--no-color", "--no-ext-diff"])
    }

    /// Each changed manifest's content before (HEAD) and after (the index).
    pub fn manifest_changes(&self, files: &[FileDiff]) -> Vec<ManifestChange> {
        let show = |rev: &str, path: &str| {
            let out = Command::new("git")
                .args(["show", &format!("{rev}:{path}")])
                .current_dir(self.dir.path())
                .output()
                .unwrap();
            out.status
                .success()
                .then(|| String::from_utf8(out.stdout).unwrap())
        };
        files
            .iter()
            .filter(|f| is_manifest(&f.path))
            .map(|f| ManifestChange {
                path: f.path.clone(),
                before: show("HEAD", f.old_path.as_deref().unwrap_or(&f.path)),
                after: show("", &f.path),
            })
            .collect()
    }
}

/// The registries' stand-in: a fixed set of known packages, 404 for the
/// rest (or `status` for everything), counting requests.
#[derive(Clone)]
struct Registry {
    requests: Arc<AtomicUsize>,
    status: Option<u16>,
}

const KNOWN: &[&str] = &[
    "/se/rd/serde",
    "/to/ki/tokio",
    "/pypi/requests/json",
    "/pypi/flask/json",
    "/react",
    "/@types%2fnode",
];

async fn registry_answer(State(reg): State<Registry>, uri: Uri) -> StatusCode {
    reg.requests.fetch_add(1, Ordering::SeqCst);
    match reg.status {
        Some(status) => StatusCode::from_u16(status).unwrap(),
        None if KNOWN.contains(&uri.path()) => StatusCode::OK,
        None => StatusCode::NOT_FOUND,
    }
}

pub async fn registry(status: Option<u16>) -> (RegistryChecker, Arc<AtomicUsize>) {
    let reg = Registry {
        requests: Arc::default(),
        status,
    };
    let requests = reg.requests.clone();
    let app = Router::new().fallback(registry_answer).with_state(reg);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (checker_at(&base), requests)
}

pub fn checker_at(base: &str) -> RegistryChecker {
    RegistryChecker::new(RegistryConfig {
        crates_index: base.into(),
        pypi: base.into(),
        npm: base.into(),
        timeout: Duration::from_secs(5),
        ..RegistryConfig::default()
    })
}
