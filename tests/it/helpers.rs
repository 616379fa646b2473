//! Shared helpers: each test gets its own temp dir, SQLite file and port.

use nightshift_core::clock::{Clock, ManualClock, SystemClock};
use nightshift_core::ports::Stores;
use nightshift_core::settings::Settings;
use nightshift_local::{Db, FileLogSource, LocalForge, ProcessLauncher, SqliteQueue, SqliteStore};
use nightshift_roles::Deps;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Backend {
    pub dir: tempfile::TempDir,
    pub db: Arc<Db>,
    pub stores: Stores,
    pub queue: Arc<SqliteQueue>,
}

pub fn backend_with(max_receives: u32, clock: Arc<dyn Clock>) -> Backend {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path().join("nightshift.db")).expect("open sqlite");
    let stores = Stores::from_one(Arc::new(SqliteStore::new(db.clone())));
    let queue = Arc::new(SqliteQueue::new(db.clone(), max_receives, clock));
    Backend {
        dir,
        db,
        stores,
        queue,
    }
}

pub fn backend() -> Backend {
    backend_with(5, Arc::new(SystemClock))
}

/// A job "worker" that just sleeps: what the launcher runs in these tests. It
/// reads nothing but its scrubbed environment.
pub const SLEEPER: &str = "exec sleep 30";

/// Roles over a fresh backend, with a real process launcher running `script`.
pub struct Roles {
    pub deps: Deps,
    /// The temp dir, database and stores behind `deps`.
    pub backend: Backend,
}

pub fn roles_with(clock: Arc<dyn Clock>, script: &str, tune: impl FnOnce(&mut Settings)) -> Roles {
    let backend = backend_with(3, clock.clone());
    let mut settings = Settings {
        data_dir: backend.dir.path().to_path_buf(),
        ..Settings::default()
    };
    settings.queue.poll_interval_ms = 20;
    tune(&mut settings);
    let launcher = ProcessLauncher::new(
        vec!["/bin/sh".into(), "-c".into(), script.into()],
        settings.jobs_dir(),
        vec![],
    )
    .unwrap()
    .with_stop_grace(Duration::from_millis(300));
    let deps = Deps {
        stores: backend.stores.clone(),
        queue: backend.queue.clone(),
        launcher: Arc::new(launcher),
        logs: Arc::new(FileLogSource::new(None)),
        forge: Arc::new(LocalForge::new(
            backend.db.clone(),
            backend.dir.path().join("forge"),
            vec!["main".into(), "master".into()],
            clock.clone(),
        )),
        llm: None,
        secrets: Arc::new(nightshift_local::EnvSecrets::new(Some(
            backend.dir.path().join("secrets"),
        ))),
        clock,
        settings: Arc::new(settings),
    };
    Roles { deps, backend }
}

pub fn roles() -> Roles {
    roles_with(Arc::new(SystemClock), SLEEPER, |_| {})
}

pub fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(nightshift_contract::t0()))
}

/// The API and every role loop, in process, on a free port.
pub struct TestApp {
    pub base: String,
    pub roles: Roles,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

pub async fn spawn_app() -> TestApp {
    let roles = roles();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let mut tasks = nightshift_roles::runtime::start(&roles.deps, shutdown.clone())
        .await
        .unwrap();
    let app = nightshift_api::router(roles.deps.clone());
    let stop = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .unwrap();
    }));
    TestApp {
        base,
        roles,
        client: reqwest::Client::new(),
        shutdown,
        tasks,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, serde_json::Value) {
        let r = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.client.get(self.url(path)).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        for t in self.tasks {
            t.await.unwrap();
        }
    }
}

/// Polls `check` every 20 ms for up to 10 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// A ticket for `repo`, submitted and walked to `ready` through the state machine.
pub async fn ready_ticket(
    deps: &Deps,
    title: &str,
    priority: nightshift_core::ticket::Priority,
    repo: &str,
    budget: Option<u64>,
) -> nightshift_core::ticket::Ticket {
    use nightshift_core::state::TicketEvent;
    use nightshift_core::ticket::{NewTicket, Source, TicketBudget, TicketContext, TicketType};
    let input = NewTicket {
        id: None,
        kind: TicketType::Feature,
        priority: Some(priority),
        title: Some(title.into()),
        description: None,
        context: TicketContext {
            repo: repo.into(),
            filepaths: vec!["src/lib.rs".into()],
            error_logs: vec![],
        },
        acceptance_criteria: vec![format!("{title} is done")],
        source: None,
        source_ref: None,
        labels: vec![],
        budget: budget.map(|limit_tokens| TicketBudget { limit_tokens }),
    };
    let (mut t, _) = nightshift_roles::intake::submit(deps, input, Source::Api, "test")
        .await
        .unwrap();
    for ev in [
        TicketEvent::Triage,
        TicketEvent::Plan,
        TicketEvent::ApproveSpec,
    ] {
        t = nightshift_roles::transition::apply(
            deps,
            &t,
            ev,
            "test",
            serde_json::Value::Null,
            |_| {},
        )
        .await
        .unwrap();
    }
    t
}

/// Runs git in `dir` (with a throwaway identity and `main` as the first branch),
/// failing the test with git's message if it fails; returns stdout, trimmed.
pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=dev",
            "-c",
            "user.email=dev@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Serves `app` on a loopback port; its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// One GET against the router, served on a loopback port.
pub async fn tower_get(app: axum::Router, uri: &str) -> serde_json::Value {
    let base = serve(app).await;
    reqwest::get(format!("{base}{uri}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// GET `url`: the status and the JSON body (null if none).
pub async fn get_json(c: &reqwest::Client, url: &str) -> (u16, serde_json::Value) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// What `nightshift worker` does with job `jid`: claim it, run it (`run` gets
/// the job and a fresh work directory), complete it, let job-events settle
/// it, and stop the process the launcher started for it. The finished job.
pub async fn work_job<Fut>(
    d: &Deps,
    jid: &str,
    run: impl FnOnce(nightshift_core::job::Job, std::path::PathBuf) -> Fut,
) -> nightshift_core::job::Job
where
    Fut: std::future::Future<Output = nightshift_core::job::JobOutcome>,
{
    let (job, lease) = d
        .stores
        .jobs
        .claim_job(jid, "worker-test", Duration::from_secs(600), d.now())
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let outcome = run(job, work.path().to_path_buf()).await;
    let done = d
        .stores
        .jobs
        .complete_job(&lease, &outcome, d.now())
        .await
        .unwrap();
    nightshift_roles::jobs::on_job_finished(d, &done)
        .await
        .unwrap();
    if let Some(h) = &done.launch_handle {
        d.launcher.stop(h, "test over").await.unwrap();
    }
    done
}
