//! Typed Rust client for Guardhouse's System API: anonymize a user's personal data by id (GDPR erasure), with a stateful simulator.
