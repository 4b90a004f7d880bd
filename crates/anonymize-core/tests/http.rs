//! The shared HTTP behaviour, proven against loopback servers the tests start themselves:
//! retry counts, Retry-After, transport classification, token caching and refresh, body cap.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anonymize_core::reqwest::Method;
use anonymize_core::vendor::{
    Authorizer, Call, ErrorBody, HttpClient, IssuedToken, StaticCredential, TokenCache, TokenSource,
};
use anonymize_core::{Error, HttpConfig, RetryPolicy};
use async_trait::async_trait;
use httpmock::HttpMockResponse;
use httpmock::prelude::*;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

const SECRET: &str = "client-secret-Zq81";

fn fast_retry(max_retries: u32) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(max_retries)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
        .with_rate_limited_backoff(Duration::from_millis(1))
}

fn client(server: &MockServer, config: HttpConfig) -> HttpClient {
    HttpClient::new(
        "testvendor",
        Url::parse(&server.base_url()).unwrap(),
        config,
    )
    .unwrap()
}

fn get(http: &HttpClient, path: &str) -> Call<'static> {
    Call::new("read thing", Method::GET, http.url(&[path]))
}

#[tokio::test]
async fn not_found_is_sent_once_and_keeps_the_vendor_code() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/thing");
            then.status(404)
                .body(r#"{"error":"user_not_found","error_description":"No such user"}"#);
        })
        .await;
    let http = client(&server, HttpConfig::default().with_retry(fast_retry(3)));
    let err = http.execute(get(&http, "thing")).await.unwrap_err();
    mock.assert_calls(1);
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(err.code(), Some("user_not_found"));
    assert_eq!(err.message(), Some("No such user"));
    assert_eq!(err.status().unwrap().as_u16(), 404);
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn other_4xx_are_never_retried() {
    for status in [400u16, 403, 409, 422] {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                when.method(PUT).path("/thing");
                then.status(status).body("nope");
            })
            .await;
        let http = client(&server, HttpConfig::default().with_retry(fast_retry(3)));
        let call = Call::new("write thing", Method::PUT, http.url(&["thing"]));
        assert!(http.execute(call).await.is_err());
        mock.assert_calls(1);
    }
}

#[tokio::test]
async fn retryable_statuses_are_sent_as_often_as_the_policy_says() {
    for status in [408u16, 429, 500, 502, 503, 504] {
        let server = MockServer::start_async().await;
        let mock = server
            .mock_async(|when, then| {
                when.method(GET).path("/thing");
                then.status(status).body("busy");
            })
            .await;
        let http = client(&server, HttpConfig::default().with_retry(fast_retry(2)));
        let err = http.execute(get(&http, "thing")).await.unwrap_err();
        mock.assert_calls(3);
        assert!(err.is_retryable(), "{status}: {err:?}");
        assert_eq!(err.status().unwrap().as_u16(), status);
    }
}

/// A responder that answers `first` for the first `n` calls, then 200 `ok`, recording arrival times.
fn flaky(
    n: usize,
    first: HttpMockResponse,
) -> (
    impl Fn(&httpmock::HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static,
    Arc<std::sync::Mutex<Vec<Instant>>>,
) {
    let calls = Arc::new(AtomicUsize::new(0));
    let times = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = times.clone();
    let responder = move |_: &httpmock::HttpMockRequest| {
        seen.lock().unwrap().push(Instant::now());
        if calls.fetch_add(1, Ordering::SeqCst) < n {
            first.clone()
        } else {
            HttpMockResponse::builder().status(200).body("ok").build()
        }
    };
    (responder, times)
}

#[tokio::test]
async fn a_transient_503_recovers() {
    let server = MockServer::start_async().await;
    let (responder, times) = flaky(2, HttpMockResponse::builder().status(503).build());
    server
        .mock_async(|when, then| {
            when.path("/thing");
            then.respond_with(responder);
        })
        .await;
    let http = client(&server, HttpConfig::default().with_retry(fast_retry(3)));
    let response = http.execute(get(&http, "thing")).await.unwrap();
    assert_eq!(response.body().as_ref(), b"ok");
    assert_eq!(times.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured() {
    let server = MockServer::start_async().await;
    let (responder, times) = flaky(
        1,
        HttpMockResponse::builder()
            .status(429)
            .header("Retry-After", "1")
            .build(),
    );
    server
        .mock_async(|when, then| {
            when.path("/thing");
            then.respond_with(responder);
        })
        .await;
    let http = client(&server, HttpConfig::default().with_retry(fast_retry(3)));
    http.execute(get(&http, "thing")).await.unwrap();
    let times = times.lock().unwrap();
    assert_eq!(times.len(), 2);
    // The vendor asked for one second: the retry must not arrive before it.
    assert!(
        times[1] - times[0] >= Duration::from_millis(950),
        "{:?}",
        times[1] - times[0]
    );
}

#[tokio::test]
async fn retry_after_as_http_date_is_honoured() {
    let server = MockServer::start_async().await;
    // Three seconds ahead, so that a slow start (a loaded machine) before the first answer still
    // leaves more than one second to wait: the date is fixed before the server answers.
    let when = std::time::SystemTime::now() + Duration::from_secs(3);
    let (responder, times) = flaky(
        1,
        HttpMockResponse::builder()
            .status(503)
            .header("Retry-After", httpdate::fmt_http_date(when))
            .build(),
    );
    server
        .mock_async(|w, then| {
            w.path("/thing");
            then.respond_with(responder);
        })
        .await;
    let http = client(&server, HttpConfig::default().with_retry(fast_retry(3)));
    http.execute(get(&http, "thing")).await.unwrap();
    let times = times.lock().unwrap();
    assert_eq!(times.len(), 2);
    // HTTP dates have one-second resolution: "in three seconds", less a slow start, is still at
    // least one second away.
    assert!(times[1] - times[0] >= Duration::from_millis(950));
}

#[tokio::test]
async fn retry_after_is_capped() {
    let server = MockServer::start_async().await;
    let (responder, times) = flaky(
        1,
        HttpMockResponse::builder()
            .status(429)
            .header("Retry-After", "86400")
            .build(),
    );
    server
        .mock_async(|w, then| {
            w.path("/thing");
            then.respond_with(responder);
        })
        .await;
    let policy = fast_retry(3).with_max_retry_after(Duration::from_millis(50));
    let http = client(&server, HttpConfig::default().with_retry(policy));
    // A day-long Retry-After would hang this test; the cap makes it a 50 ms wait.
    http.execute(get(&http, "thing")).await.unwrap();
    assert_eq!(times.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn rate_limited_error_reports_retry_after() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|w, then| {
            w.path("/thing");
            then.status(429)
                .header("Retry-After", "7")
                .body(r#"{"error":"tooManyRequests"}"#);
        })
        .await;
    let http = client(
        &server,
        HttpConfig::default().with_retry(RetryPolicy::never()),
    );
    let err = http.execute(get(&http, "thing")).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(err.code(), Some("tooManyRequests"));
}

/// Point 3 of issue 18: an error says how hard the client tried (attempts and time), in its
/// text and its record, and the record keeps it (with the vendor and Retry-After) after a round
/// trip.
#[tokio::test]
async fn an_error_says_how_many_attempts_and_how_long() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|w, then| {
            w.path("/busy");
            then.status(503).body("busy");
        })
        .await;
    let policy = RetryPolicy::default()
        .with_max_retries(2)
        .with_initial_backoff(Duration::from_millis(20))
        .with_max_backoff(Duration::from_millis(20));
    let http = client(&server, HttpConfig::default().with_retry(policy));
    let started = Instant::now();
    let err = http.execute(get(&http, "busy")).await.unwrap_err();
    let wall = started.elapsed();
    mock.assert_calls(3);
    assert_eq!(err.attempts(), Some(3));
    let elapsed = err.elapsed().unwrap();
    // Two waits of up to 20 ms (jittered) and three answers: more than nothing, less than the
    // call took from outside.
    assert!(
        elapsed > Duration::ZERO && elapsed <= wall,
        "{elapsed:?} of {wall:?}"
    );
    let text = err.to_string();
    assert!(text.contains("(after 3 attempts in "), "{text}");
    let record = err.record();
    assert_eq!(record.attempts, Some(3));
    assert_eq!(record.elapsed_ms, Some(elapsed.as_millis() as u64));
    let back = Error::Recorded(Box::new(
        serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap(),
    ));
    assert_eq!(back.attempts(), Some(3));
    assert_eq!(back.vendor(), Some("testvendor"));

    // One attempt: said in the accessors and the record, not in the text.
    let missing = server
        .mock_async(|w, then| {
            w.path("/missing");
            then.status(404);
        })
        .await;
    let err = http.execute(get(&http, "missing")).await.unwrap_err();
    missing.assert_calls(1);
    assert_eq!(err.attempts(), Some(1));
    assert!(!err.to_string().contains("attempt"), "{err}");

    // A 429 with Retry-After: kept through a record.
    let limited = server
        .mock_async(|w, then| {
            w.path("/limited");
            then.status(429).header("Retry-After", "7");
        })
        .await;
    let http = client(
        &server,
        HttpConfig::default().with_retry(RetryPolicy::never()),
    );
    let err = http.execute(get(&http, "limited")).await.unwrap_err();
    limited.assert_calls(1);
    let back = Error::Recorded(Box::new(
        serde_json::from_value(serde_json::to_value(err.record()).unwrap()).unwrap(),
    ));
    assert_eq!(back.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(back.vendor(), Some("testvendor"));
    assert_eq!(back.attempts(), Some(1));
}

#[tokio::test]
async fn the_time_budget_stops_retries() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|w, then| {
            w.path("/thing");
            then.status(503);
        })
        .await;
    let policy = RetryPolicy::default()
        .with_max_retries(10)
        .with_initial_backoff(Duration::from_millis(200))
        .with_budget(Duration::from_millis(100));
    let http = client(&server, HttpConfig::default().with_retry(policy));
    assert!(http.execute(get(&http, "thing")).await.is_err());
    mock.assert_calls(1);
}

#[tokio::test]
async fn the_shared_retry_budget_makes_an_outage_fail_fast() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|w, then| {
            w.path("/thing");
            then.status(503);
        })
        .await;
    // Enough budget for one retry (5 tokens), shared by every clone.
    let http = client(
        &server,
        HttpConfig::default().with_retry(fast_retry(3).with_shared_budget(5)),
    );
    let clone = http.clone();
    assert!(http.execute(get(&http, "thing")).await.is_err());
    mock.assert_calls(2);
    assert!(clone.execute(get(&clone, "thing")).await.is_err());
    mock.assert_calls(3);
}

#[tokio::test]
async fn timeouts_are_retried_only_when_idempotent() {
    let server = MockServer::start_async().await;
    let slow = server
        .mock_async(|w, then| {
            w.path("/slow");
            then.status(200).delay(Duration::from_millis(400));
        })
        .await;
    let config = HttpConfig::default()
        .with_retry(fast_retry(2))
        .with_request_timeout(Duration::from_millis(100));
    let http = client(&server, config);

    let err = http
        .execute(Call::new("post slow", Method::POST, http.url(&["slow"])))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    slow.assert_calls(1);

    let err = http.execute(get(&http, "slow")).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    slow.assert_calls(1 + 3);
}

#[tokio::test]
async fn connect_errors_are_retried_and_never_show_the_url() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let http = HttpClient::new(
        "testvendor",
        base,
        HttpConfig::default().with_retry(fast_retry(2)),
    )
    .unwrap();
    let mut url = http.url(&["users"]);
    url.set_query(Some("email=jane.doe%40example.com"));
    let err = http
        .execute(Call::new("find user", Method::POST, url))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(
        err.attempts(),
        Some(3),
        "a transport error says how hard it tried too"
    );
    // The cause is in the source chain, said once, and a one-line outcome says it, so a log
    // line or a command's output says why.
    assert!(!err.to_string().contains("Connection refused"), "{err}");
    let line = anonymize_core::Outcome::Failed(err.clone()).to_string();
    assert!(line.contains("Connection refused"), "{line}");
    assert!(!line.contains("jane"), "{line}");
    let mut shown = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        shown.push_str(&s.to_string());
        source = s.source();
    }
    assert!(!shown.contains("jane"), "{shown}");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|w, then| {
            w.path("/big");
            then.status(200).body("x".repeat(4096));
        })
        .await;
    let http = client(&server, HttpConfig::default().with_max_response_bytes(1024));
    let err = http.execute(get(&http, "big")).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("1024-byte cap"), "{err}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start_async().await;
    let elsewhere = server
        .mock_async(|w, then| {
            w.path("/elsewhere");
            then.status(200);
        })
        .await;
    server
        .mock_async(|w, then| {
            w.path("/thing");
            then.status(302).header("Location", "/elsewhere");
        })
        .await;
    let http = client(&server, HttpConfig::default());
    let err = http.execute(get(&http, "thing")).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
    elsewhere.assert_calls(0);
}

/// Issue 8, defect 1: a caller's own client builder follows redirects by default; ours never
/// do. A token endpoint answering 307 must not get the secret POSTed again elsewhere, and an
/// erasure answered 302/307 must not be taken as success on another server's 204.
#[tokio::test]
async fn a_callers_client_never_follows_redirects() {
    let server = MockServer::start_async().await;
    let elsewhere = server
        .mock_async(|w, then| {
            w.path("/steal");
            then.status(204);
        })
        .await;
    server
        .mock_async(|w, then| {
            w.path("/token");
            then.status(307).header("Location", "/steal");
        })
        .await;
    server
        .mock_async(|w, then| {
            w.path("/users/1");
            then.status(302).header("Location", "/steal");
        })
        .await;
    // reqwest's default builder follows up to 10 redirects.
    let config = HttpConfig::default()
        .with_retry(fast_retry(2))
        .with_client_builder(anonymize_core::reqwest::Client::builder);
    let http = client(&server, config);
    let token = Call::new("fetch token", Method::POST, http.url(&["token"]))
        .form([("client_secret", SECRET)]);
    let err = http.execute(token).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(307));
    let erase = Call::new("anonymize user", Method::PUT, http.url(&["users", "1"]));
    let err = http.execute(erase).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(302));
    elsewhere.assert_calls(0);
}

/// Issue 8, defect 2: only the vendor's documented success answer counts.
#[tokio::test]
async fn only_the_documented_success_counts() {
    let server = MockServer::start_async().await;
    let portal = server
        .mock_async(|w, then| {
            w.path("/users/1/personal-data");
            then.status(200)
                .header("content-type", "text/html; charset=utf-8")
                .body("<html>Please sign in</html>");
        })
        .await;
    server
        .mock_async(|w, then| {
            w.path("/users/2/personal-data");
            then.status(204);
        })
        .await;
    let http = client(&server, HttpConfig::default().with_retry(fast_retry(3)));
    let put = |id: &str| {
        Call::new(
            "anonymize user",
            Method::PUT,
            http.url(&["users", id, "personal-data"]),
        )
        .expect_status(anonymize_core::reqwest::StatusCode::NO_CONTENT)
    };
    let err = http.execute(put("1")).await.unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("expected HTTP 204 No Content, got HTTP 200 OK (text/html)"),
        "{shown}"
    );
    assert!(!shown.contains("Please sign in"), "{shown}");
    portal.assert_calls(1);
    assert_eq!(http.execute(put("2")).await.unwrap().status().as_u16(), 204);
}

#[tokio::test]
async fn a_base_url_with_a_query_or_fragment_is_refused() {
    for url in ["http://127.0.0.1:1/?leak=1", "http://127.0.0.1:1/#frag"] {
        let err =
            HttpClient::new("v", Url::parse(url).unwrap(), HttpConfig::default()).unwrap_err();
        assert!(matches!(err, Error::Configuration { .. }), "{err:?}");
    }
}

// ---- credentials ---------------------------------------------------------------------------

#[derive(Debug)]
struct FormTokenSource {
    http: HttpClient,
    url: Url,
    secret: SecretString,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

#[async_trait]
impl TokenSource for FormTokenSource {
    fn vendor(&self) -> &'static str {
        "testvendor"
    }

    async fn fetch(&self) -> anonymize_core::Result<IssuedToken> {
        use secrecy::ExposeSecret;
        let call = Call::new("fetch token", Method::POST, self.url.clone())
            .form([("client_secret", self.secret.expose_secret())]);
        let answer: TokenAnswer = self.http.execute(call).await?.json()?;
        Ok(IssuedToken::new(
            "Bearer",
            SecretString::from(answer.access_token),
            Some(Duration::from_secs(answer.expires_in)),
        ))
    }
}

/// A token endpoint that issues `t1`, `t2`, … and counts its calls.
fn token_responder(
    issued: Arc<AtomicUsize>,
) -> impl Fn(&httpmock::HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static {
    move |_| {
        let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
        // A short pause makes concurrent callers pile up behind the first token request.
        std::thread::sleep(Duration::from_millis(20));
        HttpMockResponse::builder()
            .status(200)
            .body(format!(r#"{{"access_token":"t{n}","expires_in":3600}}"#))
            .build()
    }
}

async fn token_setup<'a>(
    server: &'a MockServer,
    accept: &'static [&'static str],
) -> (
    HttpClient,
    Arc<TokenCache<FormTokenSource>>,
    Arc<AtomicUsize>,
    httpmock::Mock<'a>,
) {
    let issued = Arc::new(AtomicUsize::new(0));
    server
        .mock_async(|w, then| {
            w.method(POST).path("/token").body_includes(SECRET);
            then.respond_with(token_responder(issued.clone()));
        })
        .await;
    let protected = server
        .mock_async(|w, then| {
            w.path("/protected");
            then.respond_with(move |req: &httpmock::HttpMockRequest| {
                let auth = req
                    .headers_vec()
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                let ok = accept.iter().any(|t| auth == format!("Bearer {t}"));
                HttpMockResponse::builder()
                    .status(if ok { 200 } else { 401 })
                    .body(if ok {
                        "ok"
                    } else {
                        r#"{"error":"invalid_token"}"#
                    })
                    .build()
            });
        })
        .await;
    let http = client(server, HttpConfig::default().with_retry(fast_retry(2)));
    let cache = Arc::new(TokenCache::new(FormTokenSource {
        url: http.url(&["token"]),
        secret: SecretString::from(SECRET),
        http: http.clone(),
    }));
    // The API client is given its authorizer once; the token source keeps the plain client.
    let api = http.with_authorizer(cache.clone());
    (api, cache, issued, protected)
}

#[tokio::test]
async fn many_concurrent_calls_share_one_token_request() {
    let server = MockServer::start_async().await;
    let (http, _cache, issued, protected) = token_setup(&server, &["t1"]).await;
    let calls = (0..20).map(|_| {
        let http = http.clone();
        async move {
            http.execute(Call::new("read", Method::GET, http.url(&["protected"])))
                .await
        }
    });
    for result in futures_util::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(issued.load(Ordering::SeqCst), 1);
    protected.assert_calls(20);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    // The server has revoked t1 and accepts only t2.
    let server = MockServer::start_async().await;
    let (http, _cache, issued, protected) = token_setup(&server, &["t2"]).await;
    let response = http
        .execute(Call::new("read", Method::GET, http.url(&["protected"])))
        .await
        .unwrap();
    assert_eq!(response.body().as_ref(), b"ok");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    protected.assert_calls(2);
}

#[tokio::test]
async fn a_second_401_is_unauthenticated() {
    let server = MockServer::start_async().await;
    let (http, _cache, issued, protected) = token_setup(&server, &[]).await;
    let err = http
        .execute(Call::new("read", Method::GET, http.url(&["protected"])))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
    assert_eq!(err.code(), Some("invalid_token"));
    assert!(err.aborts_batch());
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    protected.assert_calls(2);
}

#[tokio::test]
async fn a_refused_token_request_is_shared_by_waiting_callers() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|w, then| {
            w.method(POST).path("/token");
            then.status(400)
                .delay(Duration::from_millis(50))
                .body(r#"{"error":"invalid_client"}"#);
        })
        .await;
    let plain = client(&server, HttpConfig::default().with_retry(fast_retry(2)));
    let http = plain.with_authorizer(Arc::new(TokenCache::new(FormTokenSource {
        url: plain.url(&["token"]),
        secret: SecretString::from(SECRET),
        http: plain.clone(),
    })));
    let calls = (0..10).map(|_| {
        let http = http.clone();
        async move {
            http.execute(Call::new("read", Method::GET, http.url(&["protected"])))
                .await
        }
    });
    for result in futures_util::future::join_all(calls).await {
        let err = result.unwrap_err();
        // A refused token request stops a batch: it reads as refused credentials, not a rejection.
        assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
        assert_eq!(err.code(), Some("invalid_client"));
    }
    token.assert_calls(1);
    // A later call, after the failure, asks again (the credentials may have been fixed).
    let _ = http
        .execute(Call::new("read", Method::GET, http.url(&["protected"])))
        .await;
    token.assert_calls(2);
}

#[tokio::test]
async fn a_static_token_is_not_retried_after_401() {
    let server = MockServer::start_async().await;
    let (http, _cache, _issued, protected) = token_setup(&server, &[]).await;
    let fixed = StaticCredential::bearer(&SecretString::from("pre-issued-9x")).unwrap();
    let http = http.with_authorizer(Arc::new(fixed.clone()));
    let err = http
        .execute(Call::new("read", Method::GET, http.url(&["protected"])))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)));
    protected.assert_calls(1);
    assert!(!format!("{fixed:?}").contains("pre-issued-9x"));
}

#[tokio::test]
async fn secrets_never_show_in_debug_or_errors() {
    let server = MockServer::start_async().await;
    let (http, cache, _issued, _protected) = token_setup(&server, &[]).await;
    let err = http
        .execute(Call::new("read", Method::GET, http.url(&["protected"])))
        .await
        .unwrap_err();
    let credential = cache.credential().await.unwrap();
    for shown in [
        format!("{err} {err:?}"),
        format!("{cache:?}"),
        format!("{http:?}"),
        format!("{credential:?}"),
    ] {
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains("Bearer t"), "{shown}");
    }
}

/// Everything an error shows: its text, its `Debug`, and its record as a receipt writes it.
fn everything_shown(err: &Error) -> String {
    format!(
        "{err} {err:?} {}",
        serde_json::to_string(&err.record()).unwrap()
    )
}

/// `GET /protected` through `http` with a token fetched from `/token` with `secret`: the error.
async fn read_protected_with_token(http: &HttpClient, secret: &str) -> Error {
    let cache = Arc::new(TokenCache::new(FormTokenSource {
        url: http.url(&["token"]),
        secret: SecretString::from(secret),
        http: http.clone(),
    }));
    let api = http.with_authorizer(cache);
    api.execute(Call::new("read", Method::GET, api.url(&["protected"])))
        .await
        .unwrap_err()
}

/// Point 4 of issue 18: a token endpoint that quotes the client secret it was sent (as sent, or
/// form-encoded) has it masked in the error's text, `Debug` and record.
#[tokio::test]
async fn a_secret_the_token_endpoint_echoes_is_masked() {
    const ODD_SECRET: &str = "s3cr3t with/odd+chars";
    let server = MockServer::start_async().await;
    server
        .mock_async(|w, then| {
            w.method(POST).path("/token");
            then.status(401).body(format!(
                r#"{{"error":"invalid_client","error_description":"unknown secret {ODD_SECRET} (client_secret={})"}}"#,
                url::form_urlencoded::byte_serialize(ODD_SECRET.as_bytes()).collect::<String>()
            ));
        })
        .await;
    let http = client(
        &server,
        HttpConfig::default().with_retry(RetryPolicy::never()),
    )
    .with_secret(&SecretString::from(ODD_SECRET));
    let err = read_protected_with_token(&http, ODD_SECRET).await;
    let shown = everything_shown(&err);
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(
        shown.contains("unknown secret <secret> (client_secret=<secret>)"),
        "{shown}"
    );
}

/// Point 4 of issue 18: an API that quotes the pre-issued bearer token it was sent.
#[tokio::test]
async fn a_bearer_token_the_api_echoes_is_masked() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|w, then| {
            w.path("/protected");
            then.status(401).body(
                r#"{"error":"invalid_token","error_description":"Bearer pre-issued-9x is expired; pre-issued-9x"}"#,
            );
        })
        .await;
    let http = client(
        &server,
        HttpConfig::default().with_retry(RetryPolicy::never()),
    );
    let fixed = Arc::new(StaticCredential::bearer(&SecretString::from("pre-issued-9x")).unwrap());
    let api = http.with_authorizer(fixed);
    let err = api
        .execute(Call::new("read", Method::GET, api.url(&["protected"])))
        .await
        .unwrap_err();
    let shown = everything_shown(&err);
    assert!(!shown.contains("pre-issued-9x"), "{shown}");
    assert!(shown.contains("<secret> is expired; <secret>"), "{shown}");
}

/// Point 4 of issue 18: an API that quotes a token the client fetched (not registered: the
/// credential of the attempt is masked as it is).
#[tokio::test]
async fn an_issued_token_the_api_echoes_is_masked() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|w, then| {
            w.method(POST).path("/token");
            then.status(200)
                .body(r#"{"access_token":"issued-tok-77","expires_in":3600}"#);
        })
        .await;
    server
        .mock_async(|w, then| {
            w.path("/protected");
            then.status(403).body(
                r#"{"error":"invalid_scope","error_description":"token issued-tok-77 lacks users:write"}"#,
            );
        })
        .await;
    let http = client(
        &server,
        HttpConfig::default().with_retry(RetryPolicy::never()),
    );
    let err = read_protected_with_token(&http, SECRET).await;
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    let shown = everything_shown(&err);
    assert!(!shown.contains("issued-tok-77"), "{shown}");
    assert!(shown.contains("token <secret> lacks"), "{shown}");
}

#[tokio::test]
async fn a_501_is_not_retried_and_the_error_agrees() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|w, then| {
            w.path("/thing");
            then.status(501);
        })
        .await;
    let http = client(&server, HttpConfig::default().with_retry(fast_retry(3)));
    let err = http.execute(get(&http, "thing")).await.unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err:?}");
    assert!(!err.is_retryable());
    mock.assert_calls(1);
}

#[tokio::test]
async fn the_vendor_reads_its_own_error_bodies() {
    fn nested(body: &[u8]) -> ErrorBody {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        match v["error"]["code"].as_str() {
            Some(code) => ErrorBody::new(
                Some(code.to_owned()),
                v["error"]["message"].as_str().map(str::to_owned),
            ),
            None => ErrorBody::standard(body),
        }
    }
    let server = MockServer::start_async().await;
    server
        .mock_async(|w, then| {
            w.path("/thing");
            then.status(400)
                .body(r#"{"error":{"code":"userNotDeleted","message":"Delete first"}}"#);
        })
        .await;
    server
        .mock_async(|w, then| {
            w.path("/other");
            then.status(401).body(r#"{"error":"invalid_token"}"#);
        })
        .await;
    let plain = client(&server, HttpConfig::default());
    let err = plain.execute(get(&plain, "thing")).await.unwrap_err();
    assert_eq!((err.code(), err.message()), (None, None));
    let http = plain.with_error_reader(nested);
    let err = http.execute(get(&http, "thing")).await.unwrap_err();
    assert!(matches!(err, Error::Rejected(_)), "{err:?}");
    assert_eq!(err.code(), Some("userNotDeleted"));
    assert_eq!(err.message(), Some("Delete first"));
    let err = http.execute(get(&http, "other")).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_token"));
}

/// An authorizer that only implements `credential`: `ready_credential` keeps its default (`None`),
/// so every call goes the async way.
#[derive(Debug)]
struct AsyncOnly {
    asked: AtomicUsize,
}

#[async_trait]
impl Authorizer for AsyncOnly {
    async fn credential(&self) -> anonymize_core::Result<anonymize_core::vendor::Credential> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        anonymize_core::vendor::Credential::authorization(
            "Bearer",
            &SecretString::from("async-tok"),
        )
    }

    async fn refused(&self, _used: &anonymize_core::vendor::Credential) -> bool {
        false
    }
}

#[tokio::test]
async fn an_authorizer_without_a_ready_credential_is_asked_every_call() {
    let server = MockServer::start_async().await;
    let put = server
        .mock_async(|w, then| {
            w.method(PUT)
                .path("/thing")
                .header("authorization", "Bearer async-tok")
                .header("content-type", "application/json")
                .body(r#"{"a":1}"#);
            then.status(204);
        })
        .await;
    let auth = Arc::new(AsyncOnly {
        asked: AtomicUsize::new(0),
    });
    let http = client(&server, HttpConfig::default()).with_authorizer(auth.clone());
    for _ in 0..3 {
        let call = Call::new("write thing", Method::PUT, http.url(&["thing"]))
            .json(&serde_json::json!({"a": 1}), "application/json")
            .unwrap();
        http.execute(call).await.unwrap();
    }
    put.assert_calls(3);
    assert_eq!(auth.asked.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_user_agent_is_ours_unless_a_callers_builder_sets_one() {
    let server = MockServer::start_async().await;
    let ours = server
        .mock_async(|when, then| {
            when.path("/thing")
                .header("user-agent", HttpConfig::DEFAULT_USER_AGENT);
            then.status(200);
        })
        .await;
    let http = client(&server, HttpConfig::default());
    http.execute(get(&http, "thing")).await.unwrap();
    ours.assert_calls(1);
    assert!(HttpConfig::DEFAULT_USER_AGENT.starts_with("anonymize-rs/"));

    let theirs = server
        .mock_async(|when, then| {
            when.path("/theirs").header("user-agent", "acme-eraser/2");
            then.status(200);
        })
        .await;
    let config = HttpConfig::default().with_client_builder(|| {
        anonymize_core::reqwest::Client::builder().user_agent("acme-eraser/2")
    });
    let http = client(&server, config);
    http.execute(get(&http, "theirs")).await.unwrap();
    theirs.assert_calls(1);
}

/// A [`Limiter`] for the tests below: counts acquires and releases, fails when told to, and
/// gives permits a deadline `lease` after the acquire.
#[derive(Debug, Default)]
struct CountingLimiter {
    fail: bool,
    lease: Option<Duration>,
    acquired: Arc<AtomicUsize>,
    released: Arc<AtomicUsize>,
}

#[async_trait]
impl anonymize_core::Limiter for CountingLimiter {
    fn limit(&self) -> anonymize_core::RateLimit {
        anonymize_core::RateLimit::per_second(10)
    }

    async fn acquire(
        &self,
        _max_attempt: Duration,
    ) -> anonymize_core::Result<anonymize_core::vendor::RatePermit> {
        if self.fail {
            return Err(Error::limiter_unavailable(
                "test:{budget}",
                "store unreachable",
                None,
            ));
        }
        self.acquired.fetch_add(1, Ordering::SeqCst);
        let released = self.released.clone();
        let deadline = self.lease.map(|l| tokio::time::Instant::now() + l);
        Ok(anonymize_core::vendor::RatePermit::new(
            deadline,
            move || {
                released.fetch_add(1, Ordering::SeqCst);
            },
        ))
    }
}

/// Fail closed: a limiter that cannot answer fails the call with its typed error, and the vendor
/// sees nothing (no fall-back to sending unlimited).
#[tokio::test]
async fn an_unavailable_limiter_fails_the_call_and_sends_nothing() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/thing");
            then.status(200).body("{}");
        })
        .await;
    let limiter = CountingLimiter {
        fail: true,
        ..CountingLimiter::default()
    };
    let http = client(&server, HttpConfig::default().with_retry(fast_retry(3)));
    let err = http
        .execute(get(&http, "thing").rate_limited(&limiter))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LimiterUnavailable { .. }), "{err:?}");
    assert_eq!(err.kind(), "limiter_unavailable");
    assert!(err.to_string().contains("test:{budget}"), "{err}");
    assert!(err.is_retryable());
    mock.assert_calls(0);

    // The same through the client's own limiter (a vendor with one budget).
    let http = client(&server, HttpConfig::default()).with_limiter(Arc::new(CountingLimiter {
        fail: true,
        ..CountingLimiter::default()
    }));
    let err = http.execute(get(&http, "thing")).await.unwrap_err();
    assert!(matches!(err, Error::LimiterUnavailable { .. }), "{err:?}");
    mock.assert_calls(0);
}

/// A permit's deadline bounds the request: a vendor slower than the lease is given up by the
/// deadline (so a shared lease never ends while its request may still arrive), every attempt
/// holds its own permit, and each is released once.
#[tokio::test]
async fn a_permit_deadline_ends_the_request_by_it_and_every_attempt_holds_a_permit() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/slow");
            then.status(200).body("{}").delay(Duration::from_secs(3));
        })
        .await;
    let limiter = Arc::new(CountingLimiter {
        lease: Some(Duration::from_millis(300)),
        ..CountingLimiter::default()
    });
    let (acquired, released) = (limiter.acquired.clone(), limiter.released.clone());
    let http =
        client(&server, HttpConfig::default().with_retry(fast_retry(1))).with_limiter(limiter);
    let started = Instant::now();
    let err = http.execute(get(&http, "slow")).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    // Two attempts of at most 300 ms each, far below the server's 3 s.
    assert!(took < Duration::from_millis(2500), "{took:?}");
    mock.assert_calls(2);
    assert_eq!(acquired.load(Ordering::SeqCst), 2);
    assert_eq!(released.load(Ordering::SeqCst), 2);
}

/// A user id for the stop tests below.
#[derive(Clone, PartialEq, Eq, Hash)]
struct UserNo(u32);

impl anonymize_core::vendor::VendorId for UserNo {
    fn parse_id(text: &str) -> anonymize_core::Result<Self> {
        text.parse()
            .map(Self)
            .map_err(|_| Error::invalid_input("not a number"))
    }
    fn fmt_id(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
anonymize_core::vendor_id!(UserNo);

fn read_user(http: &HttpClient) -> Call<'static> {
    Call::new("read user", Method::GET, http.url(&["users", "1"]))
}

/// Stop at the request: a user is begun by the first request that changes something at the
/// vendor, not by a read. A user whose read before the erasure (360Learning's `--verify`) went
/// out before the stop is not erased after it; a user whose first erasure request went out is
/// finished (its second request is sent).
#[tokio::test]
async fn a_read_does_not_begin_a_user_but_a_first_erasure_request_does() {
    use anonymize_core::vendor::Batch;
    use anonymize_core::{Evidence, Stop};

    let server = MockServer::start_async().await;
    let read = server
        .mock_async(|when, then| {
            when.method(GET).path("/users/1");
            then.status(200).body("{}");
        })
        .await;
    let erase = server
        .mock_async(|when, then| {
            when.method(POST).path("/users/1/erase");
            then.status(200).body("{}");
        })
        .await;
    let fixed = StaticCredential::bearer(&SecretString::from("pre-issued-9x")).unwrap();
    let http = client(&server, HttpConfig::default()).with_authorizer(Arc::new(fixed));
    let ids = ["1".to_string()];

    // Read, then the stop is pulled: the erasure is not sent, and the user is not attempted.
    let stop = Stop::new();
    let err = stop
        .scope(
            Batch::<UserNo>::parse("testvendor", &ids).each(1, |_| async {
                http.execute(read_user(&http)).await?;
                stop.stop("interrupted (SIGTERM)");
                http.execute(Call::new(
                    "erase",
                    Method::POST,
                    http.url(&["users", "1", "erase"]),
                ))
                .await?;
                Ok(Evidence::new("erased"))
            }),
        )
        .await
        .unwrap_err();
    read.assert_calls(1);
    erase.assert_calls(0);
    assert_eq!(err.error.kind(), "stopped");
    assert_eq!((err.completed.len(), err.not_attempted.len()), (0, 1));

    // An erasure request, then the stop is pulled: the user is begun, and finished.
    let stop = Stop::new();
    let out = stop
        .scope(
            Batch::<UserNo>::parse("testvendor", &ids).each(1, |_| async {
                let step = || Call::new("erase", Method::POST, http.url(&["users", "1", "erase"]));
                http.execute(step()).await?;
                stop.stop("interrupted (SIGTERM)");
                http.execute(step()).await?;
                http.execute(read_user(&http)).await?;
                Ok(Evidence::new("erased"))
            }),
        )
        .await
        .unwrap();
    assert_eq!(out[0].outcome.label(), "anonymized");
    erase.assert_calls(2);
    read.assert_calls(2);
}
