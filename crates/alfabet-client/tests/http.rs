//! The client against httpmock: Alfabet's documented requests, its answer shapes, its statuses
//! and error bodies, with hit counts. (The HTTP behaviour every vendor shares, such as 401
//! refresh, token sharing and `Retry-After`, is tested once in anonymize-core and in the
//! conformance suite.)
#![allow(clippy::unwrap_used)]

use alfabet_client::{AlfabetClient, BatchReport, RefStr};
use anonymize_core::secrecy::SecretString;
use anonymize_core::testkit::fast_http_config;
use anonymize_core::url::Url;
use anonymize_core::{Anonymizer, Email, Error, Outcome, UserOutcome};
use httpmock::prelude::*;
use serde_json::json;

const PATH: &str = "/AlfabetAPIServer";
const TOKEN_PATH: &str = "/AlfabetAPIServer/api/token";
const ANON_PATH: &str = "/AlfabetAPIServer/api/v2/anonymizeuser";
const USER: &str = "svc-anonymizer";
const PASSWORD: &str = "pa55-w0rd&=secret";

fn base(server: &MockServer) -> Url {
    Url::parse(&server.url(PATH)).unwrap()
}

fn client(server: &MockServer, batch_size: usize) -> AlfabetClient {
    AlfabetClient::builder(base(server))
        .password(USER, SecretString::from(PASSWORD))
        .http_config(fast_http_config())
        .batch_size(batch_size)
        .build()
        .unwrap()
}

fn r(object: u64) -> RefStr {
    RefStr::new(421, object)
}

fn ids(objects: &[u64]) -> Vec<String> {
    objects.iter().map(|o| r(*o).to_string()).collect()
}

fn refs_body(objects: &[u64]) -> serde_json::Value {
    json!({ "Refs": ids(objects) })
}

async fn token_mock<'a>(server: &'a MockServer, token: &str) -> httpmock::Mock<'a> {
    let token = token.to_owned();
    server
        .mock_async(|when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.status(200).json_body(
                json!({"token_type": "bearer", "access_token": token, "expires_in": 1200}),
            );
        })
        .await
}

fn labels(outcomes: &[UserOutcome]) -> Vec<&'static str> {
    outcomes.iter().map(|o| o.outcome.label()).collect()
}

fn batch_labels(report: &BatchReport) -> Vec<&'static str> {
    report.outcomes.iter().map(Outcome::label).collect()
}

#[tokio::test]
async fn sends_exactly_the_documented_requests() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(TOKEN_PATH)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=password&username=svc-anonymizer&password=pa55-w0rd%26%3Dsecret");
            then.status(200).json_body(
                json!({"token_type": "bearer", "access_token": "eyJ.abc.def", "expires_in": 1200}),
            );
        })
        .await;
    let anonymize = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(ANON_PATH)
                .header("authorization", "bearer eyJ.abc.def")
                .header("content-type", "application/json; charset=utf-8")
                .body(r#"{"Refs":["421-5-0","421-9-0","421-12-0","421-999-0"]}"#);
            then.status(200).json_body(json!({
                "Count": 3,
                "RejectedObjects": {"RefStr": "421-999-0", "Message": "Cannot find instance"}
            }));
        })
        .await;
    let out = client(&server, 100)
        .anonymize(&ids(&[5, 9, 12, 999]))
        .await
        .unwrap();
    token.assert_calls_async(1).await;
    anonymize.assert_calls_async(1).await;
    assert_eq!(
        labels(&out),
        ["anonymized", "anonymized", "anonymized", "not_found"]
    );
    for o in &out[..3] {
        match &o.outcome {
            Outcome::Anonymized(e) => {
                assert_eq!(
                    &*e.summary,
                    "anonymizeuser batch 1 of 1: 4 sent, 1 rejected, Count 3"
                );
                // The batch's facts are in the summary; no per-ref copy of the answer.
                assert_eq!(e.record, None);
                // No Count mismatch, nothing odd in the answer.
                assert!(e.warnings.is_empty(), "{:?}", e.warnings);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn token_type_is_sent_exactly_as_given_and_defaults_to_bearer() {
    for (answer, header) in [
        (
            json!({"token_type": "Bearer", "access_token": "t1", "expires_in": "1200"}),
            "Bearer t1",
        ),
        (
            json!({"access_token": "t1", "expires_in": 1200}),
            "bearer t1",
        ),
        (
            json!({"token_type": null, "access_token": "t1", "expires_in": null}),
            "bearer t1",
        ),
    ] {
        let server = MockServer::start_async().await;
        let token = server
            .mock_async(|when, then| {
                when.method(POST).path(TOKEN_PATH);
                then.status(200).json_body(answer.clone());
            })
            .await;
        let anonymize = server
            .mock_async(|when, then| {
                when.method(PUT)
                    .path(ANON_PATH)
                    .header("authorization", header);
                then.status(200).json_body(json!({"Count": 1}));
            })
            .await;
        let client = client(&server, 100);
        for _ in 0..2 {
            let out = client.anonymize(&ids(&[1])).await.unwrap();
            assert_eq!(labels(&out), ["anonymized"]);
        }
        // The token is cached: one token request for two calls.
        token.assert_calls_async(1).await;
        anonymize.assert_calls_async(2).await;
    }
}

#[tokio::test]
async fn expires_in_drives_the_token_cache() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.status(200)
                .json_body(json!({"token_type": "bearer", "access_token": "t", "expires_in": "0"}));
        })
        .await;
    let anonymize = server
        .mock_async(|when, then| {
            when.method(PUT).path(ANON_PATH);
            then.status(200).json_body(json!({"Count": 1}));
        })
        .await;
    let client = client(&server, 100);
    for _ in 0..3 {
        client.anonymize(&ids(&[1])).await.unwrap();
    }
    // A token said to live 0 s is still used for a few seconds (core's MIN_TOKEN_REUSE): one
    // token request, never one per call (issue 8, defect 4).
    token.assert_calls_async(1).await;
    anonymize.assert_calls_async(3).await;
}

#[tokio::test]
async fn unusable_token_answers_fail_without_sending_the_batch() {
    for answer in [
        json!({"token_type": "bearer"}),
        json!({"access_token": ""}),
        json!({"access_token": 42}),
        json!({"access_token": "  "}),
        json!(["t"]),
    ] {
        let server = MockServer::start_async().await;
        let token = server
            .mock_async(|when, then| {
                when.method(POST).path(TOKEN_PATH);
                then.status(200).json_body(answer.clone());
            })
            .await;
        let anonymize = server
            .mock_async(|when, then| {
                when.method(PUT).path(ANON_PATH);
                then.status(200).json_body(json!({"Count": 1}));
            })
            .await;
        let out = client(&server, 100).anonymize(&ids(&[1])).await.unwrap();
        token.assert_calls_async(1).await;
        anonymize.assert_calls_async(0).await;
        match &out[0].outcome {
            // Unreadable (core's reader) or blank (core's token cache, one place for every vendor).
            Outcome::Failed(Error::UnexpectedResponse { .. } | Error::Protocol { .. }) => {}
            other => panic!("{answer}: {other:?}"),
        }
    }
}

/// Issue 8, defect 4: a token the vendor issued is not thrown away because its lifetime is
/// unreadable; it is kept for the token cache's default lifetime.
#[tokio::test]
async fn an_unreadable_lifetime_keeps_the_token() {
    for expires_in in [json!("soon"), json!(-1), json!(null)] {
        let server = MockServer::start_async().await;
        let token = server
            .mock_async(|when, then| {
                when.method(POST).path(TOKEN_PATH);
                then.status(200)
                    .json_body(json!({"access_token": "t", "expires_in": expires_in}));
            })
            .await;
        let anonymize = server
            .mock_async(|when, then| {
                when.method(PUT).path(ANON_PATH);
                then.status(200).json_body(json!({"Count": 1}));
            })
            .await;
        let client = client(&server, 100);
        for _ in 0..3 {
            let out = client.anonymize(&ids(&[1])).await.unwrap();
            assert_eq!(out[0].outcome.label(), "anonymized", "{expires_in}");
        }
        token.assert_calls_async(1).await;
        anonymize.assert_calls_async(3).await;
    }
}

#[tokio::test]
async fn every_shape_of_rejected_objects() {
    let cases = [
        // The reference text: a list.
        (
            json!({"Count": 1, "RejectedObjects": [
                {"RefStr": "421-2-0", "Message": "Cannot find instance"},
                {"RefStr": "421-3-0", "Message": "User is excluded from anonymization"}
            ]}),
            vec!["anonymized", "not_found", "rejected"],
        ),
        // The vendor's own example: a single object.
        (
            json!({"Count": 2, "RejectedObjects": {"RefStr": "421-3-0", "Message": "cannot find INSTANCE"}}),
            vec!["anonymized", "anonymized", "not_found"],
        ),
        (
            json!({"Count": 3, "RejectedObjects": null}),
            vec!["anonymized", "anonymized", "anonymized"],
        ),
        (
            json!({"Count": 3}),
            vec!["anonymized", "anonymized", "anonymized"],
        ),
        (
            json!({"Count": 3, "RejectedObjects": []}),
            vec!["anonymized", "anonymized", "anonymized"],
        ),
    ];
    for (answer, expected) in cases {
        let server = MockServer::start_async().await;
        token_mock(&server, "t").await;
        let anonymize = server
            .mock_async(|when, then| {
                when.method(PUT)
                    .path(ANON_PATH)
                    .json_body(refs_body(&[1, 2, 3]));
                then.status(200).json_body(answer.clone());
            })
            .await;
        let report = client(&server, 100)
            .anonymize_batch(&[r(1), r(2), r(3)])
            .await
            .unwrap();
        anonymize.assert_calls_async(1).await;
        assert_eq!(batch_labels(&report), expected, "{answer}");
        assert!(report.warnings.is_empty(), "{answer}: {report:?}");
        if let Some(Outcome::Rejected { message }) = report.outcome(&r(3)) {
            assert_eq!(message, "User is excluded from anonymization");
        }
    }
}

#[tokio::test]
async fn unknown_fields_are_accepted_and_kept() {
    let server = MockServer::start_async().await;
    token_mock(&server, "t").await;
    server
        .mock_async(|when, then| {
            when.method(PUT).path(ANON_PATH);
            then.status(200).json_body(json!({
                "Count": 1,
                "RejectedObjects": [{"RefStr": "421-2-0", "Message": "Locked", "Reason": 17}],
                "Duration": "00:00:01",
                "Messages": ["done"]
            }));
        })
        .await;
    let report = client(&server, 100)
        .anonymize_batch(&[r(1), r(2)])
        .await
        .unwrap();
    assert_eq!(batch_labels(&report), ["anonymized", "rejected"]);
    let answer = &report.answer;
    assert_eq!(answer.extra.get("Duration"), Some(&json!("00:00:01")));
    assert_eq!(answer.extra.get("Messages"), Some(&json!(["done"])));
    assert_eq!(
        answer.rejected_objects[0].extra.get("Reason"),
        Some(&json!(17))
    );
    assert!(report.warnings.is_empty());
}

#[tokio::test]
async fn a_count_mismatch_is_reported_not_hidden() {
    let server = MockServer::start_async().await;
    token_mock(&server, "t").await;
    server
        .mock_async(|when, then| {
            when.method(PUT).path(ANON_PATH);
            then.status(200).json_body(json!({
                "Count": 1,
                "RejectedObjects": {"RefStr": "421-3-0", "Message": "Cannot find instance"}
            }));
        })
        .await;
    let client = client(&server, 100);
    let report = client.anonymize_batch(&[r(1), r(2), r(3)]).await.unwrap();
    assert_eq!(
        batch_labels(&report),
        ["anonymized", "anonymized", "not_found"]
    );
    let mismatch = report.count_mismatch.unwrap();
    assert_eq!((mismatch.reported, mismatch.expected), (1, 2));
    assert!(!report.warnings.is_empty());
    for id in [r(1), r(2)] {
        match report.outcome(&id).unwrap() {
            Outcome::Anonymized(e) => {
                assert_eq!(e.warnings.len(), 1);
                assert!(e.warnings[0].contains("Count (1)"), "{:?}", e.warnings);
                assert!(!e.warnings[0].contains("421-"), "refs leak into warnings");
            }
            other => panic!("{other:?}"),
        }
    }
    let shown = report.outcome(&r(1)).unwrap().to_string();
    assert!(shown.contains("warning: the vendor's Count (1)"), "{shown}");
    // The same warning shows where users of the Anonymizer trait see it.
    let out = client.anonymize(&ids(&[1, 2, 3])).await.unwrap();
    let shown = out[0].outcome.to_string();
    assert!(shown.contains("warning: the vendor's Count (1)"), "{shown}");
}

#[tokio::test]
async fn a_rejection_of_a_ref_not_sent_is_reported_not_invented() {
    let server = MockServer::start_async().await;
    token_mock(&server, "t").await;
    server
        .mock_async(|when, then| {
            when.method(PUT).path(ANON_PATH);
            then.status(200).json_body(json!({
                "Count": 1,
                "RejectedObjects": [
                    {"RefStr": "421-77-0", "Message": "Cannot find instance"},
                    {"Message": "Something without a ref"}
                ]
            }));
        })
        .await;
    let client = client(&server, 100);
    let report = client.anonymize_batch(&[r(1)]).await.unwrap();
    assert_eq!(report.outcomes.len(), 1);
    assert_eq!(batch_labels(&report), ["anonymized"]);
    assert_eq!(report.unmatched_rejections.len(), 2);
    assert_eq!(report.count_mismatch, None);
    assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
    assert!(report.outcome(&r(77)).is_none());
    // Through the trait: one outcome, for the one id given.
    let out = client.anonymize(&ids(&[1])).await.unwrap();
    assert_eq!(labels(&out), ["anonymized"]);
}

#[tokio::test]
async fn duplicates_are_removed_and_long_lists_batched() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server, "t").await;
    let mut batches = Vec::new();
    for (objects, count) in [(vec![1, 2], 2), (vec![3, 4], 2), (vec![5], 1)] {
        batches.push(
            server
                .mock_async(|when, then| {
                    when.method(PUT)
                        .path(ANON_PATH)
                        .body(refs_body(&objects).to_string());
                    then.status(200).json_body(json!({"Count": count}));
                })
                .await,
        );
    }
    let input = ids(&[1, 2, 1, 3, 2, 4, 5, 5]);
    let out = client(&server, 2).anonymize(&input).await.unwrap();
    token.assert_calls_async(1).await;
    for batch in &batches {
        batch.assert_calls_async(1).await;
    }
    let order: Vec<&str> = out.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(order, ids(&[1, 2, 3, 4, 5]));
    assert!(labels(&out).iter().all(|l| *l == "anonymized"));
    // Each ref's evidence names its batch.
    for (o, number) in out.iter().zip([1, 1, 2, 2, 3]) {
        match &o.outcome {
            Outcome::Anonymized(e) => assert!(
                e.summary
                    .starts_with(&format!("anonymizeuser batch {number} of 3")),
                "{}",
                e.summary
            ),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn an_empty_list_sends_nothing() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|_when, then| {
            then.status(500);
        })
        .await;
    let client = client(&server, 100);
    assert!(client.anonymize(&[]).await.unwrap().is_empty());
    assert!(matches!(
        client.anonymize_batch(&[]).await,
        Err(Error::InvalidInput { .. })
    ));
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn one_batch_is_checked_before_it_is_sent() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|_when, then| {
            then.status(500);
        })
        .await;
    let client = client(&server, 2);
    for refs in [vec![r(1), r(2), r(1)], vec![r(1), r(2), r(3)]] {
        match client.anonymize_batch(&refs).await {
            Err(Error::InvalidInput { reason }) => assert!(!reason.contains("421-"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_second_401_stops_the_run_and_keeps_earlier_batches() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server, "t").await;
    let first = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(ANON_PATH)
                .json_body(refs_body(&[1, 2]));
            then.status(200).json_body(json!({"Count": 2}));
        })
        .await;
    let refused = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(ANON_PATH)
                .json_body(refs_body(&[3, 4]));
            then.status(401)
                .json_body(json!({"Message": "Authorization has been denied for this request."}));
        })
        .await;
    let never = server
        .mock_async(|when, then| {
            when.method(PUT).path(ANON_PATH).json_body(refs_body(&[5]));
            then.status(200).json_body(json!({"Count": 1}));
        })
        .await;
    let client = client(&server, 2);
    let err = client.anonymize(&ids(&[1, 2, 3, 4, 5])).await.unwrap_err();
    assert!(matches!(err.error, Error::Unauthenticated(_)));
    assert_eq!(
        err.error.message(),
        Some("Authorization has been denied for this request.")
    );
    // The refused batch failed as a whole; every later batch was not sent.
    assert_eq!(
        labels(&err.completed),
        ["anonymized", "anonymized", "failed", "failed"]
    );
    assert_eq!(err.not_attempted, ids(&[5]));
    assert!(
        err.to_string()
            .starts_with("batch stopped after 4 of 5 users"),
        "{err}"
    );
    // One refresh and one retry for the refused batch, nothing more.
    token.assert_calls_async(2).await;
    first.assert_calls_async(1).await;
    refused.assert_calls_async(2).await;
    never.assert_calls_async(0).await;

    // Malformed ids still get their outcome when the run stops.
    server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(ANON_PATH)
                .json_body(refs_body(&[1, 3]));
            then.status(401)
                .json_body(json!({"Message": "Authorization has been denied for this request."}));
        })
        .await;
    let ids: Vec<String> = ["421-1-0", "bad", "421-3-0", "421-5-0"]
        .map(String::from)
        .to_vec();
    let err = client.anonymize(&ids).await.unwrap_err();
    assert!(matches!(err.error, Error::Unauthenticated(_)));
    let done: Vec<(&str, &str)> = err
        .completed
        .iter()
        .map(|o| (o.id.as_str(), o.outcome.label()))
        .collect();
    assert_eq!(
        done,
        [
            ("421-1-0", "failed"),
            ("bad", "invalid"),
            ("421-3-0", "failed")
        ]
    );
    assert_eq!(err.not_attempted, ["421-5-0"]);
}

#[tokio::test]
async fn a_server_error_is_retried_then_fails_only_its_batch() {
    let server = MockServer::start_async().await;
    token_mock(&server, "t").await;
    let broken = server
        .mock_async(|when, then| {
            when.method(PUT).path(ANON_PATH).json_body(refs_body(&[1]));
            then.status(503)
                .json_body(json!({"Message": "Service unavailable"}));
        })
        .await;
    let next = server
        .mock_async(|when, then| {
            when.method(PUT).path(ANON_PATH).json_body(refs_body(&[2]));
            then.status(200).json_body(json!({"Count": 1}));
        })
        .await;
    let out = client(&server, 1).anonymize(&ids(&[1, 2])).await.unwrap();
    let retries = fast_http_config().retry().max_retries() as usize;
    broken.assert_calls_async(1 + retries).await;
    next.assert_calls_async(1).await;
    assert_eq!(labels(&out), ["failed", "anonymized"]);
    match &out[0].outcome {
        Outcome::Failed(e @ Error::Server(_)) => {
            assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
            assert_eq!(e.message(), Some("Service unavailable"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn client_errors_are_sent_once() {
    for status in [400u16, 409, 422] {
        let server = MockServer::start_async().await;
        token_mock(&server, "t").await;
        let anonymize = server
            .mock_async(|when, then| {
                when.method(PUT).path(ANON_PATH);
                then.status(status)
                    .json_body(json!({"Message": "The request is invalid."}));
            })
            .await;
        let out = client(&server, 100).anonymize(&ids(&[1])).await.unwrap();
        anonymize.assert_calls_async(1).await;
        match &out[0].outcome {
            // A refusal of the whole request is not a verdict on the user: failed, not rejected.
            Outcome::Failed(e) => {
                assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
                assert_eq!(e.message(), Some("The request is invalid."));
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_404_endpoint_is_sent_once_and_stops_the_run() {
    let server = MockServer::start_async().await;
    token_mock(&server, "t").await;
    let anonymize = server
        .mock_async(|when, then| {
            when.method(PUT).path(ANON_PATH);
            then.status(404).body("Not Found");
        })
        .await;
    let err = client(&server, 1)
        .anonymize(&ids(&[1, 2]))
        .await
        .unwrap_err();
    anonymize.assert_calls_async(1).await;
    match &err.error {
        Error::Configuration { reason } => {
            assert!(reason.contains("no anonymizeuser endpoint"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(labels(&err.completed), ["failed"]);
    assert_eq!(err.not_attempted, ids(&[2]));

    // The token endpoint answering 404 means the same: the base URL is wrong.
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.status(404).body("Not Found");
        })
        .await;
    let anonymize = server
        .mock_async(|when, then| {
            when.method(PUT).path(ANON_PATH);
            then.status(200).json_body(json!({"Count": 1}));
        })
        .await;
    let err = client(&server, 1)
        .anonymize(&ids(&[1, 2]))
        .await
        .unwrap_err();
    token.assert_calls_async(1).await;
    anonymize.assert_calls_async(0).await;
    match &err.error {
        Error::Configuration { reason } => {
            assert!(reason.contains("no token endpoint"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.not_attempted, ids(&[2]));
}

#[tokio::test]
async fn a_403_stops_the_run() {
    let server = MockServer::start_async().await;
    token_mock(&server, "t").await;
    let anonymize = server
        .mock_async(|when, then| {
            when.method(PUT).path(ANON_PATH);
            then.status(403)
                .json_body(json!({"Message": "No permission to anonymize users."}));
        })
        .await;
    let err = client(&server, 1)
        .anonymize(&ids(&[1, 2, 3]))
        .await
        .unwrap_err();
    anonymize.assert_calls_async(1).await;
    assert!(matches!(err.error, Error::PermissionDenied(_)));
    assert_eq!(
        err.error.message(),
        Some("No permission to anonymize users.")
    );
    assert_eq!(err.not_attempted, ids(&[2, 3]));
}

#[tokio::test]
async fn an_unreadable_answer_fails_its_batch_without_a_retry() {
    for body in ["<html>ok</html>", "", r#"{"RejectedObjects": "421-1-0"}"#] {
        let server = MockServer::start_async().await;
        token_mock(&server, "t").await;
        let anonymize = server
            .mock_async(|when, then| {
                when.method(PUT).path(ANON_PATH);
                then.status(200).body(body);
            })
            .await;
        let out = client(&server, 100).anonymize(&ids(&[1])).await.unwrap();
        anonymize.assert_calls_async(1).await;
        match &out[0].outcome {
            Outcome::Failed(Error::UnexpectedResponse { .. }) => {}
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn refused_credentials_stop_before_any_anonymization() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.status(400).json_body(json!({
                "error": "invalid_grant",
                "error_description": "The user name or password is incorrect."
            }));
        })
        .await;
    let anonymize = server
        .mock_async(|when, then| {
            when.method(PUT).path(ANON_PATH);
            then.status(200).json_body(json!({"Count": 1}));
        })
        .await;
    let client = client(&server, 1);
    let err = client.anonymize(&ids(&[1, 2])).await.unwrap_err();
    token.assert_calls_async(1).await;
    anonymize.assert_calls_async(0).await;
    assert!(matches!(err.error, Error::Unauthenticated(_)), "{err:?}");
    assert_eq!(err.error.code(), Some("invalid_grant"));
    assert_eq!(err.not_attempted, ids(&[2]));
    for shown in [err.to_string(), format!("{err:?}"), format!("{client:?}")] {
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(!shown.contains("pa55"), "{shown}");
        assert!(!shown.contains(USER), "{shown}");
    }
}

#[tokio::test]
async fn a_pre_issued_token_is_sent_as_bearer_and_never_refreshed() {
    let server = MockServer::start_async().await;
    let token_endpoint = token_mock(&server, "unused").await;
    let anonymize = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(ANON_PATH)
                .header("authorization", "bearer eyJ.pre.issued");
            then.status(200).json_body(json!({"Count": 1}));
        })
        .await;
    let refused = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(ANON_PATH)
                .header("authorization", "Token old");
            then.status(401)
                .json_body(json!({"Message": "Authorization has been denied for this request."}));
        })
        .await;
    let ok = AlfabetClient::builder(base(&server))
        .bearer_token(SecretString::from("eyJ.pre.issued"))
        .http_config(fast_http_config())
        .build()
        .unwrap();
    assert_eq!(
        labels(&ok.anonymize(&ids(&[1])).await.unwrap()),
        ["anonymized"]
    );
    anonymize.assert_calls_async(1).await;

    let stale = AlfabetClient::builder(base(&server))
        .bearer_token(SecretString::from("old"))
        .token_scheme("Token")
        .http_config(fast_http_config())
        .build()
        .unwrap();
    let err = stale.anonymize(&ids(&[1])).await.unwrap_err();
    assert!(matches!(err.error, Error::Unauthenticated(_)));
    refused.assert_calls_async(1).await;
    token_endpoint.assert_calls_async(0).await;
    assert!(!format!("{ok:?}{stale:?}{err:?}").contains("eyJ.pre"));
}

#[tokio::test]
async fn the_anonymizer_trait_validates_and_never_sends_malformed_ids() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server, "t").await;
    let anonymize = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(ANON_PATH)
                .body(r#"{"Refs":["421-1-0","7-2-0"]}"#);
            then.status(200).json_body(json!({
                "Count": 1,
                "RejectedObjects": [{"RefStr": "7-2-0", "Message": "Cannot find instance"}]
            }));
        })
        .await;
    let client = client(&server, 100);
    assert_eq!(client.vendor(), "alfabet");
    let ids: Vec<String> = [
        "421-1-0",
        "421-01-0",
        "7-2-0",
        "421-1-0",
        "",
        "421-3-1",
        "jane@example.com",
    ]
    .map(String::from)
    .to_vec();
    let out = client.anonymize(&ids).await.unwrap();
    let got: Vec<(&str, &str)> = out
        .iter()
        .map(|o| (o.id.as_str(), o.outcome.label()))
        .collect();
    assert_eq!(
        got,
        [
            ("421-1-0", "anonymized"),
            ("421-01-0", "invalid"),
            ("7-2-0", "not_found"),
            ("", "invalid"),
            ("421-3-1", "invalid"),
            ("jane@example.com", "invalid"),
        ]
    );
    for o in &out {
        if let Outcome::Invalid { reason } = &o.outcome {
            assert!(o.id.is_empty() || !reason.contains(&o.id), "{reason}");
        }
    }
    token.assert_calls_async(1).await;
    anonymize.assert_calls_async(1).await;

    // Only malformed ids: nothing is sent at all.
    let out = client
        .anonymize(&["x".to_string(), "1-2".to_string()])
        .await
        .unwrap();
    assert!(out.iter().all(|o| o.outcome.label() == "invalid"));
    token.assert_calls_async(1).await;
    anonymize.assert_calls_async(1).await;

    let err = client
        .resolve_email(&Email::parse("jane@example.com").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Unsupported {
            vendor: "alfabet",
            ..
        }
    ));
}

#[tokio::test]
async fn the_base_path_is_kept_and_paths_are_case_sensitive() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server, "t").await;
    let anonymize = server
        .mock_async(|when, then| {
            when.method(PUT).path("/Alfabet/Api/api/v2/anonymizeuser");
            then.status(200).json_body(json!({"Count": 1}));
        })
        .await;
    let wrong = server
        .mock_async(|when, then| {
            when.method(POST).path("/Alfabet/Api/api/token");
            then.status(200)
                .json_body(json!({"token_type": "bearer", "access_token": "t"}));
        })
        .await;
    // A trailing slash on the base changes nothing.
    let client = AlfabetClient::builder(Url::parse(&server.url("/Alfabet/Api/")).unwrap())
        .password(USER, SecretString::from(PASSWORD))
        .http_config(fast_http_config())
        .build()
        .unwrap();
    let out = client.anonymize(&ids(&[1])).await.unwrap();
    assert_eq!(labels(&out), ["anonymized"]);
    wrong.assert_calls_async(1).await;
    anonymize.assert_calls_async(1).await;
    token.assert_calls_async(0).await;
}

/// Point 4 of issue 18: Alfabet's token endpoint quoting the password (form-encoded, as the
/// request sent it) and the user name: both masked in the error's text, `Debug` and record.
#[tokio::test]
async fn an_echoed_password_never_reaches_an_error_or_its_record() {
    let server = MockServer::start_async().await;
    let encoded: String =
        anonymize_core::url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
    server
        .mock_async(|when, then| {
            when.method(POST).path(TOKEN_PATH);
            then.status(400).json_body(json!({
                "error": "invalid_grant",
                "error_description": format!("username={USER}&password={encoded} refused ({PASSWORD})")
            }));
        })
        .await;
    let err = client(&server, 10)
        .anonymize_batch(&[r(1)])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
    let shown = anonymize_core::testkit::everything_shown(&err);
    assert!(
        !shown.contains(PASSWORD) && !shown.contains(&encoded),
        "{shown}"
    );
    assert!(!shown.contains(USER), "{shown}");
    assert!(
        shown.contains("username=<secret>&password=<secret> refused (<secret>)"),
        "{shown}"
    );
}
