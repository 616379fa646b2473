use crate::LauncherFixture;
use nightshift_core::ports::{LaunchRequest, LaunchState};
use std::time::Duration;

async fn wait_for(
    f: &LauncherFixture,
    handle: &str,
    done: impl Fn(&LaunchState) -> bool,
) -> LaunchState {
    let mut last = LaunchState::Unknown;
    for _ in 0..200 {
        last = f.launcher.status(handle).await.unwrap();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{handle} never reached the expected state; last {last:?}");
}

pub async fn launcher_launch_is_idempotent(f: LauncherFixture) {
    let req = LaunchRequest {
        job_id: "slow-1".into(),
        attempt: 1,
    };
    let a = f.launcher.launch(&req).await.unwrap();
    let b = f.launcher.launch(&req).await.unwrap();
    assert_eq!(a, b, "the same job and attempt launch once");
    let c = f
        .launcher
        .launch(&LaunchRequest { attempt: 2, ..req })
        .await
        .unwrap();
    assert_ne!(a, c, "a new attempt is a new launch");
    for h in [&a, &c] {
        wait_for(&f, h, |s| matches!(s, LaunchState::Running)).await;
        f.launcher.stop(h, "test over").await.unwrap();
    }
}

pub async fn launcher_stop_stops(f: LauncherFixture) {
    let h = f
        .launcher
        .launch(&LaunchRequest {
            job_id: "slow-2".into(),
            attempt: 1,
        })
        .await
        .unwrap();
    wait_for(&f, &h, |s| matches!(s, LaunchState::Running)).await;
    f.launcher.stop(&h, "deadline passed").await.unwrap();
    let end = wait_for(&f, &h, |s| matches!(s, LaunchState::Stopped { .. })).await;
    assert_eq!(
        end,
        LaunchState::Stopped {
            reason: "deadline passed".into()
        }
    );
}

pub async fn launcher_reports_exit(f: LauncherFixture) {
    let h = f
        .launcher
        .launch(&LaunchRequest {
            job_id: "quick-1".into(),
            attempt: 1,
        })
        .await
        .unwrap();
    let end = wait_for(&f, &h, |s| matches!(s, LaunchState::Exited { .. })).await;
    assert_eq!(end, LaunchState::Exited { code: 0 });
}
