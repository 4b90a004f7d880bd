//! The client against the stateful simulator: Guardhouse's documented effects and rules, token
//! lifetimes and scopes, and the e-mail search. (The conformance suite is `tests/conformance.rs`.)
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use anonymize_core::testkit::Simulated;
use anonymize_core::{Anonymizer, Email, Error, Outcome};
use guardhouse_client::testkit::{DELETED_EMAIL_DOMAIN, Simulator};
use guardhouse_client::{AnonymizeOptions, GuardhouseClient, SYSTEM_API_SCOPE, UserId, UserStatus};
use secrecy::{ExposeSecret, SecretString};

#[tokio::test]
async fn anonymization_has_the_documented_effects() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("jane@example.com", "Jane", "Doe", UserStatus::Active);
    let john = sim.add_user("john@example.com", "John", "Roe", UserStatus::Staged);
    let client = sim.client();
    let out = client
        .anonymize(&[jane.to_string(), john.to_string()])
        .await
        .unwrap();
    assert!(out.iter().all(|o| o.outcome.label() == "anonymized"));
    let (a, b) = (sim.user(jane).unwrap(), sim.user(john).unwrap());
    for user in [&a, &b] {
        assert_eq!(user.first_name, "Deleted");
        assert_eq!(user.last_name, "User");
        assert_eq!(user.status, UserStatus::Archived);
        assert!(user.email.ends_with(&format!("@{DELETED_EMAIL_DOMAIN}")));
        assert_eq!(user.username, user.email);
        assert_eq!(user.phone_number, None);
        assert_eq!(user.avatar_url, None);
        assert!(!user.has_password && !user.two_factor_enabled);
        assert!(user.external_logins.is_empty() && user.claims.is_empty());
        assert_eq!(user.suspension_reason, None);
    }
    assert_ne!(a.email, b.email, "the replacement addresses are unique");

    // Read back through the API: the record stays, archived.
    let read = client.user(jane).await.unwrap();
    assert_eq!(read.status, Some(UserStatus::Archived));
    assert_eq!(read.first_name.as_deref(), Some("Deleted"));
    // And the old address no longer finds anyone.
    let email = Email::parse("jane@example.com").unwrap();
    assert_eq!(client.resolve_email(&email).await.unwrap(), None);
}

#[tokio::test]
async fn the_options_reach_the_server() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("jane@example.com", "Jane", "Doe", UserStatus::Active);
    let options = AnonymizeOptions::default().trigger_webhook(true);
    sim.client_builder()
        .anonymize_options(options)
        .build()
        .unwrap()
        .anonymize_user(jane)
        .await
        .unwrap();
    sim.client().anonymize_user(jane).await.unwrap();
    let calls = sim.anonymize_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].user_id, jane);
    assert_eq!(calls[0].options, options);
    assert_eq!(calls[1].options, AnonymizeOptions::default());
}

#[tokio::test]
async fn a_user_that_refuses_is_rejected_and_left_alone() {
    let sim = Simulator::start().await;
    let owner =
        sim.add_unanonymizable_user("owner@example.com", "Olga", "Owner", UserStatus::Active);
    let out = sim.client().anonymize(&[owner.to_string()]).await.unwrap();
    match &out[0].outcome {
        Outcome::Rejected { message } => assert_eq!(message, "Failed to anonymize user data."),
        other => panic!("{other:?}"),
    }
    let user = sim.user(owner).unwrap();
    assert_eq!(user.first_name, "Olga");
    assert_eq!(user.status, UserStatus::Active);
    assert!(sim.anonymize_calls().is_empty());

    assert!(sim.set_refuses_anonymization(owner, false));
    let out = sim.client().anonymize(&[owner.to_string()]).await.unwrap();
    assert_eq!(out[0].outcome.label(), "anonymized");
}

#[tokio::test]
async fn missing_users_are_not_found_with_the_vendor_text() {
    let sim = Simulator::start().await;
    let client = sim.client();
    let err = client
        .anonymize_user(UserId::try_from(4242_u64).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));
    assert_eq!(err.message(), Some("User not found"));
    let err = client
        .user(UserId::try_from(4242_u64).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.message(), Some("User not found"));
}

#[tokio::test]
async fn tokens_dead_on_arrival_are_refreshed_once_then_refused() {
    let sim = Simulator::start().await;
    sim.set_token_lifetime(Duration::ZERO);
    let jane = sim.add_user("jane@example.com", "Jane", "Doe", UserStatus::Active);
    let client = sim.client();
    // Every token is dead on arrival: one refresh, then a clear error.
    let err = client.user(jane).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
    assert_eq!(sim.token_requests(), 2);
}

#[tokio::test]
async fn a_token_without_the_system_api_scope_is_forbidden_and_stops_the_batch() {
    let sim = Simulator::start().await;
    let a = sim.add_user("a@example.com", "A", "A", UserStatus::Active);
    let b = sim.add_user("b@example.com", "B", "B", UserStatus::Active);
    sim.add_client("portal", "portal-secret-1", "openid profile");

    // Asking for system_api with a client that may not have it: the token endpoint's 400
    // invalid_scope. Asking for what it may have: a token, but the API answers 403.
    for (scope, status) in [(SYSTEM_API_SCOPE, 400), ("openid", 403)] {
        let client = GuardhouseClient::builder(sim.url())
            .client_credentials("portal", SecretString::from("portal-secret-1"))
            .scope(scope)
            .concurrency(1)
            .build()
            .unwrap();
        let batch = client
            .anonymize(&[a.to_string(), b.to_string()])
            .await
            .unwrap_err();
        assert!(
            matches!(batch.error, Error::PermissionDenied(_)),
            "{scope}: {:?}",
            batch.error
        );
        assert_eq!(batch.error.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(batch.not_attempted, [b.to_string()]);
    }
    assert_eq!(sim.user(a).unwrap().status, UserStatus::Active);

    // The same with a pre-issued token.
    let token = sim.issue_token("openid");
    let client = GuardhouseClient::builder(sim.url())
        .bearer_token(token)
        .build()
        .unwrap();
    let err = client.anonymize_user(a).await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)));
}

#[tokio::test]
async fn bad_credentials_stop_the_batch_and_list_what_was_not_done() {
    let sim = Simulator::start().await;
    let a = sim.add_user("a@example.com", "A", "A", UserStatus::Active);
    let client = GuardhouseClient::builder(sim.url())
        .client_credentials(sim.client_id(), SecretString::from("wrong-secret-9"))
        .concurrency(1)
        .build()
        .unwrap();
    let batch = client
        .anonymize(&[a.to_string(), "0".into(), "5".into()])
        .await
        .unwrap_err();
    assert!(matches!(batch.error, Error::Unauthenticated(_)));
    // A malformed id is decided before anything is sent (core's parse step), so it has its
    // outcome even though the batch stopped; the valid id after the failure was not attempted.
    let completed: Vec<(&str, &str)> = batch
        .completed
        .iter()
        .map(|o| (o.id.as_str(), o.outcome.label()))
        .collect();
    assert_eq!(
        completed,
        [(a.to_string().as_str(), "failed"), ("0", "invalid")]
    );
    assert_eq!(batch.not_attempted, ["5"]);
    assert!(!format!("{batch} {batch:?}").contains("wrong-secret-9"));

    // An unknown pre-issued token: 401, no refresh possible.
    let client = GuardhouseClient::builder(sim.url())
        .bearer_token(SecretString::from("not-a-token"))
        .build()
        .unwrap();
    let err = client.anonymize_user(a).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)));
    assert_eq!(sim.user(a).unwrap().status, UserStatus::Active);

    // A valid pre-issued token works.
    let token = sim.issue_token("system_api");
    let client = GuardhouseClient::builder(sim.url())
        .bearer_token(token)
        .build()
        .unwrap();
    client.anonymize_user(a).await.unwrap();
}

/// A delay fault holds the answer back, then the simulator answers normally. (The status faults
/// and their retries are core's: its tests and the conformance suite.)
#[tokio::test]
async fn a_delay_fault_delays_the_answer_only() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("jane@example.com", "Jane", "Doe", UserStatus::Active);
    let client = sim.client();
    client.user(jane).await.unwrap(); // fetch the token first
    let before = sim.requests_received();
    sim.faults().delay_next(1, Duration::from_millis(20));
    let started = std::time::Instant::now();
    client.user(jane).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(20));
    assert_eq!(sim.requests_received() - before, 1);
}

#[tokio::test]
async fn search_is_partial_case_insensitive_and_paged() {
    let sim = Simulator::start().await;
    sim.set_max_page_size(2);
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(sim.add_user(
            &format!("user{i}.jane@example.com"),
            "J",
            "D",
            UserStatus::Active,
        ));
    }
    let target = sim.add_user("JANE@example.com", "Jane", "Doe", UserStatus::Active);
    let client = sim.client();

    let page = client.users_page("Jane@EXAMPLE", 0, 50).await.unwrap();
    assert_eq!(page.total, Some(6));
    assert_eq!(page.users.len(), 2, "the server caps the page");
    let page = client.users_page("jane@example", 4, 50).await.unwrap();
    assert_eq!(page.users.len(), 2);
    let page = client.users_page("jane@example", 6, 50).await.unwrap();
    assert!(page.users.is_empty());

    let email = Email::parse("jane@example.com").unwrap();
    let before = sim.requests_received();
    let found = client.find_user_by_email(&email).await.unwrap().unwrap();
    assert_eq!(found.id, target);
    assert_eq!(sim.requests_received() - before, 3); // 6 partial matches, 2 per page

    let twin = sim.add_user("Jane@Example.com", "Janet", "Doe", UserStatus::Active);
    assert_ne!(twin, target);
    let err = client.find_user_by_email(&email).await.unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
}

#[tokio::test]
async fn verification_on_the_simulator_reads_back_archived() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("jane@example.com", "Jane", "Doe", UserStatus::Active);
    let client = sim.client_builder().verify_archived(true).build().unwrap();
    let out = client.anonymize(&[jane.to_string()]).await.unwrap();
    assert_eq!(
        out[0].outcome.to_string(),
        "anonymized HTTP 204; verified at the vendor"
    );
    // The same through the trait, without the builder's switch.
    let bob = sim.add_user("bob@example.com", "Bob", "Pike", UserStatus::Active);
    let out = sim
        .client()
        .anonymize_verified(&[bob.to_string()])
        .await
        .unwrap();
    assert_eq!(
        out[0].outcome.to_string(),
        "anonymized HTTP 204; verified at the vendor"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("jane@example.com", "Jane", "Doe", UserStatus::Active);
    let http = anonymize_core::reqwest::Client::new();
    let url = |path: &str| sim.url().join(path).unwrap();
    let status = |r: anonymize_core::reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(http.get(url("/api/v2/users/1")).send().await.unwrap()),
        404
    );
    assert_eq!(status(http.get(url("/nothing")).send().await.unwrap()), 404);
    assert_eq!(
        status(http.get(url("/api/v1/users/abc")).send().await.unwrap()),
        404
    );
    assert_eq!(
        status(http.get(url("/connect/token")).send().await.unwrap()),
        405
    );
    // Known route, no token: 401.
    assert_eq!(
        status(
            http.get(url(&format!("/api/v1/users/{jane}")))
                .send()
                .await
                .unwrap()
        ),
        401
    );
    // With a token: the wrong content type is refused, an id of 0 is a 400.
    let token = sim.issue_token("system_api");
    let bearer = format!("Bearer {}", token.expose_secret());
    let put = |path: String| http.put(url(&path)).header("authorization", bearer.clone());
    let r = put(format!("/api/v1/users/{jane}/personal-data"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 415);
    let r = put("/api/v1/users/0/personal-data".into())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 400);
    assert_eq!(sim.user(jane).unwrap().status, UserStatus::Active);
    assert_eq!(
        status(
            http.delete(url(&format!("/api/v1/users/{jane}")))
                .send()
                .await
                .unwrap()
        ),
        405
    );
}

#[tokio::test]
async fn the_simulator_and_its_client_hide_secrets() {
    let sim = Simulator::start().await;
    let secret = sim.client_secret().expose_secret().to_owned();
    assert!(!format!("{sim:?}").contains(&secret));
    assert!(!format!("{:?}", sim.client()).contains(&secret));
    assert!(!format!("{:?}", sim.client_builder()).contains(&secret));
    let jane = sim.add_user("jane@example.com", "Jane", "Doe", UserStatus::Active);
    let shown = format!(
        "{:?} {:?}",
        sim.user(jane).unwrap(),
        sim.client().user(jane).await.unwrap()
    );
    assert!(
        !shown.contains("jane") && !shown.contains("Jane") && !shown.contains("Doe"),
        "{shown}"
    );
}

#[test]
fn the_client_is_clone_send_sync_and_object_safe() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<GuardhouseClient>();
    assert_traits::<UserId>();
    let _: fn(GuardhouseClient) -> Arc<dyn Anonymizer> = |c| Arc::new(c);
}

mod batches {
    use super::*;
    use proptest::prelude::*;

    /// One id from a pool: existing, refusing, missing, malformed (index picks the kind).
    fn pool() -> Vec<(&'static str, &'static str)> {
        vec![
            ("101", "anonymized"),
            ("102", "anonymized"),
            ("103", "rejected"),
            ("5000", "not_found"),
            ("77", "not_found"),
            ("0", "invalid"),
            ("-3", "invalid"),
            ("x1", "invalid"),
            ("", "invalid"),
            ("0101", "invalid"),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Any list of ids gets exactly one outcome per distinct id, in order of first
        /// appearance, with the label the simulator's state dictates.
        #[test]
        fn every_distinct_id_gets_exactly_one_outcome(picks in proptest::collection::vec(0..10usize, 0..12)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let (sim, client) = rt.block_on(async {
                let sim = Simulator::start().await;
                sim.add_user("a@example.com", "A", "A", UserStatus::Active);
                sim.add_user("b@example.com", "B", "B", UserStatus::Active);
                sim.add_unanonymizable_user("c@example.com", "C", "C", UserStatus::Active);
                let client = sim.client();
                (sim, client)
            });
            let pool = pool();
            let ids: Vec<String> = picks.iter().map(|&i| pool[i].0.to_string()).collect();
            let out = rt.block_on(client.anonymize(&ids)).unwrap();
            let mut expected: Vec<(&str, &str)> = Vec::new();
            for &i in &picks {
                if !expected.iter().any(|(id, _)| *id == pool[i].0) {
                    expected.push(pool[i]);
                }
            }
            let got: Vec<(&str, &str)> =
                out.iter().map(|o| (o.id.as_str(), o.outcome.label())).collect();
            prop_assert_eq!(got, expected);
            drop(sim);
        }
    }
}
