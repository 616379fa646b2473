//! Retries for one provider, before the router gives up on it and falls back.
//!
//! Exponential backoff with full jitter (a delay drawn uniformly from zero to
//! the exponential cap), so many workers hit by the same outage do not retry in
//! lockstep. A provider's `Retry-After` is honoured as given, up to `max_delay`:
//! it knows better than our guess. Only `LlmError::is_retryable` errors are
//! retried; a bad request fails at once. Sleeping goes through `tokio::time`, so
//! tests run it under a paused clock.

use async_trait::async_trait;
use nightshift_core::llm::{ChatRequest, ChatResponse, LlmError, LlmProvider};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first included (0 counts as 1).
    pub max_attempts: u32,
    /// The cap of the first backoff; it doubles with each retry.
    pub base_delay: Duration,
    /// No wait is longer, whatever the backoff or `Retry-After` says.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first retry). `unit` is a
    /// random number in `[0, 1)`: the jitter.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_delay);
        }
        let factor = 1u32 << retry.min(20);
        let cap = self
            .base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        cap.mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// A provider that retries its inner provider's retryable failures. Generic over
/// `?Sized` so it wraps a concrete adapter or an `Arc<dyn LlmProvider>` alike.
pub struct Retrying<P: ?Sized + LlmProvider = dyn LlmProvider> {
    inner: Arc<P>,
    policy: RetryPolicy,
    rng: AtomicU64,
}

impl<P: ?Sized + LlmProvider> Retrying<P> {
    pub fn new(inner: Arc<P>, policy: RetryPolicy) -> Self {
        // The clock is a good enough seed: jitter needs spread, not secrecy.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Self::with_seed(inner, policy, nanos)
    }

    /// A fixed seed, for reproducible jitter.
    pub fn with_seed(inner: Arc<P>, policy: RetryPolicy, seed: u64) -> Self {
        Self {
            inner,
            policy,
            // xorshift must not start at zero.
            rng: AtomicU64::new(seed | 1),
        }
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// A number in `[0, 1)` from xorshift64*.
    fn unit(&self) -> f64 {
        let step = |mut x: u64| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x
        };
        let previous = self
            .rng
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(step(x)))
            .unwrap_or_else(|x| x);
        let next = step(previous).wrapping_mul(0x2545_F491_4F6C_DD1D);
        (next >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl<P: ?Sized + LlmProvider> fmt::Debug for Retrying<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retrying")
            .field("inner", &self.inner.name())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<P: ?Sized + LlmProvider> LlmProvider for Retrying<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let attempts = self.policy.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let error = match self.inner.chat(req).await {
                Ok(response) => return Ok(response),
                Err(e) if e.is_retryable() && attempt < attempts => e,
                Err(e) => return Err(e),
            };
            let retry_after = match &error {
                LlmError::RateLimited { retry_after, .. } => *retry_after,
                _ => None,
            };
            let delay = self.policy.delay(attempt - 1, retry_after, self.unit());
            tracing::warn!(
                provider = self.inner.name(),
                model = %req.model,
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %error,
                "llm call failed; retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitters_below_it() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
        };
        assert_eq!(
            policy.delay(0, None, 0.999_999),
            Duration::from_nanos(999_999_000)
        );
        assert_eq!(policy.delay(2, None, 0.5), Duration::from_secs(2));
        assert_eq!(policy.delay(3, None, 0.5), Duration::from_millis(2500));
        assert_eq!(policy.delay(60, None, 0.5), Duration::from_millis(2500));
        assert_eq!(policy.delay(0, None, 0.0), Duration::ZERO);
        let after = Some(Duration::from_secs(3));
        assert_eq!(policy.delay(0, after, 0.1), Duration::from_secs(3));
        let long = Some(Duration::from_secs(300));
        assert_eq!(policy.delay(0, long, 0.1), Duration::from_secs(5));
    }

    struct Never;

    #[async_trait]
    impl LlmProvider for Never {
        fn name(&self) -> &str {
            "never"
        }
        async fn chat(&self, _: &ChatRequest) -> Result<ChatResponse, LlmError> {
            Err(LlmError::NotConfigured {
                role: "x".into(),
                hint: "y".into(),
            })
        }
    }

    #[test]
    fn jitter_stays_in_the_unit_interval_and_spreads() {
        let r = Retrying::with_seed(Arc::new(Never), RetryPolicy::default(), 42);
        let draws: Vec<f64> = (0..1000).map(|_| r.unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        let low = draws.iter().filter(|u| **u < 0.5).count();
        assert!((400..600).contains(&low), "{low} of 1000 below 0.5");
    }
}
