//! The dependency watchdog's integration tests: one test binary, with the
//! fixture helpers they share.

mod bench;
mod errors;
mod osv;
mod rustsec;

use std::path::{Path, PathBuf};

/// The RustSec snapshot in `../shared/data` beside the checkout.
pub const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/rustsec-advisory-db"
);

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/deps")
        .join(rel)
}
