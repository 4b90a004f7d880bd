//! Typed Rust client for Alfabet's RESTful API v2 `anonymizeuser` endpoint: GDPR erasure of
//! Alfabet users by REFSTR, with a stateful simulator (feature `testkit`).
//!
//! **Anonymization is irreversible.** Alfabet overwrites the users' personal data; nothing can
//! bring it back. This crate only anonymizes the refs it is given: there is no "anonymize
//! everyone", and an empty list sends nothing. The Alfabet user the client logs in as needs the
//! anonymization permission, which Alfabet support grants on request.
//!
//! - [`RefStr`]: a user's REFSTR (`421-5-0`), validated on construction.
//! - [`AlfabetClient`]: logs in with the password grant (`POST {base}/api/token`, the token is
//!   cached and renewed) or a pre-issued token, and sends
//!   [`anonymize_users`](AlfabetClient::anonymize_users) (`PUT {base}/api/v2/anonymizeuser`) in
//!   batches, duplicates removed.
//! - [`AnonymizeReport`]: one [`Outcome`] per distinct ref (`Cannot find instance` is
//!   [`Outcome::NotFound`], any other rejection [`Outcome::Rejected`]), and per batch the
//!   vendor's answer, including a [`CountMismatch`] when its `Count` disagrees with the refs it
//!   did not reject.
//! - `impl` [`Anonymizer`](anonymize_core::Anonymizer) for the vendor-neutral API
//!   (`vendor() == "alfabet"`; e-mail look-up is [`Unsupported`](anonymize_core::Error::Unsupported):
//!   Alfabet documents none).
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
//! use alfabet_client::RefStr;
//! use alfabet_client::testkit::Simulator;
//! use anonymize_core::Outcome;
//!
//! let sim = Simulator::start().await;
//! let jane = sim.add_user("Jane Doe", "jane@example.com");
//! let unknown: RefStr = "421-999-0".parse()?;
//!
//! let client = sim.client();
//! let report = client.anonymize_users(&[jane, unknown, jane]).await?;
//!
//! assert_eq!(report.outcomes.len(), 2); // one per distinct ref
//! assert!(matches!(report.outcome(&jane), Some(Outcome::Anonymized(_))));
//! assert!(matches!(report.outcome(&unknown), Some(Outcome::NotFound)));
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
//! use alfabet_client::{AlfabetClient, RefStr};
//! use anonymize_core::secrecy::SecretString;
//! use anonymize_core::url::Url;
//!
//! let client = AlfabetClient::builder(Url::parse("https://alfabet.example.com/AlfabetAPIServer")?)
//!     .password("api-user", SecretString::from(std::env::var("ALFABET_PASSWORD")?))
//!     .build()?;
//! let refs: Vec<RefStr> = ["421-5-0", "421-9-0"]
//!     .iter()
//!     .map(|s| s.parse())
//!     .collect::<Result<_, _>>()?;
//! let report = client.anonymize_users(&refs).await?;
//! for o in &report.outcomes {
//!     println!("{}\t{}", o.ref_str, o.outcome);
//! }
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod anonymizer;
mod auth;
mod client;
mod model;
mod refstr;
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

pub use anonymize_core::Outcome;
pub use auth::DEFAULT_SCHEME;
pub use client::{
    AlfabetClient, AlfabetClientBuilder, DEFAULT_BATCH_SIZE, JSON_CONTENT_TYPE, MAX_BATCH_SIZE,
    VENDOR,
};
pub use model::{AnonymizeAnswer, RejectedObject};
pub use refstr::{InvalidRefStr, RefStr};
pub use report::{AnonymizeReport, AnonymizeStopped, BatchReport, CountMismatch, RefOutcome};
