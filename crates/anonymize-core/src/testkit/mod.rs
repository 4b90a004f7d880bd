//! The simulators' shared base (feature `testkit`, which pulls in httpmock).
//!
//! Every vendor simulator is built from the same parts, so that the three cannot drift in how they
//! count requests, inject faults or issue tokens; each keeps only its vendor's rules:
//!
//! - [`SimServer`]: a mock server on loopback whose every request goes through one
//!   [`Frontdoor`], which logs it ([`RecordedRequest`], redacted in `Debug`), applies the next
//!   injected [`Fault`] if there is one, and otherwise hands it to the simulator's handler;
//! - [`TokenStore`]: tokens issued, checked, expired, and token requests counted;
//! - [`reply`]: the answers a handler builds (JSON, text, empty);
//! - [`fast_http_config`]: the one HTTP setting for tests (tiny backoffs, real `Retry-After`);
//! - [`Simulated`]: the controls every simulator offers, which the conformance suite drives.

mod faults;
mod server;
mod tokens;

pub use faults::{Fault, Faults};
pub use server::{Frontdoor, RecordedRequest, SimServer, header, reply};
pub use tokens::{TokenCheck, TokenStore};

use std::time::Duration;

use crate::http::HttpConfig;
use crate::retry::RetryPolicy;

/// HTTP settings for tests against a simulator: retries after 1–5 ms (also after a 429 without
/// `Retry-After`), a 10 s request timeout; a `Retry-After` the simulator sends is honoured as in
/// production (capped at the default 30 s), so inject short ones.
pub fn fast_http_config() -> HttpConfig {
    HttpConfig::default()
        .with_request_timeout(Duration::from_secs(10))
        .with_retry(
            RetryPolicy::default()
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5))
                .with_rate_limited_backoff(Duration::from_millis(1)),
        )
}

/// Everything an error shows a reader: its `Display`, its `Debug`, and its
/// [`ErrorRecord`](crate::ErrorRecord) as a receipt writes it, in one string, for tests that
/// check that no secret or address appears anywhere.
pub fn everything_shown(error: &crate::Error) -> String {
    let record = serde_json::to_string(&error.record()).unwrap_or_default();
    format!("{error} {error:?} {record}")
}

/// The controls every vendor simulator offers: what the conformance suite and generic tests use.
pub trait Simulated: Send + Sync {
    /// The front door every request goes through.
    fn frontdoor(&self) -> &Frontdoor;

    /// How many token requests arrived.
    fn token_requests(&self) -> usize;

    /// Make every token issued so far expired: the next call with one is answered 401.
    fn expire_tokens(&self);

    /// The fault queue: the next requests fail, are rate limited or are delayed.
    fn faults(&self) -> &Faults {
        self.frontdoor().faults()
    }

    /// How many requests arrived, token requests and faulted ones included.
    fn requests_received(&self) -> usize {
        self.frontdoor().requests_received()
    }

    /// Every request received so far, in order of arrival.
    fn requests(&self) -> Vec<RecordedRequest> {
        self.frontdoor().requests()
    }
}
