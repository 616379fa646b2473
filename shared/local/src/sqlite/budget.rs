//! The budget ledger. A reservation is one conditional update on the account
//! (`reserved + committed + amount <= limit`) and one insert, in one transaction.

use super::{SqliteStore, backend};
use async_trait::async_trait;
use nightshift_core::budget::{BudgetAccount, Reservation, ReservationState};
use nightshift_core::ports::BudgetLedger;
use nightshift_core::{StoreError, StoreResult, Timestamp, from_millis, millis};
use rusqlite::{Connection, OptionalExtension, Row, params};

fn account(conn: &Connection, ticket_id: &str) -> StoreResult<BudgetAccount> {
    conn.query_row(
        "SELECT lim, reserved, committed FROM budget_accounts WHERE ticket_id = ?1",
        [ticket_id],
        |r| {
            Ok(BudgetAccount {
                limit: r.get::<_, i64>(0)? as u64,
                reserved: r.get::<_, i64>(1)? as u64,
                committed: r.get::<_, i64>(2)? as u64,
            })
        },
    )
    .optional()
    .map_err(backend("budget account"))?
    .ok_or_else(|| StoreError::not_found("budget account", ticket_id))
}

fn reservation_row(r: &Row<'_>) -> rusqlite::Result<Reservation> {
    let state: String = r.get(3)?;
    let state = ReservationState::parse(&state).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("unknown reservation state {state}").into(),
        )
    })?;
    Ok(Reservation {
        id: r.get(0)?,
        ticket_id: r.get(1)?,
        amount: r.get::<_, i64>(2)? as u64,
        state,
        actual: r.get::<_, Option<i64>>(4)?.map(|a| a as u64),
        created_at: from_millis(r.get(5)?),
    })
}

const RES_COLUMNS: &str = "id, ticket_id, amount, state, actual, created_ms";

fn reservation(conn: &Connection, id: &str) -> StoreResult<Reservation> {
    conn.query_row(
        &format!("SELECT {RES_COLUMNS} FROM budget_reservations WHERE id = ?1"),
        [id],
        reservation_row,
    )
    .optional()
    .map_err(backend("budget reservation"))?
    .ok_or_else(|| StoreError::not_found("budget reservation", id))
}

fn set_state(
    conn: &Connection,
    id: &str,
    state: ReservationState,
    actual: Option<u64>,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE budget_reservations SET state = ?2, actual = ?3 WHERE id = ?1",
        params![id, state.as_str(), actual.map(|a| a as i64)],
    )
    .map_err(backend("budget reservation update"))?;
    Ok(())
}

#[async_trait]
impl BudgetLedger for SqliteStore {
    async fn open_account(&self, ticket_id: &str, limit: u64) -> StoreResult<BudgetAccount> {
        let tid = ticket_id.to_string();
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO budget_accounts (ticket_id, lim) VALUES (?1, ?2) ON CONFLICT(ticket_id) DO NOTHING",
                    params![tid, limit as i64],
                )
                .map_err(backend("budget open"))?;
                account(tx, &tid)
            })
            .await
    }

    async fn set_limit(&self, ticket_id: &str, limit: u64) -> StoreResult<BudgetAccount> {
        let tid = ticket_id.to_string();
        self.db
            .write(move |tx| {
                let n = tx
                    .execute(
                        "UPDATE budget_accounts SET lim = ?2 WHERE ticket_id = ?1",
                        params![tid, limit as i64],
                    )
                    .map_err(backend("budget limit"))?;
                if n == 0 {
                    return Err(StoreError::not_found("budget account", &tid));
                }
                account(tx, &tid)
            })
            .await
    }

    async fn account(&self, ticket_id: &str) -> StoreResult<BudgetAccount> {
        let tid = ticket_id.to_string();
        self.db.read(move |c| account(c, &tid)).await
    }

    async fn reserve(
        &self,
        ticket_id: &str,
        reservation_id: &str,
        amount: u64,
        now: Timestamp,
    ) -> StoreResult<Reservation> {
        let (tid, rid) = (ticket_id.to_string(), reservation_id.to_string());
        self.db
            .write(move |tx| {
                // The same id again: a held reservation is answered as it is; a
                // released one is held again (if the budget allows); a committed
                // one is spent and cannot be reserved again.
                match reservation(tx, &rid) {
                    Ok(existing) if existing.ticket_id != tid => {
                        return Err(StoreError::conflict(
                            "budget reservation",
                            &rid,
                            format!("belongs to ticket {}", existing.ticket_id),
                        ))
                    }
                    Ok(existing) if existing.state == ReservationState::Held => return Ok(existing),
                    Ok(existing) if existing.state == ReservationState::Committed => {
                        return Err(StoreError::conflict("budget reservation", &rid, "was committed; reserve under a new id"))
                    }
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
                let n = tx
                    .execute(
                        "UPDATE budget_accounts SET reserved = reserved + ?2
                         WHERE ticket_id = ?1 AND reserved + committed + ?2 <= lim",
                        params![tid, amount as i64],
                    )
                    .map_err(backend("budget reserve"))?;
                if n == 0 {
                    let acc = account(tx, &tid)?;
                    return Err(StoreError::BudgetExhausted {
                        ticket_id: tid,
                        asked: amount,
                        available: acc.available(),
                        limit: acc.limit,
                    });
                }
                tx.execute(
                    "INSERT INTO budget_reservations (id, ticket_id, amount, state, created_ms) VALUES (?1, ?2, ?3, 'held', ?4)
                     ON CONFLICT(id) DO UPDATE SET amount = excluded.amount, state = 'held', actual = NULL, created_ms = excluded.created_ms",
                    params![rid, tid, amount as i64, millis(now)],
                )
                .map_err(backend("budget reserve"))?;
                reservation(tx, &rid)
            })
            .await
    }

    async fn commit(&self, reservation_id: &str, actual: u64) -> StoreResult<Reservation> {
        let rid = reservation_id.to_string();
        self.db
            .write(move |tx| {
                let res = reservation(tx, &rid)?;
                match res.state {
                    ReservationState::Committed => return Ok(res),
                    ReservationState::Released => {
                        return Err(StoreError::conflict("budget reservation", &rid, "was released; it cannot be committed"))
                    }
                    ReservationState::Held => {}
                }
                tx.execute(
                    "UPDATE budget_accounts SET reserved = reserved - ?2, committed = committed + ?3 WHERE ticket_id = ?1",
                    params![res.ticket_id, res.amount as i64, actual as i64],
                )
                .map_err(backend("budget commit"))?;
                set_state(tx, &rid, ReservationState::Committed, Some(actual))?;
                reservation(tx, &rid)
            })
            .await
    }

    async fn release(&self, reservation_id: &str) -> StoreResult<Reservation> {
        let rid = reservation_id.to_string();
        self.db
            .write(move |tx| {
                let res = reservation(tx, &rid)?;
                if res.state != ReservationState::Held {
                    return Ok(res);
                }
                tx.execute(
                    "UPDATE budget_accounts SET reserved = reserved - ?2 WHERE ticket_id = ?1",
                    params![res.ticket_id, res.amount as i64],
                )
                .map_err(backend("budget release"))?;
                set_state(tx, &rid, ReservationState::Released, None)?;
                reservation(tx, &rid)
            })
            .await
    }

    async fn reservations(&self, ticket_id: &str) -> StoreResult<Vec<Reservation>> {
        let tid = ticket_id.to_string();
        self.db
            .read(move |c| {
                let mut stmt = c
                    .prepare(&format!(
                        "SELECT {RES_COLUMNS} FROM budget_reservations WHERE ticket_id = ?1 ORDER BY created_ms, id"
                    ))
                    .map_err(backend("budget reservations"))?;
                let rows = stmt.query_map([tid], reservation_row).map_err(backend("budget reservations"))?;
                rows.collect::<Result<_, _>>().map_err(backend("budget reservations"))
            })
            .await
    }

    async fn total_committed(&self) -> StoreResult<u64> {
        self.db
            .read(|c| {
                c.query_row(
                    "SELECT COALESCE(SUM(committed), 0) FROM budget_accounts",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n as u64)
                .map_err(backend("budget total"))
            })
            .await
    }
}
