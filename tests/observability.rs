//! What the clients tell a subscriber and a metrics recorder (docs/observability.md): the counts
//! of a known run, exactly, and a whole erasure over the three simulators, faults included,
//! whose every span and event field holds no address, name or secret.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anonymize_core::secrecy::ExposeSecret;
use anonymize_core::telemetry;
use anonymize_core::testkit::Simulated;
use anonymize_core::{Anonymizer, Email, Eraser, Person};
use futures_util::StreamExt;
use guardhouse_client::UserStatus;
use learning360_client::testkit::NewUser;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

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

/// Every span's and event's fields, as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        let mut text = format!("span {}", attrs.metadata().name());
        attrs.record(&mut Fields(&mut text));
        self.0.lock().unwrap().push(text);
    }

    fn on_record(
        &self,
        _: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: Context<'_, S>,
    ) {
        let mut text = String::from("record");
        values.record(&mut Fields(&mut text));
        self.0.lock().unwrap().push(text);
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut text = format!("event {}", event.metadata().target());
        event.record(&mut Fields(&mut text));
        self.0.lock().unwrap().push(text);
    }
}

#[test]
fn a_whole_run_with_faults_tells_the_subscriber_no_address_name_or_secret() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(capture.clone())
        .with(tracing_subscriber::filter::LevelFilter::TRACE);
    let secrets = tracing::subscriber::with_default(subscriber, || {
        runtime().block_on(async {
            let guardhouse = guardhouse_client::testkit::Simulator::start().await;
            let alfabet = alfabet_client::testkit::Simulator::start().await;
            let learning360 = learning360_client::testkit::Simulator::start().await;
            let mut persons = Vec::new();
            for i in 0..12 {
                let email = format!("quentin.marchbanks{i}@example.com");
                let (first, last) = (format!("Quentin{i}"), format!("Marchbanks{i}"));
                guardhouse.add_user(&email, &first, &last, UserStatus::Active);
                let r = alfabet.add_user(format!("{first} {last}"), &email);
                if i % 3 == 0 {
                    learning360.add(NewUser::new(&email).names(&first, &last));
                }
                persons.push(
                    Person::from_email(Email::parse(&email).unwrap())
                        .with_id("alfabet", r.to_string()),
                );
            }
            // Faults at the vendors: errors whose bodies echo an address, a 429, a 503.
            guardhouse.faults().fail_next(
                2,
                503,
                "{\"error\":\"quentin.marchbanks1@example.com is locked\"}",
            );
            learning360.faults().rate_limit_next(
                1,
                Some(std::time::Duration::from_secs(1)),
                "slow down",
            );
            let vendors: Vec<Arc<dyn Anonymizer>> = vec![
                Arc::new(guardhouse.client()),
                Arc::new(alfabet.client()),
                Arc::new(learning360.client()),
            ];
            let eraser = Eraser::new(vendors).unwrap().with_batch_size(5);
            let persons = persons.clone();
            let reports: Vec<_> = eraser
                .erase_many(move |_| {
                    futures_util::stream::iter(persons.clone().into_iter().map(|p| ((), p)))
                })
                .collect()
                .await;
            assert_eq!(reports.len(), 36);
            vec![
                guardhouse.client_secret().expose_secret().to_owned(),
                learning360.client_secret().expose_secret().to_owned(),
                alfabet_client::testkit::PASSWORD.to_owned(),
            ]
        })
    });
    let seen = capture.0.lock().unwrap();
    let text = seen.join("\n");
    for kind in [
        "span vendor_call",
        "span attempt",
        "span batch",
        "retrying",
        "429",
    ] {
        assert!(text.contains(kind), "no {kind:?} in:\n{text}");
    }
    let mut forbidden = secrets;
    forbidden.extend(
        [
            "@example.com",
            "quentin",
            "Quentin",
            "Marchbanks",
            "marchbanks",
        ]
        .map(String::from),
    );
    for line in seen.iter() {
        for f in &forbidden {
            assert!(!line.contains(f.as_str()), "{f:?} in {line}");
        }
    }
}
