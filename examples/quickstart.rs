//! Quickstart: erase users at all three vendors, with no account and no setup.
//!
//! Each vendor's simulator (feature `testkit`) starts on loopback with a few users; the same code
//! that would run against the real vendor then anonymizes them through `Arc<dyn Anonymizer>`:
//! existing users, one the vendor refuses, one that does not exist, a malformed id (never sent),
//! and, where the vendor can look people up, an e-mail address.
//!
//! Run it with `cargo run --example quickstart`. Every line is `vendor  input  outcome [details]`.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;
use std::sync::Arc;

use anonymize_core::{Anonymizer, AnonymizerExt, BatchError, Outcome, Subject, UserOutcome};

/// One vendor's run: the client, the ids to erase, and the e-mail addresses to erase.
struct Run {
    vendor: Arc<dyn Anonymizer>,
    ids: Vec<String>,
    emails: Vec<String>,
}

async fn guardhouse() -> (guardhouse_client::testkit::Simulator, Run) {
    use guardhouse_client::UserStatus;
    let sim = guardhouse_client::testkit::Simulator::start().await;
    let ada = sim.add_user("ada@example.com", "Ada", "Lovelace", UserStatus::Active);
    let alan = sim.add_user("alan@example.com", "Alan", "Turing", UserStatus::Invited);
    let _grace = sim.add_user("grace@example.com", "Grace", "Hopper", UserStatus::Active);
    let locked =
        sim.add_unanonymizable_user("kurt@example.com", "Kurt", "Goedel", UserStatus::Active);
    let run = Run {
        vendor: Arc::new(sim.client()),
        ids: vec![
            ada.to_string(),
            alan.to_string(),
            locked.to_string(),
            "999999".to_string(), // well-formed, no such user
            "0".to_string(),      // Guardhouse ids are > 0: refused before sending
        ],
        emails: vec!["Grace@Example.com".to_string()],
    };
    (sim, run)
}

async fn alfabet() -> (alfabet_client::testkit::Simulator, Run) {
    let sim = alfabet_client::testkit::Simulator::start().await;
    let ada = sim.add_user("Ada Lovelace", "ada@example.com");
    let alan = sim.add_user("Alan Turing", "alan@example.com");
    let excluded = sim.add_excluded_user("Kurt Goedel", "kurt@example.com");
    let run = Run {
        vendor: Arc::new(sim.client()),
        ids: vec![
            ada.to_string(),
            alan.to_string(),
            excluded.to_string(),
            "421-999999-0".to_string(), // well-formed REFSTR, no such user
            "421-7".to_string(),        // not a REFSTR: never sent
        ],
        // Alfabet has no documented look-up by e-mail: this shows the clear "unsupported" outcome.
        emails: vec!["ada@example.com".to_string()],
    };
    (sim, run)
}

async fn learning360() -> (learning360_client::testkit::Simulator, Run) {
    let sim = learning360_client::testkit::Simulator::start().await;
    let ada = sim.add_user("ada@example.com");
    let alan = sim.add_user("alan@example.com");
    let _grace = sim.add_user("grace@example.com");
    let owner = sim.add_owner("owner@example.com");
    let run = Run {
        vendor: Arc::new(sim.client()),
        ids: vec![
            ada.to_string(),
            alan.to_string(),
            owner.to_string(), // the company owner cannot be deleted
            "5f0c2a9e8b3d4c1a2b3c4d5e".to_string(), // well-formed ObjectId, no such user
            "not-an-object-id".to_string(), // never sent
        ],
        emails: vec!["GRACE@example.com".to_string()],
    };
    (sim, run)
}

fn print(vendor: &str, input: &str, outcome: &Outcome) {
    println!("{vendor:<12} {input:<26} {outcome}");
}

/// Erase one vendor's users; `false` when the run itself failed.
async fn erase(run: &Run) -> bool {
    let name = run.vendor.vendor();
    let ok = match run.vendor.anonymize(&run.ids).await {
        Ok(outcomes) => {
            outcomes
                .iter()
                .for_each(|o: &UserOutcome| print(name, &o.id, &o.outcome));
            true
        }
        Err(BatchError {
            error,
            completed,
            not_attempted,
            ..
        }) => {
            completed
                .iter()
                .for_each(|o| print(name, &o.id, &o.outcome));
            for id in &not_attempted {
                println!("{name:<12} {id:<26} not attempted");
            }
            eprintln!("{name}: the batch stopped: {error}");
            false
        }
    };
    for email in &run.emails {
        let outcome = match Subject::parse(email) {
            Ok(subject) => run.vendor.anonymize_subject(&subject).await,
            Err(invalid) => Outcome::from_error(invalid),
        };
        print(name, email, &outcome);
    }
    ok
}

#[tokio::main]
async fn main() -> ExitCode {
    println!("Erasing users at three simulated vendors (nothing leaves this machine).\n");
    println!("{:<12} {:<26} outcome", "vendor", "input");
    // The simulators must outlive the runs that talk to them.
    let (_g, guardhouse) = guardhouse().await;
    let (_a, alfabet) = alfabet().await;
    let (_l, learning360) = learning360().await;

    let mut all_ok = true;
    for run in [&guardhouse, &alfabet, &learning360] {
        all_ok &= erase(run).await;
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
