//! 360Learning's wire format against hand-written loopback servers (httpmock): the token grant,
//! the headers, every documented status in both error shapes with hit counts, the erasure flow's
//! requests, Link pagination and the mail filters. Generic HTTP behaviour (retries, 401 refresh,
//! shared tokens, Retry-After) is tested once in anonymize-core and in `tests/conformance.rs`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anonymize_core::secrecy::SecretString;
use anonymize_core::{Anonymizer, Error, HttpConfig, RetryPolicy};
use futures_util::{StreamExt, TryStreamExt};
use httpmock::Method::{DELETE, GET, POST, PUT};
use httpmock::{HttpMockRequest, HttpMockResponse, MockServer};
use learning360_client::{Learning360Client, UserFilter, UserId, UserStatus};
use serde_json::json;
use url::Url;

const SECRET: &str = "client-s3cr3t-value";
const ID: &str = "507f1f77bcf86cd799439011";

fn fast() -> HttpConfig {
    HttpConfig::default().with_retry(
        RetryPolicy::default()
            .with_max_retries(2)
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(2))
            .with_rate_limited_backoff(Duration::from_millis(2)),
    )
}

fn client(server: &MockServer) -> Learning360Client {
    Learning360Client::builder(Url::parse(&server.base_url()).unwrap())
        .client_credentials("my-client", SecretString::from(SECRET))
        .http_config(fast())
        .build()
        .unwrap()
}

async fn token_mock(server: &MockServer) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v2/oauth2/token")
                .header("content-type", "application/json")
                .json_body(json!({
                    "grant_type": "client_credentials",
                    "client_id": "my-client",
                    "client_secret": SECRET
                }));
            then.status(200).json_body(json!({
                "token_type": "Bearer", "access_token": "tok-1", "expires_in": 3600
            }));
        })
        .await
}

/// Issue 8, defect 3: an empty access token is refused once, in core, and never sent as
/// `Authorization: Bearer ` (it used to be: 6 requests for 3 ids).
#[tokio::test]
async fn an_empty_access_token_is_never_sent() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v2/oauth2/token");
            then.status(200).json_body(json!({
                "token_type": "Bearer", "access_token": "", "expires_in": 3600
            }));
        })
        .await;
    let api = server
        .mock_async(|when, then| {
            when.path_prefix("/api/v2/users");
            then.status(204);
        })
        .await;
    let ids: Vec<String> = ["5f0c2a9e8b3d4c1a2b3c4d51", "5f0c2a9e8b3d4c1a2b3c4d52", ID]
        .map(String::from)
        .to_vec();
    // One user at a time: each asks for a token after the previous refusal (callers that wait
    // on one token request share its refusal: core's token cache tests).
    let client = Learning360Client::builder(Url::parse(&server.base_url()).unwrap())
        .client_credentials("my-client", SecretString::from(SECRET))
        .http_config(fast())
        .concurrency(1)
        .build()
        .unwrap();
    let out = client.anonymize(&ids).await.unwrap();
    for o in &out {
        assert!(
            matches!(
                &o.outcome,
                anonymize_core::Outcome::Failed(Error::Protocol { .. })
            ),
            "{:?}",
            o.outcome
        );
    }
    api.assert_calls_async(0).await;
    token.assert_calls_async(3).await;
}

/// Issue 8, defect 5: a base URL with a query or a fragment is refused before anything is sent.
#[test]
fn a_base_url_with_a_query_or_fragment_is_refused() {
    for base in ["https://t.example/?leak=1", "https://t.example/#frag"] {
        let err = Learning360Client::builder(Url::parse(base).unwrap())
            .client_credentials("id", SecretString::from(SECRET))
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }), "{err:?}");
    }
}

fn id() -> UserId {
    ID.parse().unwrap()
}

fn user_json(status: &str) -> serde_json::Value {
    json!({"_id": ID, "mail": "x1y2@pseudo.invalid", "status": status, "lang": "en"})
}

#[tokio::test]
async fn token_grant_and_v2_headers() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server).await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/v2/users/{ID}"))
                .header("authorization", "Bearer tok-1")
                .header("360-api-version", "v2.0")
                .header("accept", "application/json");
            then.status(200).json_body(user_json("active"));
        })
        .await;
    let c = client(&server);
    let user = c.get_user(&id()).await.unwrap();
    assert_eq!(user.id, id());
    assert_eq!(user.status, Some(UserStatus::Active));
    c.get_user(&id()).await.unwrap();
    token.assert_calls_async(1).await;
    get.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_pre_issued_bearer_token_skips_the_grant() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server).await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(format!("/api/v2/users/{ID}"))
                .header("authorization", "Bearer pre-issued-tok")
                .header("360-api-version", "v2.0");
            then.status(200).json_body(user_json("active"));
        })
        .await;
    let c = Learning360Client::builder(Url::parse(&server.base_url()).unwrap())
        .bearer_token(SecretString::from("pre-issued-tok"))
        .http_config(fast())
        .build()
        .unwrap();
    c.get_user(&id()).await.unwrap();
    get.assert_calls_async(1).await;
    token.assert_calls_async(0).await;
}

#[tokio::test]
async fn expires_in_as_a_string_is_accepted() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v2/oauth2/token");
            then.status(200).json_body(json!({
                "token_type": "Bearer", "access_token": "tok-1", "expires_in": "3600"
            }));
        })
        .await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET).header("authorization", "Bearer tok-1");
            then.status(200).json_body(user_json("active"));
        })
        .await;
    let c = client(&server);
    c.get_user(&id()).await.unwrap();
    c.get_user(&id()).await.unwrap();
    token.assert_calls_async(1).await;
    get.assert_calls_async(2).await;
}

#[tokio::test]
async fn token_errors_are_clear_sent_once_and_stop_a_batch() {
    for (status, code) in [
        (400, "invalid_request"),
        (400, "unsupported_grant_type"),
        (401, "invalid_client"),
    ] {
        let server = MockServer::start_async().await;
        let token = server
            .mock_async(|when, then| {
                when.method(POST).path("/api/v2/oauth2/token");
                then.status(status).json_body(json!({ "error": code }));
            })
            .await;
        let c = client(&server);
        let err = c.get_user(&id()).await.unwrap_err();
        assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
        assert_eq!(err.code(), Some(code));
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("fetch token"), "{shown}");
        assert!(!shown.contains(SECRET));
        token.assert_calls_async(1).await;

        // A batch stops at once and says which users were not attempted.
        let ids = vec![ID.to_string(), "507f1f77bcf86cd799439012".to_string()];
        let batch = Learning360Client::builder(Url::parse(&server.base_url()).unwrap())
            .client_credentials("my-client", SecretString::from(SECRET))
            .http_config(fast())
            .concurrency(1)
            .build()
            .unwrap()
            .anonymize(&ids)
            .await
            .unwrap_err();
        assert_eq!(batch.completed.len(), 1);
        assert_eq!(batch.not_attempted, vec!["507f1f77bcf86cd799439012"]);
    }
}

/// Tokens `tok-1`, `tok-2`, … in order.
async fn counting_token_mock(server: &MockServer) -> (httpmock::Mock<'_>, Arc<AtomicUsize>) {
    let n = Arc::new(AtomicUsize::new(0));
    let counter = n.clone();
    let mock = server
        .mock_async(move |when, then| {
            when.method(POST).path("/api/v2/oauth2/token");
            then.respond_with(move |_: &HttpMockRequest| {
                let i = counter.fetch_add(1, Ordering::SeqCst) + 1;
                HttpMockResponse::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(
                        json!({"token_type":"Bearer","access_token":format!("tok-{i}"),"expires_in":3600})
                            .to_string(),
                    )
                    .build()
            });
        })
        .await;
    (mock, n)
}

#[tokio::test]
async fn a_second_401_is_an_error() {
    let server = MockServer::start_async().await;
    let (token, _) = counting_token_mock(&server).await;
    let refused = server
        .mock_async(|when, then| {
            when.method(GET);
            then.status(401)
                .json_body(json!({"error": "invalid_token"}));
        })
        .await;
    let err = client(&server).get_user(&id()).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)));
    assert_eq!(err.code(), Some("invalid_token"));
    assert!(err.aborts_batch());
    token.assert_calls_async(2).await;
    refused.assert_calls_async(2).await;
}

/// What a failed call became, and how often it was sent.
struct Case {
    status: u16,
    body: serde_json::Value,
    code: &'static str,
    message: Option<&'static str>,
    sends: usize,
    check: fn(&Error) -> bool,
}

fn cases() -> Vec<Case> {
    let nested = |code: &str, msg: &str| json!({"error": {"code": code, "message": msg}});
    vec![
        Case {
            status: 404,
            body: nested("userNotFound", "No such user."),
            code: "userNotFound",
            message: Some("No such user."),
            sends: 1,
            check: |e| matches!(e, Error::NotFound(_)),
        },
        Case {
            status: 400,
            body: nested("userNotDeleted", "Not deleted."),
            code: "userNotDeleted",
            message: Some("Not deleted."),
            sends: 1,
            check: |e| matches!(e, Error::Rejected(_)),
        },
        Case {
            status: 400,
            body: nested("userIsCompanyOwner", "Owner."),
            code: "userIsCompanyOwner",
            message: Some("Owner."),
            sends: 1,
            check: |e| matches!(e, Error::Rejected(_)),
        },
        Case {
            status: 403,
            body: nested("invalid_scope", "Missing users:write."),
            code: "invalid_scope",
            message: Some("Missing users:write."),
            sends: 1,
            check: |e| matches!(e, Error::PermissionDenied(_)),
        },
        Case {
            status: 403,
            body: json!({"error": "invalid_scope"}),
            code: "invalid_scope",
            message: None,
            sends: 1,
            check: |e| matches!(e, Error::PermissionDenied(_)),
        },
        Case {
            status: 429,
            body: json!({"error": "tooManyRequests"}),
            code: "tooManyRequests",
            message: None,
            sends: 3,
            check: |e| matches!(e, Error::RateLimited { .. }),
        },
        Case {
            status: 503,
            body: nested("serviceUnavailable", "Try later."),
            code: "serviceUnavailable",
            message: Some("Try later."),
            sends: 3,
            check: |e| matches!(e, Error::Server(_)),
        },
        Case {
            status: 409,
            body: nested("somethingNew", "A code this crate does not know."),
            code: "somethingNew",
            message: Some("A code this crate does not know."),
            sends: 1,
            check: |e| matches!(e, Error::Rejected(_)),
        },
    ]
}

#[tokio::test]
async fn every_status_and_shape_reaches_error_code_with_hit_counts() {
    type Op = fn(Learning360Client) -> futures_util::future::BoxFuture<'static, Result<(), Error>>;
    let ops: [(&str, String, Op); 3] = [
        ("GET", format!("/api/v2/users/{ID}"), |c| {
            Box::pin(async move { c.get_user(&id()).await.map(|_| ()) })
        }),
        ("DELETE", format!("/api/v2/users/{ID}"), |c| {
            Box::pin(async move { c.delete_user(&id()).await })
        }),
        ("PUT", format!("/api/v2/users/{ID}/pseudonymize"), |c| {
            Box::pin(async move { c.pseudonymize_user(&id(), true).await.map(|_| ()) })
        }),
    ];
    for (method, path, op) in ops {
        for case in cases() {
            let server = MockServer::start_async().await;
            token_mock(&server).await;
            let mock = server
                .mock_async(|when, then| {
                    when.method(method.parse::<httpmock::Method>().unwrap())
                        .path(path.clone());
                    then.status(case.status).json_body(case.body.clone());
                })
                .await;
            let err = op(client(&server)).await.unwrap_err();
            assert!((case.check)(&err), "{method} {}: {err:?}", case.status);
            assert_eq!(err.code(), Some(case.code), "{err}");
            assert_eq!(err.message(), case.message);
            assert_eq!(err.status().map(|s| s.as_u16()), Some(case.status));
            assert_eq!(err.vendor(), Some("learning360"));
            mock.assert_calls_async(case.sends).await;
        }
    }
}

#[tokio::test]
async fn successes_of_delete_and_pseudonymize() {
    let server = MockServer::start_async().await;
    token_mock(&server).await;
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path(format!("/api/v2/users/{ID}"))
                .header("360-api-version", "v2.0");
            then.status(204);
        })
        .await;
    let pseudo_true = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("/api/v2/users/{ID}/pseudonymize"))
                .query_param("deleteExternalIds", "true")
                .header("360-api-version", "v2.0");
            then.status(200).json_body(user_json("deleted"));
        })
        .await;
    let pseudo_false = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("/api/v2/users/{ID}/pseudonymize"))
                .query_param("deleteExternalIds", "false");
            then.status(200).json_body(user_json("deleted"));
        })
        .await;
    let c = client(&server);
    c.delete_user(&id()).await.unwrap();
    let u = c.pseudonymize_user(&id(), true).await.unwrap();
    assert!(u.is_deleted());
    c.pseudonymize_user(&id(), false).await.unwrap();
    delete.assert_calls_async(1).await;
    pseudo_true.assert_calls_async(1).await;
    pseudo_false.assert_calls_async(1).await;

    // The whole flow: DELETE then PUT, deleteExternalIds=true by default.
    let out = c.anonymize(&[ID.to_string()]).await.unwrap();
    assert_eq!(out[0].outcome.label(), "anonymized");
    delete.assert_calls_async(2).await;
    pseudo_true.assert_calls_async(2).await;
    match &out[0].outcome {
        anonymize_core::Outcome::Anonymized(ev) => {
            assert_eq!(ev.record.as_ref().unwrap()["_id"], ID);
            assert!(ev.summary.contains("external ids deleted"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn user_not_deleted_leads_to_one_delete_and_one_retry() {
    let server = MockServer::start_async().await;
    token_mock(&server).await;
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE).path(format!("/api/v2/users/{ID}"));
            then.status(204);
        })
        .await;
    let pseudo = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("/api/v2/users/{ID}/pseudonymize"));
            then.status(400)
                .json_body(json!({"error":{"code":"userNotDeleted","message":"Not deleted."}}));
        })
        .await;
    let err = client(&server).erase_user(&id()).await.unwrap_err();
    assert_eq!(err.code(), Some("userNotDeleted"));
    // Delete, pseudonymize (refused), delete again, pseudonymize again: then it gives up.
    delete.assert_calls_async(2).await;
    pseudo.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_body_that_does_not_parse_names_the_field() {
    let server = MockServer::start_async().await;
    token_mock(&server).await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v2/users");
            then.status(200).json_body(json!([
                {"_id": ID, "mail": "a@example.com"},
                {"_id": "jane@example.com"}
            ]));
        })
        .await;
    let err = client(&server)
        .list_users(&UserFilter::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
    assert!(shown.contains("[1]._id"), "{shown}");
    assert!(!shown.contains("jane"), "{shown}");
}

fn page(ids: std::ops::Range<u32>) -> serde_json::Value {
    serde_json::Value::Array(
        ids.map(|i| json!({"_id": format!("{i:024x}"), "mail": format!("u{i}@example.com"), "status": "active"}))
            .collect(),
    )
}

#[tokio::test]
async fn pagination_follows_absolute_and_relative_links_with_filters() {
    let server = MockServer::start_async().await;
    token_mock(&server).await;
    let base = server.base_url();
    let p1 = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v2/users")
                .query_param("status[eq]", "active")
                .query_param_missing("page");
            then.status(200)
                .header(
                    "link",
                    format!("<{base}/api/v2/users?status%5Beq%5D=active&page=2>; rel=\"next\""),
                )
                .json_body(page(1..4));
        })
        .await;
    let p2 = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v2/users")
                .query_param("page", "2")
                .query_param("status[eq]", "active");
            then.status(200)
                .header(
                    "link",
                    "</api/v2/users?status%5Beq%5D=active&page=1>; rel=\"prev\", \
                     </api/v2/users?status%5Beq%5D=active&page=3>; rel=next",
                )
                .json_body(page(4..7));
        })
        .await;
    let p3 = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v2/users")
                .query_param("page", "3");
            then.status(200).json_body(page(7..8));
        })
        .await;
    let c = client(&server);
    let users: Vec<_> = c
        .list_users(&UserFilter::new().status(UserStatus::Active))
        .try_collect()
        .await
        .unwrap();
    let got: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
    let want: Vec<String> = (1..8u32).map(|i| format!("{i:024x}")).collect();
    assert_eq!(got, want);
    p1.assert_calls_async(1).await;
    p2.assert_calls_async(1).await;
    p3.assert_calls_async(1).await;

    // Pages, one at a time.
    let pages: Vec<Vec<_>> = c
        .list_user_pages(&UserFilter::new().status(UserStatus::Active))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 3, 1]
    );
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let server = MockServer::start_async().await;
    token_mock(&server).await;
    let first = server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v2/users");
            then.status(200)
                .header(
                    "link",
                    "<https://evil.example.com/api/v2/users?page=2>; rel=\"next\"",
                )
                .json_body(page(1..3));
        })
        .await;
    let mut stream = client(&server).list_users(&UserFilter::new());
    // The refusal comes before any user of the page: the page is not trusted.
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }));
    assert!(err.to_string().contains("another host"), "{err}");
    assert!(!err.to_string().contains("evil"), "{err}");
    assert!(stream.next().await.is_none());
    first.assert_calls_async(1).await;
}

#[tokio::test]
async fn mail_filters_use_bracket_notation() {
    let server = MockServer::start_async().await;
    token_mock(&server).await;
    let eq = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v2/users")
                .query_param("mail[eq]", "Jane@Example.com");
            then.status(200).json_body(json!([
                {"_id": ID, "mail": "jane@example.com", "status": "active"},
                {"_id": "507f1f77bcf86cd799439012", "mail": "janet@example.com", "status": "active"}
            ]));
        })
        .await;
    let c = client(&server);
    let email = anonymize_core::Email::parse("Jane@Example.com").unwrap();
    assert_eq!(c.user_id_for_email(&email).await.unwrap(), Some(id()));
    assert_eq!(c.resolve_email(&email).await.unwrap().as_deref(), Some(ID));
    eq.assert_calls_async(2).await;

    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let many = server
        .mock_async(move |when, then| {
            when.method(GET)
                .path("/api/v2/users")
                .query_param_exists("mail[in][]");
            then.respond_with(move |req: &HttpMockRequest| {
                record.lock().unwrap().extend(req.query_params());
                HttpMockResponse::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(
                        json!([{"_id": ID, "mail": "B@example.com", "status": "active"}])
                            .to_string(),
                    )
                    .build()
            });
        })
        .await;
    let emails = [
        anonymize_core::Email::parse("a@example.com").unwrap(),
        anonymize_core::Email::parse("b@example.com").unwrap(),
    ];
    assert_eq!(
        c.user_ids_for_emails(&emails).await.unwrap(),
        vec![None, Some(id())]
    );
    many.assert_calls_async(1).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            ("mail[in][]".to_string(), "a@example.com".to_string()),
            ("mail[in][]".to_string(), "b@example.com".to_string())
        ]
    );
}

#[tokio::test]
async fn the_older_deleted_flag_lets_the_flow_skip_the_delete() {
    let server = MockServer::start_async().await;
    token_mock(&server).await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/api/v2/users");
            then.status(200).json_body(json!([
                {"_id": ID, "mail": "old@example.com", "deleted": true}
            ]));
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE);
            then.status(204);
        })
        .await;
    let pseudo = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path(format!("/api/v2/users/{ID}/pseudonymize"));
            then.status(200).json_body(user_json("deleted"));
        })
        .await;
    let client = Learning360Client::builder(Url::parse(&server.base_url()).unwrap())
        .client_credentials("my-client", SecretString::from(SECRET))
        .http_config(fast())
        .directory(learning360_client::Directory::default())
        .build()
        .unwrap();
    let email = anonymize_core::Email::parse("OLD@example.com").unwrap();
    assert_eq!(client.user_id_for_email(&email).await.unwrap(), Some(id()));
    assert!(client.directory().unwrap().knows_deleted(&id()));
    client.erase_user(&id()).await.unwrap();
    delete.assert_calls_async(0).await;
    pseudo.assert_calls_async(1).await;
}

/// Point 4 of issue 18: 360Learning's token endpoint quoting the client secret it was sent.
#[tokio::test]
async fn an_echoed_client_secret_never_reaches_an_error_or_its_record() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v2/oauth2/token");
            then.status(401).json_body(json!({
                "error": "invalid_client",
                "error_description": format!("no client with secret {SECRET}")
            }));
        })
        .await;
    let err = client(&server)
        .get_user(&ID.parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
    let shown = anonymize_core::testkit::everything_shown(&err);
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("no client with secret <secret>"), "{shown}");
}
