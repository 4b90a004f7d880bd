//! The loopback vendor: just enough of Guardhouse, Alfabet and 360Learning for the SDK's real
//! clients, on hyper 1's HTTP/1.1 server (keep-alive on), in its own thread and its own
//! single-threaded runtime. It counts every request by route, and plays 360Learning's write
//! limit: 429 to any write beyond 10 in any 1-second window of arrival time.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// 360Learning's published write limit, and the window the server counts it over.
const L360_WRITES: usize = 10;
const L360_WINDOW: Duration = Duration::from_secs(1);

/// Requests counted per route since the server started.
#[derive(Default)]
struct Counters {
    guardhouse_token: AtomicU64,
    guardhouse_put: AtomicU64,
    alfabet_token: AtomicU64,
    alfabet_put: AtomicU64,
    alfabet_refs: AtomicU64,
    l360_token: AtomicU64,
    l360_delete: AtomicU64,
    l360_put: AtomicU64,
    l360_429: AtomicU64,
    /// Anything the server does not play (wrong path, method or credential): should stay 0.
    unexpected: AtomicU64,
}

/// A copy of the counters; subtract two to get what one run sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) guardhouse_token: u64,
    pub(crate) guardhouse_put: u64,
    pub(crate) alfabet_token: u64,
    pub(crate) alfabet_put: u64,
    pub(crate) alfabet_refs: u64,
    pub(crate) l360_token: u64,
    pub(crate) l360_delete: u64,
    pub(crate) l360_put: u64,
    pub(crate) l360_429: u64,
    pub(crate) unexpected: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.guardhouse_token += o.guardhouse_token;
        self.guardhouse_put += o.guardhouse_put;
        self.alfabet_token += o.alfabet_token;
        self.alfabet_put += o.alfabet_put;
        self.alfabet_refs += o.alfabet_refs;
        self.l360_token += o.l360_token;
        self.l360_delete += o.l360_delete;
        self.l360_put += o.l360_put;
        self.l360_429 += o.l360_429;
        self.unexpected += o.unexpected;
    }
}

impl std::ops::Sub for Counts {
    type Output = Counts;

    fn sub(self, o: Counts) -> Counts {
        Counts {
            guardhouse_token: self.guardhouse_token - o.guardhouse_token,
            guardhouse_put: self.guardhouse_put - o.guardhouse_put,
            alfabet_token: self.alfabet_token - o.alfabet_token,
            alfabet_put: self.alfabet_put - o.alfabet_put,
            alfabet_refs: self.alfabet_refs - o.alfabet_refs,
            l360_token: self.l360_token - o.l360_token,
            l360_delete: self.l360_delete - o.l360_delete,
            l360_put: self.l360_put - o.l360_put,
            l360_429: self.l360_429 - o.l360_429,
            unexpected: self.unexpected - o.unexpected,
        }
    }
}

/// 360Learning's write window, and what one run's writes looked like at arrival.
#[derive(Default)]
struct Learning360 {
    delay: Duration,
    /// Arrival instants of the accepted writes of the last second (token requests included: the
    /// vendor's limit counts every POST, PUT, PATCH and DELETE).
    window: VecDeque<Instant>,
    /// Accepted erasure writes (DELETE, PUT) of this run: how many, first and last arrival.
    accepted: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

/// What one 360Learning run's writes looked like at the server.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteLog {
    /// Accepted erasure writes (DELETE and PUT; the token request is not one).
    pub(crate) accepted: u64,
    /// From the first accepted erasure write's arrival to the last one's.
    pub(crate) span: Duration,
}

/// The server's shared state.
#[derive(Default)]
pub(crate) struct State {
    counters: Counters,
    l360: Mutex<Learning360>,
}

impl State {
    pub(crate) fn counts(&self) -> Counts {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        Counts {
            guardhouse_token: get(&c.guardhouse_token),
            guardhouse_put: get(&c.guardhouse_put),
            alfabet_token: get(&c.alfabet_token),
            alfabet_put: get(&c.alfabet_put),
            alfabet_refs: get(&c.alfabet_refs),
            l360_token: get(&c.l360_token),
            l360_delete: get(&c.l360_delete),
            l360_put: get(&c.l360_put),
            l360_429: get(&c.l360_429),
            unexpected: get(&c.unexpected),
        }
    }

    fn l360(&self) -> MutexGuard<'_, Learning360> {
        self.l360.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Start a 360Learning run: an empty window, this delay before every 360Learning answer.
    pub(crate) fn reset_l360(&self, delay: Duration) {
        *self.l360() = Learning360 {
            delay,
            ..Learning360::default()
        };
    }

    /// The current run's accepted erasure writes.
    pub(crate) fn l360_log(&self) -> WriteLog {
        let l = self.l360();
        WriteLog {
            accepted: l.accepted,
            span: match (l.first, l.last) {
                (Some(first), Some(last)) => last - first,
                _ => Duration::ZERO,
            },
        }
    }

    /// Whether a 360Learning write that arrived at `at` is within the limit (then it is counted),
    /// and how long to wait before answering.
    fn admit_l360_write(&self, at: Instant, erasure: bool) -> (bool, Duration) {
        let mut l = self.l360();
        while l.window.front().is_some_and(|t| *t + L360_WINDOW <= at) {
            l.window.pop_front();
        }
        if l.window.len() >= L360_WRITES {
            self.counters.l360_429.fetch_add(1, Ordering::SeqCst);
            return (false, l.delay);
        }
        l.window.push_back(at);
        if erasure {
            l.accepted += 1;
            l.first.get_or_insert(at);
            l.last = Some(at);
        }
        (true, l.delay)
    }
}

/// Start the server on 127.0.0.1 (a free port) in its own thread, pinned to `cpu` when given;
/// returns its address and whether the pinning worked.
pub(crate) fn start(cpu: Option<usize>) -> (SocketAddr, Arc<State>, bool) {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port for the server");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let addr = listener.local_addr().expect("the listener's address");
    let state = Arc::new(State::default());
    let shared = Arc::clone(&state);
    let (pinned_tx, pinned_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            let _ = pinned_tx.send(cpu.is_some_and(crate::pin_this_thread));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("the server's runtime");
            runtime.block_on(serve(listener, shared));
        })
        .expect("the server thread");
    let pinned = pinned_rx.recv().unwrap_or(false);
    (addr, state, pinned)
}

async fn serve(listener: std::net::TcpListener, state: Arc<State>) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Small requests and answers: send them at once, as any HTTP server does.
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(Arc::clone(&state), req));
            // A client closing its connection ends this task; nothing to report.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type Answer = Response<Full<Bytes>>;

fn answer(status: StatusCode, body: impl Into<Bytes>) -> Answer {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn no_content() -> Answer {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// `Authorization: Bearer t` (any case of the scheme: Alfabet's is `bearer`).
fn authorized(req: &hyper::http::request::Parts) -> bool {
    req.headers
        .get(AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"bearer t"))
}

/// `{"Refs":[…]}`, read without copying a ref.
#[derive(serde::Deserialize)]
struct AnonymizeUser<'a> {
    #[serde(rename = "Refs", borrow)]
    refs: Vec<&'a str>,
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Answer, Infallible> {
    let arrived = Instant::now();
    let (parts, body) = req.into_parts();
    // Every body is read whole (Content-Length), so the connection stays usable.
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return Ok(answer(StatusCode::BAD_REQUEST, "{}"));
    };
    let c = &state.counters;
    let count = |a: &AtomicU64| a.fetch_add(1, Ordering::Relaxed);
    let path = parts.uri.path();
    let method = &parts.method;

    // Guardhouse
    if *method == Method::POST && path == "/connect/token" {
        count(&c.guardhouse_token);
        return Ok(answer(
            StatusCode::OK,
            r#"{"access_token":"t","token_type":"Bearer","expires_in":3600}"#,
        ));
    }
    if let Some(id) = path
        .strip_prefix("/api/v1/users/")
        .and_then(|rest| rest.strip_suffix("/personal-data"))
        && *method == Method::PUT
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && authorized(&parts)
    {
        count(&c.guardhouse_put);
        return Ok(no_content());
    }

    // Alfabet
    if *method == Method::POST && path == "/api/token" {
        count(&c.alfabet_token);
        return Ok(answer(
            StatusCode::OK,
            r#"{"token_type":"bearer","access_token":"t","expires_in":1200}"#,
        ));
    }
    if *method == Method::PUT && path == "/api/v2/anonymizeuser" && authorized(&parts) {
        let Ok(request) = serde_json::from_slice::<AnonymizeUser<'_>>(&body) else {
            count(&c.unexpected);
            return Ok(answer(StatusCode::BAD_REQUEST, "{}"));
        };
        count(&c.alfabet_put);
        let n = request.refs.len();
        c.alfabet_refs.fetch_add(n as u64, Ordering::Relaxed);
        return Ok(answer(
            StatusCode::OK,
            format!(r#"{{"Count":{n},"RejectedObjects":[]}}"#),
        ));
    }

    // 360Learning: every write goes through the arrival-time window.
    if *method == Method::POST && path == "/api/v2/oauth2/token" {
        count(&c.l360_token);
        return Ok(l360_write(&state, arrived, false, || {
            answer(
                StatusCode::OK,
                r#"{"token_type":"Bearer","access_token":"t","expires_in":3600}"#,
            )
        })
        .await);
    }
    if let Some(rest) = path.strip_prefix("/api/v2/users/")
        && authorized(&parts)
    {
        let hex24 = |id: &str| id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit());
        if *method == Method::DELETE && hex24(rest) {
            count(&c.l360_delete);
            return Ok(l360_write(&state, arrived, true, no_content).await);
        }
        if let Some(id) = rest.strip_suffix("/pseudonymize")
            && *method == Method::PUT
            && hex24(id)
        {
            count(&c.l360_put);
            let user = format!(r#"{{"_id":"{id}","mail":"x@pseudo.invalid","status":"deleted"}}"#);
            return Ok(l360_write(&state, arrived, true, || answer(StatusCode::OK, user)).await);
        }
    }

    count(&c.unexpected);
    Ok(answer(StatusCode::NOT_FOUND, r#"{"error":"not played"}"#))
}

/// A 360Learning write: admitted or 429 at arrival, answered after the run's delay.
async fn l360_write(
    state: &State,
    arrived: Instant,
    erasure: bool,
    ok: impl FnOnce() -> Answer,
) -> Answer {
    let (admitted, delay) = state.admit_l360_write(arrived, erasure);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if admitted {
        ok()
    } else {
        answer(
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"error":"tooManyRequests"}"#,
        )
    }
}
