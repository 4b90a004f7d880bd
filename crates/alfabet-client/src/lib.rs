//! Typed Rust client for Alfabet's RESTful API v2 `anonymizeuser` endpoint: GDPR erasure of
//! Alfabet users by REFSTR, with a stateful simulator (feature `testkit`).
//!
//! **Anonymization is irreversible.** Alfabet overwrites the users' personal data; nothing can
//! bring it back. This crate only anonymizes the refs it is given: there is no "anonymize
//! everyone", and an empty list sends nothing. The Alfabet user the client logs in as needs the
//! anonymization permission, which Alfabet support grants on request.
//!
//! - [`AlfabetClient`]: built with [`AlfabetClient::builder`] or [`AlfabetClient::from_env`]
//!   (`ALFABET_URL`, then `ALFABET_USERNAME` + `ALFABET_PASSWORD` or `ALFABET_TOKEN`, and
//!   optionally `ALFABET_BATCH_SIZE`). It logs in with the password grant
//!   (`POST {base}/api/token`, the token cached and renewed) or a pre-issued token.
//! - `impl` [`Anonymizer`](anonymize_core::Anonymizer) (`vendor() == "alfabet"`): ids are
//!   REFSTRs; duplicates are sent once, malformed ids never, the rest in batches
//!   (`PUT {base}/api/v2/anonymizeuser`). One [`Outcome`] per distinct id: `Cannot find
//!   instance` is [`Outcome::NotFound`], any other rejection [`Outcome::Rejected`] with the
//!   vendor's message; the evidence of an anonymized ref names its batch and carries the batch's
//!   warnings (a `Count` that disagrees with the refs not rejected). E-mail look-up is
//!   [`Unsupported`](anonymize_core::Error::Unsupported): Alfabet documents none.
//! - [`AlfabetClient::anonymize_batch`]: the one request underneath, typed, with the vendor's
//!   whole answer in a [`BatchReport`] (unknown fields, a [`CountMismatch`], rejections of refs
//!   that were not sent).
//! - [`RefStr`]: a user's REFSTR (`421-5-0`), validated on construction.
//! - `testkit::Simulator` (feature `testkit`): a stateful Alfabet on loopback for tests.
//!
//! # Example
//!
//! Against the simulator (feature `testkit`):
//!
//! ```
//! # #[cfg(feature = "testkit")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use alfabet_client::testkit::Simulator;
//! use anonymize_core::{Anonymizer, Outcome};
//!
//! let sim = Simulator::start().await;
//! let jane = sim.add_user("Jane Doe", "jane@example.com");
//!
//! let client = sim.client();
//! let ids = [jane.to_string(), "421-999-0".into(), jane.to_string(), "421-7".into()];
//! let outcomes = client.anonymize(&ids).await?;
//!
//! let labels: Vec<_> = outcomes.iter().map(|o| o.outcome.label()).collect();
//! assert_eq!(labels, ["anonymized", "not_found", "invalid"]); // one per distinct id
//! assert!(matches!(&outcomes[0].outcome, Outcome::Anonymized(e) if e.warnings.is_empty()));
//! assert!(sim.user(jane).is_some_and(|u| u.anonymized));
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "testkit"))]
//! # fn main() {}
//! ```
//!
//! Against a real server:
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use alfabet_client::AlfabetClient;
//! use anonymize_core::Anonymizer;
//!
//! // ALFABET_URL=https://alfabet.example.com/AlfabetAPIServer, ALFABET_USERNAME, ALFABET_PASSWORD
//! let client = AlfabetClient::from_env()?.build()?;
//! let ids = ["421-5-0".to_string(), "421-9-0".to_string()];
//! for o in client.anonymize(&ids).await? {
//!     println!("{}\t{}", o.id, o.outcome);
//! }
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod anonymizer;
mod auth;
mod builder;
mod client;
mod id;
mod model;
mod report;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;

/// The guide's code blocks (docs/alfabet.md) compile as doctests of this crate.
#[cfg(all(doctest, feature = "testkit"))]
#[doc = include_str!("../../../docs/alfabet.md")]
struct GuideDoctests;

/// The README's code compiles as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The vendor's name, as [`Anonymizer::vendor`](anonymize_core::Anonymizer::vendor) reports it.
pub const VENDOR: &str = "alfabet";

pub use anonymize_core::Outcome;
pub use auth::DEFAULT_SCHEME;
pub use builder::{AlfabetClientBuilder, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE};
pub use client::AlfabetClient;
pub use id::RefStr;
pub use model::{AnonymizeAnswer, JSON_CONTENT_TYPE, RejectedObject};
pub use report::{BatchReport, CountMismatch};
