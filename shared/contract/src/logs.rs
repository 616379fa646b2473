use crate::{LogSourceFixture, secs};
use nightshift_core::Timestamp;

/// When the seeded records start: two hours before the process started, to
/// the minute. Not the fixed `t0` of the store cases: CloudWatch Logs refuses
/// events older than 14 days, so a log source's records must be recent.
pub fn t0() -> Timestamp {
    static T0: std::sync::LazyLock<Timestamp> = std::sync::LazyLock::new(|| {
        let t = chrono::Utc::now() - chrono::Duration::hours(2);
        chrono::DateTime::from_timestamp(t.timestamp() - t.timestamp() % 60, 0)
            .expect("a valid time")
    });
    *T0
}
use nightshift_core::ports::{LogRecord, LogSourceError};

/// What every fixture's source holds, oldest first.
pub fn seed() -> Vec<LogRecord> {
    (0..5)
        .map(|i| LogRecord {
            at: Some(t0() + secs(60 * i)),
            message: format!(
                "{} ERROR request {i} failed: connection reset",
                (t0() + secs(60 * i)).to_rfc3339()
            ),
        })
        .collect()
}

pub async fn logs_fetch_returns_records_in_order(f: LogSourceFixture) {
    let got = f.source.fetch(&f.name, None, 100).await.unwrap();
    assert_eq!(got, seed());
    assert_eq!(
        f.source.fetch(&f.name, None, 2).await.unwrap(),
        seed()[..2].to_vec(),
        "the limit holds"
    );
}

pub async fn logs_fetch_since_skips_older_records(f: LogSourceFixture) {
    let got = f
        .source
        .fetch(&f.name, Some(t0() + secs(120)), 100)
        .await
        .unwrap();
    assert_eq!(got, seed()[2..].to_vec());
}

pub async fn logs_missing_source_is_not_found(f: LogSourceFixture) {
    let err = f.source.fetch("no-such-log", None, 10).await.unwrap_err();
    assert!(matches!(err, LogSourceError::NotFound { .. }), "{err}");
}
