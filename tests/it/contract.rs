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
