//! Bounded retries with exponential back-off. ListRepositoryTags is an
//! idempotent GET, so a connection failure, a timeout, 429 or a 5xx is worth
//! another try; a 4xx other than 429 never is (the same request gets the same
//! answer).
//!
//! The same policy drives every retry loop in the workspace: the client's,
//! and swrd's registry feed ([`RetryPolicy::retry`], [`RetryPolicy::retry_after`]).

use std::future::Future;
use std::time::{Duration, SystemTime};

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

    /// Runs `attempt` until it succeeds, `verdict` says its result is final,
    /// or `max_retries` retries are spent; sleeps [`backoff`](Self::backoff)
    /// between attempts. `verdict` returns `None` for a final result, or
    /// `Some(retry_after)` for a transient one (`retry_after`: what the server
    /// asked for, see [`RetryPolicy::retry_after`]).
    pub async fn retry<T, F, Fut>(
        &self,
        mut attempt: F,
        verdict: impl Fn(&T) -> Option<Option<Duration>>,
    ) -> T
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = T>,
    {
        let mut retry = 0;
        loop {
            let result = attempt(retry).await;
            match verdict(&result) {
                Some(after) if retry < self.max_retries => {
                    tokio::time::sleep(self.backoff(retry, after)).await;
                    retry += 1;
                }
                _ => return result,
            }
        }
    }

    /// A response's `Retry-After` as a delay: delta-seconds (`120`) or an
    /// HTTP-date (counted from now; a date in the past is zero). `None` when
    /// absent or unreadable.
    pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
        retry_after(headers)
    }
}

/// A response's `Retry-After` as a delay: delta-seconds (`120`) or an
/// HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, counted from now; a date in
/// the past is zero). `None` when absent or unreadable.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let at = SystemTime::from(at);
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
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

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", " 7 ".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        let later = time::OffsetDateTime::now_utc() + Duration::from_secs(100);
        let text = later
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap();
        h.insert("retry-after", text.parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(95) && d <= Duration::from_secs(100),
            "{d:?}"
        );
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[tokio::test]
    async fn retry_stops_on_a_final_answer_or_when_spent() {
        let p = RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        };
        let mut calls = 0;
        let r = p
            .retry(
                |_| {
                    calls += 1;
                    async move { calls }
                },
                |_| Some(None),
            )
            .await;
        assert_eq!((r, calls), (3, 3));
        let r = p
            .retry(|n| async move { n }, |n| (*n < 1).then_some(None))
            .await;
        assert_eq!(r, 1);
    }
}
