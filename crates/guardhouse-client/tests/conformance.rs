//! The conformance suite every vendor client passes, against the Guardhouse simulator.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;

use anonymize_core::Anonymizer;
use anonymize_core::conformance::{self, Fixture};
use anonymize_core::testkit::Simulated;
use guardhouse_client::testkit::Simulator;
use guardhouse_client::{GuardhouseClient, UserId, UserStatus};
use secrecy::ExposeSecret;

struct SimFixture {
    sim: Simulator,
    client: GuardhouseClient,
    existing: Vec<UserId>,
    rejected: UserId,
}

impl Fixture for SimFixture {
    fn anonymizer(&self) -> Arc<dyn Anonymizer> {
        Arc::new(self.client.clone())
    }
    fn existing_ids(&self) -> Vec<String> {
        self.existing.iter().map(ToString::to_string).collect()
    }
    fn missing_id(&self) -> String {
        "999999".into()
    }
    fn rejected_id(&self) -> Option<String> {
        Some(self.rejected.to_string())
    }
    fn malformed_ids(&self) -> Vec<String> {
        [
            "0",
            "-7",
            "abc",
            "",
            "1.5",
            "007",
            "99999999999999999999",
            "jane@example.com",
        ]
        .map(String::from)
        .to_vec()
    }
    fn known_email(&self) -> Option<(String, String)> {
        Some((
            "anna.smith@example.com".into(),
            self.existing[0].to_string(),
        ))
    }
    fn simulator(&self) -> Option<&dyn Simulated> {
        Some(&self.sim)
    }
    fn secrets(&self) -> Vec<String> {
        vec![self.sim.client_secret().expose_secret().to_owned()]
    }
}

async fn fixture() -> SimFixture {
    let sim = Simulator::start().await;
    // Partial matches of the known address, so the look-up must pick the exact one.
    sim.add_user(
        "hanna.smith@example.com",
        "Hanna",
        "Smith",
        UserStatus::Active,
    );
    let anna = sim.add_user(
        "anna.smith@example.com",
        "Anna",
        "Smith",
        UserStatus::Active,
    );
    let bob = sim.add_user("bob@example.com", "Bob", "Jones", UserStatus::Invited);
    sim.add_user(
        "anna.smith@example.com.au",
        "Anna",
        "Smith",
        UserStatus::Staged,
    );
    let rejected =
        sim.add_unanonymizable_user("owner@example.com", "Olga", "Owner", UserStatus::Active);
    let client = sim.client_builder().page_size(1).build().unwrap();
    SimFixture {
        sim,
        client,
        existing: vec![anna, bob],
        rejected,
    }
}

#[tokio::test]
async fn conformance_suite_passes() {
    conformance::run_all(fixture).await;
}
