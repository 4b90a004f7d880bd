//! What the clients count, through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`): this crate records, and nothing happens until the application installs a recorder
//! (an exporter such as `metrics-exporter-prometheus`). Without the feature every call here is
//! empty and the `metrics` crate is not compiled.
//!
//! Names and labels (no label ever holds a person, an id, an address or a vendor's words):
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | [`REQUESTS`] | counter | `vendor`, `operation`, `status` | every attempt sent to a vendor (token requests too); `status`: `2xx`, `3xx`, `4xx`, `5xx`, `timeout`, `transport`, `other` |
//! | [`REQUEST_DURATION`] | histogram (seconds) | `vendor`, `operation` | one attempt, from sending to the whole answer read |
//! | [`RETRIES`] | counter | `vendor`, `reason` | attempts sent again: `reason` is `429`, `5xx`, `408`, `timeout` or `transport` |
//! | [`RATE_LIMITED`] | counter | `vendor` | 429 answers (the vendor's own rate limit) |
//! | [`TOKEN_REQUESTS`] | counter | `vendor` | token requests (a cached token counts nothing) |
//! | [`RATE_LIMIT_WAIT`] | histogram (seconds) | `vendor` | time an attempt waited for the client's own rate limiter |
//! | [`OUTCOMES`] | counter | `vendor`, `outcome` | one per user of an erasure call: `anonymized`, `not_found`, `rejected`, `invalid`, `failed`, and `not_attempted` for users a stopped batch never started |

use std::time::Duration;

/// Counter: attempts sent to a vendor, by `vendor`, `operation` and `status` class.
pub const REQUESTS: &str = "anonymize_requests_total";
/// Histogram: the seconds one attempt took, by `vendor` and `operation`.
pub const REQUEST_DURATION: &str = "anonymize_request_duration_seconds";
/// Counter: attempts sent again, by `vendor` and `reason`.
pub const RETRIES: &str = "anonymize_retries_total";
/// Counter: 429 answers, by `vendor`.
pub const RATE_LIMITED: &str = "anonymize_rate_limited_total";
/// Counter: token requests, by `vendor`.
pub const TOKEN_REQUESTS: &str = "anonymize_token_requests_total";
/// Histogram: the seconds an attempt waited for the client-side rate limiter, by `vendor`.
pub const RATE_LIMIT_WAIT: &str = "anonymize_rate_limit_wait_seconds";
/// Counter: users' outcomes of erasure calls, by `vendor` and `outcome`.
pub const OUTCOMES: &str = "anonymize_outcomes_total";

/// Describe every metric above (unit and help text) to the installed recorder: call it once
/// after installing one, so that an exporter can say what each metric is. Without the feature
/// `metrics` it does nothing.
pub fn describe_metrics() {
    #[cfg(feature = "metrics")]
    {
        use metrics::Unit;
        metrics::describe_counter!(REQUESTS, "Attempts sent to a vendor, by status class");
        metrics::describe_histogram!(
            REQUEST_DURATION,
            Unit::Seconds,
            "Time of one attempt, from sending to the whole answer read"
        );
        metrics::describe_counter!(RETRIES, "Attempts sent again, by reason");
        metrics::describe_counter!(RATE_LIMITED, "429 answers from the vendor");
        metrics::describe_counter!(TOKEN_REQUESTS, "Token requests");
        metrics::describe_histogram!(
            RATE_LIMIT_WAIT,
            Unit::Seconds,
            "Time an attempt waited for the client-side rate limiter"
        );
        metrics::describe_counter!(OUTCOMES, "Outcomes of users in erasure calls");
    }
}

/// The status class of an answer, as the `status` label says it.
pub(crate) fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

/// One attempt sent and ended (answered, timed out, or failed in transport).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn request(
    vendor: &'static str,
    operation: &'static str,
    status: &'static str,
    elapsed: Duration,
) {
    #[cfg(feature = "metrics")]
    {
        metrics::counter!(REQUESTS, "vendor" => vendor, "operation" => operation, "status" => status)
            .increment(1);
        metrics::histogram!(REQUEST_DURATION, "vendor" => vendor, "operation" => operation)
            .record(elapsed.as_secs_f64());
    }
}

/// An attempt about to be sent again, for `reason`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn retry(vendor: &'static str, reason: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(RETRIES, "vendor" => vendor, "reason" => reason).increment(1);
}

/// A 429 answer.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn rate_limited(vendor: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(RATE_LIMITED, "vendor" => vendor).increment(1);
}

/// A token request.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn token_request(vendor: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(TOKEN_REQUESTS, "vendor" => vendor).increment(1);
}

/// The time an attempt waited for the client-side rate limiter.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn rate_limit_wait(vendor: &'static str, waited: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!(RATE_LIMIT_WAIT, "vendor" => vendor).record(waited.as_secs_f64());
}

/// `n` users of an erasure call ended with `outcome`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn outcomes(vendor: &'static str, outcome: &'static str, n: u64) {
    #[cfg(feature = "metrics")]
    metrics::counter!(OUTCOMES, "vendor" => vendor, "outcome" => outcome).increment(n);
}
