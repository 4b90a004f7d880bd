//! What the Redis tests (and `examples/shared_bench.rs`, through `#[path]`) share: a real
//! `redis-server` they start and stop themselves (never a system one, never port 6379), and a
//! loopback vendor that answers 429 beyond its limit in any one-second window of arrival time.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anonymize_core::reqwest::Method;
use anonymize_core::url::Url;
use anonymize_core::vendor::{Call, HttpClient};
use anonymize_core::{HttpConfig, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// Where the tests' servers listen: a Unix socket in a temporary directory, or a free loopback
/// TCP port.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Listen {
    Unix,
    Tcp,
}

/// A `redis-server` this test started, persistence off, stopped (and its directory removed) on
/// drop.
pub struct RedisServer {
    child: Option<Child>,
    dir: PathBuf,
    listen: Listen,
    port: u16,
}

/// `None` (after a loud line on stderr) when `redis-server` is not installed; a failure instead
/// when `ANONYMIZE_TEST_REDIS=required` (as `.ci/run` sets it).
pub fn redis_server(test: &str, listen: Listen) -> Option<RedisServer> {
    if Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        let required = std::env::var("ANONYMIZE_TEST_REDIS").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "{test}: redis-server is not installed, and ANONYMIZE_TEST_REDIS=required"
        );
        // Straight to the process's stderr: the test harness captures `eprintln!` of a
        // passing test, and this line must be seen.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: redis-server not installed; {test} did not run (install redis-server, e.g. \
             `apt-get install redis-server`, to run it; ANONYMIZE_TEST_REDIS=required makes this \
             a failure)"
        );
        return None;
    }
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "anonymize-redis-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let port = match listen {
        Listen::Unix => 0,
        Listen::Tcp => free_port(),
    };
    let mut server = RedisServer {
        child: None,
        dir,
        listen,
        port,
    };
    server.start();
    Some(server)
}

/// The installed `redis-server`'s version, as `redis-server --version` says it.
pub fn redis_version() -> String {
    let out = Command::new("redis-server")
        .arg("--version")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find_map(|w| w.strip_prefix("v="))
        .unwrap_or("?")
        .to_owned()
}

/// A loopback port nobody listens on (just now).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl RedisServer {
    /// The URL of this server.
    pub fn url(&self) -> String {
        match self.listen {
            Listen::Unix => format!("unix://{}", self.socket().display()),
            Listen::Tcp => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// Start it (again, at the same address: a restart is a new server, with a new `run_id`
    /// and nothing in memory).
    pub fn start(&mut self) {
        assert!(self.child.is_none());
        let _ = std::fs::remove_file(self.socket());
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if self.listen == Listen::Unix {
            command
                .arg("--unixsocket")
                .arg(self.socket())
                .args(["--unixsocketperm", "700"]);
        }
        self.child = Some(command.spawn().unwrap());
        // Ready when it accepts a connection.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let up = match self.listen {
                Listen::Unix => std::os::unix::net::UnixStream::connect(self.socket()).is_ok(),
                Listen::Tcp => std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
            };
            if up {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop it at once (SIGKILL: nothing saved, every connection cut).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback vendor that counts arrivals and answers 429 to any request that arrives while
/// `limit` others arrived less than one second before it, and 200 otherwise after `delay`.
pub struct Vendor {
    pub addr: SocketAddr,
    state: Arc<Mutex<VendorState>>,
}

#[derive(Default)]
struct VendorState {
    arrivals: Vec<Instant>,
    /// The arrivals answered 200 since the last [`Vendor::reset`].
    accepted: Vec<Instant>,
    rejected: usize,
    delay: Duration,
    limit: usize,
}

impl Vendor {
    pub async fn start(limit: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(VendorState {
            limit,
            ..VendorState::default()
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(stream, shared.clone(), limit));
            }
        });
        Self { addr, state }
    }

    pub fn url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.addr)).unwrap()
    }

    /// How long each answer takes from now on.
    pub fn set_delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Requests that arrived.
    pub fn arrivals(&self) -> usize {
        self.state.lock().unwrap().arrivals.len()
    }

    /// Requests answered 429.
    pub fn rejected(&self) -> usize {
        self.state.lock().unwrap().rejected
    }

    /// Forget the accepted writes and the 429s (the arrivals stay: they are the vendor's window).
    pub fn reset(&self) {
        let mut s = self.state.lock().unwrap();
        s.accepted.clear();
        s.rejected = 0;
    }

    /// Since the last [`reset`](Self::reset): the steady rate, (accepted writes after the first
    /// `limit`) ÷ (last accepted arrival − first), in writes a second; and the 429s.
    pub fn steady_rate(&self) -> (f64, usize) {
        let s = self.state.lock().unwrap();
        let (Some(first), Some(last)) = (s.accepted.first(), s.accepted.last()) else {
            return (0.0, s.rejected);
        };
        let steady = s.accepted.len().saturating_sub(s.limit) as f64;
        (steady / (*last - *first).as_secs_f64(), s.rejected)
    }

    /// The most arrivals in any one-second window.
    pub fn most_in_any_second(&self) -> usize {
        let arrivals = self.state.lock().unwrap().arrivals.clone();
        let mut most = 0;
        for (i, t) in arrivals.iter().enumerate() {
            let n = arrivals[i..]
                .iter()
                .take_while(|u| u.duration_since(*t) < Duration::from_secs(1))
                .count();
            most = most.max(n);
        }
        most
    }
}

/// One keep-alive connection: requests without bodies (or with a `Content-Length` one).
async fn serve(mut stream: tokio::net::TcpStream, state: Arc<Mutex<VendorState>>, limit: usize) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let head_end = loop {
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        let body = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + body {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        buffer.drain(..head_end + body);
        // Arrived: the vendor counts it now, and refuses it if `limit` arrived in the last second.
        let (refuse, delay) = {
            let mut s = state.lock().unwrap();
            let now = Instant::now();
            let recent = s
                .arrivals
                .iter()
                .rev()
                .take_while(|t| now.duration_since(**t) < Duration::from_secs(1))
                .count();
            s.arrivals.push(now);
            let refuse = recent >= limit;
            if refuse {
                s.rejected += 1;
            } else {
                s.accepted.push(now);
            }
            (refuse, s.delay)
        };
        tokio::time::sleep(delay).await;
        let answer: &[u8] = if refuse {
            b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n"
        } else {
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
        };
        if stream.write_all(answer).await.is_err() {
            return;
        }
    }
}

/// A vendor client of the loopback vendor: no retries (a 429 must show), a short request
/// timeout (so a lease is short: request timeout + window).
pub fn http_client(vendor: &Vendor, request_timeout: Duration) -> HttpClient {
    HttpClient::new(
        "testvendor",
        vendor.url(),
        HttpConfig::default()
            .with_request_timeout(request_timeout)
            .with_retry(RetryPolicy::never()),
    )
    .unwrap()
}

/// One write to the loopback vendor.
pub fn write(http: &HttpClient) -> Call<'static> {
    Call::new("write", Method::POST, http.url(&["write"]))
}
