//! Fault injection: a queue the [`Frontdoor`](super::Frontdoor) consults for every request.
//!
//! Tests queue faults through a simulator's [`faults`](super::Simulated::faults): fail the next
//! N calls with a status, answer 429 with a `Retry-After`, or delay answers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// One injected misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and body instead of the normal answer.
    Status {
        /// The HTTP status.
        status: u16,
        /// The body to send.
        body: String,
        /// A `Retry-After` header value to send, if any.
        retry_after: Option<String>,
    },
    /// Wait this long, then answer normally.
    Delay(Duration),
}

/// A queue of faults, consumed one per request. Clones share the queue.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    queue: Arc<Mutex<VecDeque<Fault>>>,
}

impl Faults {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next `n` requests are answered with `status` and `body`.
    pub fn fail_next(&self, n: usize, status: u16, body: impl Into<String>) {
        let body = body.into();
        self.push(n, || Fault::Status {
            status,
            body: body.clone(),
            retry_after: None,
        });
    }

    /// The next `n` requests are answered 429 with `body` and, when given, `Retry-After` in
    /// whole seconds.
    pub fn rate_limit_next(
        &self,
        n: usize,
        retry_after: Option<Duration>,
        body: impl Into<String>,
    ) {
        let body = body.into();
        self.push(n, || Fault::Status {
            status: 429,
            body: body.clone(),
            retry_after: retry_after.map(|d| d.as_secs().to_string()),
        });
    }

    /// The next `n` requests are answered normally after `delay`.
    pub fn delay_next(&self, n: usize, delay: Duration) {
        self.push(n, || Fault::Delay(delay));
    }

    /// Forget every queued fault.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The fault for the request being handled, if any.
    pub fn take(&self) -> Option<Fault> {
        self.lock().pop_front()
    }

    fn push(&self, n: usize, fault: impl Fn() -> Fault) {
        self.lock().extend(std::iter::repeat_with(fault).take(n));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Fault>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order() {
        let f = Faults::new();
        f.fail_next(2, 503, "down");
        f.rate_limit_next(1, Some(Duration::from_secs(2)), "slow down");
        f.delay_next(1, Duration::from_millis(5));
        let g = f.clone();
        assert!(matches!(g.take(), Some(Fault::Status { status: 503, .. })));
        assert!(matches!(f.take(), Some(Fault::Status { status: 503, .. })));
        assert_eq!(
            f.take(),
            Some(Fault::Status {
                status: 429,
                body: "slow down".into(),
                retry_after: Some("2".into())
            })
        );
        assert_eq!(f.take(), Some(Fault::Delay(Duration::from_millis(5))));
        assert_eq!(f.take(), None);
    }
}
