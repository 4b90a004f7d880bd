//! Runs the 360Learning simulator on loopback until interrupted, seeded with a few users, and
//! prints the environment for the `learning360` example:
//!
//! ```text
//! cargo run -p learning360-client --features testkit --example simulator
//! # in another shell, with the printed variables:
//! cargo run --example learning360 -- <id> jane@example.com nobody@example.com
//! ```
//!
//! The credentials printed are the simulator's own test values, not secrets.
#![allow(clippy::print_stdout)]

use anonymize_core::secrecy::ExposeSecret;
use learning360_client::testkit::{CLIENT_ID, NewUser, Simulator};

#[tokio::main]
async fn main() {
    let sim = Simulator::start().await;
    let jane = sim.add(NewUser::new("jane@example.com").names("Jane", "Doe"));
    let john = sim.add(NewUser::new("john@example.com").external_id("okta-7"));
    let owner = sim.add_owner("owner@example.com");
    println!("export LEARNING360_URL={}", sim.url());
    println!("export LEARNING360_CLIENT_ID={CLIENT_ID}");
    println!(
        "export LEARNING360_CLIENT_SECRET={}",
        sim.client_secret().expose_secret()
    );
    println!("# users: jane@example.com={jane} john@example.com={john} owner (rejected)={owner}");
    println!("# Ctrl-C to stop");
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}
