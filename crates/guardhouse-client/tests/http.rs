//! The client against plain httpmock servers: Guardhouse's documented requests (paths, headers,
//! bodies, the token grant's form), its statuses and error bodies with hit counts, and the e-mail
//! look-up over its partial search.
//!
//! Generic HTTP behaviour (retry counts, `Retry-After`, token sharing and refresh, redirects, the
//! body cap, timeouts) is tested once in `anonymize-core` and, through this client and its
//! simulator, by the conformance suite (`tests/conformance.rs`).
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use anonymize_core::testkit::fast_http_config;
use anonymize_core::{Anonymizer, Email, Error, HttpConfig, Outcome, RetryPolicy, Verification};
use guardhouse_client::{
    AnonymizeOptions, GuardhouseClient, GuardhouseClientBuilder, UserId, UserStatus,
};
use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse};
use secrecy::SecretString;
use serde_json::json;
use url::Url;

const TOKEN: &str = "pre-issued-token-Xy7Q";
const CLIENT_SECRET: &str = "client-secret-Hq93kZ";

/// Core's fast test settings with `max_retries` retries.
fn fast(max_retries: u32) -> HttpConfig {
    let config = fast_http_config();
    let retry = config.retry().clone().with_max_retries(max_retries);
    config.with_retry(retry)
}

fn url(server: &MockServer) -> Url {
    Url::parse(&server.base_url()).unwrap()
}

/// A builder with a pre-issued bearer token and fast retries (3).
fn bearer_builder(server: &MockServer) -> GuardhouseClientBuilder {
    GuardhouseClient::builder(url(server))
        .bearer_token(SecretString::from(TOKEN))
        .http_config(fast(3))
}

/// A builder with client credentials and fast retries (3).
fn credentials_builder(server: &MockServer) -> GuardhouseClientBuilder {
    GuardhouseClient::builder(url(server))
        .client_credentials("svc-client", SecretString::from(CLIENT_SECRET))
        .http_config(fast(3))
}

/// A client with a pre-issued bearer token.
fn bearer(server: &MockServer, max_retries: u32) -> GuardhouseClient {
    bearer_builder(server)
        .http_config(fast(max_retries))
        .build()
        .unwrap()
}

/// A client with client credentials.
fn credentials(server: &MockServer) -> GuardhouseClient {
    credentials_builder(server).build().unwrap()
}

fn id(n: u64) -> UserId {
    UserId::try_from(n).unwrap()
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn token_answer(token: &str) -> String {
    json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "system_api"})
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// PUT /api/v1/users/{id}/personal-data
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn anonymize_sends_the_documented_request_and_accepts_204() {
    let server = MockServer::start_async().await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path("/api/v1/users/101/personal-data")
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("content-type", "application/json")
                .json_body(json!({"triggerWebhook": false, "notifyUserViaEmail": false}));
            then.status(204);
        })
        .await;
    let client = bearer(&server, 3);
    client.anonymize_user(id(101)).await.unwrap();
    put.assert_calls_async(1).await;

    let out = client.anonymize(&strings(&["101"])).await.unwrap();
    match &out[0].outcome {
        Outcome::Anonymized(evidence) => {
            assert_eq!(&*evidence.summary, "HTTP 204");
            assert!(evidence.warnings.is_empty());
        }
        other => panic!("{other:?}"),
    }
    put.assert_calls_async(2).await;
}

/// Issue 8, defect 2: a proxy's or captive portal's `200 text/html` is no proof of an
/// irreversible erasure; only Guardhouse's documented 204 is.
#[tokio::test]
async fn a_200_page_is_failed_not_anonymized() {
    let server = MockServer::start_async().await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT).path("/api/v1/users/101/personal-data");
            then.status(200)
                .header("content-type", "text/html")
                .body("<html>Please sign in</html>");
        })
        .await;
    let out = bearer(&server, 3)
        .anonymize(&strings(&["101"]))
        .await
        .unwrap();
    match &out[0].outcome {
        Outcome::Failed(e @ Error::UnexpectedResponse { .. }) => {
            let shown = e.to_string();
            assert!(shown.contains("expected HTTP 204 No Content, got HTTP 200 OK (text/html)"));
            assert!(!shown.contains("sign in"), "{shown}");
        }
        other => panic!("{other:?}"),
    }
    put.assert_calls_async(1).await;
}

/// Issue 8, defect 5: a base URL with a query or a fragment is refused by the builder, before
/// anything is sent (core's one check).
#[test]
fn a_base_url_with_a_query_or_fragment_is_refused() {
    for base in ["https://t.example/?leak=1", "https://t.example/#frag"] {
        let err = GuardhouseClient::builder(Url::parse(base).unwrap())
            .client_credentials("id", SecretString::from("secret"))
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }), "{err:?}");
    }
}

#[tokio::test]
async fn anonymize_options_go_in_the_body() {
    let server = MockServer::start_async().await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path("/api/v1/users/7/personal-data")
                .json_body(json!({"triggerWebhook": true, "notifyUserViaEmail": true}));
            then.status(204);
        })
        .await;
    let options = AnonymizeOptions::default()
        .trigger_webhook(true)
        .notify_user_via_email(true);
    bearer(&server, 0)
        .anonymize_user_with(id(7), options)
        .await
        .unwrap();
    let client = bearer_builder(&server)
        .anonymize_options(options)
        .build()
        .unwrap();
    client.anonymize_user(id(7)).await.unwrap();
    put.assert_calls_async(2).await;
}

#[tokio::test]
async fn not_found_is_sent_once_and_is_not_found() {
    let server = MockServer::start_async().await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT).path("/api/v1/users/5/personal-data");
            then.status(404).body("User not found");
        })
        .await;
    let client = bearer(&server, 3);
    let err = client.anonymize_user(id(5)).await.unwrap_err();
    put.assert_calls_async(1).await;
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(err.message(), Some("User not found"));
    assert_eq!(err.status().unwrap().as_u16(), 404);

    let out = client.anonymize(&strings(&["5"])).await.unwrap();
    assert!(matches!(out[0].outcome, Outcome::NotFound));
    put.assert_calls_async(2).await;
}

#[tokio::test]
async fn bad_request_is_rejected_with_the_vendors_text_in_every_shape() {
    let bodies = [
        ("Failed to anonymize user data.", "text/plain"),
        ("\"Failed to anonymize user data.\"", "application/json"),
        (
            r#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"Bad Request","status":400,"detail":"Failed to anonymize user data."}"#,
            "application/problem+json",
        ),
        (
            r#"{"Message":"Failed to anonymize user data."}"#,
            "application/json",
        ),
    ];
    for (body, content_type) in bodies {
        let server = MockServer::start_async().await;
        let put = server
            .mock_async(|when, then| {
                when.method(PUT).path("/api/v1/users/9/personal-data");
                then.status(400)
                    .header("content-type", content_type)
                    .body(body);
            })
            .await;
        let client = bearer(&server, 3);
        let err = client.anonymize_user(id(9)).await.unwrap_err();
        assert!(matches!(err, Error::Rejected(_)), "{err:?}");
        assert_eq!(
            err.message(),
            Some("Failed to anonymize user data."),
            "{body}"
        );
        put.assert_calls_async(1).await;

        let out = client.anonymize(&strings(&["9"])).await.unwrap();
        match &out[0].outcome {
            Outcome::Rejected { message } => assert_eq!(message, "Failed to anonymize user data."),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            out[0].outcome.to_string(),
            "rejected Failed to anonymize user data."
        );
    }
}

#[tokio::test]
async fn unauthorized_with_a_static_token_is_sent_once_and_stops_the_batch() {
    let server = MockServer::start_async().await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT).path_prefix("/api/v1/users/");
            then.status(401)
                .header("www-authenticate", "Bearer error=\"invalid_token\"");
        })
        .await;
    let client = bearer_builder(&server).concurrency(1).build().unwrap();
    let err = client.anonymize_user(id(1)).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
    put.assert_calls_async(1).await; // a static token cannot be refreshed: no retry

    let batch = client
        .anonymize(&strings(&["1", "2", "3"]))
        .await
        .unwrap_err();
    assert!(matches!(batch.error, Error::Unauthenticated(_)));
    assert_eq!(batch.completed.len(), 1);
    assert_eq!(batch.not_attempted, ["2", "3"]);
    put.assert_calls_async(2).await;
    // Each level of the error chain says its own part once (issue 8, defect 10).
    assert_eq!(batch.to_string(), "batch stopped after 1 of 3 users");
    let cause = std::error::Error::source(&batch).map(|e| e.to_string());
    assert!(
        cause
            .as_deref()
            .is_some_and(|c| c.starts_with("unauthenticated")),
        "{cause:?}"
    );
    assert!(!format!("{batch} {batch:?}").contains(TOKEN));
}

#[tokio::test]
async fn forbidden_is_permission_denied_sent_once_and_stops_the_batch() {
    let server = MockServer::start_async().await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT).path_prefix("/api/v1/users/");
            then.status(403);
        })
        .await;
    let client = bearer_builder(&server).concurrency(1).build().unwrap();
    let batch = client
        .anonymize(&strings(&["1", "2", "3"]))
        .await
        .unwrap_err();
    assert!(
        matches!(batch.error, Error::PermissionDenied(_)),
        "{:?}",
        batch.error
    );
    assert_eq!(batch.completed.len(), 1);
    assert_eq!(batch.not_attempted, ["2", "3"]);
    put.assert_calls_async(1).await;
}

/// A server that answers 429 with `retry_after` first, then 204.
async fn rate_limited_once(server: &MockServer, retry_after: String) -> httpmock::Mock<'_> {
    let seen = Arc::new(AtomicUsize::new(0));
    server
        .mock_async(move |when, then| {
            when.method(PUT).path("/api/v1/users/4/personal-data");
            then.respond_with(move |_: &HttpMockRequest| {
                if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                    HttpMockResponse::builder()
                        .status(429)
                        .header("retry-after", retry_after.clone())
                        .body("Too many requests")
                        .build()
                } else {
                    HttpMockResponse::builder().status(204).build()
                }
            });
        })
        .await
}

/// A client whose budget (60 s) is shorter than a 120 s `Retry-After`, and which would honour
/// that long a wait: if the header is read, the client gives up at once instead of retrying.
fn patient(server: &MockServer) -> GuardhouseClient {
    let config = fast(3);
    let retry = config
        .retry()
        .clone()
        .with_budget(Duration::from_secs(60))
        .with_max_retry_after(Duration::from_secs(600));
    bearer_builder(server)
        .http_config(config.with_retry(retry))
        .build()
        .unwrap()
}

/// Core tests that a short `Retry-After` is waited for; what it does not test against a server
/// is a past date ("now") and a wait longer than the time budget (given up at once, reported).
#[tokio::test]
async fn retry_after_in_the_past_or_beyond_the_budget() {
    // A date already past means "now": the second request happens and succeeds.
    let server = MockServer::start_async().await;
    let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(30));
    let put = rate_limited_once(&server, past).await;
    bearer(&server, 3).anonymize_user(id(4)).await.unwrap();
    put.assert_calls_async(2).await;

    // Longer than the budget, in seconds: read, so no second request, and reported on the error.
    let server = MockServer::start_async().await;
    let put = rate_limited_once(&server, "120".into()).await;
    let err = patient(&server).anonymize_user(id(4)).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    put.assert_calls_async(1).await;

    // The same as an HTTP date two minutes ahead.
    let server = MockServer::start_async().await;
    let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    let put = rate_limited_once(&server, later).await;
    let err = patient(&server).anonymize_user(id(4)).await.unwrap_err();
    let asked = err.retry_after().unwrap();
    assert!(
        asked > Duration::from_secs(100) && asked <= Duration::from_secs(120),
        "{asked:?}"
    );
    put.assert_calls_async(1).await;
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn token_request_is_the_documented_form() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/connect/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .form_urlencoded_tuple("grant_type", "client_credentials")
                .form_urlencoded_tuple("client_id", "svc-client")
                .form_urlencoded_tuple("client_secret", CLIENT_SECRET)
                .form_urlencoded_tuple("scope", "system_api")
                .form_urlencoded_tuple_missing("audience");
            then.status(200)
                .header("content-type", "application/json")
                .body(token_answer("tok-1"));
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path("/api/v1/users/1/personal-data")
                .header("authorization", "Bearer tok-1");
            then.status(204);
        })
        .await;
    credentials(&server).anonymize_user(id(1)).await.unwrap();
    token.assert_calls_async(1).await;
    put.assert_calls_async(1).await;
}

#[tokio::test]
async fn scope_and_audience_are_configurable() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/connect/token")
                .form_urlencoded_tuple("scope", "system_api extra")
                .form_urlencoded_tuple("audience", "https://api.example.com");
            then.status(200).body(token_answer("tok-a"));
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT).header("authorization", "Bearer tok-a");
            then.status(204);
        })
        .await;
    credentials_builder(&server)
        .scope("system_api extra")
        .audience("https://api.example.com")
        .build()
        .unwrap()
        .anonymize_user(id(1))
        .await
        .unwrap();
    token.assert_calls_async(1).await;
    put.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_separate_api_base_gets_the_api_calls_and_the_issuer_the_token_requests() {
    let issuer = MockServer::start_async().await;
    let api = MockServer::start_async().await;
    let token = issuer
        .mock_async(|when, then| {
            when.method(POST).path("/connect/token");
            then.status(200).body(token_answer("tok-sep"));
        })
        .await;
    let put = api
        .mock_async(|when, then| {
            when.method(PUT)
                .path("/gh/api/v1/users/1/personal-data")
                .header("authorization", "Bearer tok-sep");
            then.status(204);
        })
        .await;
    let client = GuardhouseClient::builder(url(&issuer))
        .api_base(Url::parse(&api.url("/gh/")).unwrap())
        .client_credentials("svc-client", SecretString::from(CLIENT_SECRET))
        .build()
        .unwrap();
    client.anonymize_user(id(1)).await.unwrap();
    token.assert_calls_async(1).await;
    put.assert_calls_async(1).await;
}

#[tokio::test]
async fn refused_client_credentials_stop_the_batch_before_any_api_call() {
    for (status, body) in [
        (400u16, r#"{"error":"invalid_client"}"#),
        (
            401,
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        ),
    ] {
        let server = MockServer::start_async().await;
        let token = server
            .mock_async(|when, then| {
                when.method(POST).path("/connect/token");
                then.status(status).body(body);
            })
            .await;
        let api = server
            .mock_async(|when, then| {
                when.method(PUT);
                then.status(204);
            })
            .await;
        let client = credentials_builder(&server).concurrency(1).build().unwrap();
        let batch = client.anonymize(&strings(&["1", "2"])).await.unwrap_err();
        assert!(
            matches!(batch.error, Error::Unauthenticated(_)),
            "{:?}",
            batch.error
        );
        assert_eq!(batch.error.code(), Some("invalid_client"));
        assert_eq!(batch.not_attempted, ["2"]);
        api.assert_calls_async(0).await;
        token.assert_calls_async(1).await;
        let shown = format!("{} {:?} {:?}", batch, batch, batch.error);
        assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    }
}

#[tokio::test]
async fn a_scope_the_client_may_not_have_is_permission_denied() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/connect/token");
            then.status(400).body(r#"{"error":"invalid_scope"}"#);
        })
        .await;
    let err = credentials(&server)
        .anonymize_user(id(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
}

#[tokio::test]
async fn a_token_answer_that_does_not_parse_does_not_leak_the_token() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/connect/token");
            then.status(200)
                .body(r#"{"access_token":"leaky-token-value","expires_in":{}}"#);
        })
        .await;
    // expires_in is read tolerantly; an access_token that is not a string is an error.
    let server2 = MockServer::start_async().await;
    server2
        .mock_async(|when, then| {
            when.method(POST).path("/connect/token");
            then.status(200)
                .body(r#"{"access_token":["leaky-token-value"]}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(PUT);
            then.status(204);
        })
        .await;
    credentials(&server).anonymize_user(id(1)).await.unwrap();
    let err = credentials(&server2)
        .anonymize_user(id(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("access_token"), "{shown}");
    assert!(!shown.contains("leaky-token-value"), "{shown}");
}

/// Issue 8, defect 8: an unexpected `token_type` is named, never quoted (it used to be echoed,
/// 32 characters of it, into the error).
#[tokio::test]
async fn an_unsupported_token_type_is_named_not_quoted() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/connect/token");
            then.status(200).json_body(json!({
                "access_token": "t", "token_type": "MAC-vendor-value-xyz", "expires_in": 3600
            }));
        })
        .await;
    let err = credentials(&server)
        .anonymize_user(id(1))
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("token_type"), "{shown}");
    assert!(!shown.contains("vendor-value"), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// GET /api/v1/users/{id}, verification
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reads_a_user_and_maps_404() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/users/12");
            then.status(200).json_body(json!({
                "id": 12, "email": "jane@example.com", "firstName": "Jane", "lastName": "Doe",
                "status": 3, "avatarUrl": null,
                "roles": [{"id": 1, "name": "Admin"}],
                "systemPermissions": [{"id": "p-1", "name": "users.write"}],
                "lastLogin": "2026-11-20T10:00:00Z"
            }));
        })
        .await;
    let missing = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/users/13");
            then.status(404).body("User not found");
        })
        .await;
    let client = bearer(&server, 3);
    let user = client.user(id(12)).await.unwrap();
    assert_eq!(user.id, id(12));
    assert_eq!(user.status, Some(UserStatus::Active));
    assert_eq!(user.roles[0].name.as_deref(), Some("Admin"));
    assert_eq!(user.system_permissions[0].id, "p-1");
    assert!(!format!("{user:?}").contains("jane"));
    let err = client.user(id(13)).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));
    missing.assert_calls_async(1).await;
}

async fn verify_server(server: &MockServer, status: serde_json::Value) {
    server
        .mock_async(|when, then| {
            when.method(PUT).path("/api/v1/users/12/personal-data");
            then.status(204);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/users/12");
            then.status(200).json_body(json!({
                "id": 12,
                "email": "12-1@deleted.guardhouse.local",
                "firstName": "Deleted",
                "lastName": "User",
                "status": status
            }));
        })
        .await;
}

fn verifying(server: &MockServer) -> GuardhouseClient {
    bearer_builder(server)
        .verify_archived(true)
        .build()
        .unwrap()
}

#[tokio::test]
async fn verification_reports_the_status_read_back() {
    let server = MockServer::start_async().await;
    verify_server(&server, json!(4)).await;
    let out = verifying(&server)
        .anonymize(&strings(&["12"]))
        .await
        .unwrap();
    match &out[0].outcome {
        Outcome::Anonymized(e) => {
            assert_eq!(&*e.summary, "HTTP 204");
            assert!(e.warnings.is_empty(), "{:?}", e.warnings);
            assert!(
                matches!(e.verified.as_deref(), Some(Verification::Passed { how, .. }) if how.contains("status Archived")),
                "{:?}",
                e.verified
            );
        }
        other => panic!("{other:?}"),
    }

    let server = MockServer::start_async().await;
    verify_server(&server, json!(3)).await;
    let out = verifying(&server)
        .anonymize(&strings(&["12"]))
        .await
        .unwrap();
    match &out[0].outcome {
        Outcome::Anonymized(e) => {
            assert_eq!(
                e.warnings,
                ["verification at the vendor failed: status is not Archived"]
            );
            assert_eq!(
                e.verified.as_deref().map(Verification::label),
                Some("failed")
            );
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// GET /api/v1/users?email=…  (partial match, paging)
// ---------------------------------------------------------------------------------------------

/// A search endpoint over `emails` (ids 1, 2, …) that serves `page_cap` users at most per page,
/// matches partially and case-insensitively, and checks the query parameters.
async fn search_server<'a>(
    server: &'a MockServer,
    emails: &'static [&'static str],
    page_cap: usize,
    with_total: bool,
) -> httpmock::Mock<'a> {
    server
        .mock_async(move |when, then| {
            when.method(GET)
                .path("/api/v1/users")
                .query_param_exists("email")
                .query_param_exists("pageSize")
                .query_param_exists("offset");
            then.respond_with(move |req: &HttpMockRequest| {
                let q: std::collections::HashMap<String, String> =
                    req.query_params().into_iter().collect();
                let filter = q["email"].to_lowercase();
                let size: usize = q["pageSize"].parse().unwrap();
                let offset: usize = q["offset"].parse().unwrap();
                let matching: Vec<serde_json::Value> = emails
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.to_lowercase().contains(&filter))
                    .map(|(i, e)| json!({"id": i + 1, "email": e, "status": 3}))
                    .collect();
                let users: Vec<_> = matching
                    .iter()
                    .skip(offset)
                    .take(size.min(page_cap))
                    .cloned()
                    .collect();
                let body = if with_total {
                    json!({"total": matching.len(), "users": users})
                } else {
                    json!({"users": users})
                };
                HttpMockResponse::builder()
                    .status(200)
                    .body(body.to_string())
                    .build()
            });
        })
        .await
}

fn paging(server: &MockServer, page_size: u32) -> GuardhouseClient {
    bearer_builder(server)
        .page_size(page_size)
        .max_pages(20)
        .build()
        .unwrap()
}

static PEOPLE: &[&str] = &[
    "mary-jane@example.com",
    "jane@example.com.au",
    "other@example.org",
    "JANE@example.com.evil",
    "x.jane@example.com",
    "Jane@Example.com",
    "jane@example.co",
];

#[tokio::test]
async fn the_exact_match_is_found_among_partial_matches_across_pages() {
    let server = MockServer::start_async().await;
    let search = search_server(&server, PEOPLE, usize::MAX, true).await;
    let client = paging(&server, 2);
    let email = Email::parse("jane@EXAMPLE.com").unwrap();
    let user = client.find_user_by_email(&email).await.unwrap().unwrap();
    assert_eq!(user.id, id(6));
    // 5 partial matches (not other@…, not …example.co), 2 per page: 3 pages, stopped by `total`.
    search.assert_calls_async(3).await;
    assert_eq!(
        client.resolve_email(&email).await.unwrap().as_deref(),
        Some("6")
    );
}

#[tokio::test]
async fn a_server_that_caps_the_page_size_is_still_read_to_the_end() {
    let server = MockServer::start_async().await;
    let search = search_server(&server, PEOPLE, 1, true).await;
    let email = Email::parse("jane@example.com").unwrap();
    let user = paging(&server, 100)
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, id(6));
    search.assert_calls_async(5).await; // one user per page, 5 partial matches
}

#[tokio::test]
async fn without_total_a_short_page_ends_the_search() {
    let server = MockServer::start_async().await;
    let search = search_server(&server, PEOPLE, usize::MAX, false).await;
    let email = Email::parse("jane@example.com").unwrap();
    let user = paging(&server, 4)
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, id(6));
    search.assert_calls_async(2).await; // 4 + 2 (short)
}

#[tokio::test]
async fn no_exact_match_is_none() {
    let server = MockServer::start_async().await;
    search_server(&server, PEOPLE, usize::MAX, true).await;
    let email = Email::parse("jane@example.c").unwrap(); // a prefix of several, equal to none
    assert!(
        paging(&server, 3)
            .find_user_by_email(&email)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn two_users_with_the_same_address_are_an_error_not_a_guess() {
    static TWINS: &[&str] = &["twin@example.com", "a@b.c", "d@e.f", "TWIN@example.com"];
    let server = MockServer::start_async().await;
    search_server(&server, TWINS, usize::MAX, true).await;
    let email = Email::parse("twin@example.com").unwrap();
    let err = paging(&server, 1)
        .find_user_by_email(&email)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
    assert_eq!(
        err.status(),
        None,
        "a conclusion of the client, not an answer of Guardhouse"
    );
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("more than one"), "{shown}");
    assert!(!shown.to_lowercase().contains("twin"), "{shown}");
}

#[tokio::test]
async fn a_search_that_never_ends_is_cut_off() {
    let server = MockServer::start_async().await;
    // Always a full page, a total that never arrives: only the page limit stops it.
    let search = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/users");
            then.status(200).json_body(
                json!({"total": 1_000_000_000u64, "users": [{"id": 1, "email": "x@y.z"}]}),
            );
        })
        .await;
    let email = Email::parse("jane@example.com").unwrap();
    let err = paging(&server, 1)
        .find_user_by_email(&email)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
    assert!(
        err.to_string().contains("did not end after 20 pages"),
        "{err}"
    );
    search.assert_calls_async(20).await;

    // An empty page ends it whatever `total` says.
    let server = MockServer::start_async().await;
    let search = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/users");
            then.status(200)
                .json_body(json!({"total": 50, "users": []}));
        })
        .await;
    assert!(
        paging(&server, 10)
            .find_user_by_email(&email)
            .await
            .unwrap()
            .is_none()
    );
    search.assert_calls_async(1).await;
}

#[tokio::test]
async fn the_email_never_shows_in_errors() {
    let server = MockServer::start_async().await;
    let search = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v1/users");
            then.status(503).body("unavailable");
        })
        .await;
    let email = Email::parse("secret.person@example.com").unwrap();
    let err = bearer(&server, 1).resolve_email(&email).await.unwrap_err();
    search.assert_calls_async(2).await;
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("secret.person"), "{shown}");

    // A transport error (nothing listening) is stripped of its URL.
    let dead = GuardhouseClient::builder(Url::parse("http://127.0.0.1:9").unwrap())
        .bearer_token(SecretString::from(TOKEN))
        .http_config(fast_http_config().with_retry(RetryPolicy::never()))
        .build()
        .unwrap();
    let err = dead.resolve_email(&email).await.unwrap_err();
    let mut shown = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        shown.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(!shown.contains("secret.person"), "{shown}");
}

#[tokio::test]
async fn blank_filters_are_refused_before_sending() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let client = bearer(&server, 0);
    assert!(matches!(
        client.users_page("  ", 0, 10).await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        client.users_page("a", 0, 0).await,
        Err(Error::InvalidInput { .. })
    ));
    any.assert_calls_async(0).await;
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

#[test]
fn no_secret_in_any_debug() {
    let issuer = Url::parse("https://tenant.guardhouse.cloud").unwrap();
    let builder = GuardhouseClient::builder(issuer.clone())
        .client_credentials("svc-client", SecretString::from(CLIENT_SECRET));
    let shown = format!("{builder:?}");
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    let client = builder.build().unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    assert!(shown.contains("svc-client"));

    let builder = GuardhouseClient::builder(issuer).bearer_token(SecretString::from(TOKEN));
    assert!(!format!("{builder:?}").contains(TOKEN));
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains(TOKEN));
}

/// Point 4 of issue 18: a token endpoint that quotes the client secret (as sent, and
/// form-encoded as in the request) has it masked in the error's text, `Debug` and record, so
/// that no receipt carries it.
#[tokio::test]
async fn an_echoed_client_secret_never_reaches_an_error_or_its_record() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/connect/token");
            then.status(400).body(format!(
                r#"{{"error":"invalid_client","error_description":"client_secret={CLIENT_SECRET} does not match"}}"#
            ));
        })
        .await;
    let client = credentials_builder(&server).build().unwrap();
    let err = client.anonymize_user(id(1)).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
    let shown = anonymize_core::testkit::everything_shown(&err);
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    assert!(
        shown.contains("client_secret=<secret> does not match"),
        "{shown}"
    );

    // The same answer through an eraser, to the receipt a service would keep.
    let eraser = anonymize_core::Eraser::new([Arc::new(client) as Arc<dyn Anonymizer>]).unwrap();
    let person = anonymize_core::Person::from_id(guardhouse_client::VENDOR, "1");
    let report = eraser.erase(&person).await.unwrap();
    let key_bytes: Vec<u8> = (1..=32).collect();
    let key = anonymize_core::ReceiptKey::new(&key_bytes).unwrap();
    let receipt = anonymize_core::Receipt::new(&key, &person, &report.vendors()[0]);
    let line = serde_json::to_string(&receipt).unwrap();
    assert!(!line.contains(CLIENT_SECRET), "{line}");
    assert!(line.contains("<secret>"), "{line}");
}
