//! Job routes: what the workers are doing, how far they got, and their logs.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use nightshift_core::audit::AuditEvent;
use nightshift_core::job::{Job, JobState};
use nightshift_core::ports::JobFilter;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// `running`, `queued`, `active` (both), `succeeded`, `failed`,
    /// `cancelled`, or `all` (the default).
    pub state: Option<String>,
    /// At most this many, newest first (default 50, at most 200).
    pub limit: Option<usize>,
}

/// How far a job's session got, from its ticket's audit trail.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct JobProgress {
    /// `tool_call` events recorded for this job.
    pub tool_calls: u64,
    /// The tool of the latest of them.
    pub last_tool: Option<String>,
    /// When the latest event about this job was recorded.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_event_at: Option<nightshift_core::Timestamp>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    #[serde(flatten)]
    pub job: Job,
    /// The title of the job's ticket, if it has one.
    pub ticket_title: Option<String>,
    pub progress: JobProgress,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
}

fn states(q: Option<&str>) -> Result<Vec<JobState>, ApiError> {
    match q {
        None | Some("") | Some("all") => Ok(vec![]),
        Some("active") => Ok(vec![JobState::Running, JobState::Queued]),
        Some(s) => JobState::parse(s).map(|s| vec![s]).ok_or_else(|| {
            ApiError::bad_request(
                Some("state"),
                format!(
                    "state: unknown job state `{s}`, expected running, queued, active, \
                     succeeded, failed, cancelled or all"
                ),
            )
        }),
    }
}

/// The progress of `job_id` among its ticket's audit events.
pub fn progress(events: &[AuditEvent], job_id: &str) -> JobProgress {
    let mut p = JobProgress::default();
    for e in events
        .iter()
        .filter(|e| e.detail.get("job_id").and_then(|v| v.as_str()) == Some(job_id))
    {
        p.last_event_at = Some(e.at);
        if e.action == "tool_call" {
            p.tool_calls += 1;
            p.last_tool = e
                .detail
                .get("tool")
                .and_then(|v| v.as_str())
                .map(Into::into);
        }
    }
    p
}

/// Jobs, newest first, each with its progress: how many tools its session
/// called and the last one.
#[utoipa::path(
    get, path = "/jobs", tag = "jobs", params(JobsQuery),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn list_jobs(
    State(s): State<AppState>,
    Query(q): Query<JobsQuery>,
) -> Result<Json<JobList>, ApiError> {
    let filter = JobFilter {
        ticket_id: None,
        states: states(q.state.as_deref())?,
        limit: Some(q.limit.unwrap_or(50).clamp(1, 200)),
    };
    let st = &s.deps.stores;
    let jobs = st.jobs.list_jobs(&filter).await?;
    // One read of each ticket's trail, however many of its jobs are listed.
    let mut trails: HashMap<String, (Option<String>, Vec<AuditEvent>)> = HashMap::new();
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let (ticket_title, progress) = match &job.ticket_id {
            Some(t) => {
                if !trails.contains_key(t) {
                    let title = match st.tickets.get_ticket(t).await {
                        Ok(ticket) => Some(ticket.title),
                        Err(e) if e.is_not_found() => None,
                        Err(e) => return Err(e.into()),
                    };
                    trails.insert(t.clone(), (title, st.audit.events_for_ticket(t).await?));
                }
                let (title, events) = &trails[t];
                (title.clone(), progress(events, &job.id))
            }
            None => (None, JobProgress::default()),
        };
        out.push(JobView {
            job,
            ticket_title,
            progress,
        });
    }
    Ok(Json(JobList { jobs: out }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// The last this many lines of each stream (default 200, at most 2000).
    pub tail: Option<usize>,
}

/// The end of one of a job's output streams.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct LogTail {
    /// The last lines, joined by newlines (invalid UTF-8 replaced).
    pub text: String,
    /// Whether earlier output was left out.
    pub truncated: bool,
    /// Whether the stream's file exists here (in AWS the logs are in CloudWatch).
    pub found: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobLog {
    pub job_id: String,
    /// The attempt whose output this is.
    pub attempt: u32,
    pub stderr: LogTail,
    pub stdout: LogTail,
}

/// At most this much of the end of a log is read.
const MAX_TAIL_BYTES: u64 = 256 * 1024;

/// The last `lines` lines of `dir/name`. The file must be a regular file
/// directly inside `dir` (a symbolic link planted by the job is not followed).
fn tail_of(dir: &std::path::Path, name: &str, lines: usize) -> LogTail {
    use std::io::{Read, Seek, SeekFrom};
    let path = dir.join(name);
    let Ok(meta) = std::fs::symlink_metadata(&path) else {
        return LogTail::default();
    };
    if !meta.file_type().is_file() {
        return LogTail::default();
    }
    let Ok(mut f) = std::fs::File::open(&path) else {
        return LogTail::default();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(MAX_TAIL_BYTES);
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(start)).is_err()
        || f.take(MAX_TAIL_BYTES).read_to_end(&mut buf).is_err()
    {
        return LogTail::default();
    }
    let text = String::from_utf8_lossy(&buf);
    let mut all: Vec<&str> = text.lines().collect();
    // A partial first line, when the read started mid-file.
    let mut truncated = start > 0;
    if start > 0 && !all.is_empty() {
        all.remove(0);
    }
    if all.len() > lines {
        all.drain(..all.len() - lines);
        truncated = true;
    }
    LogTail {
        text: all.join("\n"),
        truncated,
        found: true,
    }
}

/// A job id usable as one directory name: never `..`, a separator or empty.
fn one_component(id: &str) -> bool {
    let mut c = std::path::Path::new(id).components();
    matches!(c.next(), Some(std::path::Component::Normal(n)) if n == id)
        && c.next().is_none()
        && !id.contains(['/', '\\', '\0'])
}

/// The tail of a job's output (stderr, where the worker logs, and stdout),
/// for its latest launched attempt. The job must exist; its directory is
/// found from the stored job, never from the request's path.
#[utoipa::path(
    get, path = "/jobs/{id}/log", tag = "jobs",
    params(("id" = String, Path, description = "Job id"), LogQuery),
    responses((status = 200, body = JobLog), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn job_log(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LogQuery>,
) -> Result<Json<JobLog>, ApiError> {
    let job = s.deps.stores.jobs.get_job(&id).await?;
    let attempt = job.launched_attempt.unwrap_or(job.attempt);
    let lines = q.tail.unwrap_or(200).clamp(1, 2000);
    if !one_component(&job.id) {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            body: ErrorBody {
                error: "this job has no log directory".into(),
                field: None,
            },
        });
    }
    let dir: PathBuf = s
        .deps
        .settings
        .jobs_dir()
        .join(&job.id)
        .join(attempt.to_string());
    let (stderr, stdout) = tokio::task::spawn_blocking(move || {
        (
            tail_of(&dir, "stderr.log", lines),
            tail_of(&dir, "stdout.log", lines),
        )
    })
    .await
    .map_err(|e| ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        body: ErrorBody {
            error: format!("reading the log failed: {e}"),
            field: None,
        },
    })?;
    Ok(Json(JobLog {
        job_id: job.id,
        attempt,
        stderr,
        stdout,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_make_a_directory() {
        for ok in ["calc-add-r1", "01J.b2", "a..b"] {
            assert!(one_component(ok), "{ok}");
        }
        for bad in ["", ".", "..", "../x", "a/b", "/etc", "a\\b", "x\0"] {
            assert!(!one_component(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_tail_keeps_the_last_lines_and_says_what_it_left_out() {
        let d = tempdir();
        std::fs::write(d.join("stderr.log"), "one\ntwo\nthree\n").unwrap();
        let t = tail_of(&d, "stderr.log", 2);
        assert_eq!(
            (t.text.as_str(), t.truncated, t.found),
            ("two\nthree", true, true)
        );
        let t = tail_of(&d, "stderr.log", 5);
        assert_eq!((t.text.as_str(), t.truncated), ("one\ntwo\nthree", false));
        assert!(!tail_of(&d, "stdout.log", 5).found);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/passwd", d.join("stdout.log")).unwrap();
            let t = tail_of(&d, "stdout.log", 5);
            assert!(
                !t.found && t.text.is_empty(),
                "a symbolic link is not followed"
            );
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "nightshift-api-log-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
