//! The conformance suite every vendor client runs against its simulator (feature `conformance`).
//!
//! A vendor crate implements [`Fixture`] over its simulator (a client pointed at a fresh
//! simulator, the ids it seeded, and the simulator's [`Simulated`] controls) and, from one of its
//! tests, calls [`run_all`] with an async function that starts a fresh fixture. The individual
//! checks are public too, to run them one test at a time.
//!
//! [`run_all`] is the behaviour every client shares ([`run_behaviour`]: outcomes, malformed ids,
//! e-mail look-up, secrets) and the HTTP behaviour core implements once (retries after a 5xx, a 429
//! with `Retry-After`, one token refresh after expiry, one token request for many callers), checked
//! through each vendor's own client and simulator. An in-memory fixture has no HTTP: it runs
//! [`run_behaviour`].
//!
//! Each check starts from a fresh fixture, so checks cannot leak state into each other. A check
//! that fails panics with a message that names it.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::anonymizer::Anonymizer;
use crate::email::Email;
use crate::error::Error;
use crate::outcome::Outcome;
use crate::testkit::Simulated;

/// What the suite needs from one vendor's test setup.
pub trait Fixture: Send + Sync {
    /// The client under test, pointed at the simulator.
    fn anonymizer(&self) -> Arc<dyn Anonymizer>;
    /// Ids of at least two users that exist and can be anonymized.
    fn existing_ids(&self) -> Vec<String>;
    /// A well-formed id that no user has.
    fn missing_id(&self) -> String;
    /// An existing user the vendor refuses to anonymize, where the vendor has such users.
    fn rejected_id(&self) -> Option<String>;
    /// Strings that are not valid ids for this vendor (at least one).
    fn malformed_ids(&self) -> Vec<String>;
    /// The e-mail address of an existing user and that user's id; `None` where the vendor has no
    /// look-up by e-mail.
    fn known_email(&self) -> Option<(String, String)>;
    /// The simulator's controls; `None` for a fixture without HTTP (which runs
    /// [`run_behaviour`] only).
    fn simulator(&self) -> Option<&dyn Simulated>;

    /// How many requests the simulator has received so far (0 without a simulator).
    fn requests_received(&self) -> usize {
        self.simulator().map_or(0, Simulated::requests_received)
    }
    /// The secrets the client was configured with: none may show in its `Debug`.
    fn secrets(&self) -> Vec<String>;
}

/// Run every check, each on a fresh fixture from `make`, which must have a simulator.
pub async fn run_all<M, Fut, F>(make: M)
where
    M: Fn() -> Fut,
    Fut: Future<Output = F>,
    F: Fixture,
{
    run_behaviour(&make).await;
    server_errors_are_retried(&make().await).await;
    retry_after_is_honoured(&make().await).await;
    an_expired_token_is_refreshed_once(&make().await).await;
    concurrent_first_calls_share_one_token_request(&make().await).await;
}

/// Run the checks that need no HTTP, each on a fresh fixture from `make`.
pub async fn run_behaviour<M, Fut, F>(make: &M)
where
    M: Fn() -> Fut,
    Fut: Future<Output = F>,
    F: Fixture,
{
    empty_batch_sends_nothing(&make().await).await;
    one_outcome_per_distinct_id(&make().await).await;
    malformed_ids_are_never_sent(&make().await).await;
    anonymizing_twice_is_safe(&make().await).await;
    email_resolution(&make().await).await;
    debug_hides_secrets(&make().await).await;
}

/// An empty list returns no outcomes and sends no request.
pub async fn empty_batch_sends_nothing(f: &impl Fixture) {
    let before = f.requests_received();
    let out = f
        .anonymizer()
        .anonymize(&[])
        .await
        .expect("conformance: an empty batch must succeed");
    assert!(
        out.is_empty(),
        "conformance: an empty batch returned outcomes"
    );
    assert_eq!(
        f.requests_received(),
        before,
        "conformance: an empty batch sent a request"
    );
}

/// A batch of existing, missing, rejected, malformed and repeated ids gets one outcome per
/// distinct id, in order of first appearance, each with the right label.
pub async fn one_outcome_per_distinct_id(f: &impl Fixture) {
    let existing = f.existing_ids();
    assert!(
        existing.len() >= 2,
        "conformance: the fixture needs two existing ids"
    );
    let missing = f.missing_id();
    let malformed = f.malformed_ids();
    assert!(
        !malformed.is_empty(),
        "conformance: the fixture needs a malformed id"
    );
    let mut ids = vec![
        existing[0].clone(),
        missing.clone(),
        existing[1].clone(),
        existing[0].clone(),
    ];
    let mut expected = vec![
        (existing[0].clone(), "anonymized"),
        (missing, "not_found"),
        (existing[1].clone(), "anonymized"),
    ];
    if let Some(rejected) = f.rejected_id() {
        ids.push(rejected.clone());
        expected.push((rejected, "rejected"));
    }
    ids.push(malformed[0].clone());
    ids.push(existing[1].clone());
    expected.push((malformed[0].clone(), "invalid"));

    let out = f
        .anonymizer()
        .anonymize(&ids)
        .await
        .expect("conformance: a mixed batch must not fail as a whole");
    let got: Vec<(String, &str)> = out
        .iter()
        .map(|o| (o.id.clone(), o.outcome.label()))
        .collect();
    assert_eq!(
        got, expected,
        "conformance: outcomes must be one per distinct id, in input order"
    );
    for o in &out {
        if let Outcome::Rejected { message } = &o.outcome {
            assert!(
                !message.is_empty(),
                "conformance: a rejection must carry the vendor's message"
            );
        }
    }
}

/// Malformed ids get [`Outcome::Invalid`] and cause no request at all.
pub async fn malformed_ids_are_never_sent(f: &impl Fixture) {
    let malformed = f.malformed_ids();
    let before = f.requests_received();
    let out = f
        .anonymizer()
        .anonymize(&malformed)
        .await
        .expect("conformance: malformed ids must not fail the batch");
    let mut seen = HashSet::new();
    let distinct = malformed.iter().filter(|m| seen.insert(*m)).count();
    assert_eq!(out.len(), distinct);
    for o in &out {
        assert_eq!(
            o.outcome.label(),
            "invalid",
            "conformance: a malformed id was not invalid"
        );
        if let Outcome::Invalid { reason } = &o.outcome {
            assert!(
                o.id.is_empty() || !reason.contains(o.id.as_str()),
                "conformance: the reason must not repeat the input"
            );
        }
    }
    assert_eq!(
        f.requests_received(),
        before,
        "conformance: a malformed id caused a request"
    );
}

/// Anonymizing the same user again is anonymized or not found, never a failure.
pub async fn anonymizing_twice_is_safe(f: &impl Fixture) {
    let id = f.existing_ids().remove(0);
    let anonymizer = f.anonymizer();
    for round in 1..=2 {
        let out = anonymizer
            .anonymize(std::slice::from_ref(&id))
            .await
            .expect("conformance: anonymizing one user must not fail the batch");
        assert_eq!(out.len(), 1);
        assert!(
            out[0].outcome.is_done(),
            "conformance: round {round} gave {}",
            out[0].outcome
        );
    }
}

/// A known address resolves (in any case) to its id, an unknown one to `None`; vendors without a
/// look-up say [`Error::Unsupported`].
pub async fn email_resolution(f: &impl Fixture) {
    let anonymizer = f.anonymizer();
    let unknown = Email::parse("nobody.conformance@example.invalid").expect("valid address");
    match f.known_email() {
        Some((email, id)) => {
            let exact = Email::parse(&email).expect("the fixture's e-mail is valid");
            let shouted = Email::parse(&email.to_uppercase()).expect("valid address");
            for e in [&exact, &shouted] {
                let found = anonymizer
                    .resolve_email(e)
                    .await
                    .expect("conformance: resolving a known e-mail must succeed");
                assert_eq!(
                    found.as_deref(),
                    Some(id.as_str()),
                    "conformance: wrong id for a known e-mail"
                );
            }
            let none = anonymizer
                .resolve_email(&unknown)
                .await
                .expect("conformance: resolving an unknown e-mail must succeed");
            assert_eq!(
                none, None,
                "conformance: an unknown e-mail resolved to an id"
            );
        }
        None => {
            let err = anonymizer
                .resolve_email(&unknown)
                .await
                .expect_err("conformance: a vendor without look-up must say so");
            assert!(
                matches!(err, Error::Unsupported { .. }),
                "conformance: expected Unsupported, got {err:?}"
            );
        }
    }
}

/// No configured secret shows in the client's `Debug`.
pub async fn debug_hides_secrets(f: &impl Fixture) {
    let shown = format!("{:?}", f.anonymizer());
    for secret in f.secrets() {
        assert!(
            !shown.contains(&secret),
            "conformance: a secret shows in the client's Debug"
        );
    }
    let vendor = f.anonymizer().vendor();
    assert!(
        !vendor.is_empty()
            && vendor
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "conformance: the vendor name must be lower-case ASCII"
    );
}

fn simulator(f: &impl Fixture) -> &dyn Simulated {
    f.simulator()
        .expect("conformance: this check needs the fixture's simulator")
}

/// The requests one anonymization of `id` takes, measured after a first call that fetched the
/// token (so the count is of API requests only).
async fn requests_for(f: &impl Fixture, anonymizer: &Arc<dyn Anonymizer>, id: &str) -> usize {
    let before = f.requests_received();
    let out = anonymizer
        .anonymize(&[id.to_owned()])
        .await
        .expect("conformance: anonymizing one user must not fail the batch");
    assert!(
        matches!(out[0].outcome, Outcome::Anonymized(_)),
        "conformance: expected anonymized, got {}",
        out[0].outcome
    );
    f.requests_received() - before
}

/// Warm the client up (its token fetched) with a harmless call: a missing id.
async fn warm_up(f: &impl Fixture, anonymizer: &Arc<dyn Anonymizer>) {
    let out = anonymizer
        .anonymize(&[f.missing_id()])
        .await
        .expect("conformance: anonymizing a missing id must not fail the batch");
    assert_eq!(out[0].outcome.label(), "not_found");
}

/// A 503 is retried: the user is anonymized with exactly one request more than without it.
pub async fn server_errors_are_retried(f: &impl Fixture) {
    let sim = simulator(f);
    let anonymizer = f.anonymizer();
    let ids = f.existing_ids();
    warm_up(f, &anonymizer).await;
    let plain = requests_for(f, &anonymizer, &ids[0]).await;
    sim.faults().fail_next(1, 503, "unavailable");
    let with_fault = requests_for(f, &anonymizer, &ids[1]).await;
    assert_eq!(
        with_fault,
        plain + 1,
        "conformance: a 503 must be retried exactly once before success"
    );
}

/// A 429 with `Retry-After: 1` is retried after at least that second.
pub async fn retry_after_is_honoured(f: &impl Fixture) {
    let sim = simulator(f);
    let anonymizer = f.anonymizer();
    let ids = f.existing_ids();
    warm_up(f, &anonymizer).await;
    let plain = requests_for(f, &anonymizer, &ids[0]).await;
    sim.faults()
        .rate_limit_next(1, Some(Duration::from_secs(1)), "slow down");
    let started = Instant::now();
    let with_fault = requests_for(f, &anonymizer, &ids[1]).await;
    assert_eq!(
        with_fault,
        plain + 1,
        "conformance: a 429 must be retried exactly once before success"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "conformance: Retry-After was not honoured"
    );
}

/// After the simulator expires every token, the next call fetches exactly one new token and
/// succeeds.
pub async fn an_expired_token_is_refreshed_once(f: &impl Fixture) {
    let sim = simulator(f);
    let anonymizer = f.anonymizer();
    warm_up(f, &anonymizer).await;
    sim.expire_tokens();
    let before = sim.token_requests();
    requests_for(f, &anonymizer, &f.existing_ids()[0]).await;
    assert_eq!(
        sim.token_requests(),
        before + 1,
        "conformance: an expired token must be refreshed exactly once"
    );
}

/// Many concurrent first calls of one client make one token request.
pub async fn concurrent_first_calls_share_one_token_request(f: &impl Fixture) {
    let sim = simulator(f);
    let anonymizer = f.anonymizer();
    let before = sim.token_requests();
    let missing = f.missing_id();
    let calls = (0..20).map(|_| {
        let anonymizer = anonymizer.clone();
        let missing = missing.clone();
        async move { anonymizer.anonymize(&[missing]).await }
    });
    for out in futures_util::future::join_all(calls).await {
        let out = out.expect("conformance: a missing id must not fail the batch");
        assert_eq!(out[0].outcome.label(), "not_found");
    }
    assert_eq!(
        sim.token_requests(),
        before + 1,
        "conformance: concurrent first calls must share one token request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryAnonymizer;

    fn strings(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    struct MemoryFixture(MemoryAnonymizer);

    impl Fixture for MemoryFixture {
        fn anonymizer(&self) -> Arc<dyn Anonymizer> {
            Arc::new(self.0.clone())
        }
        fn existing_ids(&self) -> Vec<String> {
            strings(&["1", "2"])
        }
        fn missing_id(&self) -> String {
            "99".into()
        }
        fn rejected_id(&self) -> Option<String> {
            Some("3".into())
        }
        fn malformed_ids(&self) -> Vec<String> {
            strings(&["", "  "])
        }
        fn known_email(&self) -> Option<(String, String)> {
            Some(("jane@example.com".into(), "1".into()))
        }
        fn simulator(&self) -> Option<&dyn Simulated> {
            None
        }
        fn secrets(&self) -> Vec<String> {
            Vec::new()
        }
    }

    #[tokio::test]
    async fn memory_anonymizer_conforms() {
        run_behaviour(&|| async {
            MemoryFixture(
                MemoryAnonymizer::new("memory")
                    .with_user("1", "jane@example.com")
                    .with_user("2", "john@example.com")
                    .with_rejected("3", "owner"),
            )
        })
        .await;
    }
}
