//! Bounded retries with exponential back-off. ListRepositoryTags is an
//! idempotent GET, so a connection failure, a timeout, 429 or a 5xx is worth
//! another try; a 4xx other than 429 never is (the same request gets the same
//! answer).

use std::time::Duration;

/// How many times, and how patiently, a failed call is repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub initial_backoff: Duration,
    /// Upper bound of one delay, `Retry-After` included.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, 200 ms then 400 ms then 800 ms (each ±50% jitter), at most 10 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The delay before retry number `retry` (0-based): exponential with
    /// jitter (so many clients failing together do not retry together), or
    /// the server's `Retry-After` if it asked for longer; never above
    /// `max_backoff`.
    pub fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry.min(31)));
        // Equal jitter: half fixed, half random.
        let half = exp / 2;
        let jittered = half + half.mul_f64(fastrand::f64());
        jittered
            .max(retry_after.unwrap_or_default())
            .min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        let p = RetryPolicy::default();
        for retry in 0..5 {
            let d = p.backoff(retry, None);
            let exp = Duration::from_millis(200 * 2u64.pow(retry));
            assert!(d >= exp / 2 && d <= exp, "{retry}: {d:?}");
        }
        assert_eq!(p.backoff(40, None), p.max_backoff);
        assert_eq!(
            p.backoff(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(p.backoff(0, Some(Duration::from_secs(3600))), p.max_backoff);
    }
}
