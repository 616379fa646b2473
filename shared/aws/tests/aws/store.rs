//! The DynamoDB store against moto: every store contract case, each on a
//! fresh table, then what only this adapter has (sparse indexes, the chain
//! head under contention, expiry in conditions, the table's shape).

use crate::moto;
use aws_sdk_dynamodb::types::{AttributeValue, ProjectionType, TimeToLiveStatus};
use nightshift_aws::DynamoStore;
use nightshift_aws::dynamo::table::{GSI_COUNT, TTL_ATTRIBUTE, ord, seq_key};
use nightshift_contract::tickets::{moved, ticket};
use nightshift_contract::{StoreFixture, secs, t0};
use nightshift_core::StoreError;
use nightshift_core::audit::{ChainVerifier, NewAuditEvent, PRUNED, verify_chain};
use nightshift_core::ports::{AuditLog, BudgetLedger, JobStore, LockStore, Stores, TicketStore};
use nightshift_core::state::TicketState;
use nightshift_core::ticket::Priority;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A store on a table of its own.
async fn fresh() -> Arc<DynamoStore> {
    let client = aws_sdk_dynamodb::Client::new(&moto::config().await);
    let store = DynamoStore::new(client, moto::unique("store"));
    store.create_table().await.unwrap();
    Arc::new(store)
}

async fn make() -> StoreFixture {
    let store = fresh().await;
    StoreFixture {
        stores: Stores::from_one(store.clone()),
        guard: Box::new(store),
    }
}

mod contract {
    use super::make;
    nightshift_contract::store_contract!(make);
}

fn ev(action: &str) -> NewAuditEvent {
    NewAuditEvent::new("test", action)
}

/// The raw item at a key.
async fn raw(store: &DynamoStore, pk: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
    store
        .client()
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// How many items an index partition holds.
async fn in_index(store: &DynamoStore, index: &str, pk: &str) -> usize {
    store
        .client()
        .query()
        .table_name(store.table())
        .index_name(index)
        .key_condition_expression("#k = :k")
        .expression_attribute_names("#k", format!("{index}pk"))
        .expression_attribute_values(":k", AttributeValue::S(pk.into()))
        .send()
        .await
        .unwrap()
        .count as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_table_has_the_documented_keys_indexes_and_ttl() {
    let store = fresh().await;
    // Creating it again is harmless.
    store.create_table().await.unwrap();
    let table = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let keys: Vec<&str> = table
        .key_schema()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    assert_eq!(keys, ["pk", "sk"]);
    let mut gsis: Vec<(String, Vec<String>, Option<ProjectionType>)> = table
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            (
                g.index_name().unwrap().to_string(),
                g.key_schema()
                    .iter()
                    .map(|k| k.attribute_name().to_string())
                    .collect(),
                g.projection().and_then(|p| p.projection_type()).cloned(),
            )
        })
        .collect();
    gsis.sort();
    assert_eq!(gsis.len(), GSI_COUNT);
    for (i, (name, keys, projection)) in gsis.iter().enumerate() {
        let n = i + 1;
        assert_eq!(name, &format!("gsi{n}"));
        assert_eq!(keys, &[format!("gsi{n}pk"), format!("gsi{n}sk")]);
        assert_eq!(projection, &Some(ProjectionType::All));
    }
    let ttl = store
        .client()
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name(), Some(TTL_ATTRIBUTE));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

#[test]
fn sort_keys_keep_the_order_of_numbers() {
    let xs = [i64::MIN, -3, -1, 0, 1, 2, 1_767_607_200_000, i64::MAX];
    for w in xs.windows(2) {
        assert!(ord(w[0]) < ord(w[1]), "{} < {}", w[0], w[1]);
        assert_eq!((ord(w[0]).len(), ord(w[1]).len()), (20, 20));
    }
    assert!(seq_key(9) < seq_key(10) && seq_key(10) < seq_key(u64::MAX));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_ready_index_is_sparse() {
    let store = fresh().await;
    let t = ticket("t1", Priority::High, "x");
    store.create_ticket(&t, ev("created")).await.unwrap();
    assert_eq!(in_index(&store, "gsi1", "TICKETS#READY").await, 0);
    let ready = moved(&t, TicketState::Ready);
    store.update_ticket(&ready, 1, ev("ready")).await.unwrap();
    assert_eq!(in_index(&store, "gsi1", "TICKETS#READY").await, 1);
    assert_eq!(
        store.ready_tickets(10).await.unwrap(),
        std::slice::from_ref(&ready)
    );
    // Leaving `ready` removes the index attributes in the same write.
    let building = moved(&ready, TicketState::Building);
    store
        .update_ticket(&building, 2, ev("build"))
        .await
        .unwrap();
    assert_eq!(in_index(&store, "gsi1", "TICKETS#READY").await, 0);
    assert!(store.ready_tickets(10).await.unwrap().is_empty());
    let item = raw(&store, "TICKET#t1", "TICKET").await.unwrap();
    assert!(!item.contains_key("gsi1pk") && !item.contains_key("gsi1sk"));
    assert_eq!(item["state"].as_s().unwrap(), "building");
    assert_eq!(item["version"].as_n().unwrap(), "3");
    // A closed ticket leaves the fingerprint index as well.
    assert_eq!(
        in_index(&store, "gsi2", &format!("TICKETS#FP#{}", t.fingerprint)).await,
        1
    );
    let closed = moved(&building, TicketState::Closed);
    store.update_ticket(&closed, 3, ev("close")).await.unwrap();
    assert_eq!(
        in_index(&store, "gsi2", &format!("TICKETS#FP#{}", t.fingerprint)).await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_make_one_gap_free_chain() {
    let store = fresh().await;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append(ev("poke").detail(serde_json::json!({ "i": i })), t0())
                    .await
            })
        })
        .collect();
    let mut acked: Vec<u64> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap().seq)
        .collect();
    acked.sort();
    assert_eq!(
        acked,
        (1..=16).collect::<Vec<_>>(),
        "each append got its own seq"
    );
    let all = store.events_after(0, 100).await.unwrap();
    assert_eq!(all.len(), 16);
    let head = verify_chain(&all, None).unwrap().unwrap();
    let stored = raw(&store, "AUDIT#HEAD", "HEAD").await.unwrap();
    assert_eq!(stored["seq"].as_n().unwrap(), "16");
    assert_eq!(stored["hash"].as_s().unwrap(), &head.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ticket_writes_and_plain_appends_share_the_chain() {
    let store = fresh().await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let t = ticket(&format!("t{i}"), Priority::Low, &format!("n{i}"));
            s.create_ticket(&t, ev("created")).await.unwrap();
            s.update_ticket(&moved(&t, TicketState::Triaged), 1, ev("triage"))
                .await
                .unwrap();
        }));
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.append(ev("poke"), t0()).await.unwrap();
        }));
    }
    for t in futures::future::join_all(tasks).await {
        t.unwrap();
    }
    let all = store.events_after(0, 100).await.unwrap();
    assert_eq!(all.len(), 18);
    verify_chain(&all, None).unwrap();
    let t3 = store.events_for_ticket("t3").await.unwrap();
    assert_eq!(
        t3.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["created", "triage"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_prune_goes_in_chunks_that_each_verify() {
    let store = fresh().await;
    for i in 0..150 {
        store.append(ev("poke"), t0() + secs(i)).await.unwrap();
    }
    // Everything is older than the cutoff; the newest event stays.
    let n = store
        .prune_before(t0() + secs(1000), t0() + secs(2000))
        .await
        .unwrap();
    assert_eq!(n, 149);
    let left = store.events_after(0, 1000).await.unwrap();
    let seqs: Vec<u64> = left.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        [150, 151, 152],
        "the newest event and two prune records"
    );
    assert!(left[1..].iter().all(|e| e.action == PRUNED));
    assert_eq!(left[2].detail["through_seq"], 149);
    let mut v = ChainVerifier::default();
    v.feed(&left).unwrap();
    v.finish().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_lock_that_ttl_has_not_deleted_can_be_taken() {
    let store = fresh().await;
    let now = chrono::Utc::now();
    let long_ago = now - chrono::Duration::hours(1);
    store
        .acquire("deploy", "old", Duration::from_millis(1500), long_ago)
        .await
        .unwrap();
    let item = raw(&store, "LOCK#deploy", "LOCK").await.unwrap();
    let expires_ms = long_ago.timestamp_millis() + 1500;
    let ttl: i64 = item[TTL_ATTRIBUTE].as_n().unwrap().parse().unwrap();
    assert_eq!(ttl, (expires_ms + 999) / 1000, "epoch seconds, rounded up");
    assert!(
        ttl < now.timestamp(),
        "TTL would have deleted it by now; moto never does"
    );
    // Still there, long expired: another owner takes it in one conditional write.
    let taken = store
        .acquire("deploy", "new", Duration::from_secs(60), now)
        .await
        .unwrap();
    assert_eq!(
        (taken.owner.as_str(), taken.acquired_at),
        ("new", now_ms(now))
    );
    let err = store
        .acquire("deploy", "old", Duration::from_secs(60), now)
        .await
        .unwrap_err();
    assert!(
        err.is_conflict() && err.to_string().contains("held by new"),
        "{err}"
    );
    let locks = store.list_locks().await.unwrap();
    assert_eq!(locks, [taken]);
}

fn now_ms(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    nightshift_core::from_millis(t.timestamp_millis())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn budget_headroom_follows_limit_changes_and_the_total_is_a_counter() {
    let store = fresh().await;
    store.open_account("t1", 100).await.unwrap();
    store.reserve("t1", "r1", 60, t0()).await.unwrap();
    // Spending more than was reserved is recorded as it was.
    store.commit("r1", 80).await.unwrap();
    let acc = store.set_limit("t1", 50).await.unwrap();
    assert_eq!((acc.limit, acc.reserved, acc.committed), (50, 0, 80));
    match store.reserve("t1", "r2", 1, t0()).await.unwrap_err() {
        StoreError::BudgetExhausted {
            asked,
            available,
            limit,
            ..
        } => assert_eq!((asked, available, limit), (1, 0, 50)),
        other => panic!("expected BudgetExhausted, got {other}"),
    }
    store.set_limit("t1", 100).await.unwrap();
    store.reserve("t1", "r2", 20, t0()).await.unwrap();
    let total = raw(&store, "BUDGET#TOTAL", "TOTAL").await.unwrap();
    assert_eq!(total["committed"].as_n().unwrap(), "80");
    assert_eq!(store.total_committed().await.unwrap(), 80);
    assert!(store.set_limit("nope", 1).await.unwrap_err().is_not_found());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn finished_jobs_leave_the_queue_and_timer_indexes() {
    let store = fresh().await;
    let mut j = nightshift_contract::jobs::job("x", Priority::High, 3);
    j.deadline = Some(t0() + secs(600));
    store.create_job(&j).await.unwrap();
    assert_eq!(in_index(&store, "gsi1", "JOBS#QUEUED").await, 1);
    assert_eq!(in_index(&store, "gsi4", "JOBS#DEADLINE").await, 1);
    let (_, lease) = store
        .claim_job("x", "w", Duration::from_secs(60), t0())
        .await
        .unwrap();
    assert_eq!(in_index(&store, "gsi1", "JOBS#QUEUED").await, 0);
    assert_eq!(in_index(&store, "gsi5", "JOBS#RUNNING").await, 1);
    let outcome = nightshift_core::job::JobOutcome {
        state: nightshift_core::job::JobState::Succeeded,
        reason: None,
        tokens_used: 3,
    };
    store.complete_job(&lease, &outcome, t0()).await.unwrap();
    assert_eq!(in_index(&store, "gsi5", "JOBS#RUNNING").await, 0);
    assert_eq!(in_index(&store, "gsi4", "JOBS#DEADLINE").await, 0);
    assert!(
        store
            .reap_jobs(t0() + secs(10_000))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_items_are_corrupt_and_backend_errors_keep_their_source() {
    let store = fresh().await;
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S("TICKET#bad".into()))
        .item("sk", AttributeValue::S("TICKET".into()))
        .item("body", AttributeValue::S("{not json".into()))
        .send()
        .await
        .unwrap();
    let err = store.get_ticket("bad").await.unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { kind: "ticket", .. }),
        "{err}"
    );

    let missing = DynamoStore::new(store.client().clone(), moto::unique("no-such-table"));
    let err = missing.get_ticket("t1").await.unwrap_err();
    assert!(matches!(err, StoreError::Backend { .. }), "{err}");
    let source = std::error::Error::source(&err).expect("the SDK error is kept");
    assert!(
        format!("{source:?}").contains("ResourceNotFound"),
        "{source:?}"
    );
}
