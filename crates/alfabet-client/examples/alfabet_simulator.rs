//! Run the Alfabet simulator on loopback, to try the `alfabet` example (or any client) by hand.
//!
//! ```text
//! cargo run -p alfabet-client --features testkit --example alfabet_simulator
//! ```
//!
//! It prints the environment to give the `alfabet` example and the seeded REFSTRs, then serves
//! until Enter is pressed (or stdin closes).
#![allow(clippy::print_stdout)]

use alfabet_client::testkit::{PASSWORD, Simulator, USERNAME};
use anonymize_core::testkit::Simulated;

#[tokio::main]
async fn main() {
    let sim = Simulator::start().await;
    let users = [
        sim.add_user("Jane Doe", "jane@example.com"),
        sim.add_user("John Roe", "john@example.com"),
    ];
    let excluded = sim.add_excluded_user("Pat Excluded", "pat@example.com");
    println!("export ALFABET_URL={}", sim.url());
    println!("export ALFABET_USERNAME={USERNAME}");
    println!("export ALFABET_PASSWORD={PASSWORD}");
    println!("# users: {} {}", users[0], users[1]);
    println!("# excluded from anonymization: {excluded}");
    println!("# unknown: 421-999-0");
    println!("# press Enter to stop");
    let mut line = String::new();
    // The simulator serves from its own thread; blocking here is fine.
    let _ = std::io::stdin().read_line(&mut line);
    println!("# {} request(s) received", sim.requests_received());
}
