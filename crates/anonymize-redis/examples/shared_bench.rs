//! The shared budget's benchmark (docs/benchmarks.md, "A budget shared through Redis"):
//!
//! ```sh
//! cargo run --release -p anonymize-redis --example shared_bench
//! # options: --runs N (default 3), --writes N per run (default 60)
//! ```
//!
//! It starts its own `redis-server` (a free loopback port, persistence off) and a loopback vendor
//! that answers 429 to any write beyond 10 in any one-second window of arrival time, waiting 0,
//! 20 or 50 ms before each answer. Then 1, 2 and 4 replicas (each its own Redis connection,
//! limiter and HTTP client, four requests in flight each) send the run's writes through one
//! budget of 10 per second, and the in-process limiter (one replica) does the same for
//! comparison. Writes per second are the steady rate: the writes after the first full window's
//! 10, divided by the time from the first arrival to the last. Last, the cost of one acquire and
//! release: microseconds at the client, the server's time per script from `INFO commandstats`, and
//! the commands Redis received per acquire + release (its round trips).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anonymize_core::vendor::{HttpClient, RateLimiter};
use anonymize_core::{Limiter, RateLimit, SharedLimits};
use anonymize_redis::RedisLimits;
use tokio::time::Instant;

/// The tests' own `redis-server` and loopback vendor.
#[path = "../tests/common/mod.rs"]
mod common;
use common::{Listen, Vendor, http_client, redis_server, redis_version, write};

const LIMIT: usize = 10;
const IN_FLIGHT_PER_REPLICA: usize = 4;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut runs = 3;
    let mut writes = 60;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || args.next().and_then(|v| v.parse().ok()).expect("a number");
        match arg.as_str() {
            "--runs" => runs = number(),
            "--writes" => writes = number(),
            _ => {
                println!("usage: shared_bench [--runs N] [--writes N]");
                return;
            }
        }
    }
    let redis = redis_server("shared_bench", Listen::Tcp)
        .expect("redis-server must be installed (e.g. apt-get install redis-server)");
    let url = redis.url();
    let vendor = Vendor::start(LIMIT).await;
    println!(
        "redis-server {} at {url}; limit {LIMIT}/s; {writes} writes a run, {runs} runs each",
        redis_version()
    );

    // A first acquire of a budget waits one lease (request timeout + window): not measured.
    let warm = RedisLimits::connect(url.clone(), "bench:vendor")
        .await
        .unwrap();
    let warm = warm
        .limiter("writes", RateLimit::per_second(LIMIT as u32))
        .unwrap();
    drop(warm.acquire(REQUEST_TIMEOUT).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1100)).await;

    println!("\n| Replicas | Server delay | Writes/s, median (min–max) | 429s |");
    println!("|---|---|---|---|");
    for delay_ms in [0u64, 20, 50] {
        vendor.set_delay(Duration::from_millis(delay_ms));
        let mut cases: Vec<(String, Option<usize>)> = vec![("in-process, 1".into(), None)];
        cases.extend([1, 2, 4].map(|n| (format!("Redis, {n}"), Some(n))));
        for (name, replicas) in cases {
            let mut rates = Vec::new();
            let mut rejected = 0;
            for _ in 0..runs {
                let clients = match replicas {
                    None => {
                        let limiter: Arc<dyn Limiter> =
                            Arc::new(RateLimiter::new(RateLimit::per_second(LIMIT as u32)));
                        vec![(limiter, http_client(&vendor, REQUEST_TIMEOUT))]
                    }
                    Some(n) => {
                        let mut clients = Vec::new();
                        for _ in 0..n {
                            // Each replica: its own connection, limiter and HTTP client.
                            let limits = RedisLimits::connect(url.clone(), "bench:vendor")
                                .await
                                .unwrap();
                            let limiter = limits
                                .limiter("writes", RateLimit::per_second(LIMIT as u32))
                                .unwrap();
                            clients.push((limiter, http_client(&vendor, REQUEST_TIMEOUT)));
                        }
                        clients
                    }
                };
                let (rate, too_many) = run(&vendor, clients, writes).await;
                rates.push(rate);
                rejected += too_many;
                // Every slot cools down before the next run.
                tokio::time::sleep(Duration::from_millis(1100)).await;
            }
            rates.sort_by(f64::total_cmp);
            println!(
                "| {name} | {delay_ms} ms | {:.2} ({:.2}–{:.2}) | {rejected} |",
                rates[rates.len() / 2],
                rates[0],
                rates[rates.len() - 1]
            );
        }
    }

    cost(&url).await;
}

/// `writes` writes through `clients` (four in flight each); the steady rate and the 429s.
async fn run(
    vendor: &Vendor,
    clients: Vec<(Arc<dyn Limiter>, HttpClient)>,
    writes: usize,
) -> (f64, usize) {
    vendor.reset();
    let left = Arc::new(AtomicUsize::new(writes));
    let mut tasks = Vec::new();
    for (limiter, http) in clients {
        for _ in 0..IN_FLIGHT_PER_REPLICA {
            let (limiter, http, left) = (limiter.clone(), http.clone(), left.clone());
            tasks.push(tokio::spawn(async move {
                while left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let _ = http.execute(write(&http).rate_limited(&*limiter)).await;
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    vendor.steady_rate()
}

/// One acquire + release: at the client, at the server, and in commands sent.
async fn cost(url: &str) {
    const N: u32 = 2_000;
    let window = RateLimit::new(1_000_000, Duration::from_secs(1));
    let local = RateLimiter::new(window);
    let started = Instant::now();
    for _ in 0..N {
        drop(Limiter::acquire(&local, REQUEST_TIMEOUT).await.unwrap());
    }
    let local_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(N);

    let limits = RedisLimits::connect(url.to_owned(), "bench:cost")
        .await
        .unwrap();
    let shared = limits.limiter("writes", window).unwrap();
    drop(shared.acquire(REQUEST_TIMEOUT).await.unwrap()); // the epoch's wait, once
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = redis::Client::open(url).unwrap();
    let mut stats = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut stats)
        .await
        .unwrap();
    let started = Instant::now();
    for _ in 0..N {
        drop(shared.acquire(REQUEST_TIMEOUT).await.unwrap());
    }
    let shared_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(N);
    tokio::time::sleep(Duration::from_millis(300)).await; // the last releases land
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut stats)
        .await
        .unwrap();
    let stat = |name: &str, field: &str| -> f64 {
        info.lines()
            .find(|l| l.starts_with(&format!("cmdstat_{name}:")))
            .and_then(|l| {
                l.split([':', ','])
                    .find_map(|kv| kv.strip_prefix(&format!("{field}=")))
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    // Commands from clients (the scripts' inner calls are counted under their own names).
    let evalsha = stat("evalsha", "calls");
    let others = stat("eval", "calls") + stat("script|load", "calls");
    println!(
        "\none acquire + release ({N} in a row, uncontended):\n\
         - in-process RateLimiter (through the Limiter trait): {local_us:.2} µs\n\
         - Redis: {shared_us:.0} µs at the client for the acquire (one round trip; the release \
         is sent in the background, off the caller's path); server time per script call \
         {:.1} µs; EVALSHA calls per acquire + release: {:.2} (other script commands: {others})",
        stat("evalsha", "usec_per_call"),
        evalsha / f64::from(N),
    );
}
