//! `anonymize run --shared-limits`: two workers over shards of one input, against 360Learning's
//! simulator (which enforces 10 writes in any second of arrival), share the company's budget
//! through a real `redis-server` this test starts itself; without the flag the same two workers
//! get 429s. Without `redis-server` installed the test prints `SKIPPED: …` and passes, unless
//! `ANONYMIZE_TEST_REDIS=required`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use anonymize_core::SharedLimits;
use anonymize_core::secrecy::ExposeSecret;
use anonymize_redis::RedisLimits;
use learning360_client::testkit::Simulator as Learning360;
use tokio::process::Command;

const KEY_HEX: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5f";

/// A `redis-server` on a Unix socket in `dir`, persistence off, killed on drop.
struct Redis(std::process::Child, PathBuf);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_server(dir: &Path) -> Option<Redis> {
    let installed = StdCommand::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !installed {
        let required = std::env::var("ANONYMIZE_TEST_REDIS").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "redis-server is not installed, and ANONYMIZE_TEST_REDIS=required"
        );
        // Past the test harness's capture of passing tests' output: this must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: redis-server not installed; run --shared-limits was not tested \
             (ANONYMIZE_TEST_REDIS=required makes this a failure)"
        );
        return None;
    }
    let socket = dir.join("redis.sock");
    let child = StdCommand::new("redis-server")
        .args(["--port", "0", "--save", "", "--appendonly", "no", "--dir"])
        .arg(dir)
        .arg("--unixsocket")
        .arg(&socket)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "redis-server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Redis(child, socket))
}

/// Two workers, each on its own shard and receipts file, at once; both must succeed.
async fn two_workers(sim: &Learning360, dir: &Path, shared: Option<&str>, round: &str) {
    let mut children = Vec::new();
    for shard in ["a", "b"] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_anonymize"));
        cmd.arg("run")
            .arg("--input")
            .arg(dir.join(format!("{round}-{shard}.csv")))
            .arg("--receipts")
            .arg(dir.join(format!("{round}-{shard}.jsonl")))
            .args(["--progress-every", "1"])
            .env_clear()
            .env("LEARNING360_URL", sim.url().as_str())
            .env(
                "LEARNING360_CLIENT_ID",
                learning360_client::testkit::CLIENT_ID,
            )
            .env(
                "LEARNING360_CLIENT_SECRET",
                sim.client_secret().expose_secret(),
            )
            .env("ANONYMIZE_RECEIPT_KEY", KEY_HEX)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(url) = shared {
            // The environment variable: the flag's other spelling, and the one for passwords.
            cmd.env("ANONYMIZE_SHARED_LIMITS", url);
        }
        children.push(cmd.spawn().unwrap());
    }
    for child in children {
        let out = child.wait_with_output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{round}: {stderr}");
        assert!(!stderr.contains("redis.sock"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_share_the_vendors_budget_through_redis() {
    let dir = std::env::temp_dir().join(format!("anonymize-cli-shared-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let Some(redis) = redis_server(&dir) else {
        return;
    };
    let url = format!("unix://{}", redis.1.display());
    let sim = Learning360::start().await;
    // Two rounds of 12 users, each split into two shards of 6 (12 writes and a token each).
    for round in ["shared", "alone"] {
        let ids = sim.add_many(if round == "shared" { 0 } else { 100 }, 12);
        for (shard, ids) in ["a", "b"].iter().zip(ids.chunks(6)) {
            let mut csv = String::from("learning360_id\n");
            for id in ids {
                csv.push_str(&format!("{id}\n"));
            }
            std::fs::write(dir.join(format!("{round}-{shard}.csv")), csv).unwrap();
        }
    }

    // A budget's first use waits one lease (request timeout + window: 31 s with the command's
    // settings); take it here with a short one, under the name the command derives.
    let name = format!(
        "anonymize:learning360:127.0.0.1:{}",
        sim.url().port().unwrap()
    );
    let limits = RedisLimits::connect(url.clone(), name).await.unwrap();
    let writes = limits
        .limiter("writes", learning360_client::default_write_limit())
        .unwrap();
    drop(writes.acquire(Duration::from_millis(100)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1100)).await;

    two_workers(&sim, &dir, Some(&url), "shared").await;
    assert_eq!(
        sim.rate_limited_count(),
        0,
        "two workers sharing the budget got 429s"
    );
    assert_eq!(sim.count("DELETE", "/api/v2/users"), 12);

    // The same two workers, each with its own in-process limits: twice the vendor's rate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    two_workers(&sim, &dir, None, "alone").await;
    assert!(
        sim.rate_limited_count() > 0,
        "the simulator did not enforce its limit: this test proves nothing"
    );
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}
