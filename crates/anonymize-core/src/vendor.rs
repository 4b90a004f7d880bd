//! Building blocks for the authors of a vendor crate. Applications need none of this.
//!
//! A vendor crate has the same files as every other (see `docs/architecture.md`): its builder
//! makes an [`HttpClient`] for the vendor's base URL, gives it the vendor's
//! [`ErrorBodyReader`] and then its [`Authorizer`] (a [`StaticCredential`] for a pre-issued token,
//! or a [`TokenCache`] over the vendor's [`TokenSource`], which holds a clone of the client without
//! the authorizer for its token requests). Each endpoint is a [`Call`] sent with
//! [`HttpClient::execute`], which does everything else:
//!
//! - the client-side [`RateLimiter`] (or a shared [`Limiter`](crate::Limiter)), counting every
//!   attempt;
//! - the credential, and one refresh and retry after a 401;
//! - the connect and request timeouts, HTTPS only (loopback excepted), no redirects, a cap on the
//!   response body;
//! - the retry loop of the [`RetryPolicy`](crate::RetryPolicy): connect errors, 408, 429, 500,
//!   502, 503 and 504 (exactly what [`Error::is_retryable`](crate::Error::is_retryable) says),
//!   timeouts only for idempotent calls, `Retry-After` honoured and capped, a time budget and a
//!   retry budget shared by every clone;
//! - the mapping of an error answer to [`Error`](crate::Error) in one place
//!   ([`Error::from_reply`](crate::Error::from_reply)), its body read by the vendor's reader,
//!   with every secret the client holds masked: the credential of the attempt, and what the
//!   builder registered with [`HttpClient::with_secret`] (register every secret a token request
//!   sends, before handing clones to the token source).
//!
//! The vendor's [`Anonymizer`](crate::Anonymizer) implementation runs the one parse step,
//! [`Batch`]: distinct ids, parsed into the vendor's [`VendorId`] type, malformed ones
//! [`Invalid`](crate::Outcome::Invalid) and never sent, errors turned into outcomes, concurrency,
//! and a [`BatchError`](crate::BatchError) that hides nothing when the credentials are refused.

pub use crate::auth::{
    Authorizer, Credential, IssuedToken, MIN_TOKEN_REUSE, StaticCredential, TokenCache,
    TokenSource, deserialize_expires_in, expires_in, token_error,
};
pub use crate::batch::Batch;
pub use crate::env::{
    EnvCredentials, EnvTuning, VendorEnv, env_url, env_url_opt, env_var, env_var_opt,
};
pub use crate::error::{EXCERPT_CHARS, MIN_MASKED_CHARS, VendorReply, excerpt};
pub use crate::error_body::{ErrorBody, ErrorBodyReader};
pub use crate::http::{Call, HttpClient, Response, append_segments, check_base_url};
pub use crate::id::VendorId;
pub use crate::ratelimit::{REQUESTS_CLASS, RateLimiter, RatePermit, optional_limiter};
/// The body type of [`Call::body`] (re-exported so that vendor crates name one version).
pub use bytes::Bytes;
