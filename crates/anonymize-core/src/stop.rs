//! [`Stop`]: stop an erasure run at the request, not at the batch.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::error::Error;

tokio::task_local! {
    static CURRENT: Scope;
}

/// What the requests of a task answer to: a stop (none in a user's erasure run outside any
/// [`Stop::scope`]), and, inside one user's erasure, whether that user's first request that is not
/// a read has been sent (from then on the user is begun, and finished). Nothing in it is
/// allocated per user: a user's scope is entered for every erasure, stop or no stop.
struct Scope {
    stop: Option<Stop>,
    /// `None` outside a user's erasure; only this task reads and writes it.
    begun: Option<Cell<bool>>,
}

impl Scope {
    fn error(&self) -> Option<Error> {
        match &self.begun {
            Some(begun) if begun.get() => None,
            _ => self.stop.as_ref().and_then(Stop::error),
        }
    }
}

/// A stop shared by a run and every erasure it has under way: once [`stop`](Self::stop)ped, no
/// user not yet begun is started, while the requests already sent are answered (and a user begun
/// at a vendor whose erasure takes two requests, such as 360Learning's delete then pseudonymize,
/// is finished).
///
/// Give it to an [`Eraser`](crate::Eraser) with [`with_stop`](crate::Eraser::with_stop): the
/// eraser takes no further person, sends no further erasure call, and runs each look-up and
/// erasure call in the stop's [`scope`](Self::scope). In the scope, a vendor client's
/// [`Batch`](crate::vendor::Batch) checks it before each user (or group of users) it starts, and
/// the HTTP client before each request it sends, look-ups and token requests included; a user
/// already begun is shielded and finished. The persons not started are
/// [`NotAttempted`](crate::VendorStatus::NotAttempted) with an [`Error::Stopped`] that gives the
/// reason. Clones share the one stop.
///
/// ```
/// use anonymize_core::Stop;
///
/// let stop = Stop::new();
/// let handle = stop.clone(); // e.g. moved into a signal handler
/// assert!(!stop.is_stopped());
/// handle.stop("interrupted (SIGTERM)");
/// assert!(stop.is_stopped());
/// assert_eq!(stop.reason(), Some("interrupted (SIGTERM)"));
/// ```
#[derive(Clone, Default)]
pub struct Stop {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    stopped: AtomicBool,
    reason: OnceLock<String>,
}

impl fmt::Debug for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stop")
            .field("stopped", &self.is_stopped())
            .field("reason", &self.reason())
            .finish()
    }
}

impl Stop {
    /// A stop not yet pulled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pull it, saying why (never personal data; the first reason given is kept).
    pub fn stop(&self, reason: impl Into<String>) {
        let _ = self.inner.reason.set(reason.into());
        self.inner.stopped.store(true, Ordering::SeqCst);
    }

    /// Whether it was pulled.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Why it was pulled.
    pub fn reason(&self) -> Option<&str> {
        self.inner.reason.get().map(String::as_str)
    }

    /// The error of the users it kept from starting, once pulled.
    pub fn error(&self) -> Option<Error> {
        self.is_stopped()
            .then(|| Error::stopped(self.reason().unwrap_or("the run is stopping")))
    }

    /// Run `future` with this stop as the current one: what [`Stop::current`] answers inside
    /// it (in the same task), and what [`Batch`](crate::vendor::Batch) and the HTTP client check.
    /// The future it returns holds `future` once, and a clone of the stop.
    pub fn scope<F: Future>(&self, future: F) -> impl Future<Output = F::Output> + use<F> {
        let scope = Scope {
            stop: Some(self.clone()),
            begun: None,
        };
        CURRENT.scope(scope, future)
    }

    /// Run one user's erasure under the current stop: until its first request that changes
    /// something at the vendor is sent ([`Stop::begin`]; a read does not count) the stop refuses
    /// it; from then on the user is begun and every later request of it is sent (such as
    /// 360Learning's pseudonymize after its delete).
    ///
    /// Call it where the erasure is about to be awaited (it reads the current stop now). Not an
    /// `async fn`: that would keep `future` twice in its state, as its argument and inside the
    /// scope (an async fn's arguments are never overlapped with what it awaits), doubling every
    /// user's future (4 KB instead of 2 for a Guardhouse erasure).
    pub(crate) fn user<F: Future>(future: F) -> impl Future<Output = F::Output> {
        let stop = CURRENT.try_with(|s| s.stop.clone()).ok().flatten();
        let scope = Scope {
            stop,
            begun: Some(Cell::new(false)),
        };
        CURRENT.scope(scope, future)
    }

    /// The current user's first request that changes something is being sent: the user is
    /// begun.
    pub(crate) fn begin() {
        let _ = CURRENT.try_with(|s| {
            if let Some(begun) = &s.begun {
                begun.set(true);
            }
        });
    }

    /// The error of the current stop (the innermost [`scope`](Self::scope) of this task), when
    /// it was pulled and the current user (if any) is not begun; `None` outside any scope or
    /// while not pulled.
    pub fn current() -> Option<Error> {
        CURRENT.try_with(Scope::error).ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_current_stop_is_seen_inside_its_scope_only() {
        let stop = Stop::new();
        assert!(Stop::current().is_none());
        stop.scope(async {
            assert!(Stop::current().is_none(), "not pulled yet");
        })
        .await;
        stop.stop("first");
        stop.stop("second");
        let seen = stop.scope(async { Stop::current() }).await.unwrap();
        assert_eq!(seen.kind(), "stopped");
        assert_eq!(seen.to_string(), "not sent: first");
        assert!(Stop::current().is_none(), "outside the scope");
    }
}
