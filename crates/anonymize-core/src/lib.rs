//! The core of the anonymize SDK family: what every vendor client shares.
//!
//! This crate holds no vendor knowledge. It provides:
//!
//! - the [`Anonymizer`] trait (object-safe: `Arc<dyn Anonymizer>`), with one [`Outcome`] per
//!   distinct user id, and [`AnonymizerExt`] conveniences;
//! - the one [`Error`] type, with semantic variants and accessors for the vendor's status, code
//!   and message;
//! - the HTTP behaviour written once ([`http`]): base URL rules, timeouts, body cap, the
//!   [`RetryPolicy`], credentials and the [`TokenCache`], and the client-side [`RateLimiter`];
//! - [`MemoryAnonymizer`] for downstream unit tests, and (feature `conformance`) the
//!   `conformance` suite every vendor client passes against its simulator;
//! - [`cli::erase_args`], the command-line contract the vendor examples share, and (feature
//!   `testkit`) `testkit::Frontdoor`, the request counting and fault injection every simulator
//!   shares.
//!
//! **Anonymization is irreversible.** Nothing in this family anonymizes "everyone": every call
//! names the users it erases.
//!
//! Vendor crates: `guardhouse-client`, `alfabet-client`, `learning360-client`.
//!
//! ## Personal data and secrets
//!
//! Secrets are [`secrecy::SecretString`] and sensitive header values; e-mail addresses are
//! [`Email`], whose `Debug` is redacted. Errors never quote request bodies, URLs of failed
//! transports, or more than a short excerpt of a vendor's message.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod anonymizer;
pub mod auth;
pub mod cli;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod error;
pub mod faults;
pub mod http;
pub mod memory;
pub mod outcome;
pub mod ratelimit;
pub mod retry;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use anonymizer::{Anonymizer, AnonymizerExt, Email};
pub use auth::{
    Authorizer, Credential, IssuedToken, StaticCredential, TokenCache, TokenSource, token_error,
};
pub use error::{Error, Result, VendorReply};
pub use http::{Call, HttpClient, HttpConfig, Response};
pub use memory::MemoryAnonymizer;
pub use outcome::{BatchError, Evidence, Outcome, UserOutcome, distinct, for_each_user};
pub use ratelimit::{RateLimit, RateLimiter};
pub use retry::RetryPolicy;

/// Re-exported so that vendor crates and their users name one version of these crates.
pub use reqwest;
pub use secrecy;
pub use url;
