//! Client-side rate limiting at a vendor's published limits.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// A limit as a vendor publishes it: `max` requests per `window`. A [`RateLimiter`] enforces it
/// with a slack of 5 % of the window: at most `max` requests start in any `window` × 1.05.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    max: u32,
    window: Duration,
}

impl RateLimit {
    /// `max` requests per second (`max` of 0 is treated as 1). A [`RateLimiter`] lets at most
    /// `max` requests start in any 1.05 s: a little under the figure, never over it.
    pub fn per_second(max: u32) -> Self {
        Self::new(max, Duration::from_secs(1))
    }

    /// At most `max` requests in any `window` (`max` of 0 is treated as 1).
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max: max.max(1),
            window,
        }
    }

    /// The number of requests allowed per window.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.window
    }
}

/// A sliding-window limiter: a request may start only when fewer than `max` requests started in
/// the last `window` plus 5 % of it (a slack for the time a request spends on the wire, so that the
/// vendor, who counts arrivals, sees no more than `max` per `window`). Clones share one window, so
/// every clone of a client — and every retry — counts against the same limit.
#[derive(Clone)]
pub struct RateLimiter {
    limit: RateLimit,
    span: Duration,
    started: Arc<Mutex<VecDeque<Instant>>>,
}

impl RateLimiter {
    /// A limiter for `limit`, with a slack of 5 % of the window: at most `limit.max()` requests
    /// start in any `limit.window()` × 1.05.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            span: limit.window + limit.window / 20,
            started: Arc::new(Mutex::new(VecDeque::with_capacity(limit.max as usize))),
        }
    }

    /// The limit enforced.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Wait until a request may start, and count it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut started = self
                    .started
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = Instant::now();
                while started.front().is_some_and(|t| *t + self.span <= now) {
                    started.pop_front();
                }
                if started.len() < self.limit.max as usize {
                    started.push_back(now);
                    return;
                }
                // The oldest start leaves the window first.
                started
                    .front()
                    .map_or(Duration::ZERO, |t| *t + self.span - now)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_max_in_any_window() {
        let limiter = RateLimiter::new(RateLimit::per_second(10));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..35 {
            limiter.acquire().await;
            times.push(Instant::now() - start);
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 10, "{in_window} starts within 1 s of {t:?}");
        }
        // The first ten go at once, then one window (plus slack) per ten.
        assert_eq!(times[9], Duration::ZERO);
        assert!(times[10] >= Duration::from_secs(1));
        assert!(times[34] < Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_the_window() {
        let a = RateLimiter::new(RateLimit::per_second(2));
        let b = a.clone();
        let start = Instant::now();
        a.acquire().await;
        b.acquire().await;
        a.acquire().await;
        assert!(Instant::now() - start >= Duration::from_secs(1));
    }
}
