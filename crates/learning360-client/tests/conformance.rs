//! The conformance suite every vendor client passes, against the 360Learning simulator: once
//! resolving e-mails with `mail[eq]` queries, once through a `Directory`.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use anonymize_core::Anonymizer;
use anonymize_core::conformance::{Fixture, run_all};
use anonymize_core::secrecy::ExposeSecret;
use anonymize_core::testkit::Simulated;
use learning360_client::testkit::{NewUser, Simulator};
use learning360_client::{Directory, Learning360Client, UserId};

struct Sim {
    sim: Simulator,
    client: Learning360Client,
    existing: Vec<UserId>,
    owner: UserId,
}

impl Fixture for Sim {
    fn anonymizer(&self) -> Arc<dyn Anonymizer> {
        Arc::new(self.client.clone())
    }
    fn existing_ids(&self) -> Vec<String> {
        self.existing.iter().map(UserId::to_string).collect()
    }
    fn missing_id(&self) -> String {
        "ffffffffffffffffffffffff".into()
    }
    fn rejected_id(&self) -> Option<String> {
        Some(self.owner.to_string())
    }
    fn malformed_ids(&self) -> Vec<String> {
        vec![
            "not-an-id".into(),
            "507f1f77bcf86cd79943901".into(),
            "jane@example.com".into(),
            String::new(),
        ]
    }
    fn known_email(&self) -> Option<(String, String)> {
        Some(("known@example.com".into(), self.existing[2].to_string()))
    }
    fn simulator(&self) -> Option<&dyn Simulated> {
        Some(&self.sim)
    }
    fn secrets(&self) -> Vec<String> {
        vec![self.sim.client_secret().expose_secret().to_owned()]
    }
}

async fn fixture(with_directory: bool) -> Sim {
    let sim = Simulator::start().await;
    let existing = vec![
        sim.add(NewUser::new("a@example.com").external_id("hris-1")),
        sim.add_user("b@example.com"),
        sim.add_user("Known@Example.com"),
    ];
    let owner = sim.add_owner("owner@example.com");
    let mut builder = sim.client_builder();
    if with_directory {
        builder = builder.directory(Directory::default());
    }
    let client = builder.build().unwrap();
    Sim {
        sim,
        client,
        existing,
        owner,
    }
}

#[tokio::test]
async fn conformance_with_mail_eq_lookups() {
    run_all(|| fixture(false)).await;
}

#[tokio::test]
async fn conformance_with_a_directory() {
    run_all(|| fixture(true)).await;
}
