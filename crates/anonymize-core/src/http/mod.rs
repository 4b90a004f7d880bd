//! The HTTP behaviour every vendor client shares, written once.
//!
//! - [`config`]: the settings ([`HttpConfig`]) and the rules for URLs (HTTPS, no credentials,
//!   path segments encoded one by one);
//! - [`call`]: one request described once ([`Call`]) and its 2xx answer ([`Response`]);
//! - [`client`]: the [`HttpClient`] that sends a call with the rate limit, the credential (one
//!   refresh after a 401), timeouts, the retry loop, the body cap, and the mapping of error
//!   answers to [`Error`](crate::Error) through the vendor's [`ErrorBodyReader`](crate::vendor::ErrorBodyReader).

pub(crate) mod call;
pub(crate) mod client;
pub(crate) mod config;

pub use call::{Call, Response};
pub use client::HttpClient;
pub use config::{HttpConfig, append_segments, check_base_url};
