//! Registry lookups against a loopback stand-in.

use super::*;
use crate::gate::GateStatus;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use std::collections::HashMap;
use std::sync::Mutex;

/// Answers each path with a fixed status (404 otherwise), slowly for paths
/// under `/slow`, and records every path it was asked for.
#[derive(Clone, Default)]
struct Stand {
    statuses: Arc<HashMap<&'static str, u16>>,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn answer(State(stand): State<Stand>, uri: Uri) -> StatusCode {
    let path = uri.path().to_string();
    stand.seen.lock().unwrap().push(path.clone());
    if path.starts_with("/slow") {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let status = stand.statuses.get(path.as_str()).copied().unwrap_or(404);
    StatusCode::from_u16(status).unwrap()
}

async fn serve(statuses: &[(&'static str, u16)]) -> (String, Stand) {
    let stand = Stand {
        statuses: Arc::new(statuses.iter().copied().collect()),
        ..Stand::default()
    };
    let app = Router::new().fallback(answer).with_state(stand.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, stand)
}

fn checker(base: &str, timeout: Duration) -> RegistryChecker {
    RegistryChecker::new(RegistryConfig {
        crates_index: base.to_string(),
        pypi: base.to_string(),
        npm: base.to_string(),
        timeout,
        cache_ttl: Duration::from_secs(60),
    })
}

fn dep(ecosystem: Ecosystem, name: &str) -> Dependency {
    Dependency {
        ecosystem,
        name: name.into(),
        manifest: "m".into(),
    }
}

#[tokio::test]
async fn statuses_map_to_answers_and_only_answers_are_cached() {
    let (base, stand) = serve(&[
        ("/se/rd/serde", 200),
        ("/pypi/flask-login/json", 200),
        ("/@types%2fnode", 200),
        ("/yanked-pkg", 410),
        ("/pypi/flaky/json", 503),
    ])
    .await;
    let c = checker(&base, Duration::from_secs(5));
    assert_eq!(
        c.check(&dep(Ecosystem::Crates, "Serde")).await,
        Existence::Exists
    );
    assert_eq!(
        c.check(&dep(Ecosystem::Crates, "serde_jsonx")).await,
        Existence::Missing
    );
    assert_eq!(
        c.check(&dep(Ecosystem::PyPI, "Flask_Login")).await,
        Existence::Exists
    );
    assert_eq!(
        c.check(&dep(Ecosystem::Npm, "@types/node")).await,
        Existence::Exists
    );
    assert_eq!(
        c.check(&dep(Ecosystem::Npm, "yanked-pkg")).await,
        Existence::Missing
    );
    assert_eq!(
        c.check(&dep(Ecosystem::PyPI, "flaky")).await,
        Existence::Unverified("PyPI answered HTTP 503".into())
    );
    assert_eq!(c.cached(), 5);
    let asked = stand.seen.lock().unwrap().len();
    assert_eq!(asked, 6);

    // Cached answers are not asked again (through a clone, sharing the
    // cache); the unverified one is.
    let clone = c.clone();
    assert_eq!(
        clone.check(&dep(Ecosystem::Crates, "serde")).await,
        Existence::Exists
    );
    assert_eq!(
        clone.check(&dep(Ecosystem::Crates, "serde_jsonx")).await,
        Existence::Missing
    );
    assert!(matches!(
        clone.check(&dep(Ecosystem::PyPI, "flaky")).await,
        Existence::Unverified(_)
    ));
    assert_eq!(stand.seen.lock().unwrap()[asked..], ["/pypi/flaky/json"]);
}

#[tokio::test]
async fn expired_answers_are_asked_again() {
    let (base, stand) = serve(&[("/se/rd/serde", 200)]).await;
    let mut config = checker(&base, Duration::from_secs(5)).config().clone();
    config.cache_ttl = Duration::ZERO;
    let c = RegistryChecker::new(config);
    c.check(&dep(Ecosystem::Crates, "serde")).await;
    c.check(&dep(Ecosystem::Crates, "serde")).await;
    assert_eq!(stand.seen.lock().unwrap().len(), 2);
    assert_eq!(c.cached(), 0);
}

#[tokio::test]
async fn invalid_names_are_unverified_without_a_request() {
    let (base, stand) = serve(&[]).await;
    let c = checker(&base, Duration::from_secs(5));
    let answer = c.check(&dep(Ecosystem::Npm, "../../admin")).await;
    assert_eq!(
        answer,
        Existence::Unverified("npm: `../../admin` is not a valid npm package name".into())
    );
    assert!(stand.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_unverified() {
    let (base, _stand) = serve(&[]).await;
    let slow = checker(&format!("{base}/slow"), Duration::from_millis(300));
    let Existence::Unverified(why) = slow.check(&dep(Ecosystem::Crates, "serde")).await else {
        panic!("a timeout must be unverified")
    };
    assert!(why.starts_with("crates.io did not answer within"), "{why}");

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let Existence::Unverified(why) = checker(&closed, Duration::from_secs(5))
        .check(&dep(Ecosystem::Npm, "left-pad"))
        .await
    else {
        panic!("a refused connection must be unverified")
    };
    assert!(why.starts_with("npm could not be reached"), "{why}");
    assert_eq!(slow.cached(), 0);
}

fn change(path: &str, before: Option<&str>, after: Option<&str>) -> ManifestChange {
    ManifestChange {
        path: path.into(),
        before: before.map(Into::into),
        after: after.map(Into::into),
    }
}

#[tokio::test]
async fn gate_summaries() {
    let (base, _stand) = serve(&[("/se/rd/serde", 200), ("/pypi/flaky/json", 503)]).await;
    let c = checker(&base, Duration::from_secs(5));
    let cargo = |deps: &str| change("Cargo.toml", None, Some(&format!("[dependencies]\n{deps}")));

    let none = dependencies_gate(&[change("README.md", None, Some("x"))], &c).await;
    assert_eq!(
        (none.status, none.summary.as_str()),
        (GateStatus::Pass, "no new dependencies")
    );

    let ok = dependencies_gate(&[cargo("serde = \"1\"\n")], &c).await;
    assert_eq!(
        (ok.status, ok.summary.as_str()),
        (GateStatus::Pass, "1 new dependency checked, all exist")
    );

    let unparsed =
        dependencies_gate(&[change("Cargo.toml", None, Some("[dependencies"))], &c).await;
    assert_eq!(unparsed.status, GateStatus::Unverified);
    assert_eq!(
        unparsed.summary,
        "could not verify 1 manifest that did not parse"
    );
    assert!(
        unparsed.findings[0]
            .message
            .starts_with("could not verify new dependencies: Cargo.toml: invalid TOML")
    );

    let flaky = dependencies_gate(&[change("requirements.txt", None, Some("flaky\n"))], &c).await;
    assert_eq!(flaky.status, GateStatus::Unverified);
    assert_eq!(flaky.summary, "could not verify 1 of 1 new dependencies");
    assert_eq!(
        flaky.findings[0].message,
        "could not verify `flaky` on PyPI: PyPI answered HTTP 503"
    );

    // Missing beats unverified: the change is wrong whatever the rest says.
    let both = dependencies_gate(
        &[
            cargo("serde = \"1\"\nnope_nope = \"1\"\n"),
            change("requirements.txt", None, Some("flaky\n")),
        ],
        &c,
    )
    .await;
    assert_eq!(both.status, GateStatus::Fail);
    assert_eq!(
        both.summary,
        "1 new dependency does not exist: `nope_nope` (crates.io)"
    );
    assert_eq!(both.findings.len(), 2);
}
