//! The simulator behaves as Alfabet documents, and the client handles it end to end.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use alfabet_client::RefStr;
use alfabet_client::testkit::{
    EXCLUDED_MESSAGE, NOT_FOUND_MESSAGE, PASSWORD, RejectedShape, Simulator, USERNAME,
};
use anonymize_core::secrecy::{ExposeSecret, SecretString};
use anonymize_core::testkit::Simulated;
use anonymize_core::{Anonymizer, Error, Outcome, UserOutcome};
use serde_json::json;

fn labels(outcomes: &[UserOutcome]) -> Vec<&'static str> {
    outcomes.iter().map(|o| o.outcome.label()).collect()
}

fn ids(refs: &[RefStr]) -> Vec<String> {
    refs.iter().map(ToString::to_string).collect()
}

async fn raw(
    sim: &Simulator,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let url = format!("{}{path}", sim.url());
    let mut request = reqwest::Client::new()
        .request(method, url)
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn anonymizes_users_and_replaces_their_data() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("Jane Doe", "jane@example.com");
    let john = sim.add_user("John Roe", "john@example.com");
    let pat = sim.add_excluded_user("Pat Excluded", "pat@example.com");
    let missing = RefStr::new(421, 999);
    let other_class = RefStr::new(7, 1);
    sim.add_user_with_ref(other_class, "Other Class", "other@example.com");

    let report = sim
        .client()
        .anonymize_batch(&[jane, missing, pat, john, other_class])
        .await
        .unwrap();
    let got: Vec<_> = report.outcomes.iter().map(Outcome::label).collect();
    assert_eq!(
        got,
        [
            "anonymized",
            "not_found",
            "rejected",
            "anonymized",
            "anonymized"
        ]
    );
    match report.outcome(&pat).unwrap() {
        Outcome::Rejected { message } => assert_eq!(message, EXCLUDED_MESSAGE),
        other => panic!("{other:?}"),
    }
    assert!(report.warnings.is_empty(), "{report:?}");
    assert_eq!(report.answer.count, Some(3));

    let jane_now = sim.user(jane).unwrap();
    assert!(jane_now.anonymized);
    assert_ne!(jane_now.name, "Jane Doe");
    assert!(!jane_now.email.contains("jane"));
    let pat_now = sim.user(pat).unwrap();
    assert!(!pat_now.anonymized);
    assert_eq!(pat_now.name, "Pat Excluded");
    assert!(sim.user(missing).is_none());
    assert!(!format!("{jane_now:?}{pat_now:?}").contains("Pat"));

    // Again: harmless, still anonymized.
    let again = sim.client().anonymize(&ids(&[jane])).await.unwrap();
    assert_eq!(labels(&again), ["anonymized"]);
    assert_eq!(sim.user(jane).unwrap().times_anonymized, 2);
}

#[tokio::test]
async fn the_client_reads_every_rejected_shape_the_simulator_writes() {
    for shape in [
        RejectedShape::List,
        RejectedShape::SingleObjectWhenOne,
        RejectedShape::NullWhenEmpty,
        RejectedShape::OmittedWhenEmpty,
    ] {
        let sim = Simulator::start().await;
        sim.set_rejected_shape(shape);
        let jane = sim.add_user("Jane Doe", "jane@example.com");
        let pat = sim.add_excluded_user("Pat", "pat@example.com");
        let missing = RefStr::new(421, 999);
        let client = sim.client();
        for (refs, expected) in [
            (vec![jane], vec!["anonymized"]),
            (vec![jane, missing], vec!["anonymized", "not_found"]),
            (vec![pat, missing], vec!["rejected", "not_found"]),
        ] {
            let out = client.anonymize(&ids(&refs)).await.unwrap();
            assert_eq!(labels(&out), expected, "{shape:?}");
            for o in &out {
                if let Outcome::Anonymized(e) = &o.outcome {
                    assert!(e.warnings.is_empty(), "{shape:?}: {:?}", e.warnings);
                }
            }
        }
    }
}

#[tokio::test]
async fn the_wire_shapes_are_what_the_vendor_documents() {
    let sim = Simulator::start().await;
    sim.set_rejected_shape(RejectedShape::SingleObjectWhenOne);
    let jane = sim.add_user("Jane Doe", "jane@example.com");
    let token = sim.issue_token();
    let auth = format!("bearer {}", token.expose_secret());
    let (status, body) = raw(
        &sim,
        reqwest::Method::PUT,
        "/api/v2/anonymizeuser",
        &[
            ("authorization", &auth),
            ("content-type", "application/json; charset=utf-8"),
        ],
        &json!({"Refs": [jane.to_string(), "421-999-0"]}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"Count": 1, "RejectedObjects": {"RefStr": "421-999-0", "Message": NOT_FOUND_MESSAGE}})
    );

    let (status, body) = raw(
        &sim,
        reqwest::Method::POST,
        "/api/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        &format!("grant_type=password&username={USERNAME}&password={PASSWORD}"),
    )
    .await;
    assert_eq!(status, 200);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1200);
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn the_simulator_refuses_bad_requests() {
    let sim = Simulator::start().await;
    let token = sim.issue_token();
    let auth = format!("bearer {}", token.expose_secret());
    let json_ct = ("content-type", "application/json; charset=utf-8");
    let put = reqwest::Method::PUT;
    let path = "/api/v2/anonymizeuser";
    let refs = r#"{"Refs":["421-1-0"]}"#;

    // No token, an unknown token, a wrong scheme.
    assert_eq!(raw(&sim, put.clone(), path, &[json_ct], refs).await.0, 401);
    for bad in ["bearer nope", "Basic abc", "bearer"] {
        let status = raw(
            &sim,
            put.clone(),
            path,
            &[json_ct, ("authorization", bad)],
            refs,
        )
        .await
        .0;
        assert_eq!(status, 401, "{bad}");
    }
    // Not JSON.
    let (status, _) = raw(
        &sim,
        put.clone(),
        path,
        &[("authorization", &auth), ("content-type", "text/plain")],
        refs,
    )
    .await;
    assert_eq!(status, 415);
    // Refs missing, empty, not a list, not strings; a body that is not JSON.
    for body in [
        "{}",
        r#"{"Refs":[]}"#,
        r#"{"Refs":"421-1-0"}"#,
        r#"{"Refs":[421]}"#,
        "Refs=421-1-0",
    ] {
        let status = raw(
            &sim,
            put.clone(),
            path,
            &[("authorization", &auth), json_ct],
            body,
        )
        .await
        .0;
        assert_eq!(status, 400, "{body}");
    }
    // Unknown routes, case-sensitive paths, wrong methods.
    for (method, p) in [
        (put.clone(), "/api/v2/AnonymizeUser"),
        (put.clone(), "/api/v2/anonymizeuser/x"),
        (reqwest::Method::GET, "/api/v1/anonymizeuser"),
    ] {
        let status = raw(&sim, method, p, &[("authorization", &auth), json_ct], refs)
            .await
            .0;
        assert_eq!(status, 404, "{p}");
    }
    let status = raw(
        &sim,
        reqwest::Method::POST,
        path,
        &[("authorization", &auth), json_ct],
        refs,
    )
    .await
    .0;
    assert_eq!(status, 405);
    // The token endpoint: wrong grant, wrong password, not form-encoded.
    let form = ("content-type", "application/x-www-form-urlencoded");
    for (headers, body, code) in [
        (
            vec![form],
            format!("grant_type=client_credentials&username={USERNAME}&password={PASSWORD}"),
            "unsupported_grant_type",
        ),
        (
            vec![form],
            format!("grant_type=password&username={USERNAME}&password=wrong"),
            "invalid_grant",
        ),
        (
            vec![json_ct],
            json!({"grant_type": "password"}).to_string(),
            "invalid_request",
        ),
    ] {
        let (status, answer) =
            raw(&sim, reqwest::Method::POST, "/api/token", &headers, &body).await;
        assert_eq!(status, 400);
        assert!(answer.contains(code), "{answer}");
    }
    // Nothing above was anonymized or recorded as an anonymize request.
    assert!(sim.anonymize_requests().is_empty());
    assert_eq!(sim.token_requests(), 3);
    assert_eq!(sim.requests_received(), 17);
}

#[tokio::test]
async fn the_token_lifetime_is_configurable() {
    let sim = Simulator::start().await;
    sim.set_token_lifetime(Duration::from_secs(60));
    let (status, body) = raw(
        &sim,
        reqwest::Method::POST,
        "/api/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        &format!("grant_type=password&username={USERNAME}&password={PASSWORD}"),
    )
    .await;
    assert_eq!(status, 200);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["expires_in"], 60);

    // A token that is already expired when issued: the client refreshes once, then gives up.
    sim.set_token_lifetime(Duration::ZERO);
    let jane = sim.add_user("Jane Doe", "jane@example.com");
    let err = sim.client().anonymize(&ids(&[jane])).await.unwrap_err();
    assert!(matches!(err.error, Error::Unauthenticated(_)));
    assert_eq!(sim.token_requests(), 3);
    assert!(!sim.user(jane).unwrap().anonymized);
}

#[tokio::test]
async fn a_pre_issued_token_works_until_it_expires() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("Jane Doe", "jane@example.com");
    let client = sim
        .client_builder()
        .bearer_token(sim.issue_token())
        .build()
        .unwrap();
    assert_eq!(
        labels(&client.anonymize(&ids(&[jane])).await.unwrap()),
        ["anonymized"]
    );
    sim.expire_tokens();
    let err = client.anonymize(&ids(&[jane])).await.unwrap_err();
    assert!(matches!(err.error, Error::Unauthenticated(_)));
    assert_eq!(sim.token_requests(), 0);
}

#[tokio::test]
async fn wrong_credentials_stop_the_run_without_leaking_them() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("Jane Doe", "jane@example.com");
    let client = sim
        .client_builder()
        .password("someone", SecretString::from("not-the-password"))
        .build()
        .unwrap();
    let err = client.anonymize(&ids(&[jane])).await.unwrap_err();
    assert!(matches!(err.error, Error::Unauthenticated(_)));
    assert_eq!(err.error.code(), Some("invalid_grant"));
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("not-the-password") && !shown.contains("someone"),
        "{shown}"
    );
    assert!(!sim.user(jane).unwrap().anonymized);
    assert_eq!(err.completed.len(), 1);

    sim.add_account("someone", "not-the-password");
    let ok = client.anonymize(&ids(&[jane])).await.unwrap();
    assert_eq!(labels(&ok), ["anonymized"]);
}

#[tokio::test]
async fn a_misreported_count_and_extra_fields_reach_the_report() {
    let sim = Simulator::start().await;
    sim.misreport_count(1);
    sim.add_answer_field("Warnings", json!([]));
    let jane = sim.add_user("Jane Doe", "jane@example.com");
    let john = sim.add_user("John Roe", "john@example.com");
    let batch = sim.client().anonymize_batch(&[jane, john]).await.unwrap();
    let labels: Vec<_> = batch.outcomes.iter().map(Outcome::label).collect();
    assert_eq!(labels, ["anonymized", "anonymized"]);
    let mismatch = batch.count_mismatch.unwrap();
    assert_eq!((mismatch.reported, mismatch.expected), (3, 2));
    assert_eq!(batch.answer.extra.get("Warnings"), Some(&json!([])));
    match batch.outcome(&jane).unwrap() {
        Outcome::Anonymized(e) => assert_eq!(e.warnings.len(), 1),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn faults_are_retried_or_reported() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("Jane Doe", "jane@example.com");
    let john = sim.add_user("John Roe", "john@example.com");
    let client = sim
        .client_builder()
        .password(USERNAME, SecretString::from(PASSWORD))
        .batch_size(1)
        .build()
        .unwrap();

    // Two 503s on the token request: retried, then everything works.
    sim.faults().fail_next(2, 503, "busy");
    let out = client.anonymize(&ids(&[jane])).await.unwrap();
    assert_eq!(labels(&out), ["anonymized"]);
    assert_eq!(sim.requests_received(), 4);

    // A 429 with Retry-After (0 s: the conformance suite checks that a longer one is waited
    // for), then a delay: retried / waited for.
    sim.faults()
        .rate_limit_next(1, Some(Duration::ZERO), "slow down");
    sim.faults().delay_next(1, Duration::from_millis(20));
    let out = client.anonymize(&ids(&[john])).await.unwrap();
    assert_eq!(labels(&out), ["anonymized"]);

    // More 500s than the retry policy allows: that batch fails, the next one is sent.
    let before = sim.requests_received();
    sim.faults().fail_next(4, 500, r#"{"Message":"boom"}"#);
    let out = client.anonymize(&ids(&[jane, john])).await.unwrap();
    assert_eq!(labels(&out), ["failed", "anonymized"]);
    assert_eq!(sim.requests_received() - before, 5);
    match &out[0].outcome {
        Outcome::Failed(e) => assert_eq!(e.message(), Some("boom")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn batches_and_duplicates_reach_the_simulator_as_expected() {
    let sim = Simulator::start().await;
    let users: Vec<RefStr> = (0..5)
        .map(|i| sim.add_user(format!("User {i}"), format!("u{i}@example.com")))
        .collect();
    let client = sim
        .client_builder()
        .password(USERNAME, SecretString::from(PASSWORD))
        .batch_size(2)
        .build()
        .unwrap();
    let mut input = users.clone();
    input.extend(users.iter().rev().copied());
    let out = client.anonymize(&ids(&input)).await.unwrap();
    assert_eq!(out.len(), 5);
    let sent = sim.anonymize_requests();
    let expected: Vec<Vec<String>> = users
        .chunks(2)
        .map(|c| c.iter().map(ToString::to_string).collect())
        .collect();
    assert_eq!(sent, expected);
    assert!(users.iter().all(|u| sim.user(*u).unwrap().anonymized));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Any mix of existing, missing, excluded, malformed and repeated ids, in any batch size:
    /// one outcome per distinct id, in input order, each with the right label.
    #[test]
    fn every_input_gets_exactly_one_outcome(
        picks in proptest::collection::vec(0usize..8, 0..20),
        batch_size in 1usize..5,
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let sim = Simulator::start().await;
            let a = sim.add_user("A", "a@example.com").to_string();
            let b = sim.add_user("B", "b@example.com").to_string();
            let x = sim.add_excluded_user("X", "x@example.com").to_string();
            let pool: [(String, &str); 8] = [
                (a, "anonymized"),
                (b, "anonymized"),
                (x, "rejected"),
                ("421-900-0".into(), "not_found"),
                ("5-1-0".into(), "not_found"),
                ("421-01-0".into(), "invalid"),
                ("".into(), "invalid"),
                ("421-1".into(), "invalid"),
            ];
            let ids: Vec<String> = picks.iter().map(|i| pool[*i].0.clone()).collect();
            let client = sim
                .client_builder()
                .password(USERNAME, SecretString::from(PASSWORD))
                .batch_size(batch_size)
                .build()
                .unwrap();
            let out = client.anonymize(&ids).await.unwrap();
            let mut expected: Vec<(String, &str)> = Vec::new();
            for i in &picks {
                if !expected.iter().any(|(id, _)| *id == pool[*i].0) {
                    expected.push(pool[*i].clone());
                }
            }
            let got: Vec<(String, &str)> = out
                .iter()
                .map(|o| (o.id.clone(), o.outcome.label()))
                .collect();
            assert_eq!(got, expected);
            let valid = expected.iter().filter(|(_, l)| *l != "invalid").count();
            assert_eq!(sim.anonymize_requests().len(), valid.div_ceil(batch_size));
        });
    }
}

#[tokio::test]
async fn a_timed_out_put_is_sent_again_because_anonymizing_twice_is_harmless() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("Jane Doe", "jane@example.com");
    let client = sim
        .client_builder()
        .password(USERNAME, SecretString::from(PASSWORD))
        .http_config(
            sim.http_config()
                .with_request_timeout(Duration::from_millis(100)),
        )
        .build()
        .unwrap();
    // Get a token first, so that the delay hits the PUT.
    client.anonymize(&ids(&[jane])).await.unwrap();
    sim.faults().delay_next(1, Duration::from_millis(400));
    let out = client.anonymize(&ids(&[jane])).await.unwrap();
    assert_eq!(labels(&out), ["anonymized"]);
    // The slow attempt was processed too (after the client gave up on it), and at least one
    // more attempt was sent: the user was anonymized more than once, harmlessly. (How many
    // attempts queue up behind the slow one depends on scheduling: only a lower bound is exact.)
    assert!(sim.anonymize_requests().len() >= 3);
    assert!(sim.user(jane).unwrap().times_anonymized >= 3);
}

#[tokio::test]
async fn a_403_stops_the_run_with_the_vendors_message() {
    let sim = Simulator::start().await;
    let users: Vec<RefStr> = (0..3)
        .map(|i| sim.add_user(format!("U{i}"), format!("u{i}@example.com")))
        .collect();
    let client = sim
        .client_builder()
        .password(USERNAME, SecretString::from(PASSWORD))
        .batch_size(1)
        .build()
        .unwrap();
    sim.faults().fail_next(1, 503, "");
    client.anonymize(&ids(&users[..1])).await.unwrap();
    sim.faults().fail_next(
        1,
        403,
        r#"{"Message":"Missing the anonymization permission."}"#,
    );
    let batch = client.anonymize(&ids(&users)).await.unwrap_err();
    assert_eq!(labels(&batch.completed), ["failed"]);
    assert!(matches!(batch.error, Error::PermissionDenied(_)));
    assert_eq!(
        batch.error.message(),
        Some("Missing the anonymization permission.")
    );
    assert_eq!(batch.completed.len(), 1);
    assert_eq!(batch.completed[0].id, users[0].to_string());
    assert_eq!(
        batch.not_attempted,
        [users[1].to_string(), users[2].to_string()]
    );
    assert!(std::error::Error::source(&batch).is_some());
}

#[tokio::test]
async fn alfabet_says_it_cannot_verify_an_erasure() {
    let sim = Simulator::start().await;
    let r = sim.add_user("Vera Quill", "vera@example.com");
    let out = sim
        .client()
        .anonymize_verified(&[r.to_string()])
        .await
        .unwrap();
    match &out[0].outcome {
        Outcome::Anonymized(e) => match e.verified.as_deref() {
            Some(anonymize_core::Verification::Unsupported { why }) => {
                assert_eq!(why, "alfabet offers no documented way to check an erasure")
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert!(
        out[0]
            .outcome
            .to_string()
            .contains("cannot be verified at the vendor")
    );
}
