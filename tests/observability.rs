//! What the clients tell a metrics recorder (docs/observability.md): the counts of known runs,
//! exactly. (What they tell a tracing subscriber is tests/tracing.rs: a process of its own, since
//! tracing caches per call site whether anybody listens.)
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;

use anonymize_core::Anonymizer;
use anonymize_core::telemetry;
use anonymize_core::testkit::Simulated;
use guardhouse_client::UserStatus;
use learning360_client::testkit::NewUser;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One snapshot of the recorder (taking it resets the counts): the counters as
/// `name{label=value,…}` → count, and how many values each histogram got, by name.
fn snapshot(recorder: &DebuggingRecorder) -> (BTreeMap<String, u64>, BTreeMap<String, usize>) {
    let mut out = BTreeMap::new();
    let mut histograms = BTreeMap::new();
    for (key, _, _, value) in recorder.snapshotter().snapshot().into_vec() {
        if let DebugValue::Histogram(values) = &value {
            *histograms.entry(key.key().name().to_owned()).or_default() += values.len();
        }
        if let DebugValue::Counter(n) = value {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            out.insert(format!("{}{{{}}}", key.name(), labels.join(",")), n);
        }
    }
    (out, histograms)
}

#[test]
fn a_known_run_is_counted_exactly() {
    let recorder = DebuggingRecorder::new();
    let counted = metrics::with_local_recorder(&recorder, || {
        runtime().block_on(async {
            let sim = guardhouse_client::testkit::Simulator::start().await;
            let first = sim.add_user("ann@example.com", "Ann", "Oakes", UserStatus::Active);
            let second = sim.add_user("bob@example.com", "Bob", "Pike", UserStatus::Active);
            let client = sim.client();
            // One token request, one erasure answered 204.
            client.anonymize(&[first.to_string()]).await.unwrap();
            // Then: the next request is answered 503 once and sent again; one user is not
            // there (404); one id is malformed and never sent.
            sim.faults().fail_next(1, 503, "busy");
            let ids = [second.to_string(), "999999".into(), "0".into()];
            let outcomes = client.anonymize(&ids).await.unwrap();
            let labels: Vec<_> = outcomes.iter().map(|o| o.outcome.label()).collect();
            assert_eq!(labels, ["anonymized", "not_found", "invalid"]);
        });
        snapshot(&recorder).0
    });
    let g = "vendor=guardhouse";
    let expected: BTreeMap<String, u64> = [
        (
            format!(
                "{}{{operation=anonymize user,status=2xx,{g}}}",
                telemetry::REQUESTS
            ),
            2,
        ),
        (
            format!(
                "{}{{operation=anonymize user,status=4xx,{g}}}",
                telemetry::REQUESTS
            ),
            1,
        ),
        (
            format!(
                "{}{{operation=anonymize user,status=5xx,{g}}}",
                telemetry::REQUESTS
            ),
            1,
        ),
        (
            format!(
                "{}{{operation=fetch token,status=2xx,{g}}}",
                telemetry::REQUESTS
            ),
            1,
        ),
        (format!("{}{{reason=5xx,{g}}}", telemetry::RETRIES), 1),
        (format!("{}{{{g}}}", telemetry::TOKEN_REQUESTS), 1),
        (
            format!("{}{{outcome=anonymized,{g}}}", telemetry::OUTCOMES),
            2,
        ),
        (
            format!("{}{{outcome=not_found,{g}}}", telemetry::OUTCOMES),
            1,
        ),
        (format!("{}{{outcome=invalid,{g}}}", telemetry::OUTCOMES), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(counted, expected);
}

#[test]
fn a_429_is_counted_and_the_rate_limit_wait_measured() {
    let recorder = DebuggingRecorder::new();
    let (counted, waits) = metrics::with_local_recorder(&recorder, || {
        runtime().block_on(async {
            let sim = learning360_client::testkit::Simulator::start().await;
            let id = sim.add(NewUser::new("cy@example.com").names("Cy", "Rowe"));
            sim.faults()
                .rate_limit_next(1, Some(std::time::Duration::from_secs(1)), "slow down");
            let outcomes = sim.client().anonymize(&[id.to_string()]).await.unwrap();
            assert_eq!(outcomes[0].outcome.label(), "anonymized");
        });
        let (counters, histograms) = snapshot(&recorder);
        (
            counters,
            histograms
                .get(telemetry::RATE_LIMIT_WAIT)
                .copied()
                .unwrap_or(0),
        )
    });
    let l = "vendor=learning360";
    assert_eq!(counted[&format!("{}{{{l}}}", telemetry::RATE_LIMITED)], 1);
    assert_eq!(
        counted[&format!("{}{{reason=429,{l}}}", telemetry::RETRIES)],
        1
    );
    assert_eq!(
        counted[&format!("{}{{outcome=anonymized,{l}}}", telemetry::OUTCOMES)],
        1
    );
    // Every rate-limited attempt (the token request, the 429, its retry, the second step)
    // waited for the limiter, if only for no time.
    assert!(waits >= 4, "{waits} waits measured");
}
