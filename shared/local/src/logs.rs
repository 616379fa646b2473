//! Log files as a log source. Lines carry no structured timestamp; a line whose
//! head starts with an RFC 3339 date-time gets it as `at`, so `since` filtering
//! works on such files, and lines without one are always included.

use async_trait::async_trait;
use nightshift_core::Timestamp;
use nightshift_core::ports::{LogRecord, LogSource, LogSourceError};
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct FileLogSource {
    /// Relative source names resolve against this directory.
    root: Option<PathBuf>,
}

impl FileLogSource {
    pub fn new(root: Option<PathBuf>) -> Self {
        Self { root }
    }
}

fn leading_time(line: &str) -> Option<Timestamp> {
    let head = line.split_whitespace().next()?;
    chrono::DateTime::parse_from_rfc3339(head)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

#[async_trait]
impl LogSource for FileLogSource {
    async fn fetch(
        &self,
        source: &str,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<LogRecord>, LogSourceError> {
        let mut path = PathBuf::from(source);
        if let (Some(root), true) = (&self.root, path.is_relative()) {
            path = root.join(path);
        }
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LogSourceError::NotFound {
                    source_name: source.to_string(),
                });
            }
            Err(e) => {
                return Err(LogSourceError::Backend {
                    source_name: source.to_string(),
                    source: Box::new(e),
                });
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| LogRecord {
                at: leading_time(l),
                message: l.to_string(),
            })
            .filter(|r| match (since, r.at) {
                (Some(s), Some(at)) => at >= s,
                _ => true,
            })
            .take(limit)
            .collect())
    }
}
