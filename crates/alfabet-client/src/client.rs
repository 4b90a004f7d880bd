//! [`AlfabetClient`]: Alfabet's `anonymizeuser` endpoint, typed.

use std::collections::HashSet;
use std::fmt;

use anonymize_core::vendor::{Call, HttpClient};
use anonymize_core::{Error, Result};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::VENDOR;
use crate::id::RefStr;
use crate::model::{AnonymizeAnswer, JSON_CONTENT_TYPE, WrongBaseUrl, anonymize_request};
use crate::report::{BatchReport, Position, judge};

/// A client for Alfabet's RESTful API v2 `anonymizeuser` endpoint.
///
/// Cheap to clone (clones share the connection pool and the token cache), `Send + Sync`.
/// Built with [`AlfabetClient::builder`] or [`AlfabetClient::from_env`]. Its `Debug` shows no
/// secret.
///
/// Most callers use it through the [`Anonymizer`](anonymize_core::Anonymizer) trait, which
/// de-duplicates the ids, refuses malformed ones, and sends the rest in batches of
/// [`batch_size`](Self::batch_size); [`anonymize_batch`](Self::anonymize_batch) is the one
/// request underneath, with its whole answer.
///
/// **Anonymization is irreversible.** The client only ever anonymizes the refs it is given.
#[derive(Clone)]
pub struct AlfabetClient {
    http: HttpClient,
    auth_kind: &'static str,
    batch_size: usize,
}

impl fmt::Debug for AlfabetClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlfabetClient")
            .field("base", &self.http.base().as_str())
            .field("auth", &self.auth_kind)
            .field("batch_size", &self.batch_size)
            .field("http", &self.http.config())
            .finish()
    }
}

impl AlfabetClient {
    /// A client from its parts: `http` authorizes every request.
    pub(crate) fn from_parts(http: HttpClient, auth_kind: &'static str, batch_size: usize) -> Self {
        Self {
            http,
            auth_kind,
            batch_size,
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        self.http.base()
    }

    /// How many refs one request carries at most.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// **Irreversibly** anonymize the Alfabet users with these REFSTRs in one request
    /// (`PUT {base}/api/v2/anonymizeuser` with `{"Refs":[…]}`), and read its answer ref by ref.
    ///
    /// The [`BatchReport`] has one [`Outcome`](anonymize_core::Outcome) per ref, in order:
    /// - rejected by Alfabet with `Cannot find instance` → `NotFound`;
    /// - rejected with any other message (e.g. a user excluded from anonymization) →
    ///   `Rejected` with the vendor's message;
    /// - not rejected → `Anonymized`, whose evidence names the batch and carries the batch's
    ///   warnings (a `Count` that disagrees, see [`BatchReport::count_mismatch`]).
    ///
    /// It also keeps the vendor's whole answer (unknown fields included) and any rejection that
    /// names a ref not sent ([`BatchReport::unmatched_rejections`]), never turned into an outcome.
    ///
    /// To anonymize a list of any length, with duplicates and malformed ids handled, use the
    /// [`Anonymizer`](anonymize_core::Anonymizer) trait: it sends its batches through this same
    /// request.
    ///
    /// # Errors
    ///
    /// Nothing is sent and [`Error::InvalidInput`] is returned for an empty list, a ref given
    /// twice, or more refs than [`batch_size`](Self::batch_size). Otherwise the request's error
    /// after the retries: [`Error::Unauthenticated`] (credentials refused, also after one token
    /// refresh), [`Error::PermissionDenied`] (403: the anonymization permission, which Alfabet
    /// support grants, is missing), [`Error::Configuration`] (the base URL answered 404: it is
    /// not an Alfabet API server), [`Error::UnexpectedResponse`] (an answer that cannot be read:
    /// which refs were rejected is unknown), or the error of the status answered.
    ///
    /// # Retries
    ///
    /// A request is sent again after a connect error, a timeout, 408, 429 or 5xx, per the
    /// [`RetryPolicy`](anonymize_core::RetryPolicy). `PUT` counts as idempotent: sending the same
    /// refs again is harmless, since anonymizing an already anonymized user only overwrites
    /// placeholder data with placeholder data.
    pub async fn anonymize_batch(&self, refs: &[RefStr]) -> Result<BatchReport> {
        if refs.is_empty() {
            return Err(Error::invalid_input("a batch needs at least one ref"));
        }
        if refs.len() > self.batch_size {
            return Err(Error::invalid_input(format!(
                "a batch of {} refs is larger than the client's batch size ({})",
                refs.len(),
                self.batch_size
            )));
        }
        let mut seen = HashSet::with_capacity(refs.len());
        if !refs.iter().all(|r| seen.insert(*r)) {
            return Err(Error::invalid_input(
                "a ref appears more than once in the batch",
            ));
        }
        self.send_batch(Position { number: 1, of: 1 }, refs.to_vec())
            .await
    }

    /// One `PUT api/v2/anonymizeuser` with exactly these (distinct) refs, judged.
    pub(crate) async fn send_batch(
        &self,
        position: Position,
        refs: Vec<RefStr>,
    ) -> Result<BatchReport> {
        tracing::debug!(
            vendor = VENDOR,
            batch = position.number,
            batches = position.of,
            refs = refs.len(),
            "sending an anonymizeuser batch"
        );
        match self.put(&refs).await {
            Ok(answer) => Ok(judge(position, refs, answer)),
            Err(error) => {
                tracing::warn!(
                    vendor = VENDOR,
                    batch = position.number,
                    batches = position.of,
                    refs = refs.len(),
                    status = error.status().map(|s| s.as_u16()),
                    "anonymizeuser batch failed"
                );
                Err(error)
            }
        }
    }

    async fn put(&self, refs: &[RefStr]) -> Result<AnonymizeAnswer> {
        let url = self.http.url(&["api", "v2", "anonymizeuser"]);
        // PUT is idempotent for the retry policy (core retries it after a timeout or a reset
        // connection, not only after a 5xx). That is safe here: anonymizing a user twice is
        // harmless (the second run overwrites placeholders with placeholders), and a ref already
        // anonymized by the first attempt cannot be harmed by the second.
        let call = Call::new("anonymize users", Method::PUT, url)
            .body(anonymize_request(refs).into(), JSON_CONTENT_TYPE)
            .expect_status(StatusCode::OK);
        let response = self
            .http
            .execute(call)
            .await
            .map_err(|e| WrongBaseUrl::check(e, "anonymizeuser"))?;
        AnonymizeAnswer::from_body(response.body()).map_err(|e| response.unexpected(e.0))
    }
}
