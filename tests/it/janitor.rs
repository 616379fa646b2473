//! The janitor on a real Rust repository, with no network: its dependencies
//! come from a local Cargo registry (real `.crate` files, built here), the
//! versions and their publish dates from a loopback stand-in for crates.io's
//! API, and the tests are the project's own `cargo test`. Of three updates,
//! one breaks the build: the other two are kept, the third is reverted and
//! reported; an ignored package and a too-young release are skipped.

use crate::helpers::{SLEEPER, git, roles_with};
use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use nightshift_core::clock::SystemClock;
use nightshift_core::forge::Forge;
use nightshift_core::job::JobState;
use nightshift_local::LocalForge;
use nightshift_roles::{Deps, janitor};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn run(dir: &Path, cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn index_path(name: &str) -> String {
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// Packs `name` `version` with `lib` as its src/lib.rs into the local
/// registry at `reg`: the `.crate` file and its index line.
fn publish(reg: &Path, name: &str, version: &str, lib: &str) {
    let work = tempfile::tempdir().unwrap();
    let pkg = format!("{name}-{version}");
    let src = work.path().join(&pkg).join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        work.path().join(&pkg).join("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n"),
    )
    .unwrap();
    std::fs::write(src.join("lib.rs"), lib).unwrap();
    let file = reg.join(format!("{pkg}.crate"));
    run(work.path(), "tar", &["czf", file.to_str().unwrap(), &pkg]);
    let sum = run(reg, "sha256sum", &[file.to_str().unwrap()]);
    let cksum = sum.split_whitespace().next().unwrap();
    let idx = reg.join("index").join(index_path(name));
    std::fs::create_dir_all(idx.parent().unwrap()).unwrap();
    let line = json!({"name": name, "vers": version, "deps": [], "cksum": cksum, "features": {}, "yanked": false});
    let mut text = std::fs::read_to_string(&idx).unwrap_or_default();
    text.push_str(&format!("{line}\n"));
    std::fs::write(idx, text).unwrap();
}

type Versions = Arc<HashMap<String, Vec<(String, String)>>>;

/// crates.io's `GET /api/v1/crates/{name}/versions`, from a fixed table.
async fn crates_api(versions: Versions) -> String {
    async fn list(State(v): State<Versions>, UrlPath(name): UrlPath<String>) -> Json<Value> {
        let list: Vec<Value> = v
            .get(&name)
            .into_iter()
            .flatten()
            .map(|(num, at)| json!({"num": num, "yanked": false, "created_at": at}))
            .collect();
        Json(json!({ "versions": list }))
    }
    let app = axum::Router::new()
        .route("/api/v1/crates/{name}/versions", get(list))
        .with_state(versions);
    crate::helpers::serve(app).await
}

const APP: &str = r#"[package]
name = "app"
version = "0.1.0"
edition = "2021"

[dependencies]
alpha = "1.0"
beta = { version = "1.0" }
gamma = "1.0"
delta = "0.3"
epsilon = "1.0"
"#;

const APP_LIB: &str = "pub fn total() -> u32 {\n    alpha::one() + beta::two() + gamma::three() + delta::four() + epsilon::five()\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds_up() {\n        assert_eq!(super::total(), 15);\n    }\n}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_three_updates_the_one_that_breaks_the_tests_is_reverted_and_reported() {
    let r = roles_with(Arc::new(SystemClock), SLEEPER, |_| {});
    let reg = tempfile::tempdir().unwrap();
    for (name, f, v) in [
        ("alpha", "one", 1),
        ("beta", "two", 2),
        ("gamma", "three", 3),
        ("delta", "four", 4),
        ("epsilon", "five", 5),
    ] {
        let old = if name == "delta" { "0.3.0" } else { "1.0.0" };
        publish(
            reg.path(),
            name,
            old,
            &format!("pub fn {f}() -> u32 {{ {v} }}\n"),
        );
    }
    // The repository, locked at the old releases.
    let repo = tempfile::tempdir().unwrap();
    let d = repo.path();
    git(d, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(d.join("src")).unwrap();
    std::fs::create_dir_all(d.join(".cargo")).unwrap();
    std::fs::write(d.join("Cargo.toml"), APP).unwrap();
    std::fs::write(d.join("src/lib.rs"), APP_LIB).unwrap();
    std::fs::write(d.join(".gitignore"), "target/\n").unwrap();
    std::fs::write(
        d.join(".cargo/config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"local\"\n\n[source.local]\nlocal-registry = \"{}\"\n\n[net]\noffline = true\n",
            reg.path().display()
        ),
    )
    .unwrap();
    let out = Command::new("cargo")
        .current_dir(d)
        .env("CARGO_HOME", d.join("../cargo-home-lock"))
        .args(["generate-lockfile", "--offline"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo generate-lockfile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "app"]);
    // Then the new releases: two compatible, one breaking (gamma 2 renames
    // `three`), one ignored (delta), one too young (epsilon).
    publish(
        reg.path(),
        "alpha",
        "1.1.0",
        "pub fn one() -> u32 { 1 }\npub fn eleven() -> u32 { 11 }\n",
    );
    publish(reg.path(), "beta", "1.2.0", "pub fn two() -> u32 { 2 }\n");
    publish(reg.path(), "gamma", "2.0.0", "pub fn tres() -> u32 { 3 }\n");
    publish(reg.path(), "delta", "0.4.0", "pub fn four() -> u32 { 4 }\n");
    publish(
        reg.path(),
        "epsilon",
        "1.0.1",
        "pub fn five() -> u32 { 5 }\n",
    );
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let old = "2026-01-05T10:00:00Z".to_string();
    let month = "2026-10-01T10:00:00Z".to_string();
    let versions: HashMap<String, Vec<(String, String)>> = [
        ("alpha", vec![("1.0.0", &old), ("1.1.0", &month)]),
        ("beta", vec![("1.0.0", &old), ("1.2.0", &month)]),
        ("gamma", vec![("1.0.0", &old), ("2.0.0", &month)]),
        ("delta", vec![("0.3.0", &old), ("0.4.0", &month)]),
        ("epsilon", vec![("1.0.0", &old), ("1.0.1", &yesterday)]),
    ]
    .into_iter()
    .map(|(n, v)| {
        (
            n.to_string(),
            v.into_iter()
                .map(|(a, b)| (a.to_string(), b.clone()))
                .collect(),
        )
    })
    .collect();
    let api = crates_api(Arc::new(versions)).await;

    let forge = Arc::new(LocalForge::new(
        r.backend.db.clone(),
        r.backend.dir.path().join("forge"),
        vec!["main".into()],
        r.deps.clock.clone(),
    ));
    forge.import("acme/app", d).unwrap();
    let mut settings = (*r.deps.settings).clone();
    settings.janitor.repos = vec!["acme/app".into()];
    settings.janitor.ignore = vec!["delta".into()];
    settings.janitor.crates_api = api;
    let (llm, _) = crate::setup::model_answering(&[json!({})]).await;
    let deps = Deps {
        forge: forge.clone(),
        settings: Arc::new(settings),
        llm: Some(Arc::new(nightshift_core::llm::OneModel(llm))),
        ..r.deps.clone()
    };

    // The weekly schedule makes (once) and launches the repository's job.
    let launched = janitor::schedule(&deps).await.unwrap();
    assert_eq!(launched.len(), 1);
    assert!(
        janitor::schedule(&deps).await.unwrap().is_empty(),
        "one job per repository and day"
    );
    let deps = &deps;
    let done = crate::helpers::work_job(deps, &launched[0], |job, dir| async move {
        janitor::run(deps, &job, &dir).await.unwrap()
    })
    .await;
    assert_eq!(done.state, JobState::Succeeded, "{:?}", done.reason);
    assert_eq!(
        done.reason.as_deref(),
        Some("2 updated, 2 skipped, 1 reverted; pull request #1")
    );

    // What it recorded, package by package.
    let ev = deps.stores.audit.events_after(0, 1000).await.unwrap();
    let run_ev = ev.iter().find(|e| e.action == "janitor_run").unwrap();
    let names = |k: &str| -> Vec<String> {
        run_ev.detail[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                format!(
                    "{} {}",
                    l["package"].as_str().unwrap(),
                    l["to"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(names("updated"), ["alpha 1.1.0", "beta 1.2.0"]);
    assert_eq!(names("reverted"), ["gamma 2.0.0"]);
    assert_eq!(names("skipped"), ["delta ", "epsilon "]);
    let reverted = &run_ev.detail["reverted"][0]["reason"];
    assert!(
        reverted
            .as_str()
            .unwrap()
            .contains("the tests fail (`cargo test`)"),
        "{reverted}"
    );
    let skipped = run_ev.detail["skipped"].to_string();
    assert!(
        skipped.contains("on the ignore list")
            && skipped.contains("1.0.1 was released 1 day(s) ago; the minimum age is 3 days"),
        "{skipped}"
    );

    // One pull request, its body a table of all five.
    let prs = forge.list_prs(Some("acme/app")).await.unwrap();
    assert_eq!(prs.len(), 1);
    let body = &prs[0].body;
    for row in [
        "| alpha (cargo) | 1.0.0 | 1.1.0 | updated | tests pass |",
        "| beta (cargo) | 1.0.0 | 1.2.0 | updated |",
        "| gamma (cargo) | 1.0.0 | 2.0.0 | reverted | the tests fail",
        "| delta (cargo) | 0.3.0 | - | skipped | on the ignore list |",
    ] {
        assert!(body.contains(row), "{row}\n{body}");
    }
    // The branch: two commits, the lock file at the kept versions, gamma untouched.
    let bare = forge.repo_path("acme/app").unwrap();
    let head = &prs[0].head;
    let log = git(&bare, &["log", "--format=%s", &format!("main..{head}")]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "chore(deps): update beta 1.0.0 -> 1.2.0",
            "chore(deps): update alpha 1.0.0 -> 1.1.0"
        ]
    );
    let lock = git(&bare, &["show", &format!("{head}:Cargo.lock")]);
    for (n, v) in [
        ("alpha", "1.1.0"),
        ("beta", "1.2.0"),
        ("gamma", "1.0.0"),
        ("delta", "0.3.0"),
        ("epsilon", "1.0.0"),
    ] {
        assert!(
            lock.contains(&format!("name = \"{n}\"\nversion = \"{v}\"")),
            "{n} {v}\n{lock}"
        );
    }
    let manifest = git(&bare, &["show", &format!("{head}:Cargo.toml")]);
    assert!(manifest.contains("gamma = \"1.0\""), "{manifest}");
    assert!(!git(&bare, &["ls-tree", "-r", "--name-only", head]).contains("target/"));

    // With a model configured, the reverted update is a ticket for the builder.
    let t = deps
        .stores
        .tickets
        .get_ticket("j-acme-app-gamma-2-0-0")
        .await
        .unwrap();
    assert_eq!(t.source, nightshift_core::ticket::Source::Janitor);
    assert!(
        t.description.contains("the tests fail"),
        "{}",
        t.description
    );
}

/// An npm registry on loopback: packuments (with publish times) and tarballs,
/// built here with `tar`, their checksums from python3's hashlib.
struct NpmRegistry {
    dir: tempfile::TempDir,
    base: String,
    published: Arc<std::sync::Mutex<Vec<(String, String, String)>>>,
}

impl NpmRegistry {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let published: Arc<std::sync::Mutex<Vec<(String, String, String)>>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (root, list, b) = (dir.path().to_path_buf(), published.clone(), base.clone());
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let (root, list, b) = (root.clone(), list.clone(), b.clone());
            async move {
                use axum::response::IntoResponse;
                let path = uri.path().trim_start_matches('/').to_string();
                if let Some((name, file)) = path.split_once("/-/") {
                    let _ = name;
                    return match std::fs::read(root.join(file)) {
                        Ok(bytes) => bytes.into_response(),
                        Err(_) => axum::http::StatusCode::NOT_FOUND.into_response(),
                    };
                }
                let name = path.replace("%2f", "/").replace("%2F", "/");
                let list = list.lock().unwrap();
                let mine: Vec<&(String, String, String)> = list.iter().filter(|(n, _, _)| *n == name).collect();
                if mine.is_empty() {
                    return axum::http::StatusCode::NOT_FOUND.into_response();
                }
                let mut versions = serde_json::Map::new();
                let mut time = serde_json::Map::new();
                for (n, v, at) in &mine {
                    let file = format!("{n}-{v}.tgz");
                    let sums = std::fs::read_to_string(root.join(format!("{file}.sums"))).unwrap();
                    let (sha1, integrity) = sums.trim().split_once(' ').unwrap();
                    versions.insert(v.clone(), json!({"name": n, "version": v, "main": "index.js",
                        "dist": {"tarball": format!("{b}/{n}/-/{file}"), "shasum": sha1, "integrity": integrity}}));
                    time.insert(v.clone(), json!(at));
                }
                let latest = mine
                    .iter()
                    .map(|(_, v, _)| v.split('.').map(|x| x.parse::<u64>().unwrap()).collect::<Vec<_>>())
                    .max()
                    .unwrap()
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(".");
                Json(json!({"name": name, "dist-tags": {"latest": latest}, "versions": versions, "time": time}))
                    .into_response()
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        NpmRegistry {
            dir,
            base,
            published,
        }
    }

    fn publish(&self, name: &str, version: &str, index_js: &str, at: &str) {
        let work = tempfile::tempdir().unwrap();
        let pkg = work.path().join("package");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(
            pkg.join("package.json"),
            json!({"name": name, "version": version, "main": "index.js"}).to_string(),
        )
        .unwrap();
        std::fs::write(pkg.join("index.js"), index_js).unwrap();
        let file = self.dir.path().join(format!("{name}-{version}.tgz"));
        run(
            work.path(),
            "tar",
            &["czf", file.to_str().unwrap(), "package"],
        );
        let sums = run(
            self.dir.path(),
            "python3",
            &[
                "-c",
                "import hashlib,base64,sys; d=open(sys.argv[1],'rb').read(); print(hashlib.sha1(d).hexdigest(), 'sha512-'+base64.b64encode(hashlib.sha512(d).digest()).decode())",
                file.to_str().unwrap(),
            ],
        );
        std::fs::write(
            self.dir.path().join(format!("{name}-{version}.tgz.sums")),
            sums,
        )
        .unwrap();
        self.published
            .lock()
            .unwrap()
            .push((name.into(), version.into(), at.into()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_updates_go_one_at_a_time_too() {
    let r = roles_with(Arc::new(SystemClock), SLEEPER, |_| {});
    let reg = NpmRegistry::start().await;
    let old = "2026-01-05T10:00:00.000Z";
    for (n, f) in [
        ("alpha-js", "one"),
        ("beta-js", "two"),
        ("gamma-js", "three"),
    ] {
        reg.publish(n, "1.0.0", &format!("exports.{f} = () => 1;\n"), old);
    }
    let repo = tempfile::tempdir().unwrap();
    let d = repo.path();
    git(d, &["init", "-q", "-b", "main"]);
    std::fs::write(
        d.join("package.json"),
        json!({"name": "app", "version": "1.0.0", "private": true,
               "scripts": {"test": "node test.js"},
               "dependencies": {"alpha-js": "^1.0.0", "beta-js": "^1.0.0", "gamma-js": "^1.0.0"}})
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        d.join("test.js"),
        "const a = require('alpha-js'), b = require('beta-js'), g = require('gamma-js');\nif (a.one() + b.two() + g.three() !== 3) { console.error('wrong sum'); process.exit(1); }\nconsole.log('ok');\n",
    )
    .unwrap();
    std::fs::write(d.join(".gitignore"), "node_modules/\n").unwrap();
    let out = Command::new("npm")
        .current_dir(d)
        .args([
            "install",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--registry",
            &reg.base,
        ])
        .output()
        .expect("this test needs npm: apt-get install nodejs npm");
    assert!(
        out.status.success(),
        "npm install: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "app"]);
    let month = "2026-10-01T10:00:00.000Z";
    reg.publish("alpha-js", "1.1.0", "exports.one = () => 1;\n", month);
    reg.publish("beta-js", "1.2.0", "exports.two = () => 1;\n", month);
    reg.publish("gamma-js", "2.0.0", "exports.tres = () => 1;\n", month);

    let forge = Arc::new(LocalForge::new(
        r.backend.db.clone(),
        r.backend.dir.path().join("forge"),
        vec!["main".into()],
        r.deps.clock.clone(),
    ));
    forge.import("acme/web", d).unwrap();
    let mut settings = (*r.deps.settings).clone();
    settings.janitor.repos = vec!["acme/web".into()];
    settings.janitor.npm_registry = reg.base.clone();
    let deps = Deps {
        forge: forge.clone(),
        settings: Arc::new(settings),
        ..r.deps.clone()
    };
    let launched = janitor::schedule(&deps).await.unwrap();
    let deps = &deps;
    let done = crate::helpers::work_job(deps, &launched[0], |job, dir| async move {
        janitor::run(deps, &job, &dir).await.unwrap()
    })
    .await;
    assert_eq!(
        done.reason.as_deref(),
        Some("2 updated, 0 skipped, 1 reverted; pull request #1"),
        "{:?}",
        done.state
    );
    let prs = forge.list_prs(Some("acme/web")).await.unwrap();
    let body = &prs[0].body;
    assert!(
        body.contains("| gamma-js (npm) | 1.0.0 | 2.0.0 | reverted | the tests fail (`npm test`)"),
        "{body}"
    );
    let bare = forge.repo_path("acme/web").unwrap();
    let lock = git(
        &bare,
        &["show", &format!("{}:package-lock.json", prs[0].head)],
    );
    let lock: Value = serde_json::from_str(&lock).unwrap();
    let v = |n: &str| {
        lock["packages"][format!("node_modules/{n}")]["version"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        (v("alpha-js"), v("beta-js"), v("gamma-js")),
        ("1.1.0".into(), "1.2.0".into(), "1.0.0".into())
    );
}
