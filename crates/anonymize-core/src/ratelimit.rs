//! Client-side rate limiting at a vendor's published limits.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// A published limit: at most `max` requests in any `window`. Give a [`RateLimiter`] the vendor's
/// exact figures: it keeps the vendor's count of arrivals within them by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    max: u32,
    window: Duration,
}

impl RateLimit {
    /// At most `max` requests in any one-second window, the exact published limit (`max` of 0 is
    /// treated as 1).
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

/// A client-side limiter that keeps the vendor's count of arrivals within its limit **by
/// construction**, whatever the network does.
///
/// A vendor counts requests when they *arrive*, and a request arrives somewhere between the moment
/// it is sent and the moment its answer comes back (or the client gives up on it: a timeout, a
/// cancellation, a reset). So each request holds one of `max` slots from the moment it is sent
/// until one `window` after it ends. The guarantee: in any interval of length `window`, at most
/// `max` requests arrive at the vendor. (All requests arriving in `[t, t + window)` were sent
/// before `t + window` and ended after `t`, so each still held its slot just before
/// `t + window`: there were at most `max` of them.) No fixed slack is needed, however the travel
/// time varies; the price is the round trip: a sustained rate of `max / (window + round trip)`,
/// e.g. 10 per second at 1 s windows and a 50 ms round trip is 9.5 per second.
///
/// Every attempt holds its own slot (retries count), and clones share the slots, so every clone
/// of a client counts against the same limit. Dropping a [`RatePermit`] (an answer, an error, a
/// cancelled call) starts its slot's cool-down.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    limit: RateLimit,
    state: Mutex<State>,
    released: Notify,
}

#[derive(Default)]
struct State {
    /// Requests sent and not yet ended.
    in_flight: usize,
    /// When each ended request's slot is free again, oldest first (`end + window`: pushed in
    /// order, since time only moves forward).
    cooling: VecDeque<Instant>,
}

/// One request's slot; see [`RateLimiter`]. Hold it until the answer is read (or the request is
/// given up); dropping it frees the slot one window later.
#[must_use = "the slot is released when the permit is dropped"]
pub struct RatePermit {
    inner: Arc<Inner>,
}

impl RateLimiter {
    /// A limiter for `limit`.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            inner: Arc::new(Inner {
                limit,
                state: Mutex::new(State::default()),
                released: Notify::new(),
            }),
        }
    }

    /// The limit enforced.
    pub fn limit(&self) -> RateLimit {
        self.inner.limit
    }

    /// Wait until a slot is free, and take it for one request.
    pub async fn acquire(&self) -> RatePermit {
        loop {
            // Registered before looking, so that a release between the look and the wait is seen.
            let released = self.inner.released.notified();
            let wait = {
                let mut state = self.inner.lock();
                let now = Instant::now();
                while state.cooling.front().is_some_and(|free_at| *free_at <= now) {
                    state.cooling.pop_front();
                }
                if state.in_flight + state.cooling.len() < self.inner.limit.max as usize {
                    state.in_flight += 1;
                    return RatePermit {
                        inner: Arc::clone(&self.inner),
                    };
                }
                // Every slot is busy: the first to cool down frees one; with none cooling, the
                // next request to end starts a cool-down.
                state.cooling.front().map(|free_at| *free_at - now)
            };
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => released.await,
            }
        }
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for RatePermit {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        state.in_flight -= 1;
        state
            .cooling
            .push_back(Instant::now() + self.inner.limit.window);
        drop(state);
        self.inner.released.notify_waiters();
    }
}

impl fmt::Debug for RatePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RatePermit").finish_non_exhaustive()
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limit", &self.inner.limit)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At most `max` of `arrivals` (sorted) in any half-open interval of length `window`.
    fn most_in_any_window(arrivals: &[Duration], window: Duration) -> usize {
        let mut most = 0;
        for (i, t) in arrivals.iter().enumerate() {
            let n = arrivals[i..]
                .iter()
                .take_while(|u| **u < *t + window)
                .count();
            most = most.max(n);
        }
        most
    }

    /// The guarantee, with requests that arrive at the vendor at *any* moment between being sent
    /// and ending (an answer, a timeout, a cancellation), with round trips from 0 to 300 ms.
    #[tokio::test(start_paused = true)]
    async fn no_window_at_the_vendor_sees_more_than_the_limit() {
        let limit = RateLimit::per_second(10);
        for seed in 0..20u64 {
            let limiter = RateLimiter::new(limit);
            let start = Instant::now();
            let arrivals = Arc::new(Mutex::new(Vec::new()));
            let mut rng = fastrand::Rng::with_seed(seed);
            let tasks: Vec<_> = (0..120)
                .map(|_| {
                    let limiter = limiter.clone();
                    let arrivals = arrivals.clone();
                    // How long the request takes, and where in it the vendor sees it arrive
                    // (0.0: as it is sent; 1.0: as its answer comes back or it is given up).
                    let round_trip = Duration::from_millis(rng.u64(0..=300));
                    let at = rng.f64();
                    let cancelled = rng.u8(0..10) == 0;
                    tokio::spawn(async move {
                        let permit = limiter.acquire().await;
                        let sent = Instant::now();
                        let arrival = sent + round_trip.mul_f64(at);
                        if cancelled {
                            // Given up half-way; the request still arrives before that.
                            tokio::time::sleep(round_trip / 2).await;
                            let arrival = sent + (round_trip / 2).mul_f64(at);
                            arrivals.lock().unwrap().push(arrival - start);
                            drop(permit);
                            return;
                        }
                        tokio::time::sleep(round_trip).await;
                        arrivals.lock().unwrap().push(arrival - start);
                        drop(permit);
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            let mut arrivals = arrivals.lock().unwrap().clone();
            arrivals.sort();
            assert_eq!(arrivals.len(), 120);
            let most = most_in_any_window(&arrivals, limit.window());
            assert!(most <= 10, "seed {seed}: {most} arrivals within one window");
        }
    }

    /// The rate it reaches: `max / (window + round trip)`, with no fixed slack.
    #[tokio::test(start_paused = true)]
    async fn the_rate_is_the_limit_over_window_plus_round_trip() {
        for round_trip_ms in [0u64, 50] {
            let limiter = RateLimiter::new(RateLimit::per_second(10));
            let start = Instant::now();
            let tasks: Vec<_> = (0..100)
                .map(|_| {
                    let limiter = limiter.clone();
                    tokio::spawn(async move {
                        let _permit = limiter.acquire().await;
                        tokio::time::sleep(Duration::from_millis(round_trip_ms)).await;
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            let rate = 100.0 / (Instant::now() - start).as_secs_f64();
            let expected = 10.0 / (1.0 + round_trip_ms as f64 / 1000.0);
            // 100 requests, the first 10 at once: within a few percent of the steady rate.
            assert!(
                rate >= expected * 0.97 && rate <= expected * 1.12,
                "{round_trip_ms} ms: {rate}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_the_slots() {
        let a = RateLimiter::new(RateLimit::per_second(2));
        let b = a.clone();
        let start = Instant::now();
        drop(a.acquire().await);
        drop(b.acquire().await);
        drop(a.acquire().await);
        assert!(Instant::now() - start >= Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_slot_is_not_lent_out() {
        let limiter = RateLimiter::new(RateLimit::per_second(1));
        let held = limiter.acquire().await;
        let waiter = {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let _p = limiter.acquire().await;
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        let ended = Instant::now();
        drop(held);
        // One window after the request ended, not after it started.
        assert_eq!(waiter.await.unwrap() - ended, Duration::from_secs(1));
    }
}
