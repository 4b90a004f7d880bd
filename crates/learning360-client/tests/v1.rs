//! The deprecated API v1: header authentication (the key never in the URL unless opted in),
//! the percent-encoded e-mail path segment, the typed answers, and the simulator's v1.
#![allow(clippy::unwrap_used, deprecated)]

use std::time::Duration;

use anonymize_core::secrecy::SecretString;
#[cfg(feature = "testkit")]
use anonymize_core::testkit::Simulated;
use anonymize_core::{Email, Error, HttpConfig, RetryPolicy};
use httpmock::Method::{GET, PUT};
use httpmock::MockServer;
#[cfg(feature = "testkit")]
use learning360_client::testkit::Simulator;
use learning360_client::v1::{V1Client, V1UserRef};
use serde_json::json;
use url::Url;

const KEY: &str = "v1-api-k3y-secret";
const COMPANY: &str = "5f0000000000000000000abc";

fn v1(server: &MockServer, in_query: bool) -> V1Client {
    V1Client::builder(Url::parse(&server.base_url()).unwrap())
        .company_id(COMPANY)
        .api_key(SecretString::from(KEY))
        .credentials_in_query(in_query)
        .http_config(
            HttpConfig::default()
                .with_retry(RetryPolicy::default().with_initial_backoff(Duration::from_millis(1))),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn headers_carry_the_credentials_and_the_url_does_not() {
    let server = MockServer::start_async().await;
    let raw_paths = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = raw_paths.clone();
    let put = server
        .mock_async(move |when, then| {
            when.method(PUT)
                .path_includes("/pseudonymize")
                .header("x-company-id", COMPANY)
                .header("x-apikey", KEY)
                .query_param_missing("apiKey")
                .query_param_missing("company");
            then.respond_with(move |req: &httpmock::HttpMockRequest| {
                record.lock().unwrap().push(req.uri().path().to_owned());
                httpmock::HttpMockResponse::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(r#"{"message":"user_personal_data_removed_successfully"}"#)
                    .build()
            });
        })
        .await;
    let client = v1(&server, false);
    let who = V1UserRef::Email(Email::parse("jane.doe+test@example.com").unwrap());
    let answer = client.pseudonymize(&who).await.unwrap();
    assert!(answer.is_success());
    // Characters that could change the path or add a query are encoded in the one segment.
    let tricky = V1UserRef::Email(Email::parse("a/b?c#d%e@example.com").unwrap());
    client.pseudonymize(&tricky).await.unwrap();
    put.assert_calls_async(2).await;
    assert_eq!(
        *raw_paths.lock().unwrap(),
        vec![
            "/api/v1/users/jane.doe+test@example.com/pseudonymize",
            "/api/v1/users/a%2Fb%3Fc%23d%25e@example.com/pseudonymize"
        ]
    );
    assert!(!format!("{client:?}").contains(KEY));

    client
        .pseudonymize(&"507f1f77bcf86cd799439011".parse::<V1UserRef>().unwrap())
        .await
        .unwrap();
    put.assert_calls_async(3).await;
    assert_eq!(
        raw_paths.lock().unwrap()[2],
        "/api/v1/users/507f1f77bcf86cd799439011/pseudonymize"
    );
}

#[tokio::test]
async fn query_credentials_only_when_opted_in() {
    let server = MockServer::start_async().await;
    let list = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/users")
                .query_param("company", COMPANY)
                .query_param("apiKey", KEY)
                .header_missing("x-apikey");
            then.status(200).json_body(json!([
                {"_id": "507f1f77bcf86cd799439011", "mail": "a@example.com", "firstName": "Ann"},
                {"mail": "no-id@example.com"}
            ]));
        })
        .await;
    let users = v1(&server, true).list_users().await.unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(
        users[0].user_id().map(|i| i.to_string()).as_deref(),
        Some("507f1f77bcf86cd799439011")
    );
    assert_eq!(users[0].extra["firstName"], "Ann");
    assert_eq!(users[1].user_id(), None);
    assert!(!format!("{:?}", users[0]).contains("Ann"));
    list.assert_calls_async(1).await;
}

#[tokio::test]
async fn v1_errors_keep_their_code_and_never_show_the_key() {
    let server = MockServer::start_async().await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT);
            then.status(401).json_body(json!({"error": "unauthorized"}));
        })
        .await;
    for in_query in [false, true] {
        let err = v1(&server, in_query)
            .pseudonymize(&"jane@example.com".parse::<V1UserRef>().unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unauthenticated(_)));
        assert_eq!(err.code(), Some("unauthorized"));
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(KEY) && !shown.contains("jane"), "{shown}");
    }
    // A static key is not "refreshed": one request each.
    put.assert_calls_async(2).await;
}

#[cfg(feature = "testkit")]
#[tokio::test]
async fn simulator_v1_and_its_v2_replacement() {
    let sim = Simulator::start().await;
    let jane = sim.add_user("jane@example.com");
    let v1 = sim.v1_client();
    assert_eq!(v1.list_users().await.unwrap().len(), 1);
    let answer = v1
        .pseudonymize(&"JANE@example.com".parse::<V1UserRef>().unwrap())
        .await
        .unwrap();
    assert!(answer.is_success());
    let r = sim.requests().pop().unwrap();
    assert!(r.header("x-apikey").is_some());
    assert!(r.query.is_none());
    assert!(!sim.user(&jane).unwrap().mail.unwrap().contains("jane"));

    // Query credentials (discouraged, opt-in) work too.
    let (company, key) = sim.v1_credentials();
    let in_query = V1Client::builder(sim.url())
        .company_id(company)
        .api_key(key)
        .credentials_in_query(true)
        .build()
        .unwrap();
    assert_eq!(in_query.list_users().await.unwrap().len(), 1);
    let r = sim.requests().pop().unwrap();
    assert!(r.header("x-apikey").is_none());
    assert!(r.query.unwrap().contains("apiKey="));

    // Wrong key: refused.
    let (company, _) = sim.v1_credentials();
    let bad = V1Client::builder(sim.url())
        .company_id(company)
        .api_key(SecretString::from("nope-nope"))
        .build()
        .unwrap();
    let err = bad.list_users().await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)));

    // The v2 replacement of the same input returns the v2 user.
    let john = sim.add_user("john@example.com");
    let user = sim
        .client()
        .pseudonymize_by_email(&Email::parse("john@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, john);
    assert!(user.is_deleted());
}
