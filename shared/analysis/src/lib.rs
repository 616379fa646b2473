//! Pure analyzers: file in, findings out. No I/O beyond reading the files they
//! are given; the discovery role turns their findings into tickets.
//!
//! # Layout
//! - [`logs`]: an online log template miner; recurring errors.
//! - [`coverage`]: lcov and Cobertura reports, ranked by churn.
//! - [`deps`]: lock files against the RustSec and OSV advisory databases.
//! - [`recurring`]: recurring errors from mined logs, scored for fixability.
//! - [`advisories`]: dependency findings as findings.
//! - [`finding`]: what every analyzer reports, with a stable fingerprint.

pub mod advisories;
pub mod coverage;
pub mod deps;
pub mod finding;
pub mod logs;
pub mod recurring;
