//! What the client logs: the Count mismatch is logged as a warning, with counts only; no ref, no
//! personal data, no secret ever reaches a tracing event.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use alfabet_client::testkit::{PASSWORD, Simulator, TOKEN_PREFIX, USERNAME};
use anonymize_core::testkit::Simulated;
use anonymize_core::{Anonymizer, Outcome};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A minimal subscriber that keeps every event (level, message and fields) as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(Level, String)>>>);

struct Text<'a>(&'a mut String);

impl Visit for Text<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut text = String::new();
        span.record(&mut Text(&mut text));
        self.0
            .lock()
            .unwrap()
            .push((*span.metadata().level(), text));
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut text = String::new();
        values.record(&mut Text(&mut text));
        self.0.lock().unwrap().push((Level::TRACE, text));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut text = String::new();
        event.record(&mut Text(&mut text));
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), text));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn logs_carry_counts_but_no_refs_data_or_secrets() {
    let sim = Simulator::start().await;
    sim.misreport_count(2);
    let jane = sim.add_user("Jane Doe", "jane@example.com");
    let pat = sim.add_excluded_user("Pat Doe", "pat@example.com");
    let client = sim.client();
    sim.faults().fail_next(1, 503, "busy");

    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    let ids = [jane.to_string(), pat.to_string(), "421-999-0".to_string()];
    let out = client.anonymize(&ids).await.unwrap();
    drop(guard);
    match &out[0].outcome {
        Outcome::Anonymized(e) => assert!(e.warnings[0].contains("Count (3)"), "{e:?}"),
        other => panic!("{other:?}"),
    }

    let events = capture.0.lock().unwrap().clone();
    assert!(!events.is_empty());
    let mismatch: Vec<&String> = events
        .iter()
        .filter(|(level, text)| *level == Level::WARN && text.contains("Count disagrees"))
        .map(|(_, text)| text)
        .collect();
    assert_eq!(mismatch.len(), 1, "{events:#?}");
    assert!(
        mismatch[0].contains("reported=3") && mismatch[0].contains("expected=1"),
        "{}",
        mismatch[0]
    );
    for (_, text) in &events {
        for secret in [
            "421-",
            "Jane",
            "jane@",
            "Pat",
            PASSWORD,
            USERNAME,
            TOKEN_PREFIX,
        ] {
            assert!(!text.contains(secret), "{secret:?} logged in {text}");
        }
    }
}
