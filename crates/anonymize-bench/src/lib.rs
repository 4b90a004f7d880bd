//! The SDK's cost, measured side by side with plain reqwest: see `examples/bench` and
//! docs/benchmarks.md. This package has no library; it exists so that the bench is built with
//! exactly the features a service depending on the vendor crates gets (no test-only features
//! unified into it from the workspace's examples package).
//!
//! ```text
//! cargo run --release -p anonymize-bench --example bench
//! ```
