//! Pull requests and comments in SQLite: the row mappings, and the two
//! operations only the local forge has (a human's comment, a merge or close
//! recorded by hand), since no web UI or CI does them here.

use super::LocalForge;
use super::repos::{failed, not_found, split_repo};
use nightshift_core::forge::{ForgeError, PrComment, PrState, PullRequest};
use nightshift_core::{StoreError, from_millis, millis, new_id};
use rusqlite::{Connection, OptionalExtension, Row, params};

pub(super) const PR_COLUMNS: &str =
    "repo, number, title, body, head, base, state, ticket_id, created_ms, updated_ms";

pub(super) fn state_str(s: PrState) -> &'static str {
    match s {
        PrState::Open => "open",
        PrState::Merged => "merged",
        PrState::Closed => "closed",
    }
}

pub(super) fn pr_row(r: &Row<'_>) -> rusqlite::Result<PullRequest> {
    let state = match r.get::<_, String>(6)?.as_str() {
        "merged" => PrState::Merged,
        "closed" => PrState::Closed,
        "open" => PrState::Open,
        other => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                6,
                rusqlite::types::Type::Text,
                format!("unknown pull request state {other:?}").into(),
            ));
        }
    };
    Ok(PullRequest {
        repo: r.get(0)?,
        number: r.get::<_, i64>(1)?.try_into().unwrap_or_default(),
        title: r.get(2)?,
        body: r.get(3)?,
        head: r.get(4)?,
        base: r.get(5)?,
        state,
        url: None,
        ticket_id: r.get(7)?,
        created_at: from_millis(r.get(8)?),
        updated_at: from_millis(r.get(9)?),
    })
}

pub(super) fn comment_row(r: &Row<'_>) -> rusqlite::Result<PrComment> {
    Ok(PrComment {
        id: r.get(0)?,
        author: r.get(1)?,
        author_can_write: r.get(2)?,
        body: r.get(3)?,
        path: r.get(4)?,
        line: r
            .get::<_, Option<i64>>(5)?
            .and_then(|l| u32::try_from(l).ok()),
        created_at: from_millis(r.get(6)?),
    })
}

pub(super) fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| StoreError::backend(format!("sqlite: {context}"), e)
}

pub(super) fn get_pr(c: &Connection, repo: &str, number: i64) -> Result<PullRequest, StoreError> {
    c.query_row(
        &format!("SELECT {PR_COLUMNS} FROM pull_requests WHERE repo = ?1 AND number = ?2"),
        params![repo, number],
        pr_row,
    )
    .optional()
    .map_err(sql("pull request get"))?
    .ok_or_else(|| StoreError::not_found("pull request", format!("{repo}#{number}")))
}

pub(super) fn store_err(e: StoreError) -> ForgeError {
    match e {
        StoreError::NotFound { kind, id } => not_found(format!("{kind} {id}")),
        other => failed("the local forge's store failed", Some(Box::new(other))),
    }
}

fn set_writer(c: &Connection, repo: &str, user: &str, can_write: bool) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO forge_writers (repo, user, can_write) VALUES (?1, ?2, ?3)
         ON CONFLICT (repo, user) DO UPDATE SET can_write = excluded.can_write",
        params![repo, user, can_write],
    )
    .map_err(sql("writer upsert"))?;
    Ok(())
}

pub(super) fn number_i64(repo: &str, number: u64) -> Result<i64, ForgeError> {
    i64::try_from(number).map_err(|_| not_found(format!("pull request {repo}#{number}")))
}

impl LocalForge {
    /// Records a comment by anyone (a human reviewer, through the API);
    /// `can_write` says whether they may write to the repository.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_comment_as(
        &self,
        repo: &str,
        number: u64,
        author: &str,
        can_write: bool,
        body: &str,
        path: Option<&str>,
        line: Option<u32>,
    ) -> Result<PrComment, ForgeError> {
        split_repo(repo)?;
        let n = number_i64(repo, number)?;
        let comment = PrComment {
            id: new_id("cmt"),
            author: author.to_string(),
            author_can_write: can_write,
            body: body.to_string(),
            path: path.map(str::to_string),
            line,
            // Stored as milliseconds: return what a later read returns.
            created_at: from_millis(millis(self.clock.now())),
        };
        let (repo, c) = (repo.to_string(), comment.clone());
        self.db
            .write(move |tx| {
                get_pr(tx, &repo, n)?;
                tx.execute(
                    "INSERT INTO pr_comments (id, repo, number, author, can_write, body, path, line, created_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![c.id, repo, n, c.author, c.author_can_write, c.body, c.path, c.line.map(i64::from), millis(c.created_at)],
                )
                .map_err(sql("comment insert"))?;
                // The comment says what the author may do: remember it, as
                // GitHub remembers collaborators.
                if c.author != super::NIGHTSHIFT_AUTHOR {
                    set_writer(tx, &repo, &c.author, c.author_can_write)?;
                }
                Ok(())
            })
            .await
            .map_err(store_err)?;
        Ok(comment)
    }

    /// Grants or withdraws write access to `repo` for `user`.
    pub async fn set_writer(
        &self,
        repo: &str,
        user: &str,
        can_write: bool,
    ) -> Result<(), ForgeError> {
        split_repo(repo)?;
        let (repo, user) = (repo.to_string(), user.to_string());
        self.db
            .write(move |tx| set_writer(tx, &repo, &user, can_write))
            .await
            .map_err(store_err)
    }

    /// Marks a pull request merged or closed (or reopens it): locally nobody
    /// merges through the forge, so a person says so.
    pub async fn set_pr_state(
        &self,
        repo: &str,
        number: u64,
        state: PrState,
    ) -> Result<PullRequest, ForgeError> {
        split_repo(repo)?;
        let (repo, n, now) = (
            repo.to_string(),
            number_i64(repo, number)?,
            millis(self.clock.now()),
        );
        self.db
            .write(move |tx| {
                get_pr(tx, &repo, n)?;
                tx.execute(
                    "UPDATE pull_requests SET state = ?3, updated_ms = ?4 WHERE repo = ?1 AND number = ?2",
                    params![repo, n, state_str(state), now],
                )
                .map_err(|e| StoreError::conflict("pull request", format!("{repo}#{n}"), e.to_string()))?;
                get_pr(tx, &repo, n)
            })
            .await
            .map_err(store_err)
    }
}
