//! Runnable examples for the anonymize SDK family; see `examples/`.
