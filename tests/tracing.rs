//! What the clients tell a tracing subscriber (docs/observability.md): a whole erasure over the
//! three simulators, faults included, whose every span and event field holds no address, name or
//! secret. Alone in its test binary: tracing caches per call site whether anybody listens, and a
//! test running beside it without a subscriber could settle that first.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::{Arc, Mutex};

use anonymize_core::secrecy::ExposeSecret;
use anonymize_core::testkit::Simulated;
use anonymize_core::{Anonymizer, Email, Eraser, Person};
use futures_util::StreamExt;
use guardhouse_client::UserStatus;
use learning360_client::testkit::NewUser;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

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
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
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
                let key = anonymize_core::ReceiptKey::new(&[7, 1].repeat(16)).unwrap();
                let eraser = Eraser::new(vendors)
                    .unwrap()
                    .with_batch_size(5)
                    .unwrap()
                    .with_receipt_key(key);
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
    // Each person's result names them by a prefix of their receipt name: 16 hex digits.
    let named = seen
        .iter()
        .filter(|l| l.contains("message=person") && l.contains(" person="))
        .count();
    assert_eq!(named, 36, "{text}");
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
