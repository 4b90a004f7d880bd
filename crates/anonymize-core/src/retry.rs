//! When and how long to wait before sending a request again.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The retry policy every vendor client shares.
///
/// A request is sent again after a connect error (it never reached the vendor), after a timeout
/// or a broken connection when the request is idempotent, and after HTTP 408, 429, 500, 502, 503
/// and 504. Never after any other 4xx. Waits grow with *decorrelated jitter* (each wait is drawn
/// between the initial backoff and three times the previous wait, capped), bounded both by a count
/// and by a total time budget per call, and by a retry budget shared by every clone of the client
/// (see [`with_shared_budget`](Self::with_shared_budget)). A `Retry-After` header (seconds or HTTP date) is honoured, capped at
/// [`max_retry_after`](Self::with_max_retry_after). A 429 without `Retry-After` waits at least
/// [`rate_limited_backoff`](Self::with_rate_limited_backoff) (vendors that publish no `Retry-After` commonly ask for about a second).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    budget: Duration,
    max_retry_after: Duration,
    rate_limited_backoff: Duration,
    shared_budget: u32,
}

impl Default for RetryPolicy {
    /// 3 retries, 200 ms initial backoff, 10 s max backoff, a 60 s budget, `Retry-After` capped at
    /// 30 s, and at least 1 s after a 429 without `Retry-After`.
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            budget: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(30),
            rate_limited_backoff: Duration::from_secs(1),
            shared_budget: 500,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// How many times a request may be sent again after the first attempt.
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The shortest wait between attempts.
    pub fn with_initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// The longest wait between attempts (without `Retry-After`).
    pub fn with_max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// The total time one call may spend, first attempt included, before no further retry starts.
    pub fn with_budget(mut self, d: Duration) -> Self {
        self.budget = d;
        self
    }

    /// The longest `Retry-After` that is honoured; a longer one is cut to this.
    pub fn with_max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// The shortest wait after a 429 that carries no `Retry-After`.
    pub fn with_rate_limited_backoff(mut self, d: Duration) -> Self {
        self.rate_limited_backoff = d;
        self
    }

    /// The size of the retry budget every clone of a client shares: each retry costs 5 tokens,
    /// each success earns 1 back (default 500, i.e. 100 retries in a row before calls fail fast).
    pub fn with_shared_budget(mut self, tokens: u32) -> Self {
        self.shared_budget = tokens;
        self
    }

    /// The size of the shared retry budget, in tokens.
    pub fn shared_budget(&self) -> u32 {
        self.shared_budget
    }

    /// How many retries are allowed after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The total time budget of one call.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// The wait before the next attempt: decorrelated jitter from the previous wait, raised to the
    /// vendor's `Retry-After` (capped) or, for a 429 without one, to the rate-limited backoff.
    pub(crate) fn next_delay(
        &self,
        previous: Option<Duration>,
        status: Option<StatusCode>,
        retry_after: Option<Duration>,
    ) -> Duration {
        let floor = if status == Some(StatusCode::TOO_MANY_REQUESTS) && retry_after.is_none() {
            self.rate_limited_backoff.max(self.initial_backoff)
        } else {
            self.initial_backoff
        };
        let ceiling = self.max_backoff.max(floor);
        let upper = previous.map_or(floor, |p| (p * 3).clamp(floor, ceiling));
        let jittered = if upper > floor {
            let span = (upper - floor).as_nanos().min(u64::MAX as u128) as u64;
            floor + Duration::from_nanos(fastrand::u64(0..=span))
        } else {
            floor
        };
        match retry_after {
            Some(asked) => jittered.max(asked.min(self.max_retry_after)),
            None => jittered,
        }
    }
}

/// Whether an answer with this status is worth sending again: 408, 429, 500, 502, 503, 504.
/// The one list: [`Error::is_retryable`](crate::Error::is_retryable) and the client both read it.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// A retry budget shared by every clone of a client (as in the AWS SDKs): each retry spends
/// tokens, each success earns one back, and when the budget is empty no request is retried until
/// successes refill it. During an outage this turns "every call retries N times" into "calls fail
/// fast", so a bulk run does not multiply the load on a vendor that is already failing.
#[derive(Debug)]
pub(crate) struct RetryBudget {
    tokens: std::sync::atomic::AtomicU32,
    capacity: u32,
}

/// What one retry costs from the budget.
pub(crate) const RETRY_COST: u32 = 5;

impl RetryBudget {
    /// A full budget of `capacity` tokens.
    pub(crate) fn new(capacity: u32) -> Self {
        Self {
            tokens: std::sync::atomic::AtomicU32::new(capacity),
            capacity,
        }
    }

    /// Take the cost of one retry; `false` (and nothing taken) when the budget cannot pay it.
    pub(crate) fn try_spend(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.tokens
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                t.checked_sub(RETRY_COST)
            })
            .is_ok()
    }

    /// A request succeeded: earn one token back, up to the capacity.
    pub(crate) fn earn(&self) {
        use std::sync::atomic::Ordering;
        let _ = self
            .tokens
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                (t < self.capacity).then_some(t + 1)
            });
    }
}

/// Read a `Retry-After` header: delay-seconds or an HTTP date (a date in the past means now).
pub(crate) fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs.min(u32::MAX as f64)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(
            parse_retry_after(&headers("7")),
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse_retry_after(&headers(" 0 ")), Some(Duration::ZERO));
        let future = SystemTime::now() + Duration::from_secs(120);
        let parsed = parse_retry_after(&headers(&httpdate::fmt_http_date(future))).unwrap();
        assert!(parsed > Duration::from_secs(110) && parsed <= Duration::from_secs(120));
        assert_eq!(
            parse_retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(&headers("soon")), None);
        assert_eq!(parse_retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn delays_grow_within_bounds() {
        let p = RetryPolicy::default();
        let mut prev = None;
        for _ in 0..50 {
            let d = p.next_delay(prev, Some(StatusCode::SERVICE_UNAVAILABLE), None);
            assert!(d >= p.initial_backoff && d <= p.max_backoff, "{d:?}");
            prev = Some(d);
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default().with_max_retry_after(Duration::from_secs(5));
        let d = p.next_delay(
            None,
            Some(StatusCode::TOO_MANY_REQUESTS),
            Some(Duration::from_secs(3)),
        );
        assert!(d >= Duration::from_secs(3));
        let d = p.next_delay(
            None,
            Some(StatusCode::TOO_MANY_REQUESTS),
            Some(Duration::from_secs(3600)),
        );
        assert!(d >= Duration::from_secs(5) && d <= p.max_backoff.max(Duration::from_secs(5)));
    }

    #[test]
    fn bare_429_waits_at_least_the_rate_limited_backoff() {
        let p = RetryPolicy::default();
        for _ in 0..20 {
            let d = p.next_delay(None, Some(StatusCode::TOO_MANY_REQUESTS), None);
            assert!(d >= Duration::from_secs(1), "{d:?}");
        }
    }

    #[test]
    fn the_retry_budget_drains_and_refills() {
        let budget = RetryBudget::new(2 * RETRY_COST);
        assert!(budget.try_spend());
        assert!(budget.try_spend());
        assert!(!budget.try_spend());
        for _ in 0..RETRY_COST {
            budget.earn();
        }
        assert!(budget.try_spend());
        for _ in 0..100 {
            budget.earn();
        }
        assert!(budget.try_spend() && budget.try_spend() && !budget.try_spend());
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(s).unwrap()));
        }
        for s in [400, 401, 403, 404, 409, 422, 501, 505] {
            assert!(!is_retryable_status(StatusCode::from_u16(s).unwrap()));
        }
    }
}
