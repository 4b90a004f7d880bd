//! Client-side rate limiting at a vendor's published limits.
//!
//! [`Limiter`] is the contract (hold a slot from send until one window after the answer);
//! [`RateLimiter`] keeps it inside one process, and a [`SharedLimits`] (e.g. the
//! `anonymize-redis` crate) makes limiters that keep it across every process that shares them.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::Result;

/// A limiter: **a request holds one of [`RateLimit::max`] slots from the moment it is sent until
/// one [`RateLimit::window`] after it ends** (an answer, an error, a timeout, a cancellation).
/// Then, in any interval of one window, at most `max` requests arrive at the vendor, whatever the
/// network does (the proof is on [`RateLimiter`]).
///
/// [`RateLimiter`] is the in-process implementation, and the default of every vendor client. A
/// limiter shared by several processes (the `anonymize-redis` crate) keeps the same guarantee for
/// all of them together; it is built per budget by a [`SharedLimits`] given to a vendor builder's
/// `shared_limits` method.
///
/// The HTTP client calls [`acquire`](Self::acquire) before every attempt (retries, clones and
/// token requests each hold their own slot) and drops the [`RatePermit`] when the attempt has
/// ended. An implementation must:
///
/// - grant a slot only when fewer than `max` are held or cooling down;
/// - keep it until one window after the permit is dropped; a permit that carries a
///   [`deadline`](RatePermit::deadline) may instead be counted free one window after that
///   deadline, whichever comes first (the HTTP client ends the request by the deadline, so a
///   holder that dies never keeps its slot longer);
/// - answer an error, and grant nothing, when it cannot tell whether a slot is free (a shared
///   store that cannot be reached): the call then fails with that error and sends nothing.
#[async_trait::async_trait]
pub trait Limiter: Send + Sync + fmt::Debug {
    /// The limit enforced.
    fn limit(&self) -> RateLimit;

    /// Wait until a slot is free and take it for one request that will take at most
    /// `max_attempt` (the client's request timeout) from when it is sent. An error means no slot
    /// was taken: the request must not be sent.
    async fn acquire(&self, max_attempt: Duration) -> Result<RatePermit>;
}

/// Makes the [`Limiter`] of each of a vendor's budgets: the value a vendor builder's
/// `shared_limits` method takes, so that every client built with the same `SharedLimits` (in this
/// process or, for a shared store, in any other) counts against the same budgets.
///
/// `class` names one of the vendor's budgets (360Learning: `reads` and `writes`; a vendor that
/// publishes a single limit: `requests`), `limit` is the limit the client was configured with for
/// it. Two calls with the same class must give limiters that share their slots.
pub trait SharedLimits: Send + Sync + fmt::Debug {
    /// The limiter for the budget `class`, enforcing `limit`. An error fails the client's
    /// `build`.
    fn limiter(&self, class: &str, limit: RateLimit) -> Result<Arc<dyn Limiter>>;
}

/// The budget class given to a [`SharedLimits`] by a vendor with one limit for all its requests.
pub const REQUESTS_CLASS: &str = "requests";

/// The limiter of a client whose vendor publishes no limit (its builder's `rate_limit` and
/// `shared_limits`): none without a `limit`; an in-process [`RateLimiter`] with one; with
/// `shared` too, `shared`'s limiter for [`REQUESTS_CLASS`]. `shared` without a `limit` is an
/// [`Error::Configuration`](crate::Error::Configuration): a shared budget needs a limit to share,
/// and silently sharing nothing would defeat the caller's intent.
pub fn optional_limiter(
    limit: Option<RateLimit>,
    shared: Option<&dyn SharedLimits>,
) -> Result<Option<Arc<dyn Limiter>>> {
    Ok(match (limit, shared) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(crate::Error::configuration(
                "shared_limits needs a rate_limit: this vendor publishes no limit to share",
            ));
        }
        (Some(limit), None) => Some(Arc::new(RateLimiter::new(limit))),
        (Some(limit), Some(shared)) => Some(shared.limiter(REQUESTS_CLASS, limit)?),
    })
}

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

/// One request's slot; see [`Limiter`]. Hold it until the answer is read (or the request is
/// given up); dropping it frees the slot one window later.
#[must_use = "the slot is released when the permit is dropped"]
pub struct RatePermit {
    release: Release,
    deadline: Option<Instant>,
}

/// What dropping a permit does.
enum Release {
    /// An in-process [`RateLimiter`]'s slot.
    Local(Arc<Inner>),
    /// Another limiter's release (taken once, by `Drop`).
    Custom(Option<Box<dyn FnOnce() + Send>>),
}

impl RatePermit {
    /// A permit of a [`Limiter`] other than [`RateLimiter`]: dropping it runs `release` (once),
    /// which starts the slot's cool-down. `release` runs inside `Drop`, also when a call is
    /// cancelled: it must not block (spawn the work, e.g. a round trip to a shared store).
    ///
    /// With a `deadline`, the HTTP client sends the request only before it, with a timeout that
    /// ends by it: the limiter may then count the slot as free one window after the deadline,
    /// even if `release` never runs (a crash).
    pub fn new(deadline: Option<Instant>, release: impl FnOnce() + Send + 'static) -> Self {
        Self {
            release: Release::Custom(Some(Box::new(release))),
            deadline,
        }
    }

    /// When the request must have ended, for a limiter that needs it (see [`RatePermit::new`]).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
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
                        release: Release::Local(Arc::clone(&self.inner)),
                        deadline: None,
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

#[async_trait::async_trait]
impl Limiter for RateLimiter {
    fn limit(&self) -> RateLimit {
        self.inner.limit
    }

    /// [`RateLimiter::acquire`]: never fails, and needs no deadline (the slot is held until the
    /// permit is dropped, however long the request takes).
    async fn acquire(&self, _max_attempt: Duration) -> Result<RatePermit> {
        Ok(RateLimiter::acquire(self).await)
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for RatePermit {
    fn drop(&mut self) {
        match &mut self.release {
            Release::Local(inner) => {
                let mut state = inner.lock();
                state.in_flight -= 1;
                state.cooling.push_back(Instant::now() + inner.limit.window);
                drop(state);
                inner.released.notify_waiters();
            }
            Release::Custom(release) => {
                if let Some(release) = release.take() {
                    release();
                }
            }
        }
    }
}

impl fmt::Debug for RatePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RatePermit")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
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

    /// A fake shared store: records what it was asked for, hands out in-process limiters.
    #[derive(Debug, Default)]
    struct Recording(Mutex<Vec<(String, RateLimit)>>);

    impl SharedLimits for Recording {
        fn limiter(&self, class: &str, limit: RateLimit) -> Result<Arc<dyn Limiter>> {
            self.0.lock().unwrap().push((class.to_owned(), limit));
            Ok(Arc::new(RateLimiter::new(limit)))
        }
    }

    #[test]
    fn a_vendor_without_a_published_limit_shares_only_a_given_one() {
        let limit = RateLimit::per_second(7);
        let shared = Recording::default();
        assert!(optional_limiter(None, None).unwrap().is_none());
        let err = optional_limiter(None, Some(&shared)).unwrap_err();
        assert!(matches!(err, crate::Error::Configuration { .. }), "{err:?}");
        assert!(err.to_string().contains("rate_limit"), "{err}");
        let local = optional_limiter(Some(limit), None).unwrap().unwrap();
        assert_eq!(local.limit(), limit);
        assert!(shared.0.lock().unwrap().is_empty());
        let from_shared = optional_limiter(Some(limit), Some(&shared))
            .unwrap()
            .unwrap();
        assert_eq!(from_shared.limit(), limit);
        assert_eq!(
            *shared.0.lock().unwrap(),
            [(REQUESTS_CLASS.to_owned(), limit)]
        );
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
