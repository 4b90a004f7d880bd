//! Building blocks for the vendor simulators (feature `testkit`, which pulls in httpmock).
//!
//! Every simulator routes *all* requests through one [`Frontdoor`]: it counts them, applies the
//! next injected [`Fault`] if there is one, and otherwise hands the request to the simulator's own
//! handler, which decides the answer (unknown routes included). Written once here, so that the
//! three simulators cannot drift in how they count requests or inject faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use httpmock::{HttpMockRequest, HttpMockResponse, MockServer};

use crate::faults::{Fault, Faults};

/// Counts requests and injects faults in front of a simulator's handler. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct Frontdoor {
    faults: Faults,
    requests: Arc<AtomicUsize>,
}

impl Frontdoor {
    /// A front door with no faults queued.
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
                    front.requests.fetch_add(1, Ordering::SeqCst);
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
        self.requests.load(Ordering::SeqCst)
    }
}

/// The value of the request header `name` (case-insensitive), if present.
pub fn header<'a>(req: &'a HttpMockRequest, name: &str) -> Option<&'a str> {
    req.headers_vec()
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn counts_requests_and_injects_faults_first() {
        let server = MockServer::start_async().await;
        let front = Frontdoor::new();
        front
            .mount(&server, |req| {
                HttpMockResponse::builder()
                    .status(200)
                    .body(header(req, "x-probe").unwrap_or("none").to_owned())
                    .build()
            })
            .await;
        front
            .faults()
            .rate_limit_next(1, Some(Duration::from_secs(3)), "slow down");
        let client = reqwest::Client::new();
        let url = server.url("/anything");
        let first = client.get(&url).send().await.unwrap();
        assert_eq!(first.status().as_u16(), 429);
        assert_eq!(first.headers()["retry-after"], "3");
        let second = client
            .get(&url)
            .header("X-Probe", "hi")
            .send()
            .await
            .unwrap();
        assert_eq!(second.status().as_u16(), 200);
        assert_eq!(second.text().await.unwrap(), "hi");
        assert_eq!(front.requests_received(), 2);
    }
}
