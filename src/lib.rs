#![doc = include_str!("../README.md")]
//!
//! (This package only holds the runnable examples; it is not published. The README's code above
//! is compiled and run as a test of this package.)

pub mod cli;
