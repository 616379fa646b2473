//! One contract test suite per port. Every adapter runs the same cases: the
//! embedded ones in `tests/`, the AWS ones against an emulator. An adapter that
//! passes its suite is interchangeable with the others.
//!
//! Each case is a plain async fn taking a fresh fixture; the macros
//! ([`store_contract!`], [`queue_contract!`], [`launcher_contract!`]) expand
//! to one `#[tokio::test]` per case, given a function that builds the fixture.
//!
//! # Layout
//! - [`tickets`], [`jobs`], [`approvals`], [`locks`], [`budget`], [`audit`]: the store ports.
//! - [`queue`]: the queue port.
//! - [`launcher`]: the job launcher port.
//! - [`logs`]: the log source port.
//! - [`forge`]: the forge port (repositories, pull requests, comments).

pub mod approvals;
pub mod audit;
pub mod budget;
pub mod forge;
pub mod idempotency;
pub mod jobs;
pub mod launcher;
pub mod locks;
pub mod logs;
pub mod queue;
pub mod tickets;

use nightshift_core::Timestamp;
use nightshift_core::ports::{IdempotencyStore, JobLauncher, LogSource, Queue, Stores};
use std::any::Any;
use std::sync::Arc;

/// A fresh backend for one case; `guard` keeps its resources (a temp dir, a
/// table) alive until the case ends.
pub struct StoreFixture {
    pub stores: Stores,
    pub guard: Box<dyn Any + Send + Sync>,
}

/// A fresh queue whose receive limit (SQS's maxReceiveCount) is [`MAX_RECEIVES`].
pub struct QueueFixture {
    pub queue: Arc<dyn Queue>,
    pub guard: Box<dyn Any + Send + Sync>,
}

pub const MAX_RECEIVES: u32 = 3;

/// A fresh idempotency store.
pub struct IdempotencyFixture {
    pub store: Arc<dyn IdempotencyStore>,
    pub guard: Box<dyn Any + Send + Sync>,
}

/// Every idempotency case, against `$make().await: IdempotencyFixture`.
#[macro_export]
macro_rules! idempotency_contract {
    ($make:path) => {
        $crate::__cases!($make;
            idempotency::idempotency_claims_once_then_remembers_the_result,
            idempotency::idempotency_a_dead_handlers_claim_expires_and_a_release_frees_it,
            idempotency::idempotency_three_concurrent_deliveries_have_one_effect,
        );
    };
}

/// A launcher whose jobs run `sleep 30` (or the adapter's equivalent) unless the
/// job id starts with `quick`, which exit 0 at once.
pub struct LauncherFixture {
    pub launcher: Arc<dyn JobLauncher>,
    pub guard: Box<dyn Any + Send + Sync>,
}

/// A log source holding [`logs::seed`] under `name`.
pub struct LogSourceFixture {
    pub source: Arc<dyn LogSource>,
    pub name: String,
    pub guard: Box<dyn Any + Send + Sync>,
}

/// A fixed instant the cases count from, so expiry is explicit.
pub fn t0() -> Timestamp {
    chrono::DateTime::parse_from_rfc3339("2026-01-05T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
}

pub fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

#[doc(hidden)]
#[macro_export]
macro_rules! __cases {
    ($make:path; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::$module::$case($make().await).await;
            }
        )*
    };
}

/// Every store case, against `$make().await: StoreFixture`.
#[macro_export]
macro_rules! store_contract {
    ($make:path) => {
        $crate::__cases!($make;
            tickets::tickets_create_is_idempotent_and_audited,
            tickets::tickets_update_is_conditional_on_version,
            tickets::tickets_concurrent_updates_have_one_winner,
            tickets::tickets_ready_queue_is_by_priority_then_age,
            tickets::tickets_fingerprint_lookup_skips_terminal,
            tickets::tickets_list_filters_and_counts,
            jobs::jobs_claim_next_by_priority_then_age,
            jobs::jobs_claim_is_exclusive,
            jobs::jobs_lost_lease_cannot_heartbeat_or_complete,
            jobs::jobs_reaper_requeues_then_fails_on_last_attempt,
            jobs::jobs_reaper_fails_past_deadline,
            jobs::jobs_launch_is_recorded_per_attempt,
            jobs::jobs_concurrent_claimers_take_each_job_once,
            approvals::approvals_request_is_idempotent,
            approvals::approvals_are_decided_once,
            locks::locks_are_exclusive_until_expiry,
            locks::locks_concurrent_acquire_has_one_winner,
            budget::budget_reserve_commit_release,
            budget::budget_fails_closed_over_the_limit,
            budget::budget_concurrent_reservations_never_overspend,
            audit::audit_chain_verifies_in_pages,
            audit::audit_prune_keeps_a_verifiable_chain,
        );
    };
}

/// Every queue case, against `$make().await: QueueFixture`.
#[macro_export]
macro_rules! queue_contract {
    ($make:path) => {
        $crate::__cases!($make;
            queue::queue_send_receive_delete,
            queue::queue_visibility_hides_then_reveals,
            queue::queue_release_counts_receives_and_keeps_order,
            queue::queue_poison_goes_to_dlq_with_reason_without_blocking,
            queue::queue_receive_limit_dead_letters_with_reason,
            queue::queue_redrive_returns_dead_letters,
            queue::queue_concurrent_receivers_get_each_message_once,
        );
    };
}

/// Every launcher case, against `$make().await: LauncherFixture`.
#[macro_export]
macro_rules! launcher_contract {
    ($make:path) => {
        $crate::__cases!($make;
            launcher::launcher_launch_is_idempotent,
            launcher::launcher_stop_stops,
            launcher::launcher_reports_exit,
        );
    };
}

/// Every log source case, against `$make().await: LogSourceFixture`.
#[macro_export]
macro_rules! logs_contract {
    ($make:path) => {
        $crate::__cases!($make;
            logs::logs_fetch_returns_records_in_order,
            logs::logs_fetch_since_skips_older_records,
            logs::logs_missing_source_is_not_found,
        );
    };
}

/// A forge holding `repo`, whose default branch is `protected` (and protected),
/// with two more branches pushed (`feature`, `other`) that no PR uses yet.
/// `human_comment(number, author, can_write, body)` records a comment by
/// someone other than Nightshift on PR `number` of `repo`.
pub struct ForgeFixture {
    pub forge: Arc<dyn nightshift_core::forge::Forge>,
    pub repo: String,
    pub protected: String,
    pub feature: String,
    pub other: String,
    pub human_comment: HumanComment,
    pub guard: Box<dyn Any + Send + Sync>,
}

/// Records a human's comment: `(number, author, can_write, body)`.
pub type HumanComment =
    Box<dyn Fn(u64, &str, bool, &str) -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

/// Every forge case, against `$make().await: ForgeFixture`.
#[macro_export]
macro_rules! forge_contract {
    ($make:path) => {
        $crate::__cases!($make;
            forge::forge_access_names_the_default_branch,
            forge::forge_open_pr_is_idempotent_per_head,
            forge::forge_numbers_increase,
            forge::forge_get_and_list,
            forge::forge_comments_keep_order_and_author_flags,
            forge::forge_open_pr_refuses_missing_head_and_same_base,
            forge::forge_delete_branch_refuses_protected,
            forge::forge_missing_things_are_not_found,
            forge::forge_can_write_follows_the_collaborators,
            forge::forge_merge_pr_merges_once_and_refuses_closed,
        );
    };
}
