//! Jobs and leases. Each operation reads and writes inside one immediate
//! transaction, so its check (state, lease token, expiry) and its write are one step.

use super::{SqliteStore, backend, from_json, ms, to_json};
use async_trait::async_trait;
use nightshift_core::job::{Job, JobOutcome, JobState, Lease, Reaped};
use nightshift_core::ports::{JobFilter, JobStore};
use nightshift_core::{StoreError, StoreResult, Timestamp, millis};
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;

fn get(conn: &Connection, id: &str) -> StoreResult<Option<Job>> {
    conn.prepare_cached("SELECT body FROM jobs WHERE id = ?1")
        .map_err(backend("job get"))?
        .query_row([id], |r| r.get::<_, String>(0))
        .optional()
        .map_err(backend("job get"))?
        .map(|b| from_json("job", id, &b))
        .transpose()
}

fn must_get(conn: &Connection, id: &str) -> StoreResult<Job> {
    get(conn, id)?.ok_or_else(|| StoreError::not_found("job", id))
}

fn save(conn: &Connection, job: &Job) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE jobs SET ticket_id = ?2, state = ?3, priority = ?4, lease_until_ms = ?5, deadline_ms = ?6, body = ?7
         WHERE id = ?1",
    )
    .map_err(backend("job save"))?
    .execute(params![
        job.id,
        job.ticket_id,
        job.state.as_str(),
        job.priority.rank(),
        job.lease_until.map(millis),
        job.deadline.map(millis),
        to_json(job),
    ])
    .map_err(backend("job save"))?;
    Ok(())
}

fn ids(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend("job query"))?;
    let rows = stmt
        .query_map(params, |r| r.get(0))
        .map_err(backend("job query"))?;
    rows.collect::<Result<_, _>>().map_err(backend("job row"))
}

fn take_lease(
    conn: &Connection,
    mut job: Job,
    owner: &str,
    lease: Duration,
    now: Timestamp,
) -> StoreResult<(Job, Lease)> {
    let until = now + chrono::Duration::milliseconds(ms(lease));
    let token = ulid::Ulid::new().to_string();
    job.state = JobState::Running;
    job.lease_owner = Some(owner.to_string());
    job.lease_token = Some(token.clone());
    job.lease_until = Some(until);
    job.updated_at = now;
    save(conn, &job)?;
    let lease = Lease {
        job_id: job.id.clone(),
        owner: owner.to_string(),
        token,
        until,
    };
    Ok((job, lease))
}

/// The job if `lease` still holds it (running, same token); else why not.
fn held(conn: &Connection, lease: &Lease) -> StoreResult<Job> {
    let job = must_get(conn, &lease.job_id)?;
    if job.state == JobState::Running && job.lease_token.as_deref() == Some(lease.token.as_str()) {
        return Ok(job);
    }
    Err(StoreError::conflict(
        "job",
        &lease.job_id,
        format!(
            "lease of {} was lost: the job is {} (attempt {}{})",
            lease.owner,
            job.state.as_str(),
            job.attempt,
            job.reason
                .as_deref()
                .map(|r| format!(", {r}"))
                .unwrap_or_default()
        ),
    ))
}

fn finish(
    conn: &Connection,
    mut job: Job,
    outcome: &JobOutcome,
    now: Timestamp,
) -> StoreResult<Job> {
    if !outcome.state.is_finished() {
        return Err(StoreError::conflict(
            "job",
            &job.id,
            format!("{} is not an end state", outcome.state.as_str()),
        ));
    }
    job.state = outcome.state;
    job.reason = outcome.reason.clone();
    job.tokens_used = job.tokens_used.max(outcome.tokens_used);
    job.lease_until = None;
    job.updated_at = now;
    save(conn, &job)?;
    Ok(job)
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn create_job(&self, job: &Job) -> StoreResult<(Job, bool)> {
        let job = job.clone();
        self.db
            .write(move |tx| {
                let n = tx
                    .execute(
                        "INSERT INTO jobs (id, ticket_id, state, priority, lease_until_ms, deadline_ms, body)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO NOTHING",
                        params![
                            job.id,
                            job.ticket_id,
                            job.state.as_str(),
                            job.priority.rank(),
                            job.lease_until.map(millis),
                            job.deadline.map(millis),
                            to_json(&job),
                        ],
                    )
                    .map_err(backend("job insert"))?;
                if n == 0 {
                    return Ok((must_get(tx, &job.id)?, false));
                }
                Ok((job, true))
            })
            .await
    }

    async fn get_job(&self, id: &str) -> StoreResult<Job> {
        let id = id.to_string();
        self.db.read(move |c| must_get(c, &id)).await
    }

    async fn list_jobs(&self, filter: &JobFilter) -> StoreResult<Vec<Job>> {
        let f = filter.clone();
        self.db
            .read(move |c| {
                let states: Vec<&str> = f.states.iter().map(|s| s.as_str()).collect();
                let states_json = serde_json::to_string(&states).expect("strings serialize");
                let mut stmt = c
                    .prepare_cached(
                        "SELECT id, body FROM jobs
                         WHERE (?1 IS NULL OR ticket_id = ?1)
                           AND (?2 = '[]' OR state IN (SELECT value FROM json_each(?2)))
                         ORDER BY seq DESC LIMIT ?3",
                    )
                    .map_err(backend("job list"))?;
                let rows = stmt
                    .query_map(
                        params![
                            f.ticket_id,
                            states_json,
                            f.limit.unwrap_or(100).min(1000) as i64
                        ],
                        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                    )
                    .map_err(backend("job list"))?;
                let mut out = Vec::new();
                for row in rows {
                    let (id, body) = row.map_err(backend("job row"))?;
                    out.push(from_json("job", &id, &body)?);
                }
                Ok(out)
            })
            .await
    }

    async fn claim_next(
        &self,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Option<(Job, Lease)>> {
        let owner = owner.to_string();
        self.db
            .write(move |tx| {
                let next: Option<(String, String)> = tx
                    .prepare_cached("SELECT id, body FROM jobs WHERE state = 'queued' ORDER BY priority DESC, seq LIMIT 1")
                    .map_err(backend("job claim"))?
                    .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(backend("job claim"))?;
                let Some((id, body)) = next else { return Ok(None) };
                let job: Job = from_json("job", &id, &body)?;
                take_lease(tx, job, &owner, lease, now).map(Some)
            })
            .await
    }

    async fn claim_job(
        &self,
        id: &str,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<(Job, Lease)> {
        let (id, owner) = (id.to_string(), owner.to_string());
        self.db
            .write(move |tx| {
                let job = must_get(tx, &id)?;
                if job.state != JobState::Queued {
                    return Err(StoreError::conflict(
                        "job",
                        &id,
                        format!(
                            "cannot claim a job that is {} (owner {:?})",
                            job.state.as_str(),
                            job.lease_owner
                        ),
                    ));
                }
                take_lease(tx, job, &owner, lease, now)
            })
            .await
    }

    async fn heartbeat(
        &self,
        lease: &Lease,
        extend: Duration,
        now: Timestamp,
    ) -> StoreResult<Lease> {
        let lease = lease.clone();
        self.db
            .write(move |tx| {
                let mut job = held(tx, &lease)?;
                let until = now + chrono::Duration::milliseconds(ms(extend));
                job.lease_until = Some(until);
                job.updated_at = now;
                save(tx, &job)?;
                Ok(Lease { until, ..lease })
            })
            .await
    }

    async fn complete_job(
        &self,
        lease: &Lease,
        outcome: &JobOutcome,
        now: Timestamp,
    ) -> StoreResult<Job> {
        let (lease, outcome) = (lease.clone(), outcome.clone());
        self.db
            .write(move |tx| {
                let job = must_get(tx, &lease.job_id)?;
                // The same completion again (a retried call) returns what it did.
                if job.state == outcome.state
                    && job.lease_token.as_deref() == Some(lease.token.as_str())
                {
                    return Ok(job);
                }
                let job = held(tx, &lease)?;
                finish(tx, job, &outcome, now)
            })
            .await
    }

    async fn record_launch(
        &self,
        id: &str,
        attempt: u32,
        handle: &str,
        now: Timestamp,
    ) -> StoreResult<Job> {
        let (id, handle) = (id.to_string(), handle.to_string());
        self.db
            .write(move |tx| {
                let mut job = must_get(tx, &id)?;
                if job.attempt != attempt || job.state.is_finished() {
                    return Err(StoreError::conflict(
                        "job",
                        &id,
                        format!(
                            "launch of attempt {attempt} is stale: the job is {} at attempt {}",
                            job.state.as_str(),
                            job.attempt
                        ),
                    ));
                }
                job.launch_handle = Some(handle);
                job.launched_attempt = Some(attempt);
                job.updated_at = now;
                save(tx, &job)?;
                Ok(job)
            })
            .await
    }

    async fn finish_job(&self, id: &str, outcome: &JobOutcome, now: Timestamp) -> StoreResult<Job> {
        let (id, outcome) = (id.to_string(), outcome.clone());
        self.db
            .write(move |tx| {
                let job = must_get(tx, &id)?;
                if job.state.is_finished() {
                    if job.state == outcome.state {
                        return Ok(job);
                    }
                    return Err(StoreError::conflict(
                        "job",
                        &id,
                        format!("already {}", job.state.as_str()),
                    ));
                }
                finish(tx, job, &outcome, now)
            })
            .await
    }

    async fn reap_jobs(&self, now: Timestamp) -> StoreResult<Vec<Reaped>> {
        self.db
            .write(move |tx| {
                let now_ms = millis(now);
                let mut out = Vec::new();
                let overdue = ids(
                    tx,
                    "SELECT id FROM jobs WHERE state IN ('queued', 'running') AND deadline_ms IS NOT NULL AND deadline_ms < ?1",
                    [now_ms],
                )?;
                for id in overdue {
                    let job = must_get(tx, &id)?;
                    let reason = format!(
                        "deadline passed at {} (attempt {}, {})",
                        job.deadline.map(|d| d.to_rfc3339()).unwrap_or_default(),
                        job.attempt,
                        job.state.as_str()
                    );
                    let outcome = JobOutcome { state: JobState::Failed, reason: Some(reason), tokens_used: job.tokens_used };
                    out.push(Reaped::Failed { job: finish(tx, job, &outcome, now)? });
                }
                let expired = ids(tx, "SELECT id FROM jobs WHERE state = 'running' AND lease_until_ms < ?1", [now_ms])?;
                for id in expired {
                    let mut job = must_get(tx, &id)?;
                    let who = job.lease_owner.clone().unwrap_or_default();
                    let when = job.lease_until.map(|d| d.to_rfc3339()).unwrap_or_default();
                    if job.attempt >= job.max_attempts {
                        let reason = format!("worker {who} lost its lease at {when} on the last of {} attempts", job.max_attempts);
                        let outcome = JobOutcome { state: JobState::Failed, reason: Some(reason), tokens_used: job.tokens_used };
                        out.push(Reaped::Failed { job: finish(tx, job, &outcome, now)? });
                    } else {
                        job.state = JobState::Queued;
                        job.attempt += 1;
                        job.lease_until = None;
                        job.lease_owner = None;
                        job.lease_token = None;
                        job.reason = Some(format!("requeued: lease of worker {who} expired at {when}"));
                        job.updated_at = now;
                        save(tx, &job)?;
                        out.push(Reaped::Requeued { job });
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn count_active_jobs(&self) -> StoreResult<u64> {
        self.db
            .read(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n as u64)
                .map_err(backend("job count"))
            })
            .await
    }
}
