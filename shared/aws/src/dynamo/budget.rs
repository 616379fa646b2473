//! The budget ledger. A condition expression cannot add, so each account
//! keeps `headroom = limit - reserved - committed` beside its counters, moved
//! by every write in the same update expression: a reservation is conditional
//! on `headroom >= amount`. Reserving (account and reservation), committing
//! (reservation, account and the all-tickets total) and releasing (reservation
//! and account) are each one transaction.

use super::{DynamoStore, Item, Query, Reason, get_n, n, need_n, need_s, s};
use crate::dynamo::table::{GSI2, ord};
use async_trait::async_trait;
use nightshift_core::budget::{BudgetAccount, Reservation, ReservationState};
use nightshift_core::ports::BudgetLedger;
use nightshift_core::{StoreError, StoreResult, Timestamp, from_millis, millis};
use std::collections::HashMap;

const ACCOUNT_SK: &str = "ACCOUNT";
const RES_SK: &str = "RESERVATION";
const TOTAL_PK: &str = "BUDGET#TOTAL";
const TOTAL_SK: &str = "TOTAL";
const MAX_ATTEMPTS: u32 = 16;

fn account_pk(ticket_id: &str) -> String {
    format!("BUDGET#{ticket_id}")
}

fn res_pk(id: &str) -> String {
    format!("RESERVATION#{id}")
}

fn decode_account(item: &Item) -> StoreResult<BudgetAccount> {
    Ok(BudgetAccount {
        limit: need_n("budget account", item, "lim")?,
        reserved: need_n("budget account", item, "reserved")?,
        committed: need_n("budget account", item, "committed")?,
    })
}

fn reservation_item(r: &Reservation) -> Item {
    let mut item = HashMap::from([
        ("pk".to_string(), s(res_pk(&r.id))),
        ("sk".to_string(), s(RES_SK)),
        ("id".to_string(), s(&r.id)),
        ("ticket_id".to_string(), s(&r.ticket_id)),
        ("amount".to_string(), n(r.amount)),
        ("state".to_string(), s(r.state.as_str())),
        ("created_ms".to_string(), n(millis(r.created_at))),
        (
            GSI2.pk.to_string(),
            s(format!("RESERVATIONS#{}", r.ticket_id)),
        ),
        (
            GSI2.sk.to_string(),
            s(format!("{}#{}", ord(millis(r.created_at)), r.id)),
        ),
    ]);
    if let Some(a) = r.actual {
        item.insert("actual".into(), n(a));
    }
    item
}

fn decode_reservation(item: &Item) -> StoreResult<Reservation> {
    const KIND: &str = "budget reservation";
    let state = need_s(KIND, item, "state")?;
    Ok(Reservation {
        id: need_s(KIND, item, "id")?.to_string(),
        ticket_id: need_s(KIND, item, "ticket_id")?.to_string(),
        amount: need_n(KIND, item, "amount")?,
        state: ReservationState::parse(state).ok_or_else(|| {
            super::corrupt(KIND, item, format!("unknown reservation state {state}"))
        })?,
        actual: get_n(item, "actual"),
        created_at: from_millis(need_n(KIND, item, "created_ms")?),
    })
}

/// The old item a failed condition returned, for the reason at `i`.
fn old(reasons: &[Reason], i: usize) -> Option<&Item> {
    reasons
        .get(i)
        .filter(|r| r.failed_condition())
        .and_then(|r| r.item.as_ref())
}

fn failed(reasons: &[Reason], i: usize) -> bool {
    reasons.get(i).is_some_and(Reason::failed_condition)
}

fn contended(what: &str, id: &str) -> StoreError {
    StoreError::conflict(
        "budget reservation",
        id,
        format!("{what}: it changed under {MAX_ATTEMPTS} attempts in a row; try again"),
    )
}

impl DynamoStore {
    async fn read_reservation(&self, id: &str) -> StoreResult<Reservation> {
        match self.get(&res_pk(id), RES_SK).await? {
            Some(item) => decode_reservation(&item),
            None => Err(StoreError::not_found("budget reservation", id)),
        }
    }

    async fn read_account(&self, ticket_id: &str) -> StoreResult<BudgetAccount> {
        match self.get(&account_pk(ticket_id), ACCOUNT_SK).await? {
            Some(item) => decode_account(&item),
            None => Err(StoreError::not_found("budget account", ticket_id)),
        }
    }
}

#[async_trait]
impl BudgetLedger for DynamoStore {
    async fn open_account(&self, ticket_id: &str, limit: u64) -> StoreResult<BudgetAccount> {
        let item = HashMap::from([
            ("pk".to_string(), s(account_pk(ticket_id))),
            ("sk".to_string(), s(ACCOUNT_SK)),
            ("ticket_id".to_string(), s(ticket_id)),
            ("lim".to_string(), n(limit)),
            ("reserved".to_string(), n(0)),
            ("committed".to_string(), n(0)),
            ("headroom".to_string(), n(limit)),
        ]);
        match self
            .put(item, Some("attribute_not_exists(#pk)"), vec![])
            .await?
        {
            Ok(()) => Ok(BudgetAccount {
                limit,
                reserved: 0,
                committed: 0,
            }),
            Err(Some(old)) => decode_account(&old),
            Err(None) => self.read_account(ticket_id).await,
        }
    }

    async fn set_limit(&self, ticket_id: &str, limit: u64) -> StoreResult<BudgetAccount> {
        let mut cur = self.read_account(ticket_id).await?;
        for _ in 0..MAX_ATTEMPTS {
            let delta = i128::from(limit) - i128::from(cur.limit);
            let r = self
                .update(
                    &account_pk(ticket_id),
                    ACCOUNT_SK,
                    "SET #lim = :lim, #headroom = #headroom + :delta",
                    Some("#lim = :old"),
                    vec![
                        (":lim", n(limit)),
                        (":delta", n(delta)),
                        (":old", n(cur.limit)),
                    ],
                )
                .await?;
            match r {
                Ok(item) => return decode_account(&item),
                Err(Some(item)) => cur = decode_account(&item)?,
                Err(None) => return Err(StoreError::not_found("budget account", ticket_id)),
            }
        }
        Err(StoreError::conflict(
            "budget account",
            ticket_id,
            format!("its limit changed under {MAX_ATTEMPTS} attempts in a row; try again"),
        ))
    }

    async fn account(&self, ticket_id: &str) -> StoreResult<BudgetAccount> {
        self.read_account(ticket_id).await
    }

    /// One transaction: the reservation, put if new (or released earlier, for
    /// the same ticket), and the account, conditional on `headroom >= amount`.
    /// The same id again: a held reservation is answered as it is; a committed
    /// one refuses reuse.
    async fn reserve(
        &self,
        ticket_id: &str,
        reservation_id: &str,
        amount: u64,
        now: Timestamp,
    ) -> StoreResult<Reservation> {
        let res = Reservation {
            id: reservation_id.to_string(),
            ticket_id: ticket_id.to_string(),
            amount,
            state: ReservationState::Held,
            actual: None,
            created_at: from_millis(millis(now)),
        };
        for _ in 0..MAX_ATTEMPTS {
            let items = vec![
                self.tx_put(
                    reservation_item(&res),
                    Some("attribute_not_exists(#pk) OR (#state = :released AND #ticket_id = :tid)"),
                    vec![
                        (":released", s(ReservationState::Released.as_str())),
                        (":tid", s(ticket_id)),
                    ],
                )?,
                self.tx_update(
                    &account_pk(ticket_id),
                    ACCOUNT_SK,
                    "SET #reserved = #reserved + :amount, #headroom = #headroom - :amount",
                    Some("attribute_exists(#pk) AND #headroom >= :amount"),
                    vec![(":amount", n(amount))],
                )?,
            ];
            let reasons = match self.transact(items).await? {
                Ok(()) => return Ok(res),
                Err(reasons) => reasons,
            };
            // The reservation's own answer comes first, as the embedded
            // adapter gives it: a held one is answered even on a full account.
            if let Some(item) = old(&reasons, 0) {
                let existing = decode_reservation(item)?;
                if existing.ticket_id != ticket_id {
                    return Err(StoreError::conflict(
                        "budget reservation",
                        reservation_id,
                        format!("belongs to ticket {}", existing.ticket_id),
                    ));
                }
                match existing.state {
                    ReservationState::Held => return Ok(existing),
                    ReservationState::Committed => {
                        return Err(StoreError::conflict(
                            "budget reservation",
                            reservation_id,
                            "was committed; reserve under a new id",
                        ));
                    }
                    // Released just now: the condition allows it; try again.
                    ReservationState::Released => continue,
                }
            }
            if failed(&reasons, 1) {
                return match old(&reasons, 1) {
                    None => Err(StoreError::not_found("budget account", ticket_id)),
                    Some(item) => {
                        let acc = decode_account(item)?;
                        Err(StoreError::BudgetExhausted {
                            ticket_id: ticket_id.to_string(),
                            asked: amount,
                            available: acc.available(),
                            limit: acc.limit,
                        })
                    }
                };
            }
        }
        Err(contended("reserve", reservation_id))
    }

    async fn commit(&self, reservation_id: &str, actual: u64) -> StoreResult<Reservation> {
        let mut res = self.read_reservation(reservation_id).await?;
        for _ in 0..MAX_ATTEMPTS {
            match res.state {
                ReservationState::Committed => return Ok(res),
                ReservationState::Released => {
                    return Err(StoreError::conflict(
                        "budget reservation",
                        reservation_id,
                        "was released; it cannot be committed",
                    ));
                }
                ReservationState::Held => {}
            }
            let back = i128::from(res.amount) - i128::from(actual);
            let items = vec![
                self.tx_update(
                    &res_pk(reservation_id),
                    RES_SK,
                    "SET #state = :committed, #actual = :actual",
                    Some("#state = :held"),
                    vec![
                        (":committed", s(ReservationState::Committed.as_str())),
                        (":held", s(ReservationState::Held.as_str())),
                        (":actual", n(actual)),
                    ],
                )?,
                self.tx_update(
                    &account_pk(&res.ticket_id),
                    ACCOUNT_SK,
                    "SET #reserved = #reserved - :amount, #committed = #committed + :actual, \
                     #headroom = #headroom + :back",
                    Some("attribute_exists(#pk)"),
                    vec![
                        (":amount", n(res.amount)),
                        (":actual", n(actual)),
                        (":back", n(back)),
                    ],
                )?,
                self.tx_update(
                    TOTAL_PK,
                    TOTAL_SK,
                    "ADD #committed :actual",
                    None,
                    vec![(":actual", n(actual))],
                )?,
            ];
            let reasons = match self.transact(items).await? {
                Ok(()) => {
                    res.state = ReservationState::Committed;
                    res.actual = Some(actual);
                    return Ok(res);
                }
                Err(reasons) => reasons,
            };
            if let Some(item) = old(&reasons, 0) {
                res = decode_reservation(item)?;
                continue;
            }
            if failed(&reasons, 1) {
                return Err(StoreError::not_found("budget account", &res.ticket_id));
            }
            res = self.read_reservation(reservation_id).await?;
        }
        Err(contended("commit", reservation_id))
    }

    async fn release(&self, reservation_id: &str) -> StoreResult<Reservation> {
        let mut res = self.read_reservation(reservation_id).await?;
        for _ in 0..MAX_ATTEMPTS {
            if res.state != ReservationState::Held {
                return Ok(res);
            }
            let items = vec![
                self.tx_update(
                    &res_pk(reservation_id),
                    RES_SK,
                    "SET #state = :released",
                    Some("#state = :held"),
                    vec![
                        (":released", s(ReservationState::Released.as_str())),
                        (":held", s(ReservationState::Held.as_str())),
                    ],
                )?,
                self.tx_update(
                    &account_pk(&res.ticket_id),
                    ACCOUNT_SK,
                    "SET #reserved = #reserved - :amount, #headroom = #headroom + :amount",
                    Some("attribute_exists(#pk)"),
                    vec![(":amount", n(res.amount))],
                )?,
            ];
            let reasons = match self.transact(items).await? {
                Ok(()) => {
                    res.state = ReservationState::Released;
                    return Ok(res);
                }
                Err(reasons) => reasons,
            };
            if let Some(item) = old(&reasons, 0) {
                res = decode_reservation(item)?;
                continue;
            }
            if failed(&reasons, 1) {
                return Err(StoreError::not_found("budget account", &res.ticket_id));
            }
            res = self.read_reservation(reservation_id).await?;
        }
        Err(contended("release", reservation_id))
    }

    async fn reservations(&self, ticket_id: &str) -> StoreResult<Vec<Reservation>> {
        self.query(Query::new(GSI2, format!("RESERVATIONS#{ticket_id}")))
            .await?
            .iter()
            .map(decode_reservation)
            .collect()
    }

    async fn total_committed(&self) -> StoreResult<u64> {
        Ok(self
            .get(TOTAL_PK, TOTAL_SK)
            .await?
            .and_then(|item| get_n(&item, "committed"))
            .unwrap_or(0))
    }
}
