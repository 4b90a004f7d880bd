//! Typed Rust client for [360Learning](https://360learning.com)'s API v2 (and the deprecated
//! v1): erase a person's personal data (GDPR) by deleting and pseudonymizing their user.
//!
//! **Erasure is irreversible.** [`Learning360Client::erase_user`] and the
//! [`Anonymizer`](anonymize_core::Anonymizer) implementation soft-delete the user, then
//! pseudonymize them: first and last name, e-mail and username become random strings, custom
//! fields are deleted, and (by default) external ids are deleted so that no connector can identify
//! and reactivate the user. The user id stays.
//!
//! What is here:
//!
//! - [`Learning360Client`]: OAuth client-credentials tokens (cached, refreshed once after a 401),
//!   the `360-api-version: v2.0` header, client-side rate limits at the vendor's published limits
//!   (50 reads/s, 10 writes/s, shared by every clone), *List users* as a [`Stream`](futures_util::Stream)
//!   that follows `Link` headers page by page, retrieve, delete, pseudonymize, and the erasure flow.
//!   Build it with [`Learning360Client::builder`], or with [`Learning360Client::from_env`], which
//!   reads `LEARNING360_URL`, `LEARNING360_CLIENT_ID` and `LEARNING360_CLIENT_SECRET`.
//! - [`UserId`] (24 hex digits, validated), [`User`] (tolerant, redacted `Debug`), [`UserFilter`].
//! - [`Directory`]: the e-mail → id map the vendor's migration guide asks for, lean enough for
//!   100,000 users, refreshed by age, with a `mail[eq]` fallback, saved to and loaded from a file.
//! - [`v1::V1Client`]: the deprecated API v1 (`X-company-id` / `X-apiKey` headers), and
//!   [`Learning360Client::pseudonymize_by_email`], its v2 replacement.
//! - Feature `testkit`: [`testkit::Simulator`], a stateful simulator of the vendor on loopback.
//!
//! Guides: `docs/learning360.md` and `docs/360learning-migration.md` in the repository.
//!
//! # Example
//!
#![cfg_attr(feature = "testkit", doc = "```")]
#![cfg_attr(not(feature = "testkit"), doc = "```ignore")]
//! use anonymize_core::{Anonymizer, Email};
//! use learning360_client::testkit::Simulator;
//!
//! # #[tokio::main(flavor = "multi_thread")] async fn main() {
//! let sim = Simulator::start().await;
//! let jane = sim.add_user("jane@example.com");
//! let client = sim.client();
//!
//! // E-mail → id through one `mail[eq]` query (or a Directory), then erase.
//! let email = Email::parse("Jane@Example.com").unwrap();
//! let id = client.user_id_for_email(&email).await.unwrap().unwrap();
//! assert_eq!(id, jane);
//! let outcomes = client.anonymize(&[id.to_string()]).await.unwrap();
//! assert_eq!(outcomes[0].outcome.label(), "anonymized");
//! assert!(sim.user(&jane).unwrap().is_deleted());
//! # }
//! ```
//!
//! Against the real service:
//!
//! ```no_run
//! use anonymize_core::Anonymizer;
//! use anonymize_core::secrecy::SecretString;
//! use learning360_client::{Directory, Learning360Client, EU_BASE_URL};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Learning360Client::builder(EU_BASE_URL.parse()?)
//!     .client_credentials("my-client-id", SecretString::from("my-client-secret"))
//!     .directory(Directory::default())
//!     .build()?;
//! let outcomes = client.anonymize(&["507f1f77bcf86cd799439011".to_string()]).await?;
//! for o in outcomes {
//!     println!("{}\t{}", o.id, o.outcome);
//! }
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod anonymizer;
mod auth;
mod builder;
mod client;
mod directory;
mod filter;
mod id;
mod link;
mod model;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
pub mod v1;

/// The vendor name used in errors, traces and [`Anonymizer::vendor`](anonymize_core::Anonymizer::vendor).
pub const VENDOR: &str = "learning360";

/// The value of the `360-api-version` header every v2 call sends.
pub const API_VERSION: &str = "v2.0";

/// The EU production host.
pub const EU_BASE_URL: &str = "https://app.360learning.com";

/// The US production host.
pub const US_BASE_URL: &str = "https://app.us.360learning.com";

pub use builder::{
    DEFAULT_LIMIT_WINDOW, Learning360ClientBuilder, READS_CLASS, READS_PER_SECOND, WRITES_CLASS,
    WRITES_PER_SECOND, default_read_limit, default_write_limit,
};
pub use client::{Learning360Client, PageStream, UserStream};
pub use directory::{Directory, DirectoryEntry, DirectoryOptions};
pub use filter::UserFilter;
pub use id::UserId;
pub use model::{User, UserStatus, V1PseudonymizeResponse};
