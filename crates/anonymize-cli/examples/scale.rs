//! How the `anonymize` binary scales: peak memory and time for N persons against the simulators,
//! and the same erasure through the library (`Eraser::erase_many`) for comparison.
//!
//! ```sh
//! cargo build --release -p anonymize-cli
//! cargo run --release -p anonymize-cli --example scale -- 10000
//! cargo run --release -p anonymize-cli --example scale -- 100000 --by-id
//! cargo run --release -p anonymize-cli --example scale -- 10000 --with-learning360
//! ```
//!
//! Every person is at Guardhouse (found by address, or by the id in the input with `--by-id`) and
//! at Alfabet (REFSTR in the input). Guardhouse's simulator answers an address search by scanning
//! every user, as a partial match must: at 100,000 users that scan, not the client, bounds a run by
//! address, so measure 100,000 with `--by-id`. With
//! `--with-learning360`, 360Learning is configured too and holds one person in 1,000: its client
//! keeps to the vendor's published limits (50 reads and 10 writes per second), which then bound
//! the run (one address look-up per batch of persons, two writes per user it holds).
//!
//! The simulators run in this process; the binary runs as a child, and its peak resident memory
//! is read from `/proc/<pid>/status` (`VmHWM`, Linux) while it runs. Figures: docs/benchmarks.md.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use alfabet_client::testkit::Simulator as Alfabet;
use anonymize_core::secrecy::ExposeSecret;
use anonymize_core::{Anonymizer, Email, Eraser, Person};
use futures_util::StreamExt;
use guardhouse_client::UserStatus;
use guardhouse_client::testkit::Simulator as Guardhouse;
use learning360_client::testkit::Simulator as Learning360;

struct Sims {
    guardhouse: Guardhouse,
    alfabet: Alfabet,
    learning360: Option<Learning360>,
    /// (address, Guardhouse id, REFSTR) per person.
    persons: Vec<(String, String, String)>,
}

async fn seed(n: usize, with_learning360: bool) -> Sims {
    let guardhouse = Guardhouse::start().await;
    let alfabet = Alfabet::start().await;
    let learning360 = if with_learning360 {
        Some(Learning360::start().await)
    } else {
        None
    };
    let persons = (0..n)
        .map(|i| {
            let email = format!("person{i}@example-company.com");
            let id = guardhouse.add_user(&email, "First", "Last", UserStatus::Active);
            let r = alfabet.add_user("First Last", &email);
            if let Some(l) = &learning360
                && i % 1000 == 0
            {
                l.add_user(&email);
            }
            (email, id.to_string(), r.to_string())
        })
        .collect();
    Sims {
        guardhouse,
        alfabet,
        learning360,
        persons,
    }
}

/// The peak resident memory (VmHWM) of `pid` in KiB, if /proc has it.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn library(sims: &Sims, by_id: bool) -> Duration {
    let mut vendors: Vec<Arc<dyn Anonymizer>> = vec![
        Arc::new(
            sims.guardhouse
                .client_builder()
                .http_config(Default::default())
                .build()
                .unwrap(),
        ),
        Arc::new(
            sims.alfabet
                .client_builder()
                .http_config(Default::default())
                .password(
                    alfabet_client::testkit::USERNAME,
                    alfabet_client::testkit::PASSWORD.into(),
                )
                .build()
                .unwrap(),
        ),
    ];
    if let Some(l) = &sims.learning360 {
        vendors.push(Arc::new(
            l.client_builder()
                .http_config(Default::default())
                .build()
                .unwrap(),
        ));
    }
    let eraser = Eraser::new(vendors).unwrap();
    let persons: Vec<(usize, Person)> = sims
        .persons
        .iter()
        .enumerate()
        .map(|(i, (email, id, r))| {
            let person = Person::from_email(Email::parse(email).unwrap()).with_id("alfabet", r);
            (
                i,
                if by_id {
                    person.with_id("guardhouse", id)
                } else {
                    person
                },
            )
        })
        .collect();
    let started = Instant::now();
    let done = eraser
        .erase_many(|_| futures_util::stream::iter(persons.clone()))
        .filter(|(_, r)| std::future::ready(r.status.is_done()))
        .count()
        .await;
    assert_eq!(
        done,
        persons.len() * eraser.vendors().count(),
        "every person done"
    );
    started.elapsed()
}

async fn binary(
    sims: &Sims,
    dir: &std::path::Path,
    by_id: bool,
) -> (Duration, Option<u64>, String) {
    let input = dir.join("people.csv");
    let receipts = dir.join("receipts.jsonl");
    let mut csv = String::from("email,guardhouse_id,alfabet_ref\n");
    for (email, id, r) in &sims.persons {
        let id = if by_id { id.as_str() } else { "" };
        csv.push_str(&format!("{email},{id},{r}\n"));
    }
    std::fs::write(&input, csv).unwrap();
    let bin = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|examples| examples.parent())
        .unwrap()
        .join("anonymize");
    assert!(
        bin.exists(),
        "build the binary first: cargo build --release -p anonymize-cli"
    );
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(["run", "--input"])
        .arg(&input)
        .arg("--receipts")
        .arg(&receipts)
        .env_clear()
        .env("ANONYMIZE_RECEIPT_KEY", format!("42{}", "24".repeat(31)))
        .env("GUARDHOUSE_URL", sims.guardhouse.url().as_str())
        .env("GUARDHOUSE_CLIENT_ID", sims.guardhouse.client_id())
        .env(
            "GUARDHOUSE_CLIENT_SECRET",
            sims.guardhouse.client_secret().expose_secret(),
        )
        .env("ALFABET_URL", sims.alfabet.url().as_str())
        .env("ALFABET_USERNAME", alfabet_client::testkit::USERNAME)
        .env("ALFABET_PASSWORD", alfabet_client::testkit::PASSWORD)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    if let Some(l) = &sims.learning360 {
        cmd.env("LEARNING360_URL", l.url().as_str())
            .env(
                "LEARNING360_CLIENT_ID",
                learning360_client::testkit::CLIENT_ID,
            )
            .env(
                "LEARNING360_CLIENT_SECRET",
                l.client_secret().expose_secret(),
            );
    }
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let pid = child.id().unwrap();
    let mut peak = None;
    loop {
        if let Some(kib) = peak_kib(pid) {
            peak = Some(peak.map_or(kib, |p: u64| p.max(kib)));
        }
        tokio::select! {
            status = child.wait() => { status.unwrap(); break; }
            () = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    }
    let elapsed = started.elapsed();
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use tokio::io::AsyncReadExt;
        stdout.read_to_string(&mut out).await.unwrap();
    }
    (elapsed, peak, out)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let with_learning360 = args.iter().any(|a| a == "--with-learning360");
    let by_id = args.iter().any(|a| a == "--by-id");
    let dir = std::env::temp_dir().join(format!("anonymize-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let sims = seed(n, with_learning360).await;
    let lib = library(&sims, by_id).await;
    drop(sims);
    let sims = seed(n, with_learning360).await;
    let (bin, peak, out) = binary(&sims, &dir, by_id).await;
    let _ = std::fs::remove_dir_all(&dir);
    let vendors = if with_learning360 { 3 } else { 2 };
    println!("{out}");
    println!(
        "{n} persons at {vendors} vendors: library {:.2} s ({:.0} persons/s), binary {:.2} s \
         ({:.0} persons/s), binary peak RSS {}",
        lib.as_secs_f64(),
        n as f64 / lib.as_secs_f64(),
        bin.as_secs_f64(),
        n as f64 / bin.as_secs_f64(),
        peak.map_or("unknown (no /proc)".to_owned(), |k| format!(
            "{:.1} MiB",
            k as f64 / 1024.0
        ))
    );
}
