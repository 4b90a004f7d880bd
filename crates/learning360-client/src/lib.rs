//! Typed Rust client for 360Learning's API v2 (and deprecated v1): pseudonymize users for GDPR erasure, e-mail to id directory, simulator.
