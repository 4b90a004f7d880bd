//! The core of the anonymize SDK family: what every vendor client shares, and nothing about any
//! one vendor.
//!
//! **For applications**, the root of this crate is the whole API:
//!
//! - the [`Anonymizer`] trait (object-safe: hold any vendor as `Arc<dyn Anonymizer>`), with one
//!   [`Outcome`] per distinct user id, and the [`AnonymizerExt`] conveniences over a [`Subject`]
//!   (a vendor id or an [`Email`]);
//! - the one [`Error`] type, with semantic variants and accessors for the vendor's status, code
//!   and message;
//! - the settings every client takes: [`HttpConfig`] (timeouts, body cap, TLS policy, your own
//!   `reqwest::Client`), [`RetryPolicy`] and [`RateLimit`];
//! - the [`Limiter`] contract and [`SharedLimits`], to share a vendor's budget between processes
//!   (every vendor builder's `shared_limits` method; the `anonymize-redis` crate implements it);
//! - [`MemoryAnonymizer`], for the unit tests of code that takes an `Arc<dyn Anonymizer>`;
//! - erasing a *person* at every vendor: a [`Person`] (an e-mail address and/or ids per vendor),
//!   an [`Eraser`] over `Arc<dyn Anonymizer>`s that [plans](Eraser::plan) (reads only),
//!   [erases](Eraser::erase) one person or [many](Eraser::erase_many) and [reports](Report) per
//!   vendor, and a [`Receipt`] per (person, vendor) that names the person only by a keyed hash
//!   ([`ReceiptKey`]), kept in a [`ReceiptLog`] (the receipts file the `anonymize` command reads
//!   and writes: write-ahead intents, a MAC chain, synced appends) and read back with
//!   [`read_log`] and [`ReceiptIndex`].
//!
//! **For authors of a vendor crate**, [`vendor`] holds the building blocks: the HTTP client and
//! its retry loop, credentials and the token cache, the one parse step ([`vendor::Batch`]), typed
//! ids ([`vendor_id!`]), and error-body reading. With the features `testkit` and `conformance`,
//! `testkit` holds the simulators' shared base and `conformance` the suite every vendor client
//! passes.
//!
//! **Anonymization is irreversible.** Nothing in this family anonymizes "everyone": every call
//! names the users it erases.
//!
//! ## Personal data and secrets
//!
//! Secrets are [`secrecy::SecretString`] and sensitive header values; e-mail addresses are
//! [`Email`], whose `Debug` is redacted. Errors never quote request bodies, URLs of failed
//! transports, or more than a short excerpt of a vendor's message.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod anonymizer;
mod auth;
mod batch;
#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;
mod email;
mod env;
mod erasure;
mod error;
mod error_body;
mod http;
mod id;
mod memory;
mod outcome;
mod ratelimit;
mod retry;
mod stop;
pub mod telemetry;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
pub mod vendor;

pub use anonymizer::{Anonymizer, AnonymizerExt, Subject};
pub use email::Email;
pub use erasure::{
    DEFAULT_BATCH_SIZE, DEFAULT_CONCURRENCY, Eraser, Intent, IntentRecord, LIBRARY_VERSION,
    LogEntry, LogError, LogInfo, Lookup, LookupKind, NextStep, Person, PersonRef, Plan,
    RECEIPTS_FORMAT, RECEIPTS_VERSION, Receipt, ReceiptIndex, ReceiptKey, ReceiptLog, Report,
    VendorPlan, VendorReport, VendorStatus, WriteAhead, read_log,
};
pub use error::{Error, ErrorRecord, Result, Tries};
pub use http::HttpConfig;
pub use memory::MemoryAnonymizer;
pub use outcome::{BatchError, Evidence, Outcome, UserOutcome, Verification};
pub use ratelimit::{Limiter, RateLimit, SharedLimits};
pub use retry::RetryPolicy;
pub use stop::Stop;

/// Re-exported so that vendor crates and their users name one version of these crates.
pub use reqwest;
pub use secrecy;
pub use url;

/// What the [`vendor_id!`] macro expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::id::deserialize_id;
    pub use serde;
}
