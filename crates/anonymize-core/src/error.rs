//! The one error type of the SDK family.
//!
//! Every vendor client returns [`Error`]. Its variants are *semantic* (what went wrong for the
//! caller), not per vendor: a plain 404 from one vendor and a `userNotFound` code from another are both
//! [`Error::NotFound`]. What the vendor said is kept in a [`VendorReply`] (vendor, operation, HTTP
//! status, the vendor's error code and a short excerpt of its message), reachable through the
//! accessors [`Error::status`], [`Error::code`] and [`Error::message`].
//!
//! The HTTP status → variant mapping lives in exactly one place, [`Error::from_reply`].
//!
//! An error the HTTP client gave up on says how hard it tried: [`Error::attempts`] and
//! [`Error::elapsed`] (kept in its [`ErrorRecord`] too), like object_store's retry error.
//!
//! `Display` names the vendor, the operation, the status, the vendor's code and message; it never
//! contains a secret, a request body or a whole response body, only an excerpt of at most
//! [`EXCERPT_CHARS`] characters. A secret the vendor quotes back (the client secret, a password,
//! the bearer token) is masked as `<secret>` by the HTTP client before the error is made
//! ([`HttpClient::with_secret`](crate::vendor::HttpClient::with_secret)).

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A shareable error source (kept so that `source()` chains stay intact and `Error` stays `Clone`).
pub(crate) type BoxError = Arc<dyn StdError + Send + Sync + 'static>;

/// The shortest secret the HTTP client masks in a vendor's words (see
/// [`HttpClient::with_secret`](crate::vendor::HttpClient::with_secret)).
pub const MIN_MASKED_CHARS: usize = 4;

/// How many characters of a vendor's message are kept at most.
pub const EXCERPT_CHARS: usize = 200;

/// What a vendor answered when it answered with an error status.
///
/// Boxed inside, so that [`Error`] stays small enough to return by value everywhere.
#[derive(Clone, PartialEq, Eq)]
pub struct VendorReply(Box<ReplyFields>);

#[derive(Clone, PartialEq, Eq)]
struct ReplyFields {
    vendor: &'static str,
    operation: &'static str,
    status: StatusCode,
    code: Option<String>,
    message: Option<String>,
    tries: Option<Tries>,
}

/// How hard the HTTP client tried before it returned an error: the requests it sent (the
/// first one and every retry) and the time from the first attempt to giving up, waits included.
///
/// `Display` (as part of an error's text, only after more than one attempt): `after 3 attempts
/// in 1.2 s`. Kept in milliseconds, in 8 bytes, so that every [`Error`] stays small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tries {
    attempts: u32,
    elapsed_ms: u32,
}

impl Tries {
    /// `attempts` requests sent in `elapsed` (kept to the millisecond, at most about 49 days).
    pub fn new(attempts: u32, elapsed: Duration) -> Self {
        Self {
            attempts,
            elapsed_ms: u32::try_from(elapsed.as_millis()).unwrap_or(u32::MAX),
        }
    }

    /// Requests sent, the first one included.
    pub fn attempts(self) -> u32 {
        self.attempts
    }

    /// From the first attempt until the client gave up, to the millisecond.
    pub fn elapsed(self) -> Duration {
        Duration::from_millis(self.elapsed_ms.into())
    }
}

impl fmt::Display for Tries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "after {} attempts in {:.1} s",
            self.attempts,
            self.elapsed().as_secs_f64()
        )
    }
}

/// ` (after 3 attempts in 1.2 s)`, or nothing when there was one attempt (or none known): the
/// suffix an error's `Display` gets.
struct TriesSuffix(Option<Tries>);

impl fmt::Display for TriesSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(tries) if tries.attempts > 1 => write!(f, " ({tries})"),
            _ => Ok(()),
        }
    }
}

impl VendorReply {
    /// A reply with the vendor's error `code` and `message`: every word of either that holds an
    /// `@` (an address) is replaced by `<redacted>`, then the message is shortened to an excerpt
    /// of at most [`EXCERPT_CHARS`] characters (the code to 64), control characters removed.
    pub fn new(
        vendor: &'static str,
        operation: &'static str,
        status: StatusCode,
        code: Option<String>,
        message: Option<String>,
    ) -> Self {
        Self(Box::new(ReplyFields {
            vendor,
            operation,
            status,
            // Addresses out first, then the cut: a cut first could leave `jane.doe@exam…`.
            code: code
                .map(|c| excerpt(&redact_addresses(&c), 64))
                .filter(|c| !c.is_empty()),
            message: message
                .map(|m| excerpt(&redact_addresses(&m), EXCERPT_CHARS))
                .filter(|m| !m.is_empty()),
            tries: None,
        }))
    }

    /// The vendor's name, e.g. `acme`.
    pub fn vendor(&self) -> &'static str {
        self.0.vendor
    }

    /// The operation that was attempted, e.g. `anonymize user`.
    pub fn operation(&self) -> &'static str {
        self.0.operation
    }

    /// The HTTP status the vendor answered with.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The vendor's machine-readable error code, when it sent one (e.g. `userNotFound`).
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// An excerpt of the vendor's human-readable message, when it sent one.
    pub fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }

    /// How hard the client tried before it gave up with this answer, when it said.
    pub fn tries(&self) -> Option<Tries> {
        self.0.tries
    }
}

impl fmt::Display for VendorReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: HTTP {}",
            self.0.vendor, self.0.operation, self.0.status
        )?;
        match (&self.0.code, &self.0.message) {
            (Some(code), Some(message)) => write!(f, " ({code}: {message})"),
            (Some(code), None) => write!(f, " ({code})"),
            (None, Some(message)) => write!(f, " ({message})"),
            (None, None) => Ok(()),
        }?;
        TriesSuffix(self.0.tries).fmt(f)
    }
}

impl fmt::Debug for VendorReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VendorReply")
            .field("vendor", &self.0.vendor)
            .field("operation", &self.0.operation)
            .field("status", &self.0.status.as_u16())
            .field("code", &self.0.code)
            .field("message", &self.0.message)
            .field("tries", &self.0.tries)
            .finish()
    }
}

/// Every error the SDK family returns.
///
/// Match on the variant for the meaning, use the accessors for the details.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's input was refused before anything was sent (a malformed id, an empty e-mail…).
    /// The reason never repeats the input itself, which may be personal data.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// Why the input was refused.
        reason: String,
    },

    /// The client was configured in a way that cannot work (an `http://` URL to a remote host,
    /// a token that cannot be sent in a header…). Nothing was sent.
    #[error("invalid configuration: {reason}")]
    Configuration {
        /// What is wrong with the configuration.
        reason: String,
    },

    /// The caller stopped the erasure before its request was sent: nothing was sent. An
    /// [`Eraser`](crate::Eraser)'s [`WriteAhead`](crate::WriteAhead) answers it when it cannot
    /// record the intent (a full disk) or when the run is stopping (a signal); it stops the
    /// vendor's remaining persons too ([`aborts_batch`](Error::aborts_batch)).
    #[error("not sent: {reason}")]
    Stopped {
        /// Why (never personal data).
        reason: String,
    },

    /// The vendor's API has no way to do this (e.g. look up a user by e-mail).
    #[error("{vendor} does not support {operation}")]
    Unsupported {
        /// The vendor.
        vendor: &'static str,
        /// The operation it cannot do.
        operation: &'static str,
    },

    /// The credentials were refused (HTTP 401), also after one refresh of the token.
    #[error("unauthenticated: {0}")]
    Unauthenticated(VendorReply),

    /// The credentials are valid but lack a permission or scope (HTTP 403).
    #[error("permission denied: {0}")]
    PermissionDenied(VendorReply),

    /// The vendor has no such resource (HTTP 404 or 410).
    #[error("not found: {0}")]
    NotFound(VendorReply),

    /// The vendor refused the request as it stands (HTTP 400, 409, 412, 422): a failed
    /// precondition or a business rule, with the vendor's code and message.
    #[error("rejected: {0}")]
    Rejected(VendorReply),

    /// The vendor is rate limiting us (HTTP 429), after the retries the policy allowed.
    #[error("rate limited: {reply}{}", RetryAfterSuffix(*retry_after))]
    RateLimited {
        /// What the vendor answered.
        reply: VendorReply,
        /// How long the vendor asked us to wait (`Retry-After`), when it said.
        retry_after: Option<Duration>,
    },

    /// The vendor failed (HTTP 5xx or 408), after the retries the policy allowed.
    #[error("server error: {0}")]
    Server(VendorReply),

    /// No answer came in time, after the retries the policy allowed.
    #[error("{vendor} {operation}: timed out{}", TriesSuffix(*tries))]
    Timeout {
        /// The vendor.
        vendor: &'static str,
        /// The operation.
        operation: &'static str,
        /// The underlying timeout error.
        #[source]
        source: BoxError,
        /// How hard the client tried ([`Error::tries`]); `None` when it was not said.
        tries: Option<Tries>,
    },

    /// The request could not be sent or its answer could not be read (DNS, connect, TLS, reset),
    /// after the retries the policy allowed. The cause (e.g. `tcp connect error: Connection
    /// refused`) is the [`source`](std::error::Error::source), without any URL: `Display` says only
    /// this level's part, so that a report that walks the chain says each cause once.
    #[error("{vendor} {operation}: transport error{}", TriesSuffix(*tries))]
    Transport {
        /// The vendor.
        vendor: &'static str,
        /// The operation.
        operation: &'static str,
        /// The underlying error (its URL removed).
        #[source]
        source: BoxError,
        /// How hard the client tried ([`Error::tries`]); `None` when it was not said.
        tries: Option<Tries>,
    },

    /// The rate limiter could not grant a slot (a shared limiter's store, e.g. Redis, could not be
    /// reached in time), so the request was **not sent**: a limiter fails closed, never falling
    /// back to per-process limits, which would multiply the rate the vendor sees. Trying again
    /// once the store is back can succeed ([`is_retryable`](Error::is_retryable)).
    #[error("rate limiter {limiter} unavailable, nothing sent: {reason}")]
    LimiterUnavailable {
        /// The limiter's name (for a shared limiter: its key prefix and budget; never a URL or a
        /// password).
        limiter: String,
        /// What went wrong (never a secret).
        reason: String,
        /// The store's error, when there was one.
        #[source]
        source: Option<BoxError>,
    },

    /// The vendor's answers, each well-formed, broke a rule this client relies on, so it will
    /// not guess (two users with one e-mail address, a listing whose pages never end). This is
    /// the client's conclusion, not an answer of the vendor: it carries no HTTP status.
    #[error("{vendor} {operation}: {detail}")]
    Protocol {
        /// The vendor.
        vendor: &'static str,
        /// The operation.
        operation: &'static str,
        /// What rule was broken (never personal data).
        detail: String,
    },

    /// The vendor answered something this client cannot understand: an unexpected status, a body
    /// that does not parse (the failing field is named), or a body larger than the configured cap.
    #[error("unexpected response: {reply}: {detail}")]
    UnexpectedResponse {
        /// What the vendor answered.
        reply: VendorReply,
        /// What was unexpected (e.g. `invalid type: string, expected u64 at users[3].id`).
        detail: String,
        /// The parse error, when there was one.
        #[source]
        source: Option<BoxError>,
    },

    /// An error read back from a record of an erasure (a receipt, a log): what was kept of it,
    /// as [`Error::record`] wrote it. Its accessors answer from the record. (Boxed, so that
    /// [`Error`] stays small enough to return by value everywhere.)
    #[error("{}", .0.text)]
    Recorded(Box<ErrorRecord>),
}

/// A serializable view of an [`Error`], for any record of an erasure: what kind of error, from
/// which vendor and operation, the vendor's status, code and message (an excerpt), whether trying
/// again could help, and the one-line text an [`Outcome`](crate::Outcome) prints. Built only from
/// what `Display` shows, so it never holds a secret, a request body or a URL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ErrorRecord {
    /// The kind of error: `invalid_input`, `configuration`, `unsupported`, `unauthenticated`,
    /// `permission_denied`, `not_found`, `rejected`, `rate_limited`, `server`, `timeout`,
    /// `transport`, `protocol`, `limiter_unavailable`, `unexpected_response`.
    pub kind: String,
    /// The vendor, when the error came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// The operation attempted, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The HTTP status of the vendor's answer, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The vendor's error code, when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The vendor's message (an excerpt), when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// How long the vendor asked us to wait, in milliseconds ([`Error::retry_after`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// How many requests the client sent before it gave up ([`Error::attempts`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// How long the client tried, in milliseconds ([`Error::elapsed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// Whether trying again later could succeed ([`Error::is_retryable`]).
    pub retryable: bool,
    /// The error and its causes in one line, each said once.
    pub text: String,
}

/// `$body` with `$r` bound to the [`VendorReply`] of the variants that carry one (by reference
/// or mutable reference, as `$error` is), else `$otherwise`: the one list of those variants.
macro_rules! with_reply {
    ($error:expr, $r:ident => $body:expr, $otherwise:expr) => {
        match $error {
            Error::Unauthenticated($r)
            | Error::PermissionDenied($r)
            | Error::NotFound($r)
            | Error::Rejected($r)
            | Error::Server($r)
            | Error::RateLimited { reply: $r, .. }
            | Error::UnexpectedResponse { reply: $r, .. } => $body,
            _ => $otherwise,
        }
    };
}

struct RetryAfterSuffix(Option<Duration>);

impl fmt::Display for RetryAfterSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, "; retry after {:.1} s", d.as_secs_f64()),
            None => Ok(()),
        }
    }
}

impl Error {
    /// Map a vendor's error answer to its semantic variant: the one place where HTTP statuses
    /// become meanings.
    ///
    /// 400, 409, 412, 422 → [`Rejected`](Error::Rejected); 401 → [`Unauthenticated`](Error::Unauthenticated);
    /// 403 → [`PermissionDenied`](Error::PermissionDenied); 404, 410 → [`NotFound`](Error::NotFound);
    /// 429 → [`RateLimited`](Error::RateLimited); 408 and 5xx → [`Server`](Error::Server);
    /// anything else → [`UnexpectedResponse`](Error::UnexpectedResponse).
    pub fn from_reply(reply: VendorReply, retry_after: Option<Duration>) -> Self {
        match reply.status().as_u16() {
            400 | 409 | 412 | 422 => Error::Rejected(reply),
            401 => Error::Unauthenticated(reply),
            403 => Error::PermissionDenied(reply),
            404 | 410 => Error::NotFound(reply),
            429 => Error::RateLimited { reply, retry_after },
            408 | 500..=599 => Error::Server(reply),
            _ => Error::UnexpectedResponse {
                detail: format!("unexpected HTTP status {}", reply.status().as_u16()),
                reply,
                source: None,
            },
        }
    }

    /// An [`Error::InvalidInput`]. The reason must not quote personal data.
    pub fn invalid_input(reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            reason: reason.into(),
        }
    }

    /// An [`Error::Stopped`].
    pub fn stopped(reason: impl Into<String>) -> Self {
        Error::Stopped {
            reason: reason.into(),
        }
    }

    /// An [`Error::LimiterUnavailable`] for the limiter named `limiter`: `reason` and `source`
    /// must not hold a secret (a store's URL may hold a password: never pass it).
    pub fn limiter_unavailable(
        limiter: impl Into<String>,
        reason: impl Into<String>,
        source: Option<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        Error::LimiterUnavailable {
            limiter: limiter.into(),
            reason: reason.into(),
            source: source.map(Arc::from),
        }
    }

    /// An [`Error::Configuration`].
    pub fn configuration(reason: impl Into<String>) -> Self {
        Error::Configuration {
            reason: reason.into(),
        }
    }

    /// The kind of error, as a stable snake-case label (see [`ErrorRecord::kind`]).
    pub fn kind(&self) -> &str {
        match self {
            Error::InvalidInput { .. } => "invalid_input",
            Error::Configuration { .. } => "configuration",
            Error::Stopped { .. } => "stopped",
            Error::Unsupported { .. } => "unsupported",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::PermissionDenied(_) => "permission_denied",
            Error::NotFound(_) => "not_found",
            Error::Rejected(_) => "rejected",
            Error::RateLimited { .. } => "rate_limited",
            Error::Server(_) => "server",
            Error::Timeout { .. } => "timeout",
            Error::Transport { .. } => "transport",
            Error::Protocol { .. } => "protocol",
            Error::LimiterUnavailable { .. } => "limiter_unavailable",
            Error::UnexpectedResponse { .. } => "unexpected_response",
            Error::Recorded(record) => &record.kind,
        }
    }

    /// The serializable view of this error, for a record of an erasure.
    pub fn record(&self) -> ErrorRecord {
        if let Error::Recorded(record) = self {
            return (**record).clone();
        }
        let operation = match self {
            Error::Unsupported { operation, .. }
            | Error::Protocol { operation, .. }
            | Error::Timeout { operation, .. }
            | Error::Transport { operation, .. } => Some(*operation),
            _ => self.reply().map(VendorReply::operation),
        };
        ErrorRecord {
            kind: self.kind().to_owned(),
            vendor: self.vendor().map(str::to_owned),
            operation: operation.map(str::to_owned),
            status: self.status().map(|s| s.as_u16()),
            code: self.code().map(str::to_owned),
            message: self.message().map(str::to_owned),
            retry_after_ms: self.retry_after().map(millis),
            attempts: self.attempts(),
            elapsed_ms: self.elapsed().map(millis),
            retryable: self.is_retryable(),
            text: chain(self),
        }
    }

    /// The vendor's answer, for the variants that have one.
    pub fn reply(&self) -> Option<&VendorReply> {
        with_reply!(self, r => Some(r), None)
    }

    /// The vendor this error came from, when it came from one (also after a round trip through
    /// an [`ErrorRecord`]).
    pub fn vendor(&self) -> Option<&str> {
        match self {
            Error::Unsupported { vendor, .. }
            | Error::Protocol { vendor, .. }
            | Error::Timeout { vendor, .. }
            | Error::Transport { vendor, .. } => Some(vendor),
            Error::Recorded(record) => record.vendor.as_deref(),
            _ => self.reply().map(VendorReply::vendor),
        }
    }

    /// The HTTP status of the vendor's answer, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Recorded(record) => record.status.and_then(|s| StatusCode::from_u16(s).ok()),
            _ => self.reply().map(VendorReply::status),
        }
    }

    /// The vendor's machine-readable error code (e.g. `userNotDeleted`), when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Recorded(record) => record.code.as_deref(),
            _ => self.reply().and_then(VendorReply::code),
        }
    }

    /// An excerpt of the vendor's message, when it sent one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Error::Recorded(record) => record.message.as_deref(),
            _ => self.reply().and_then(VendorReply::message),
        }
    }

    /// How long the vendor asked us to wait, for [`Error::RateLimited`] (and a record of one).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            Error::Recorded(record) => record.retry_after_ms.map(Duration::from_millis),
            _ => None,
        }
    }

    /// How hard the HTTP client tried before it returned this error, when it said: the answers
    /// and transport failures of a vendor call carry it, errors found before sending do not.
    pub fn tries(&self) -> Option<Tries> {
        match self {
            Error::Timeout { tries, .. } | Error::Transport { tries, .. } => *tries,
            Error::Recorded(record) => Some(Tries::new(
                record.attempts?,
                Duration::from_millis(record.elapsed_ms.unwrap_or(0)),
            )),
            _ => self.reply().and_then(VendorReply::tries),
        }
    }

    /// How many requests the client sent (the first one and its retries) before it returned
    /// this error; `None` when nothing was sent or it was not said.
    pub fn attempts(&self) -> Option<u32> {
        self.tries().map(Tries::attempts)
    }

    /// How long the client tried (from the first attempt to giving up, waits included) before
    /// it returned this error; `None` when it was not said.
    pub fn elapsed(&self) -> Option<Duration> {
        self.tries().map(Tries::elapsed)
    }

    /// This error, saying how hard the client tried (for the errors that come from a vendor
    /// call: its answers, timeouts and transport failures; any other is returned unchanged).
    #[must_use]
    pub fn with_tries(mut self, new: Tries) -> Self {
        match &mut self {
            Error::Timeout { tries, .. } | Error::Transport { tries, .. } => *tries = Some(new),
            other => with_reply!(other, r => r.0.tries = Some(new), ()),
        }
        self
    }

    /// Whether trying again later could succeed: rate limits, the server errors the
    /// [`RetryPolicy`](crate::RetryPolicy) retries (408, 500, 502, 503, 504: not 501 or 505, which
    /// will answer the same), timeouts, transport errors and an unavailable limiter.
    ///
    /// The HTTP client retries exactly these errors but the last (the limiter has waited for its
    /// store already), with one more rule: a request that may have reached the vendor (a timeout,
    /// a connection lost after sending) is only sent again when it is idempotent.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. }
            | Error::Timeout { .. }
            | Error::Transport { .. }
            | Error::LimiterUnavailable { .. } => true,
            Error::Server(reply) => crate::retry::is_retryable_status(reply.status()),
            Error::Recorded(record) => record.retryable,
            _ => false,
        }
    }

    /// Whether this error means that *no* further request of the same client can succeed
    /// (refused credentials, missing permission, bad configuration), so a batch stops here
    /// instead of failing every remaining user the same way.
    pub fn aborts_batch(&self) -> bool {
        matches!(
            self.kind(),
            "unauthenticated" | "permission_denied" | "configuration" | "stopped"
        )
    }
}

/// Milliseconds of `d`, saturating, for a record.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `error` and its sources, joined with `: `, each said once (a level whose text a previous level
/// already said is skipped): for one-line reports such as an [`Outcome`](crate::Outcome)'s.
pub(crate) fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// `text` with every occurrence of each of `secrets` (as sent, and form-encoded, the way a token
/// endpoint may quote its request) replaced by `<secret>`, the longest first so that a bearer
/// header's value goes whole before its token. Secrets shorter than [`MIN_MASKED_CHARS`] are
/// skipped: masking `t` would garble every word of the vendor's message, and a secret that short
/// protects nothing anyway.
pub(crate) fn mask_secrets(mut text: String, secrets: &[&str]) -> String {
    let mut spellings: Vec<String> = Vec::new();
    for secret in secrets
        .iter()
        .filter(|s| s.trim().chars().count() >= MIN_MASKED_CHARS)
    {
        spellings.push((*secret).to_owned());
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        if encoded != *secret {
            spellings.push(encoded);
        }
    }
    spellings.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in &spellings {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "<secret>");
        }
    }
    text
}

/// `text` with every white-space-separated word that holds an `@` replaced by `<redacted>`: a
/// vendor's words that quote an address must not carry it into an error, a log or a receipt.
pub(crate) fn redact_addresses(text: &str) -> String {
    if !text.contains('@') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains('@') {
            out.push_str("<redacted>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Shorten `text` to at most `max` characters, dropping control characters and folding runs of
/// white space, and mark the cut with `…`.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut count = 0;
    let mut last_space = true;
    for c in text.chars() {
        let c = if c.is_whitespace() { ' ' } else { c };
        if c.is_control() || (c == ' ' && last_space) {
            continue;
        }
        if count == max {
            out.push('…');
            return out.trim_end().to_owned();
        }
        last_space = c == ' ';
        out.push(c);
        count += 1;
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16) -> VendorReply {
        VendorReply::new(
            "vendor",
            "op",
            StatusCode::from_u16(status).unwrap(),
            Some("someCode".into()),
            Some("some message".into()),
        )
    }

    #[test]
    fn statuses_map_to_meanings() {
        type Check = fn(&Error) -> bool;
        let cases: &[(u16, Check)] = &[
            (400, |e| matches!(e, Error::Rejected(_))),
            (401, |e| matches!(e, Error::Unauthenticated(_))),
            (403, |e| matches!(e, Error::PermissionDenied(_))),
            (404, |e| matches!(e, Error::NotFound(_))),
            (408, |e| matches!(e, Error::Server(_))),
            (409, |e| matches!(e, Error::Rejected(_))),
            (410, |e| matches!(e, Error::NotFound(_))),
            (422, |e| matches!(e, Error::Rejected(_))),
            (429, |e| matches!(e, Error::RateLimited { .. })),
            (500, |e| matches!(e, Error::Server(_))),
            (503, |e| matches!(e, Error::Server(_))),
            (302, |e| matches!(e, Error::UnexpectedResponse { .. })),
            (418, |e| matches!(e, Error::UnexpectedResponse { .. })),
        ];
        for (status, check) in cases {
            let e = Error::from_reply(reply(*status), None);
            assert!(check(&e), "{status} mapped to {e:?}");
            assert_eq!(e.status().map(|s| s.as_u16()), Some(*status));
            assert_eq!(e.code(), Some("someCode"));
            assert_eq!(e.message(), Some("some message"));
            assert_eq!(e.vendor(), Some("vendor"));
        }
    }

    #[test]
    fn display_names_code_and_message() {
        let e = Error::from_reply(reply(404), None);
        assert_eq!(
            e.to_string(),
            "not found: vendor op: HTTP 404 Not Found (someCode: some message)"
        );
        let e = Error::from_reply(reply(429), Some(Duration::from_secs(2)));
        assert!(e.to_string().ends_with("; retry after 2.0 s"), "{e}");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn retryable_and_aborting_classes() {
        assert!(Error::from_reply(reply(503), None).is_retryable());
        assert!(Error::from_reply(reply(408), None).is_retryable());
        // 501 and 505 are server errors that will answer the same again: the client does not
        // retry them, and the error agrees.
        assert!(!Error::from_reply(reply(501), None).is_retryable());
        assert!(!Error::from_reply(reply(505), None).is_retryable());
        assert!(Error::from_reply(reply(429), None).is_retryable());
        assert!(!Error::from_reply(reply(404), None).is_retryable());
        assert!(!Error::from_reply(reply(400), None).is_retryable());
        assert!(Error::from_reply(reply(401), None).aborts_batch());
        assert!(Error::from_reply(reply(403), None).aborts_batch());
        assert!(!Error::from_reply(reply(404), None).aborts_batch());
    }

    #[test]
    fn excerpt_is_short_and_clean() {
        let long = "x".repeat(1000);
        let e = excerpt(&long, EXCERPT_CHARS);
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt("  a\n\n b\u{7}c  ", 50), "a bc");
        assert_eq!(excerpt("héllo wörld", 5), "héllo…");
    }

    #[test]
    fn a_record_round_trips_and_answers_like_the_error() {
        let errors = [
            Error::from_reply(reply(404), None),
            Error::from_reply(reply(503), Some(Duration::from_secs(2))),
            Error::from_reply(reply(401), None),
            Error::invalid_input("the id is empty"),
            Error::Transport {
                vendor: "v",
                operation: "op",
                source: Arc::new(std::io::Error::other("connection reset")),
                tries: None,
            },
        ];
        for error in errors {
            let record = error.record();
            let json = serde_json::to_string(&record).unwrap();
            let back = Error::Recorded(Box::new(serde_json::from_str(&json).unwrap()));
            assert_eq!(back.record(), record);
            assert_eq!(back.to_string(), chain(&error));
            assert_eq!(back.kind(), error.kind());
            assert_eq!(back.status(), error.status());
            assert_eq!(back.code(), error.code());
            assert_eq!(back.message(), error.message());
            assert_eq!(back.is_retryable(), error.is_retryable());
            assert_eq!(back.aborts_batch(), error.aborts_batch());
        }
        let record = Error::from_reply(reply(404), None).record();
        assert_eq!(
            serde_json::to_value(&record).unwrap(),
            serde_json::json!({
                "kind": "not_found", "vendor": "vendor", "operation": "op", "status": 404,
                "code": "someCode", "message": "some message", "retryable": false,
                "text": "not found: vendor op: HTTP 404 Not Found (someCode: some message)"
            })
        );
    }

    #[test]
    fn secrets_are_masked_whole_longest_first_and_form_encoded() {
        let text =
            "Bearer abc-123 and abc-123; sent p%40ss+w0rd (p@ss w0rd); the t stays".to_owned();
        let masked = mask_secrets(text, &["abc-123", "Bearer abc-123", "p@ss w0rd", "t", ""]);
        assert_eq!(
            masked,
            "<secret> and <secret>; sent <secret> (<secret>); the t stays"
        );
    }

    #[test]
    fn source_chain_is_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::Transport {
            vendor: "v",
            operation: "op",
            source: Arc::new(io),
            tries: None,
        };
        assert_eq!(e.to_string(), "v op: transport error");
        assert_eq!(e.source().map(|s| s.to_string()), Some("refused".into()));
        assert_eq!(chain(&e), "v op: transport error: refused");
        assert!(e.is_retryable());
    }
}
