//! [`SimServer`] and its [`Frontdoor`]: one mock server, one request log, one fault queue.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use httpmock::{HttpMockRequest, HttpMockResponse, MockServer};
use url::Url;

use super::faults::{Fault, Faults};

/// One request a simulator received.
///
/// Its `Debug` shows the method, the time and the header names only: a path may hold an e-mail
/// address (some vendors' legacy routes do), a query a search filter, a header a token, a body a
/// secret or personal data. Read the fields where a test needs them.
#[derive(Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// When it arrived.
    pub received_at: SystemTime,
    /// The method, e.g. `PUT`.
    pub method: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    fn from_mock(req: &HttpMockRequest) -> Self {
        let uri = req.uri();
        Self {
            received_at: SystemTime::now(),
            method: req.method().to_string(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers: req
                .headers_vec()
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                .collect(),
            body: req.body_vec().clone(),
        }
    }

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("RecordedRequest")
            .field("received_at", &self.received_at)
            .field("method", &self.method)
            .field("path", &"<redacted>")
            .field("query", &self.query.as_ref().map(|_| "<redacted>"))
            .field("headers", &names)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// Logs requests and injects faults in front of a simulator's handler. Clones share state.
#[derive(Clone, Default)]
pub struct Frontdoor {
    faults: Faults,
    received: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl fmt::Debug for Frontdoor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frontdoor")
            .field("requests_received", &self.requests_received())
            .finish_non_exhaustive()
    }
}

impl Frontdoor {
    /// A front door with no faults queued and an empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Route every request `server` receives through this front door to `handler`.
    pub async fn mount<H>(&self, server: &MockServer, handler: H)
    where
        H: Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static,
    {
        let front = self.clone();
        server
            .mock_async(move |when, then| {
                when.any_request();
                then.respond_with(move |req: &HttpMockRequest| {
                    front.received.fetch_add(1, Ordering::SeqCst);
                    front
                        .log
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(RecordedRequest::from_mock(req));
                    front.inject().unwrap_or_else(|| handler(req))
                });
            })
            .await;
    }

    /// Apply the next queued fault: a delay sleeps on the server's own thread (what a slow
    /// server does) and answers normally after; a status fault *is* the answer.
    fn inject(&self) -> Option<HttpMockResponse> {
        match self.faults.take()? {
            Fault::Status {
                status,
                body,
                retry_after,
            } => {
                let mut answer = HttpMockResponse::builder().status(status).body(body);
                if let Some(value) = retry_after {
                    answer = answer.header("retry-after", value);
                }
                Some(answer.build())
            }
            Fault::Delay(delay) => {
                std::thread::sleep(delay);
                None
            }
        }
    }

    /// The fault queue.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// How many requests arrived, faulted ones included.
    pub fn requests_received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many requests with this method arrived at a path that starts with `prefix`.
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(prefix))
            .count()
    }
}

/// A mock server on loopback with its [`Frontdoor`].
pub struct SimServer {
    server: MockServer,
    front: Frontdoor,
}

impl fmt::Debug for SimServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimServer")
            .field("url", &self.server.base_url())
            .field("front", &self.front)
            .finish()
    }
}

impl SimServer {
    /// Start a server whose every request goes through a new [`Frontdoor`] to `handler`.
    pub async fn start<H>(handler: H) -> Self
    where
        H: Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static,
    {
        let server = MockServer::start_async().await;
        let front = Frontdoor::new();
        front.mount(&server, handler).await;
        Self { server, front }
    }

    /// The server's URL with `path` (e.g. `/` or `/ApiServer`): `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> Url {
        let address = self.server.address();
        // An IP address, a port and an absolute path always make a valid URL.
        Url::parse(&format!("http://{address}{path}"))
            .unwrap_or_else(|e| unreachable!("a socket address makes a valid URL: {e}"))
    }

    /// The front door.
    pub fn frontdoor(&self) -> &Frontdoor {
        &self.front
    }
}

/// The value of the request header `name` (case-insensitive), if present: what a simulator's
/// handler reads to check credentials and content types.
pub fn header<'a>(req: &'a HttpMockRequest, name: &str) -> Option<&'a str> {
    req.headers_vec()
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The answers a simulator's handler builds.
pub mod reply {
    use httpmock::HttpMockResponse;
    use serde_json::Value;

    /// `status` with `body` as `application/json`.
    pub fn json(status: u16, body: &Value) -> HttpMockResponse {
        HttpMockResponse::builder()
            .status(status)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string())
            .build()
    }

    /// `status` with `body` as `text/plain`.
    pub fn text(status: u16, body: &str) -> HttpMockResponse {
        HttpMockResponse::builder()
            .status(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(body.to_owned())
            .build()
    }

    /// `status` with no body.
    pub fn empty(status: u16) -> HttpMockResponse {
        HttpMockResponse::builder().status(status).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn logs_requests_and_injects_faults_first() {
        let sim =
            SimServer::start(|req| reply::text(200, header(req, "X-PROBE").unwrap_or("none")))
                .await;
        let front = sim.frontdoor();
        front
            .faults()
            .rate_limit_next(1, Some(Duration::from_secs(3)), "slow down");
        let client = reqwest::Client::new();
        let url = sim.url("/users/jane@example.com");
        let first = client.get(url.clone()).send().await.unwrap();
        assert_eq!(first.status().as_u16(), 429);
        assert_eq!(first.headers()["retry-after"], "3");
        let second = client
            .put(url)
            .header("X-Probe", "hi")
            .body("secret-body")
            .send()
            .await
            .unwrap();
        assert_eq!(second.status().as_u16(), 200);
        assert_eq!(second.text().await.unwrap(), "hi");
        assert_eq!(front.requests_received(), 2);
        assert_eq!(front.count("PUT", "/users/"), 1);
        let log = front.requests();
        assert_eq!(log[1].header("x-probe"), Some("hi"));
        assert_eq!(log[1].body, b"secret-body");
        assert!(log[1].path.contains("jane"));
        let shown = format!("{log:?}");
        assert!(!shown.contains("jane"), "{shown}");
        assert!(
            !shown.contains("secret-body") && !shown.contains("hi\""),
            "{shown}"
        );
    }
}
