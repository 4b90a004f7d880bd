//! [`AlfabetClient`] and its builder.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use anonymize_core::error::{EXCERPT_CHARS, excerpt};
use anonymize_core::{
    Authorizer, Call, Credential, Error, Evidence, HttpClient, HttpConfig, Outcome, Result,
    StaticCredential, TokenCache,
};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::auth::{DEFAULT_SCHEME, PasswordGrant};
use crate::model::{AnonymizeAnswer, AnonymizeRequest, RejectedObject};
use crate::refstr::RefStr;
use crate::report::{AnonymizeReport, AnonymizeStopped, BatchReport, CountMismatch, RefOutcome};

/// The vendor's name, as [`Anonymizer::vendor`](anonymize_core::Anonymizer::vendor) reports it.
pub const VENDOR: &str = "alfabet";

/// How many refs one request carries unless [`AlfabetClientBuilder::batch_size`] says otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 100;

/// The largest batch size accepted (Alfabet documents no limit; this keeps one request's body
/// and the vendor's work per request bounded).
pub const MAX_BATCH_SIZE: usize = 10_000;

/// The `Content-Type` Alfabet documents for `anonymizeuser`.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

const OPERATION: &str = "anonymize users";

/// A client for Alfabet's RESTful API v2 `anonymizeuser` endpoint.
///
/// Cheap to clone (clones share the connection pool and the token cache), `Send + Sync`.
/// Built with [`AlfabetClient::builder`]. Its `Debug` shows no secret.
///
/// **Anonymization is irreversible.** The client only ever anonymizes the refs it is given.
#[derive(Clone)]
pub struct AlfabetClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    auth: Arc<dyn Authorizer>,
    auth_kind: &'static str,
    batch_size: usize,
}

impl fmt::Debug for AlfabetClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlfabetClient")
            .field("base", &self.inner.http.base().as_str())
            .field("auth", &self.inner.auth_kind)
            .field("batch_size", &self.inner.batch_size)
            .field("http", &self.inner.http.config())
            .finish()
    }
}

/// Builds an [`AlfabetClient`]; see [`AlfabetClient::builder`].
pub struct AlfabetClientBuilder {
    base: Url,
    credentials: Vec<Credentials>,
    token_scheme: Option<String>,
    batch_size: usize,
    http: HttpConfig,
}

enum Credentials {
    Password {
        username: SecretString,
        password: SecretString,
    },
    Token(SecretString),
}

impl fmt::Debug for AlfabetClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<&str> = self
            .credentials
            .iter()
            .map(|c| match c {
                Credentials::Password { .. } => "password grant (redacted)",
                Credentials::Token(_) => "pre-issued token (redacted)",
            })
            .collect();
        f.debug_struct("AlfabetClientBuilder")
            .field("base", &self.base.as_str())
            .field("credentials", &kinds)
            .field("token_scheme", &self.token_scheme)
            .field("batch_size", &self.batch_size)
            .field("http", &self.http)
            .finish()
    }
}

impl AlfabetClient {
    /// Start building a client for the API server at `base_url`, e.g.
    /// `https://host/AlfabetAPIServer` (its path is kept; paths are case-sensitive). Requests go
    /// to `{base_url}/api/token` and `{base_url}/api/v2/anonymizeuser`. `http://` is accepted for
    /// loopback hosts only, unless [`HttpConfig::allow_insecure_http`] says otherwise.
    pub fn builder(base_url: Url) -> AlfabetClientBuilder {
        AlfabetClientBuilder {
            base: base_url,
            credentials: Vec::new(),
            token_scheme: None,
            batch_size: DEFAULT_BATCH_SIZE,
            http: HttpConfig::default(),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        self.inner.http.base()
    }

    /// How many refs one request carries at most.
    pub fn batch_size(&self) -> usize {
        self.inner.batch_size
    }

    /// **Irreversibly** anonymize the Alfabet users with these REFSTRs
    /// (`PUT {base}/api/v2/anonymizeuser`).
    ///
    /// Duplicates are sent once; the refs go in batches of [`batch_size`](Self::batch_size),
    /// one request after the other. An empty list sends nothing (not even a token request) and
    /// gives an empty report.
    ///
    /// Each distinct ref gets one [`Outcome`], in input order:
    /// - rejected by Alfabet with `Cannot find instance` → [`Outcome::NotFound`];
    /// - rejected with any other message (e.g. a user excluded from anonymization) →
    ///   [`Outcome::Rejected`] with the vendor's message;
    /// - not rejected → [`Outcome::Anonymized`], whose evidence names the batch and carries a
    ///   warning when the batch's answer looked wrong (a `Count` that disagrees, see
    ///   [`BatchReport::count_mismatch`]);
    /// - in a batch whose request failed after the retries (a 500, a timeout, an unreadable
    ///   answer) → [`Outcome::Failed`]; the next batch is still sent.
    ///
    /// A rejection naming a ref that was not sent is kept in
    /// [`BatchReport::unmatched_rejections`], never turned into an outcome.
    ///
    /// # Errors
    ///
    /// [`AnonymizeStopped`] when an error means no further request can succeed: credentials
    /// refused (also after one token refresh), permission missing (Alfabet support grants it),
    /// or a base URL that answers 404. It still holds every outcome of the batches before, and
    /// the refs never sent.
    ///
    /// # Retries
    ///
    /// A request is sent again after a connect error, a timeout, 408, 429 or 5xx, per the
    /// [`RetryPolicy`](anonymize_core::RetryPolicy). `PUT` counts as idempotent: sending the same
    /// refs again is harmless, since anonymizing an already anonymized user only overwrites
    /// placeholder data with placeholder data.
    pub async fn anonymize_users(
        &self,
        refs: &[RefStr],
    ) -> Result<AnonymizeReport, AnonymizeStopped> {
        let mut seen = HashSet::with_capacity(refs.len());
        let distinct: Vec<RefStr> = refs.iter().copied().filter(|r| seen.insert(*r)).collect();
        let mut report = AnonymizeReport::default();
        let batches = distinct.len().div_ceil(self.inner.batch_size);
        for (index, chunk) in distinct.chunks(self.inner.batch_size).enumerate() {
            let number = index + 1;
            tracing::debug!(
                vendor = VENDOR,
                batch = number,
                batches,
                refs = chunk.len(),
                "sending an anonymizeuser batch"
            );
            match self.send_batch(chunk).await {
                Ok(answer) => {
                    let (outcomes, batch) = judge(number, batches, chunk, answer);
                    report.outcomes.extend(outcomes);
                    report.batches.push(batch);
                }
                Err(error) => {
                    tracing::warn!(
                        vendor = VENDOR,
                        batch = number,
                        batches,
                        refs = chunk.len(),
                        status = error.status().map(|s| s.as_u16()),
                        "anonymizeuser batch failed"
                    );
                    report.outcomes.extend(chunk.iter().map(|r| RefOutcome {
                        ref_str: *r,
                        outcome: Outcome::Failed(error.clone()),
                    }));
                    report.batches.push(BatchReport {
                        number,
                        refs: chunk.to_vec(),
                        answer: None,
                        error: Some(error.clone()),
                        count_mismatch: None,
                        unmatched_rejections: Vec::new(),
                        warnings: Vec::new(),
                    });
                    if error.aborts_batch() {
                        let sent = report.outcomes.len();
                        return Err(AnonymizeStopped::new(
                            error,
                            report,
                            distinct[sent..].to_vec(),
                        ));
                    }
                }
            }
        }
        Ok(report)
    }

    /// One `PUT api/v2/anonymizeuser` with exactly these refs, and its answer read.
    async fn send_batch(&self, refs: &[RefStr]) -> Result<AnonymizeAnswer> {
        let http = &self.inner.http;
        let url = http.url(&["api", "v2", "anonymizeuser"]);
        // PUT is idempotent for the retry policy (core retries it after a timeout or a reset
        // connection, not only after a 5xx). That is safe here: anonymizing a user twice is
        // harmless (the second run overwrites placeholders with placeholders), and a ref already
        // anonymized by the first attempt cannot be harmed by the second.
        let call = Call::new(OPERATION, Method::PUT, url)
            .auth(self.inner.auth.as_ref())
            .json(&AnonymizeRequest { refs }, JSON_CONTENT_TYPE)?;
        let response = http.execute(call).await.map_err(|e| match e {
            // The endpoint is fixed: a 404 means the base URL is not an Alfabet API server (or
            // the REST API is off). Every further batch would fail the same way: stop.
            Error::NotFound(reply) => Error::configuration(format!(
                "no anonymizeuser endpoint at the base URL ({reply}); the base URL should be the \
                 API server, e.g. https://host/AlfabetAPIServer"
            )),
            other => other,
        })?;
        AnonymizeAnswer::from_body(response.body()).map_err(|e| response.unexpected(e.0))
    }
}

/// Turn one batch's answer into one outcome per ref sent.
fn judge(
    number: usize,
    batches: usize,
    chunk: &[RefStr],
    answer: AnonymizeAnswer,
) -> (Vec<RefOutcome>, BatchReport) {
    let sent: HashSet<RefStr> = chunk.iter().copied().collect();
    let mut rejected: HashMap<RefStr, &RejectedObject> = HashMap::new();
    let mut unmatched = Vec::new();
    let mut repeated = 0usize;
    for entry in &answer.rejected_objects {
        match entry.parsed_ref().filter(|r| sent.contains(r)) {
            // With a repeated entry, the first message is kept.
            Some(r) => match rejected.entry(r) {
                Entry::Occupied(_) => repeated += 1,
                Entry::Vacant(slot) => {
                    slot.insert(entry);
                }
            },
            None => unmatched.push(entry.clone()),
        }
    }

    let expected = (chunk.len() - rejected.len()) as u64;
    let count_mismatch = answer
        .count
        .filter(|reported| *reported != expected)
        .map(|reported| CountMismatch { reported, expected });

    let mut warnings = Vec::new();
    if let Some(m) = count_mismatch {
        tracing::warn!(
            vendor = VENDOR,
            batch = number,
            reported = m.reported,
            expected = m.expected,
            sent = chunk.len(),
            rejected = rejected.len(),
            "anonymizeuser Count disagrees with the refs sent minus the refs rejected"
        );
        warnings.push(m.to_string());
    }
    let unnamed = unmatched
        .iter()
        .filter(|e| e.parsed_ref().is_none())
        .count();
    let foreign = unmatched.len() - unnamed;
    if foreign > 0 {
        tracing::warn!(
            vendor = VENDOR,
            batch = number,
            count = foreign,
            "anonymizeuser rejected refs that were not sent"
        );
        warnings.push(format!(
            "the vendor rejected {foreign} ref(s) that were not sent in this batch"
        ));
    }
    if unnamed > 0 {
        tracing::warn!(
            vendor = VENDOR,
            batch = number,
            count = unnamed,
            "anonymizeuser rejections without a readable RefStr"
        );
        warnings.push(format!(
            "the vendor sent {unnamed} rejection(s) without a readable RefStr"
        ));
    }
    if repeated > 0 {
        warnings.push(format!(
            "the vendor rejected {repeated} ref(s) more than once; the first message is kept"
        ));
    }
    for part in &answer.unreadable {
        tracing::warn!(
            vendor = VENDOR,
            batch = number,
            "anonymizeuser answer: {part}"
        );
        warnings.push(part.clone());
    }

    let summary = format!(
        "anonymizeuser batch {number} of {batches}: {} sent, {} rejected, Count {}",
        chunk.len(),
        rejected.len(),
        answer
            .count
            .map_or_else(|| "missing".to_owned(), |c| c.to_string())
    );
    let record = serde_json::json!({
        "batch": number,
        "batches": batches,
        "sent": chunk.len(),
        "rejected": rejected.len(),
        "count": answer.count,
    });
    let outcomes = chunk
        .iter()
        .map(|r| {
            let outcome = match rejected.get(r) {
                Some(entry) if entry.is_not_found() => Outcome::NotFound,
                Some(entry) => Outcome::Rejected {
                    message: entry
                        .message
                        .as_deref()
                        .map(|m| excerpt(m, EXCERPT_CHARS))
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| "rejected by Alfabet without a message".to_owned()),
                },
                None => {
                    let mut evidence = Evidence::new(summary.clone()).with_record(record.clone());
                    for w in &warnings {
                        evidence = evidence.with_warning(w.clone());
                    }
                    Outcome::Anonymized(evidence)
                }
            };
            RefOutcome {
                ref_str: *r,
                outcome,
            }
        })
        .collect();
    let batch = BatchReport {
        number,
        refs: chunk.to_vec(),
        count_mismatch,
        unmatched_rejections: unmatched,
        warnings,
        error: None,
        answer: Some(answer),
    };
    (outcomes, batch)
}

impl AlfabetClientBuilder {
    /// Authenticate with Alfabet's password grant (`POST {base}/api/token`): the user name and
    /// RESTful-services password of the business user that holds the anonymization permission.
    /// Tokens are cached, renewed before they expire (`expires_in`), and renewed once after a 401.
    pub fn password(mut self, username: impl Into<String>, password: SecretString) -> Self {
        self.credentials.push(Credentials::Password {
            username: SecretString::from(username.into()),
            password,
        });
        self
    }

    /// Authenticate with a token issued beforehand, sent as `Authorization: bearer <token>`
    /// (the scheme can be changed with [`token_scheme`](Self::token_scheme)). It is never
    /// renewed: a 401 is an error.
    pub fn token(mut self, token: SecretString) -> Self {
        self.credentials.push(Credentials::Token(token));
        self
    }

    /// The scheme to send a [pre-issued token](Self::token) with (default `bearer`, as Alfabet
    /// writes it). Tokens from the password grant use the `token_type` the server answers.
    pub fn token_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.token_scheme = Some(scheme.into());
        self
    }

    /// How many refs one request carries at most (default [`DEFAULT_BATCH_SIZE`], between 1 and
    /// [`MAX_BATCH_SIZE`]).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = size;
        self
    }

    /// Timeouts, retries, TLS policy, or your own `reqwest::Client`.
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.http = config;
        self
    }

    /// Check the settings and build the client. Nothing is sent.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when the base URL is not usable (not `https://` outside
    /// loopback, credentials, a query or a fragment in it), when no credential or more than one
    /// was given, when one is empty, or when the batch size is out of range.
    pub fn build(self) -> Result<AlfabetClient> {
        if self.base.query().is_some() || self.base.fragment().is_some() {
            return Err(Error::configuration(
                "the base URL must not have a query or a fragment",
            ));
        }
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(Error::configuration(format!(
                "the batch size must be between 1 and {MAX_BATCH_SIZE}"
            )));
        }
        let http = HttpClient::new(VENDOR, self.base, self.http)?;
        let mut credentials = self.credentials;
        if credentials.len() > 1 {
            return Err(Error::configuration(
                "more than one credential was given: use either .password(..) or .token(..), once",
            ));
        }
        let Some(credentials) = credentials.pop() else {
            return Err(Error::configuration(
                "no credential: use .password(username, password) or .token(token)",
            ));
        };
        let (auth, auth_kind): (Arc<dyn Authorizer>, _) = match credentials {
            Credentials::Password { username, password } => {
                if self.token_scheme.is_some() {
                    return Err(Error::configuration(
                        "token_scheme applies to a pre-issued token; the password grant uses \
                         the token_type the server answers",
                    ));
                }
                if username.expose_secret().trim().is_empty() {
                    return Err(Error::configuration("the user name is empty"));
                }
                if password.expose_secret().is_empty() {
                    return Err(Error::configuration("the password is empty"));
                }
                (
                    Arc::new(TokenCache::new(PasswordGrant { username, password })),
                    "password grant",
                )
            }
            Credentials::Token(token) => {
                let scheme = self.token_scheme.as_deref().unwrap_or(DEFAULT_SCHEME);
                if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(Error::configuration(
                        "the token scheme must be one word of visible ASCII characters",
                    ));
                }
                if token.expose_secret().trim().is_empty() {
                    return Err(Error::configuration("the token is empty"));
                }
                let credential = Credential::authorization(scheme, &token)?;
                (
                    Arc::new(StaticCredential::new(credential)),
                    "pre-issued token",
                )
            }
        };
        Ok(AlfabetClient {
            inner: Arc::new(Inner {
                http,
                auth,
                auth_kind,
                batch_size: self.batch_size,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn refs(objects: &[u64]) -> Vec<RefStr> {
        objects.iter().map(|o| RefStr::new(421, *o)).collect()
    }

    fn answer(v: serde_json::Value) -> AnonymizeAnswer {
        AnonymizeAnswer::from_body(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn judge_maps_rejections_and_counts() {
        let chunk = refs(&[5, 9, 12, 999]);
        let a = answer(json!({"Count": 2, "RejectedObjects": [
            {"RefStr": "421-999-0", "Message": "Cannot find instance"},
            {"RefStr": "421-12-0", "Message": "User is excluded from anonymization"},
            {"RefStr": "421-12-0", "Message": "second message"},
            {"RefStr": "421-7-0", "Message": "Cannot find instance"},
        ]}));
        let (outcomes, batch) = judge(1, 1, &chunk, a);
        let labels: Vec<_> = outcomes.iter().map(|o| o.outcome.label()).collect();
        assert_eq!(
            labels,
            ["anonymized", "anonymized", "rejected", "not_found"]
        );
        match &outcomes[2].outcome {
            Outcome::Rejected { message } => {
                assert_eq!(message, "User is excluded from anonymization")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(batch.count_mismatch, None);
        assert_eq!(batch.unmatched_rejections.len(), 1);
        assert_eq!(batch.warnings.len(), 2, "{:?}", batch.warnings);
        // Batch warnings travel with the evidence of each anonymized ref.
        match &outcomes[0].outcome {
            Outcome::Anonymized(e) => {
                assert_eq!(e.warnings, batch.warnings);
                assert!(
                    e.summary.contains("4 sent, 2 rejected, Count 2"),
                    "{}",
                    e.summary
                );
                assert!(!e.warnings.iter().any(|w| w.contains("421-7-0")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn judge_reports_a_count_mismatch() {
        let chunk = refs(&[1, 2, 3]);
        let (outcomes, batch) = judge(2, 3, &chunk, answer(json!({"Count": 5})));
        assert_eq!(
            batch.count_mismatch,
            Some(CountMismatch {
                reported: 5,
                expected: 3
            })
        );
        for o in &outcomes {
            match &o.outcome {
                Outcome::Anonymized(e) => {
                    assert!(e.warnings[0].contains("Count (5)"), "{:?}", e.warnings);
                    assert!(e.summary.starts_with("anonymizeuser batch 2 of 3"));
                }
                other => panic!("{other:?}"),
            }
        }
        let (_, batch) = judge(1, 1, &chunk, answer(json!({})));
        assert_eq!(batch.count_mismatch, None);
        assert!(batch.warnings.is_empty());
    }

    #[test]
    fn judge_never_invents_outcomes() {
        let chunk = refs(&[1]);
        let (outcomes, batch) = judge(
            1,
            1,
            &chunk,
            answer(json!({"Count": 1, "RejectedObjects": {"RefStr": "421-2-0", "Message": "x"}})),
        );
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].ref_str, RefStr::new(421, 1));
        assert_eq!(
            batch.unmatched_rejections[0].ref_str.as_deref(),
            Some("421-2-0")
        );
    }

    #[test]
    fn judge_matches_refs_the_vendor_wrote_loosely_and_keeps_empty_messages_visible() {
        let chunk = refs(&[5]);
        let (outcomes, _) = judge(
            1,
            1,
            &chunk,
            answer(
                json!({"Count": 0, "RejectedObjects": [{"RefStr": " 421-005-0", "Message": ""}]}),
            ),
        );
        match &outcomes[0].outcome {
            Outcome::Rejected { message } => assert!(message.contains("without a message")),
            other => panic!("{other:?}"),
        }
    }

    proptest::proptest! {
        /// Whatever the vendor answers, every ref sent gets exactly one outcome, in order, and
        /// no outcome is invented for a ref that was not sent.
        #[test]
        fn judge_gives_one_outcome_per_ref_sent(
            sent in proptest::collection::btree_set(0u64..40, 1..12),
            rejected in proptest::collection::vec((0u64..60, proptest::bool::ANY), 0..15),
            count in proptest::option::of(0u64..20),
        ) {
            let chunk: Vec<RefStr> = sent.iter().map(|o| RefStr::new(421, *o)).collect();
            let entries: Vec<_> = rejected
                .iter()
                .map(|(o, missing)| json!({
                    "RefStr": RefStr::new(421, *o).to_string(),
                    "Message": if *missing { "Cannot find instance" } else { "Excluded" },
                }))
                .collect();
            let a = answer(json!({"Count": count, "RejectedObjects": entries}));
            let (outcomes, batch) = judge(1, 1, &chunk, a);
            let order: Vec<RefStr> = outcomes.iter().map(|o| o.ref_str).collect();
            proptest::prop_assert_eq!(&order, &chunk);
            let foreign = rejected.iter().filter(|(o, _)| !sent.contains(o)).count();
            proptest::prop_assert_eq!(batch.unmatched_rejections.len(), foreign);
            let rejected_sent: HashSet<u64> = rejected
                .iter()
                .map(|(o, _)| *o)
                .filter(|o| sent.contains(o))
                .collect();
            for o in &outcomes {
                let was_rejected = rejected_sent.contains(&o.ref_str.object());
                proptest::prop_assert_eq!(
                    matches!(o.outcome, Outcome::Anonymized(_)),
                    !was_rejected
                );
            }
            let expected = (chunk.len() - rejected_sent.len()) as u64;
            proptest::prop_assert_eq!(
                batch.count_mismatch.is_some(),
                count.is_some_and(|c| c != expected)
            );
        }
    }

    #[test]
    fn builder_refuses_bad_settings() {
        let base = Url::parse("https://host/AlfabetAPIServer").unwrap();
        let pw = || SecretString::from("pw");
        let err = |b: AlfabetClientBuilder| match b.build() {
            Err(Error::Configuration { reason }) => reason,
            other => panic!("{other:?}"),
        };
        err(AlfabetClient::builder(base.clone()));
        err(AlfabetClient::builder(base.clone())
            .password("u", pw())
            .token(pw()));
        err(AlfabetClient::builder(base.clone()).password("", pw()));
        err(AlfabetClient::builder(base.clone()).password("u", SecretString::from("")));
        err(AlfabetClient::builder(base.clone()).token(SecretString::from(" ")));
        err(AlfabetClient::builder(base.clone())
            .token(pw())
            .token_scheme("bear er"));
        err(AlfabetClient::builder(base.clone())
            .password("u", pw())
            .token_scheme("Bearer"));
        err(AlfabetClient::builder(base.clone())
            .password("u", pw())
            .batch_size(0));
        err(AlfabetClient::builder(base.clone())
            .password("u", pw())
            .batch_size(MAX_BATCH_SIZE + 1));
        err(
            AlfabetClient::builder(Url::parse("http://alfabet.example.com/A").unwrap())
                .password("u", pw()),
        );
        err(AlfabetClient::builder(Url::parse("https://host/A?x=1").unwrap()).password("u", pw()));
        let reason = err(AlfabetClient::builder(base.clone()).token(SecretString::from("a\nb")));
        assert!(!reason.contains("a\nb"));
        let ok = AlfabetClient::builder(base)
            .token(pw())
            .token_scheme("Bearer")
            .batch_size(MAX_BATCH_SIZE)
            .build()
            .unwrap();
        assert_eq!(ok.batch_size(), MAX_BATCH_SIZE);
    }

    #[test]
    fn debug_shows_no_secret() {
        let base = Url::parse("https://host/AlfabetAPIServer").unwrap();
        let builder = AlfabetClient::builder(base.clone())
            .password("jane.doe@example.com", SecretString::from("hunter2-pw"));
        let shown = format!("{builder:?}");
        assert!(
            !shown.contains("jane") && !shown.contains("hunter2"),
            "{shown}"
        );
        let client = builder.build().unwrap();
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("jane") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("password grant"));
        let client = AlfabetClient::builder(base)
            .token(SecretString::from("eyJ-secret-token"))
            .build()
            .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("eyJ-secret"), "{shown}");
    }
}
