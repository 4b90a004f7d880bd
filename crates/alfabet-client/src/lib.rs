//! Typed Rust client for Alfabet's RESTful API v2 anonymizeuser (GDPR erasure by REFSTR), with a stateful simulator.
