//! Named locks. Acquiring is a write whose condition checks owner and expiry
//! (`expires_ms`, milliseconds, compared with the caller's `now`); the TTL
//! attribute `expires_at` (epoch seconds, rounded up) only lets DynamoDB clean
//! up expired locks some time later, and nothing relies on it.

use super::table::{GSI4, GSI5, TTL_ATTRIBUTE, ord};
use super::{DynamoStore, Item, Query, n, need_n, need_s, s};
use async_trait::async_trait;
use nightshift_core::lock::Lock;
use nightshift_core::ports::LockStore;
use nightshift_core::{StoreError, StoreResult, Timestamp, from_millis, millis};
use std::collections::HashMap;
use std::time::Duration;

const SK: &str = "LOCK";
const MAX_ATTEMPTS: u32 = 8;

fn pk(name: &str) -> String {
    format!("LOCK#{name}")
}

fn expiry_key(expires_ms: i64, name: &str) -> String {
    format!("{}#{name}", ord(expires_ms))
}

/// Epoch seconds, rounded up: TTL never sees a lock as expired before it is.
fn ttl_secs(expires_ms: i64) -> i64 {
    expires_ms.div_euclid(1000) + i64::from(expires_ms.rem_euclid(1000) != 0)
}

fn lock_item(l: &Lock) -> Item {
    let expires = millis(l.expires_at);
    HashMap::from([
        ("pk".to_string(), s(pk(&l.name))),
        ("sk".to_string(), s(SK)),
        ("name".to_string(), s(&l.name)),
        ("owner".to_string(), s(&l.owner)),
        ("acquired_ms".to_string(), n(millis(l.acquired_at))),
        ("expires_ms".to_string(), n(expires)),
        (TTL_ATTRIBUTE.to_string(), n(ttl_secs(expires))),
        (GSI4.pk.to_string(), s("LOCKS")),
        (GSI4.sk.to_string(), s(&l.name)),
        (GSI5.pk.to_string(), s("LOCKS#EXPIRY")),
        (GSI5.sk.to_string(), s(expiry_key(expires, &l.name))),
    ])
}

fn decode(item: &Item) -> StoreResult<Lock> {
    Ok(Lock {
        name: need_s("lock", item, "name")?.to_string(),
        owner: need_s("lock", item, "owner")?.to_string(),
        acquired_at: from_millis(need_n("lock", item, "acquired_ms")?),
        expires_at: from_millis(need_n("lock", item, "expires_ms")?),
    })
}

fn held(cur: &Lock) -> StoreError {
    StoreError::conflict(
        "lock",
        &cur.name,
        format!(
            "held by {} until {}",
            cur.owner,
            cur.expires_at.to_rfc3339()
        ),
    )
}

#[async_trait]
impl LockStore for DynamoStore {
    /// A new lock or a takeover of an expired one is one put, conditional on
    /// `attribute_not_exists(pk) OR (owner <> me AND expires_ms <= now)`; a
    /// renewal by the owner is one update conditional on `owner = me`, which
    /// keeps the acquisition time. Which applies is learned from the failed
    /// condition's `ALL_OLD`, never from a read.
    async fn acquire(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> StoreResult<Lock> {
        let now_ms = millis(now);
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_ms = now_ms.saturating_add(ttl_ms);
        let fresh = Lock {
            name: name.to_string(),
            owner: owner.to_string(),
            // Millisecond precision, as stored (and as the embedded adapter answers).
            acquired_at: from_millis(now_ms),
            expires_at: from_millis(expires_ms),
        };
        for _ in 0..MAX_ATTEMPTS {
            let cur = match self
                .put(
                    lock_item(&fresh),
                    Some("attribute_not_exists(#pk) OR (#owner <> :me AND #expires_ms <= :now)"),
                    vec![(":me", s(owner)), (":now", n(now_ms))],
                )
                .await?
            {
                Ok(()) => return Ok(fresh),
                Err(Some(old)) => decode(&old)?,
                // The lock vanished between the condition and its answer.
                Err(None) => continue,
            };
            if cur.owner != owner {
                return Err(held(&cur));
            }
            let renewed = self
                .update(
                    &pk(name),
                    SK,
                    "SET #expires_ms = :exp, #expires_at = :ttl, #gsi5sk = :g5",
                    Some("#owner = :me"),
                    vec![
                        (":me", s(owner)),
                        (":exp", n(expires_ms)),
                        (":ttl", n(ttl_secs(expires_ms))),
                        (":g5", s(expiry_key(expires_ms, name))),
                    ],
                )
                .await?;
            match renewed {
                Ok(item) => return decode(&item),
                // Taken over (it had expired) or released meanwhile: decide again.
                Err(Some(old)) => {
                    let other = decode(&old)?;
                    if millis(other.expires_at) > now_ms {
                        return Err(held(&other));
                    }
                }
                Err(None) => {}
            }
        }
        Err(StoreError::conflict(
            "lock",
            name,
            format!("it changed under {MAX_ATTEMPTS} attempts in a row; try again"),
        ))
    }

    async fn release(&self, name: &str, owner: &str) -> StoreResult<bool> {
        let r = self
            .delete(&pk(name), SK, Some("#owner = :me"), vec![(":me", s(owner))])
            .await?;
        Ok(r.is_ok())
    }

    async fn release_expired(&self, now: Timestamp) -> StoreResult<Vec<Lock>> {
        let now_ms = millis(now);
        // `expires_ms <= now`: every sort key below the next millisecond's.
        let due = self
            .query(Query::new(GSI5, "LOCKS#EXPIRY").sk("<", ord(now_ms.saturating_add(1))))
            .await?;
        let mut out = Vec::new();
        for item in due {
            let lock = decode(&item)?;
            // Only the lock as seen: a renewal or takeover since keeps it.
            let r = self
                .delete(
                    &pk(&lock.name),
                    SK,
                    Some("#owner = :owner AND #expires_ms = :exp AND #expires_ms <= :now"),
                    vec![
                        (":owner", s(&lock.owner)),
                        (":exp", n(millis(lock.expires_at))),
                        (":now", n(now_ms)),
                    ],
                )
                .await?;
            if let Ok(Some(gone)) = r {
                out.push(decode(&gone)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn list_locks(&self) -> StoreResult<Vec<Lock>> {
        self.query(Query::new(GSI4, "LOCKS"))
            .await?
            .iter()
            .map(decode)
            .collect()
    }
}
