#![doc = include_str!("../README.md")]
//!
//! (This package only holds the runnable examples; it is not published. The README's code above
//! is compiled and run as a test of this package.)
// The Rust blocks of the README and the guides compile without a warning, as a reader would paste
// them; only a function that a block declares for the reader to call may go unused.
#![doc(test(attr(deny(warnings), allow(dead_code))))]

pub mod cli;

// The guides' and crate READMEs' Rust blocks, compiled (and run, unless `no_run`) by
// `cargo test --workspace --all-features` exactly as a reader sees them. `tests/docs.rs` fails
// when a markdown file with Rust blocks is missing here, or a block hides lines from the reader.
// (README.md is the crate documentation above.)

/// docs/guardhouse.md
#[cfg(doctest)]
#[doc = include_str!("../docs/guardhouse.md")]
pub struct GuardhouseGuide;

/// docs/alfabet.md
#[cfg(doctest)]
#[doc = include_str!("../docs/alfabet.md")]
pub struct AlfabetGuide;

/// docs/learning360.md
#[cfg(doctest)]
#[doc = include_str!("../docs/learning360.md")]
pub struct Learning360Guide;

/// docs/erasure.md
#[cfg(doctest)]
#[doc = include_str!("../docs/erasure.md")]
pub struct ErasureGuide;

/// docs/observability.md
#[cfg(doctest)]
#[doc = include_str!("../docs/observability.md")]
pub struct ObservabilityGuide;

/// docs/360learning-migration.md
#[cfg(doctest)]
#[doc = include_str!("../docs/360learning-migration.md")]
pub struct Learning360MigrationGuide;

/// crates/guardhouse-client/README.md
#[cfg(doctest)]
#[doc = include_str!("../crates/guardhouse-client/README.md")]
pub struct GuardhouseReadme;

/// crates/alfabet-client/README.md
#[cfg(doctest)]
#[doc = include_str!("../crates/alfabet-client/README.md")]
pub struct AlfabetReadme;

/// crates/learning360-client/README.md
#[cfg(doctest)]
#[doc = include_str!("../crates/learning360-client/README.md")]
pub struct Learning360Readme;

/// crates/anonymize-redis/README.md
#[cfg(doctest)]
#[doc = include_str!("../crates/anonymize-redis/README.md")]
pub struct RedisReadme;
