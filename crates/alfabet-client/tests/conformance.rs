//! The anonymize-core conformance suite, run against the Alfabet simulator.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use alfabet_client::AlfabetClient;
use alfabet_client::testkit::{PASSWORD, Simulator, USERNAME};
use anonymize_core::Anonymizer;
use anonymize_core::conformance::{Fixture, run_all};
use anonymize_core::testkit::Simulated;

struct AlfabetFixture {
    sim: Simulator,
    client: AlfabetClient,
    existing: Vec<String>,
    rejected: String,
}

impl Fixture for AlfabetFixture {
    fn anonymizer(&self) -> Arc<dyn Anonymizer> {
        Arc::new(self.client.clone())
    }
    fn existing_ids(&self) -> Vec<String> {
        self.existing.clone()
    }
    fn missing_id(&self) -> String {
        "421-999999-0".into()
    }
    fn rejected_id(&self) -> Option<String> {
        Some(self.rejected.clone())
    }
    fn malformed_ids(&self) -> Vec<String> {
        [
            "",
            "421-5",
            "421-5-1",
            " 421-5-0",
            "+421-5-0",
            "421-05-0",
            "jane@example.com",
            "421-5-0-0",
        ]
        .map(String::from)
        .to_vec()
    }
    fn known_email(&self) -> Option<(String, String)> {
        None
    }
    fn simulator(&self) -> Option<&dyn Simulated> {
        Some(&self.sim)
    }
    fn secrets(&self) -> Vec<String> {
        vec![PASSWORD.to_owned(), USERNAME.to_owned()]
    }
}

#[tokio::test]
async fn alfabet_conforms() {
    run_all(|| async {
        let sim = Simulator::start().await;
        let existing = vec![
            sim.add_user("Jane Doe", "jane@example.com").to_string(),
            sim.add_user("John Roe", "john@example.com").to_string(),
        ];
        let rejected = sim
            .add_excluded_user("Pat Excluded", "pat@example.com")
            .to_string();
        let client = sim.client();
        AlfabetFixture {
            sim,
            client,
            existing,
            rejected,
        }
    })
    .await;
}
