//! Typed Rust client for Guardhouse's System API: anonymize a user's personal data by id (GDPR
//! erasure), look users up by e-mail, with a stateful simulator (feature `testkit`).
//!
//! **Anonymization is irreversible.** `PUT /api/v1/users/{id}/personal-data` revokes the user's
//! access, removes the avatar, external logins and claims, replaces the names with
//! `Deleted User`, the e-mail address and username with a unique `…@deleted.guardhouse.local`
//! address, clears password, two-factor and phone data, and archives the user. The record stays.
//!
//! - [`GuardhouseClient`]: built with [`GuardhouseClient::builder`] from the tenant's issuer URL,
//!   with client credentials (scope `system_api`, tokens cached and refreshed) or a pre-issued
//!   bearer token, or with [`GuardhouseClient::from_env`] (see [below](#configuration-from-the-environment)).
//!   Typed calls: [`anonymize_user`](GuardhouseClient::anonymize_user),
//!   [`user`](GuardhouseClient::user), [`users_page`](GuardhouseClient::users_page) and
//!   [`find_user_by_email`](GuardhouseClient::find_user_by_email) (the exact match among
//!   Guardhouse's partial matches).
//! - [`UserId`]: an integer greater than 0, checked before anything is sent.
//! - `impl` [`anonymize_core::Anonymizer`]: batches with one [`Outcome`](anonymize_core::Outcome)
//!   per distinct id (`anonymized`, `not_found`, `rejected` with Guardhouse's text, `invalid`,
//!   `failed`); refused credentials stop the batch without hiding what was done.
//! - [`testkit::Simulator`] (feature `testkit`): a stateful Guardhouse on loopback.
//!
//! Secrets are [`secrecy::SecretString`]s and never appear in `Debug`, `Display`, errors or logs;
//! nor do e-mail addresses or names ([`User`]'s `Debug` is redacted).
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "testkit")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use anonymize_core::{Anonymizer, Email};
//! use guardhouse_client::{UserStatus, testkit::Simulator};
//!
//! let sim = Simulator::start().await;
//! let jane = sim.add_user("jane@example.com", "Jane", "Doe", UserStatus::Active);
//! let client = sim.client(); // in production: GuardhouseClient::builder(url).client_credentials(…)
//!
//! let email = Email::parse("Jane@Example.com").unwrap();
//! let id = client.resolve_email(&email).await.unwrap().unwrap();
//! assert_eq!(id, jane.to_string());
//!
//! let outcomes = client.anonymize(&[id, "0".into(), "999".into()]).await.unwrap();
//! let labels: Vec<_> = outcomes.iter().map(|o| o.outcome.label()).collect();
//! assert_eq!(labels, ["anonymized", "invalid", "not_found"]);
//! assert_eq!(sim.user(jane).unwrap().first_name, "Deleted");
//! # }
//! # #[cfg(not(feature = "testkit"))]
//! # fn main() {}
//! ```
//!
//! Against a real tenant:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use guardhouse_client::{GuardhouseClient, UserId};
//! use secrecy::SecretString;
//!
//! let secret = SecretString::from(std::env::var("GUARDHOUSE_CLIENT_SECRET")?);
//! let client = GuardhouseClient::builder("https://your-tenant.guardhouse.cloud".parse()?)
//!     .client_credentials("my-service-client", secret)
//!     .build()?;
//! let id: UserId = "101".parse()?;
//! client.anonymize_user(id).await?; // irreversible
//! # Ok(()) }
//! ```
//!
//! # Configuration from the environment
//!
//! [`GuardhouseClient::from_env`] reads:
//!
//! | variable | |
//! |---|---|
//! | `GUARDHOUSE_URL` | required: the tenant's issuer URL (`http://` only for loopback) |
//! | `GUARDHOUSE_CLIENT_ID`, `GUARDHOUSE_CLIENT_SECRET` | client credentials (scope `system_api`) |
//! | `GUARDHOUSE_TOKEN` | or a pre-issued access token (used when no client credentials are set) |
//! | `GUARDHOUSE_API_URL` | optional: the API base, when it is not the issuer |
//! | `GUARDHOUSE_AUDIENCE` | optional: the `audience` some tenants require |
//!
//! A blank variable counts as not set; a missing one is an
//! [`Error::Configuration`](anonymize_core::Error::Configuration) that names it, never a value.
//! [`GuardhouseClient::from_env_with`] reads the same names through a lookup function.
//!
//! ```no_run
//! # fn run() -> anonymize_core::Result<()> {
//! let client = guardhouse_client::GuardhouseClient::from_env()?
//!     .concurrency(8) // anything else to adjust
//!     .build()?;
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod anonymizer;
mod auth;
mod builder;
mod client;
mod id;
mod model;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;

pub use auth::SYSTEM_API_SCOPE;
pub use builder::{
    DEFAULT_CONCURRENCY, DEFAULT_MAX_PAGES, DEFAULT_PAGE_SIZE, GuardhouseClientBuilder,
};
pub use client::GuardhouseClient;
pub use id::UserId;
pub use model::{AnonymizeOptions, NamedRef, User, UserStatus, UsersPage};

/// The vendor name reported by [`anonymize_core::Anonymizer::vendor`].
pub const VENDOR: &str = "guardhouse";
