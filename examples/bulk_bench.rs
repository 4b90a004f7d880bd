//! Bulk-erasure throughput of the whole client stack, measured against the vendor simulators.
//!
//! `cargo run --release --example bulk_bench` erases thousands of simulated users through
//! `Arc<dyn Anonymizer>` and prints users per second: Guardhouse at several concurrencies (one
//! request per user), Alfabet at several batch sizes (one request per batch). The simulator
//! shares the machine's cores with the client, so the figures are a floor for the client's own
//! cost, not a prediction of a vendor's speed. The figures live in `docs/benchmarks.md`.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use anonymize_core::{Anonymizer, HttpConfig, RetryPolicy, secrecy};

fn report(what: &str, users: usize, started: Instant, outcomes: &[anonymize_core::UserOutcome]) {
    let elapsed = started.elapsed();
    let done = outcomes.iter().filter(|o| o.outcome.is_done()).count();
    assert_eq!(done, users, "{what}: every user must be anonymized");
    println!(
        "{what:<44} {users:>6} users  {:>8.1} ms  {:>8.0} users/s",
        elapsed.as_secs_f64() * 1e3,
        users as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let users = 2_000;
    for concurrency in [1, 4, 16] {
        let sim = guardhouse_client::testkit::Simulator::start().await;
        let ids: Vec<String> = (0..users)
            .map(|i| {
                sim.add_user(
                    &format!("user{i}@example.com"),
                    "First",
                    "Last",
                    guardhouse_client::UserStatus::Active,
                )
                .to_string()
            })
            .collect();
        let client: Arc<dyn Anonymizer> = Arc::new(
            sim.client_builder()
                .http_config(HttpConfig::default().with_retry(RetryPolicy::never()))
                .concurrency(concurrency)
                .build()
                .expect("a simulator client builds"),
        );
        let started = Instant::now();
        let outcomes = client.anonymize(&ids).await.expect("no batch error");
        report(
            &format!("guardhouse, concurrency {concurrency}"),
            users,
            started,
            &outcomes,
        );
    }

    let users = 10_000;
    for batch_size in [100, 1_000] {
        let sim = alfabet_client::testkit::Simulator::start().await;
        let ids: Vec<String> = (0..users)
            .map(|i| {
                sim.add_user(format!("User {i}"), format!("user{i}@example.com"))
                    .to_string()
            })
            .collect();
        let client: Arc<dyn Anonymizer> = Arc::new(
            sim.client_builder()
                .password(
                    alfabet_client::testkit::USERNAME,
                    secrecy::SecretString::from(alfabet_client::testkit::PASSWORD),
                )
                .batch_size(batch_size)
                .build()
                .expect("a simulator client builds"),
        );
        let started = Instant::now();
        let outcomes = client.anonymize(&ids).await.expect("no batch error");
        report(
            &format!("alfabet, batches of {batch_size}"),
            users,
            started,
            &outcomes,
        );
    }
}
