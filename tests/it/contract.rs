//! The contract suites against the embedded adapters.

mod sqlite_store {
    use nightshift_contract::StoreFixture;

    async fn make() -> StoreFixture {
        let b = crate::helpers::backend();
        StoreFixture {
            stores: b.stores.clone(),
            guard: Box::new(b.dir),
        }
    }

    nightshift_contract::store_contract!(make);
}

mod sqlite_idempotency {
    use nightshift_contract::IdempotencyFixture;
    use nightshift_local::{Db, SqliteStore};
    use std::sync::Arc;

    async fn make() -> IdempotencyFixture {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("nightshift.db")).unwrap();
        IdempotencyFixture {
            store: Arc::new(SqliteStore::new(db)),
            guard: Box::new(dir),
        }
    }

    nightshift_contract::idempotency_contract!(make);
}

mod sqlite_queue {
    use nightshift_contract::{MAX_RECEIVES, QueueFixture};
    use nightshift_core::clock::SystemClock;
    use std::sync::Arc;

    async fn make() -> QueueFixture {
        let b = crate::helpers::backend_with(MAX_RECEIVES, Arc::new(SystemClock));
        QueueFixture {
            queue: b.queue.clone(),
            guard: Box::new(b.dir),
        }
    }

    nightshift_contract::queue_contract!(make);
}

mod process_launcher {
    use nightshift_contract::LauncherFixture;
    use nightshift_local::ProcessLauncher;
    use std::sync::Arc;

    async fn make() -> LauncherFixture {
        let dir = tempfile::tempdir().unwrap();
        // The job id comes from the scrubbed environment, never from the command line.
        let script = r#"case "$NIGHTSHIFT_JOB_ID" in quick*) exit 0 ;; *) exec sleep 30 ;; esac"#;
        let launcher = ProcessLauncher::new(
            vec!["/bin/sh".into(), "-c".into(), script.into()],
            dir.path().join("jobs"),
            vec![],
        )
        .unwrap()
        .with_stop_grace(std::time::Duration::from_millis(500));
        LauncherFixture {
            launcher: Arc::new(launcher),
            guard: Box::new(dir),
        }
    }

    nightshift_contract::launcher_contract!(make);
}

mod file_log_source {
    use nightshift_contract::{LogSourceFixture, logs::seed};
    use nightshift_local::FileLogSource;
    use std::sync::Arc;

    async fn make() -> LogSourceFixture {
        let dir = tempfile::tempdir().unwrap();
        let text: String = seed().iter().map(|r| format!("{}\n", r.message)).collect();
        std::fs::write(dir.path().join("app.log"), text).unwrap();
        let source = FileLogSource::new(Some(dir.path().to_path_buf()));
        LogSourceFixture {
            source: Arc::new(source),
            name: "app.log".into(),
            guard: Box::new(dir),
        }
    }

    nightshift_contract::logs_contract!(make);
}

/// The same launcher contract with every job inside bubblewrap, and what the
/// sandbox keeps a job from doing.
mod sandboxed_launcher {
    use nightshift_contract::LauncherFixture;
    use nightshift_core::ports::{JobLauncher, LaunchRequest, LaunchState};
    use nightshift_local::{Bubblewrap, ProcessLauncher};
    use std::sync::Arc;

    fn launcher(dir: &std::path::Path, script: &str) -> ProcessLauncher {
        let sandbox = Bubblewrap::find(vec![dir.to_path_buf()], vec![dir.join("secrets")]).expect(
            "these tests need bubblewrap: apt-get install bubblewrap (scripts/test.sh installs it)",
        );
        ProcessLauncher::new(
            vec!["/bin/sh".into(), "-c".into(), script.into()],
            dir.join("jobs"),
            vec![],
        )
        .unwrap()
        .with_stop_grace(std::time::Duration::from_millis(500))
        .with_sandbox(Some(sandbox))
    }

    async fn make() -> LauncherFixture {
        let dir = tempfile::tempdir().unwrap();
        let script = r#"case "$NIGHTSHIFT_JOB_ID" in quick*) exit 0 ;; *) exec sleep 30 ;; esac"#;
        LauncherFixture {
            launcher: Arc::new(launcher(dir.path(), script)),
            guard: Box::new(dir),
        }
    }

    nightshift_contract::launcher_contract!(make);

    async fn exit_code(l: &ProcessLauncher, job: &str) -> i32 {
        let h = l
            .launch(&LaunchRequest {
                job_id: job.into(),
                attempt: 1,
            })
            .await
            .unwrap();
        for _ in 0..200 {
            if let LaunchState::Exited { code } = l.status(&h).await.unwrap() {
                return code;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("{job} did not exit");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sandboxed_job_writes_its_workdir_only_and_cannot_read_the_secrets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
        std::fs::write(dir.path().join("secrets/github_token"), "ghp_hidden").unwrap();
        let outside = tempfile::tempdir().unwrap();
        let probe = outside.path().join("probe");
        let secrets = dir.path().join("secrets/github_token");
        let script = format!(
            "touch made-here || exit 10; touch '{}' 2>/dev/null && exit 11; cat '{}' 2>/dev/null && exit 12; exit 0",
            probe.display(),
            secrets.display()
        );
        let l = launcher(dir.path(), &script);
        assert_eq!(
            exit_code(&l, "probe-1").await,
            0,
            "the workdir is writable, the rest read-only, the secrets hidden"
        );
        assert!(dir.path().join("jobs/probe-1/1/work/made-here").exists());
        assert!(!probe.exists());
    }
}
