//! Measures the e-mail → id [`Directory`] at 100,000 users: build time, memory, file size,
//! save and load times; with `--features testkit`, also a full refresh through the simulator
//! (200 pages of 500 users, streamed).
//!
//! ```text
//! cargo run --release -p learning360-client --example directory_bench
//! cargo run --release -p learning360-client --features testkit --example directory_bench
//! ```
//!
//! Memory is read from `/proc/self/status` (Linux; `n/a` elsewhere) and estimated from the
//! table's capacity and key lengths.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::Instant;

use anonymize_core::Email;
use learning360_client::{Directory, DirectoryOptions, User, UserId, UserStatus};

const USERS: usize = 100_000;

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn user(i: usize) -> User {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&(i as u64).to_be_bytes());
    let mut u = User::new(UserId::from_bytes(bytes));
    u.mail = Some(format!("firstname.lastname{i}@example-company.com"));
    u.status = Some(if i.is_multiple_of(10) {
        UserStatus::Deleted
    } else {
        UserStatus::Active
    });
    u
}

#[tokio::main]
async fn main() {
    println!("directory_bench: {USERS} users");
    let rss_before = rss_kib();
    let started = Instant::now();
    let dir = Directory::default();
    for i in 0..USERS {
        dir.record(&user(i));
    }
    let build = started.elapsed();
    let rss_after = rss_kib();
    println!("  build (record, in memory): {build:.2?}");
    println!("  entries: {}", dir.len());
    println!("  estimated heap: {}", mib(dir.approx_heap_bytes() as u64));
    match (rss_before, rss_after) {
        (Some(b), Some(a)) => println!(
            "  RSS growth: {} ({} bytes per user)",
            mib(a.saturating_sub(b) * 1024),
            a.saturating_sub(b) * 1024 / USERS as u64
        ),
        _ => println!("  RSS growth: n/a"),
    }

    let probe = Email::parse("FirstName.LastName77777@Example-Company.com").unwrap();
    let started = Instant::now();
    let rounds = 100_000u32;
    let mut hits = 0;
    for _ in 0..rounds {
        hits += usize::from(dir.lookup(&probe).is_some());
    }
    println!(
        "  lookup: {:.0} ns each ({hits} hits)",
        started.elapsed().as_nanos() as f64 / f64::from(rounds)
    );

    let path = std::env::temp_dir().join(format!("l360-bench-{}.jsonl", std::process::id()));
    let started = Instant::now();
    dir.save(&path).unwrap();
    let save = started.elapsed();
    let size = std::fs::metadata(&path).unwrap().len();
    let started = Instant::now();
    let loaded = Directory::load(&path, DirectoryOptions::default()).unwrap();
    let load = started.elapsed();
    assert_eq!(loaded.len(), USERS);
    println!("  save: {save:.2?}, file {}", mib(size));
    println!("  load: {load:.2?}");
    std::fs::remove_file(&path).unwrap();
    drop(loaded);

    refresh_through_the_simulator().await;
}

#[cfg(feature = "testkit")]
async fn refresh_through_the_simulator() {
    use anonymize_core::RateLimit;
    use learning360_client::testkit::Simulator;

    let sim = Simulator::start().await;
    for i in 0..USERS {
        sim.add_user(&format!("firstname.lastname{i}@example-company.com"));
    }
    // Measure the client, not the vendor's 50 reads/s (200 pages take at least 4 s there).
    sim.set_rate_limits(None, None);
    let dir = Directory::default();
    let client = sim
        .client_builder()
        .read_limit(RateLimit::per_second(100_000))
        .directory(dir.clone())
        .build()
        .unwrap();
    let rss_before = rss_kib();
    let started = Instant::now();
    let n = client.refresh_directory().await.unwrap();
    let took = started.elapsed();
    let rss_after = rss_kib();
    println!(
        "  refresh through the simulator: {n} users, {} pages, {took:.2?} (rate limit off)",
        sim.count("GET", "/api/v2/users")
    );
    if let (Some(b), Some(a)) = (rss_before, rss_after) {
        println!(
            "  RSS growth during refresh (simulator included): {}",
            mib(a.saturating_sub(b) * 1024)
        );
    }
}

#[cfg(not(feature = "testkit"))]
async fn refresh_through_the_simulator() {
    println!("  (run with --features testkit to also time a refresh through the simulator)");
}
