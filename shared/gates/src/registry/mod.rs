//! Package registries asked whether a dependency exists, so a change cannot
//! add a package a model invented (or a typosquat of a real one that does
//! not exist yet, waiting to be registered).
//!
//! Only 200 (exists) and 404/410 (missing) are answers. Anything else, a
//! timeout, a refused connection or an impossible name is
//! [`Existence::Unverified`], which the gate reports as such and never as a
//! pass. Answers are cached for [`RegistryConfig::cache_ttl`]; unverified
//! outcomes are not, so the next review asks again.
//!
//! # Layout
//! - `mod.rs`: [`RegistryChecker`] and its cache.
//! - `urls.rs`: name validation and each registry's lookup URL.
//! - `gate.rs`: [`dependencies_gate`] over changed manifests.

mod gate;
mod urls;

pub use gate::{ManifestChange, dependencies_gate};

use crate::manifests::{Dependency, Ecosystem};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the registries are, and how long to wait for and trust them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// The crates.io sparse index.
    pub crates_index: String,
    pub pypi: String,
    pub npm: String,
    pub timeout: Duration,
    pub cache_ttl: Duration,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            crates_index: "https://index.crates.io".into(),
            pypi: "https://pypi.org".into(),
            npm: "https://registry.npmjs.org".into(),
            timeout: Duration::from_secs(10),
            cache_ttl: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// Whether a package exists on its registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existence {
    Exists,
    Missing,
    /// The registry gave no answer; the reason names the registry.
    Unverified(String),
}

type CacheKey = (Ecosystem, String);

/// Looks packages up over HTTP. Clones share one client and one cache.
#[derive(Clone)]
pub struct RegistryChecker {
    client: reqwest::Client,
    config: Arc<RegistryConfig>,
    /// Definitive answers (exists or not) and when they were fetched.
    cache: Arc<Mutex<HashMap<CacheKey, (bool, Instant)>>>,
}

impl RegistryChecker {
    /// # Panics
    /// If the HTTP client cannot be built (no usable TLS backend), which is a
    /// build problem rather than something to recover from.
    pub fn new(config: RegistryConfig) -> Self {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent("nightshift-gates")
            .build()
            .expect("building the registry HTTP client");
        Self {
            client,
            config: Arc::new(config),
            cache: Arc::default(),
        }
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// Whether `dep` exists on its registry.
    pub async fn check(&self, dep: &Dependency) -> Existence {
        let registry = dep.ecosystem.registry_name();
        let base = match dep.ecosystem {
            Ecosystem::Crates => &self.config.crates_index,
            Ecosystem::PyPI => &self.config.pypi,
            Ecosystem::Npm => &self.config.npm,
        };
        let (url, name) = match urls::lookup_url(base, dep) {
            Ok(found) => found,
            Err(why) => return Existence::Unverified(format!("{registry}: {why}")),
        };
        let key = (dep.ecosystem, name);
        if let Some(exists) = self.lookup_cache(&key) {
            return if exists {
                Existence::Exists
            } else {
                Existence::Missing
            };
        }
        let mut request = self.client.get(&url);
        if dep.ecosystem == Ecosystem::Npm {
            // The abbreviated document: a fraction of the full one's size.
            request = request.header(
                reqwest::header::ACCEPT,
                "application/vnd.npm.install-v1+json",
            );
        }
        // Only the status matters; the body is dropped unread.
        let answer = match request.send().await {
            Ok(response) => match response.status().as_u16() {
                200 => Existence::Exists,
                404 | 410 => Existence::Missing,
                status => Existence::Unverified(format!("{registry} answered HTTP {status}")),
            },
            Err(e) if e.is_timeout() => Existence::Unverified(format!(
                "{registry} did not answer within {:?}",
                self.config.timeout
            )),
            Err(e) => {
                Existence::Unverified(format!("{registry} could not be reached: {}", chain(&e)))
            }
        };
        tracing::debug!(%url, ?answer, "registry lookup");
        match answer {
            Existence::Exists => self.store(key, true),
            Existence::Missing => self.store(key, false),
            Existence::Unverified(_) => {}
        }
        answer
    }

    /// How many answers are cached and still fresh.
    pub fn cached(&self) -> usize {
        let ttl = self.config.cache_ttl;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (_, at)| at.elapsed() < ttl);
        cache.len()
    }

    fn lookup_cache(&self, key: &CacheKey) -> Option<bool> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let (exists, at) = cache.get(key)?;
        (at.elapsed() < self.config.cache_ttl).then_some(*exists)
    }

    fn store(&self, key: CacheKey, exists: bool) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(key, (exists, Instant::now()));
    }
}

/// An error and its causes on one line: reqwest's own message omits the
/// cause ("connection refused"), which is the useful part.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests;
