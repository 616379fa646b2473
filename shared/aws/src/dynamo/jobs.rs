//! Jobs and leases. Each job item carries a revision number that every write
//! increments, and every write is conditional on the revision it was computed
//! from: a claim, heartbeat or completion decides on the job as it was read
//! (state, lease token, attempt), and the condition makes that read and the
//! write one step. A lost race returns the current item (`ALL_OLD`), and the
//! operation decides again on it, without another read.
//!
//! Queued jobs are in a sparse index by priority then age (`claim_next` takes
//! candidates from it and claims with a conditional write on the table);
//! running jobs in one by lease end, unfinished jobs with a deadline in one by
//! deadline (`reap_jobs` reads only what is due). Listings read the per-state
//! index (every state, merged, when none is asked for) or the per-ticket one.

use super::table::{GSI1, GSI2, GSI3, GSI4, GSI5, ord};
use super::{DynamoStore, Item, Query, body, jitter, n, need_n, random_below, s, to_json};
use async_trait::async_trait;
use nightshift_core::job::{Job, JobOutcome, JobState, Lease, Reaped};
use nightshift_core::ports::{JobFilter, JobStore};
use nightshift_core::{StoreError, StoreResult, Timestamp, millis};
use std::collections::HashMap;
use std::time::Duration;

const SK: &str = "JOB";
const MAX_LIST: usize = 1000;
/// Queued jobs `claim_next` considers per query.
const CANDIDATES: usize = 25;
/// Queries `claim_next` makes before it gives up (each after losing every
/// candidate of the one before to other claimers).
const CLAIM_ROUNDS: u32 = 50;
const ALL_STATES: [JobState; 5] = [
    JobState::Queued,
    JobState::Running,
    JobState::Succeeded,
    JobState::Failed,
    JobState::Cancelled,
];
/// How often one operation decides again after losing a race on the same job.
const MAX_ATTEMPTS: u32 = 32;

fn pk(id: &str) -> String {
    format!("JOB#{id}")
}

fn by_age(job: &Job) -> String {
    format!("{}#{}", ord(millis(job.created_at)), job.id)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A job as stored, with its revision.
struct Stored {
    job: Job,
    rev: u64,
}

fn job_item(job: &Job, rev: u64) -> Item {
    let state = job.state.as_str();
    let mut item = HashMap::from([
        ("pk".to_string(), s(pk(&job.id))),
        ("sk".to_string(), s(SK)),
        ("id".to_string(), s(&job.id)),
        ("state".to_string(), s(state)),
        ("priority".to_string(), n(job.priority.rank())),
        ("rev".to_string(), n(rev)),
        ("created_ms".to_string(), n(millis(job.created_at))),
        ("body".to_string(), s(to_json(job))),
        (GSI3.pk.to_string(), s(format!("JOBS#STATE#{state}"))),
        (GSI3.sk.to_string(), s(by_age(job))),
    ]);
    if let Some(t) = &job.ticket_id {
        item.insert("ticket_id".into(), s(t));
        item.insert(GSI2.pk.into(), s(format!("JOBS#TICKET#{t}")));
        item.insert(GSI2.sk.into(), s(by_age(job)));
    }
    if job.state == JobState::Queued {
        item.insert(GSI1.pk.into(), s("JOBS#QUEUED"));
        item.insert(
            GSI1.sk.into(),
            s(format!("{}#{}", ord(-job.priority.rank()), by_age(job))),
        );
    }
    if let (JobState::Running, Some(until)) = (job.state, job.lease_until) {
        item.insert("lease_until_ms".into(), n(millis(until)));
        item.insert(GSI5.pk.into(), s("JOBS#RUNNING"));
        item.insert(
            GSI5.sk.into(),
            s(format!("{}#{}", ord(millis(until)), job.id)),
        );
    }
    if let (false, Some(deadline)) = (job.state.is_finished(), job.deadline) {
        item.insert("deadline_ms".into(), n(millis(deadline)));
        item.insert(GSI4.pk.into(), s("JOBS#DEADLINE"));
        item.insert(
            GSI4.sk.into(),
            s(format!("{}#{}", ord(millis(deadline)), job.id)),
        );
    }
    item
}

fn decode(item: &Item) -> StoreResult<Stored> {
    Ok(Stored {
        job: body("job", item)?,
        rev: need_n("job", item, "rev")?,
    })
}

fn decode_jobs(items: Vec<Item>) -> StoreResult<Vec<Job>> {
    items.iter().map(|i| decode(i).map(|s| s.job)).collect()
}

/// What an operation decided on the job as it found it: the job to write
/// (none: write nothing) and what to answer once that is done.
struct Decision<T> {
    write: Option<Job>,
    answer: T,
}

impl<T> Decision<T> {
    fn write(job: Job, answer: T) -> Self {
        Self {
            write: Some(job),
            answer,
        }
    }
    fn answer(answer: T) -> Self {
        Self {
            write: None,
            answer,
        }
    }
}

fn take_lease(mut job: Job, owner: &str, lease: Duration, now: Timestamp) -> (Job, Lease) {
    let until = now + chrono::Duration::milliseconds(ms(lease));
    let token = ulid_token();
    job.state = JobState::Running;
    job.lease_owner = Some(owner.to_string());
    job.lease_token = Some(token.clone());
    job.lease_until = Some(until);
    job.updated_at = now;
    let lease = Lease {
        job_id: job.id.clone(),
        owner: owner.to_string(),
        token,
        until,
    };
    (job, lease)
}

/// A fresh lease token (a ULID: unique, never reused).
fn ulid_token() -> String {
    nightshift_core::new_id("lease")
}

/// The job if `lease` still holds it (running, same token); else why not.
fn held(job: &Job, lease: &Lease) -> StoreResult<()> {
    if job.state == JobState::Running && job.lease_token.as_deref() == Some(lease.token.as_str()) {
        return Ok(());
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

fn finished(mut job: Job, outcome: &JobOutcome, now: Timestamp) -> StoreResult<Job> {
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
    Ok(job)
}

fn failed(job: &Job, reason: String) -> JobOutcome {
    JobOutcome {
        state: JobState::Failed,
        reason: Some(reason),
        tokens_used: job.tokens_used,
    }
}

impl DynamoStore {
    async fn read_job(&self, id: &str) -> StoreResult<Stored> {
        match self.get(&pk(id), SK).await? {
            Some(item) => decode(&item),
            None => Err(StoreError::not_found("job", id)),
        }
    }

    /// Decides with `decide` on the job as stored (`seen`, or read now) and
    /// writes what it decided, conditional on the revision it decided on. A
    /// lost race decides again on the job the failed condition returned.
    async fn modify_job<T>(
        &self,
        id: &str,
        mut seen: Option<Stored>,
        mut decide: impl FnMut(Job) -> StoreResult<Decision<T>>,
    ) -> StoreResult<T> {
        for _ in 0..MAX_ATTEMPTS {
            let cur = match seen.take() {
                Some(s) => s,
                None => self.read_job(id).await?,
            };
            let Decision { write, answer } = decide(cur.job)?;
            let Some(job) = write else {
                return Ok(answer);
            };
            let item = job_item(&job, cur.rev + 1);
            match self
                .put(item, Some("#rev = :rev"), vec![(":rev", n(cur.rev))])
                .await?
            {
                Ok(()) => return Ok(answer),
                Err(Some(now)) => seen = Some(decode(&now)?),
                Err(None) => return Err(StoreError::not_found("job", id)),
            }
        }
        Err(StoreError::conflict(
            "job",
            id,
            format!("it changed under {MAX_ATTEMPTS} attempts in a row; try again"),
        ))
    }

    /// Jobs of one index partition, newest first.
    async fn newest(&self, q: Query, limit: usize) -> StoreResult<Vec<Job>> {
        decode_jobs(self.query(q.backward().limit(limit)).await?)
    }
}

#[async_trait]
impl JobStore for DynamoStore {
    async fn create_job(&self, job: &Job) -> StoreResult<(Job, bool)> {
        match self
            .put(job_item(job, 1), Some("attribute_not_exists(#pk)"), vec![])
            .await?
        {
            Ok(()) => Ok((job.clone(), true)),
            Err(Some(old)) => Ok((decode(&old)?.job, false)),
            Err(None) => Ok((self.read_job(&job.id).await?.job, false)),
        }
    }

    async fn get_job(&self, id: &str) -> StoreResult<Job> {
        Ok(self.read_job(id).await?.job)
    }

    async fn list_jobs(&self, filter: &JobFilter) -> StoreResult<Vec<Job>> {
        let limit = filter.limit.unwrap_or(100).min(MAX_LIST);
        if let Some(ticket) = &filter.ticket_id {
            let mut jobs = self
                .newest(
                    Query::new(GSI2, format!("JOBS#TICKET#{ticket}")),
                    usize::MAX,
                )
                .await?;
            if !filter.states.is_empty() {
                jobs.retain(|j| filter.states.contains(&j.state));
            }
            jobs.truncate(limit);
            return Ok(jobs);
        }
        // No state asked for: every state, merged by age.
        let mut states = if filter.states.is_empty() {
            ALL_STATES.to_vec()
        } else {
            filter.states.clone()
        };
        states.sort_by_key(|s| s.as_str());
        states.dedup();
        let mut jobs = Vec::new();
        for state in states {
            let q = Query::new(GSI3, format!("JOBS#STATE#{}", state.as_str()));
            jobs.extend(self.newest(q, limit).await?);
        }
        jobs.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        jobs.truncate(limit);
        Ok(jobs)
    }

    async fn claim_next(
        &self,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Option<(Job, Lease)>> {
        for _ in 0..CLAIM_ROUNDS {
            let page = self
                .query(Query::new(GSI1, "JOBS#QUEUED").limit(CANDIDATES))
                .await?;
            if page.is_empty() {
                return Ok(None);
            }
            let mut candidates = page.iter().map(decode).collect::<StoreResult<Vec<_>>>()?;
            let mut first = true;
            while !candidates.is_empty() {
                // The best candidate first; after a lost race, one at random
                // among the rest of the best priority, so that claimers
                // racing down the same page spread out instead of colliding
                // on every job.
                let pick = if first {
                    0
                } else {
                    let rank = candidates[0].job.priority;
                    let same = candidates
                        .iter()
                        .take_while(|c| c.job.priority == rank)
                        .count();
                    random_below(same as u64) as usize
                };
                first = false;
                let cand = candidates.remove(pick);
                let id = cand.job.id.clone();
                let claimed = self
                    .modify_job(&id, Some(cand), |job| {
                        if job.state != JobState::Queued {
                            return Ok(Decision::answer(None));
                        }
                        let (job, lease) = take_lease(job, owner, lease, now);
                        Ok(Decision::write(job.clone(), Some((job, lease))))
                    })
                    .await;
                match claimed {
                    Ok(Some(won)) => return Ok(Some(won)),
                    Ok(None) => {}
                    // Deleted under us: another candidate will do.
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
            // Every candidate was taken by others (or the index had not caught
            // up yet): look again after a moment.
            tokio::time::sleep(Duration::from_millis(1) + jitter(20)).await;
        }
        // Still losing every race: say none for now; the caller polls again.
        Ok(None)
    }

    async fn claim_job(
        &self,
        id: &str,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<(Job, Lease)> {
        self.modify_job(id, None, |job| {
            if job.state != JobState::Queued {
                return Err(StoreError::conflict(
                    "job",
                    id,
                    format!(
                        "cannot claim a job that is {} (owner {:?})",
                        job.state.as_str(),
                        job.lease_owner
                    ),
                ));
            }
            let (job, lease) = take_lease(job, owner, lease, now);
            Ok(Decision::write(job.clone(), (job, lease)))
        })
        .await
    }

    async fn heartbeat(
        &self,
        lease: &Lease,
        extend: Duration,
        now: Timestamp,
    ) -> StoreResult<Lease> {
        self.modify_job(&lease.job_id, None, |mut job| {
            held(&job, lease)?;
            let until = now + chrono::Duration::milliseconds(ms(extend));
            job.lease_until = Some(until);
            job.updated_at = now;
            Ok(Decision::write(
                job,
                Lease {
                    until,
                    ..lease.clone()
                },
            ))
        })
        .await
    }

    async fn complete_job(
        &self,
        lease: &Lease,
        outcome: &JobOutcome,
        now: Timestamp,
    ) -> StoreResult<Job> {
        self.modify_job(&lease.job_id, None, |job| {
            // The same completion again (a retried call) returns what it did.
            if job.state == outcome.state
                && job.lease_token.as_deref() == Some(lease.token.as_str())
            {
                return Ok(Decision::answer(job));
            }
            held(&job, lease)?;
            let job = finished(job, outcome, now)?;
            Ok(Decision::write(job.clone(), job))
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
        self.modify_job(id, None, |mut job| {
            if job.attempt != attempt || job.state.is_finished() {
                return Err(StoreError::conflict(
                    "job",
                    id,
                    format!(
                        "launch of attempt {attempt} is stale: the job is {} at attempt {}",
                        job.state.as_str(),
                        job.attempt
                    ),
                ));
            }
            job.launch_handle = Some(handle.to_string());
            job.launched_attempt = Some(attempt);
            job.updated_at = now;
            Ok(Decision::write(job.clone(), job))
        })
        .await
    }

    async fn finish_job(&self, id: &str, outcome: &JobOutcome, now: Timestamp) -> StoreResult<Job> {
        self.modify_job(id, None, |job| {
            if job.state.is_finished() {
                if job.state == outcome.state {
                    return Ok(Decision::answer(job));
                }
                return Err(StoreError::conflict(
                    "job",
                    id,
                    format!("already {}", job.state.as_str()),
                ));
            }
            let job = finished(job, outcome, now)?;
            Ok(Decision::write(job.clone(), job))
        })
        .await
    }

    /// Each due job is settled on its own conditional write; one that fails
    /// (after its retries) is logged and left for the next run, unless none
    /// could be settled, in which case the first error is returned.
    async fn reap_jobs(&self, now: Timestamp) -> StoreResult<Vec<Reaped>> {
        let now_key = ord(millis(now));
        let mut out = Vec::new();
        let mut first_err = None;
        let mut settle = |r: StoreResult<Option<Reaped>>, out: &mut Vec<Reaped>| match r {
            Ok(Some(reaped)) => out.push(reaped),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "reap: a job could not be settled; the next run tries again");
                first_err.get_or_insert(e);
            }
        };
        // Past their deadline (queued or running): failed.
        let overdue = self
            .query(Query::new(GSI4, "JOBS#DEADLINE").sk("<", now_key.clone()))
            .await?;
        for item in overdue {
            let cand = decode(&item)?;
            let id = cand.job.id.clone();
            let r = self
                .modify_job(&id, Some(cand), |job| {
                    let due = job.deadline.is_some_and(|d| d < now);
                    if job.state.is_finished() || !due {
                        return Ok(Decision::answer(None));
                    }
                    let reason = format!(
                        "deadline passed at {} (attempt {}, {})",
                        job.deadline.map(|d| d.to_rfc3339()).unwrap_or_default(),
                        job.attempt,
                        job.state.as_str()
                    );
                    let outcome = failed(&job, reason);
                    let job = finished(job, &outcome, now)?;
                    Ok(Decision::write(job.clone(), Some(Reaped::Failed { job })))
                })
                .await;
            settle(r, &mut out);
        }
        // Running with an expired lease: requeued, or failed on the last attempt.
        let expired = self
            .query(Query::new(GSI5, "JOBS#RUNNING").sk("<", now_key))
            .await?;
        for item in expired {
            let cand = decode(&item)?;
            let id = cand.job.id.clone();
            let r = self
                .modify_job(&id, Some(cand), |mut job| {
                    let lapsed = job.lease_until.is_some_and(|u| u < now);
                    if job.state != JobState::Running || !lapsed {
                        return Ok(Decision::answer(None));
                    }
                    let who = job.lease_owner.clone().unwrap_or_default();
                    let when = job.lease_until.map(|d| d.to_rfc3339()).unwrap_or_default();
                    if job.attempt >= job.max_attempts {
                        let reason = format!(
                            "worker {who} lost its lease at {when} on the last of {} attempts",
                            job.max_attempts
                        );
                        let outcome = failed(&job, reason);
                        let job = finished(job, &outcome, now)?;
                        return Ok(Decision::write(job.clone(), Some(Reaped::Failed { job })));
                    }
                    job.state = JobState::Queued;
                    job.attempt += 1;
                    job.lease_until = None;
                    job.lease_owner = None;
                    job.lease_token = None;
                    job.reason = Some(format!("requeued: lease of worker {who} expired at {when}"));
                    job.updated_at = now;
                    Ok(Decision::write(job.clone(), Some(Reaped::Requeued { job })))
                })
                .await;
            settle(r, &mut out);
        }
        match first_err {
            Some(e) if out.is_empty() => Err(e),
            _ => Ok(out),
        }
    }

    async fn count_active_jobs(&self) -> StoreResult<u64> {
        let mut total = 0;
        for state in [JobState::Queued, JobState::Running] {
            total += self
                .count(Query::new(GSI3, format!("JOBS#STATE#{}", state.as_str())))
                .await?;
        }
        Ok(total)
    }
}
