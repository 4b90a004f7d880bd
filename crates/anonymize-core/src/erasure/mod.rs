//! Erase a *person* everywhere: [`Person`], [`Eraser`], [`Plan`], [`Report`], and the
//! [`Receipt`]s that prove it later without naming anyone.
//!
//! The flow is the one a privacy-request engine follows: look the person up at every vendor
//! ([`Eraser::plan`], reads only), then erase what was found ([`Eraser::erase_plan`], or both in
//! one step with [`Eraser::erase`]), and keep one [`Receipt`] per vendor. A receipt names the
//! person by a keyed hash ([`ReceiptKey`]), so that whoever holds the key can answer "did we
//! erase jane@example.com?" and nobody else can. [`ReceiptLog`] keeps them in the receipts file
//! the `anonymize` command reads and writes: append-only, chained by MACs, synced.

mod eraser;
mod log;
mod person;
mod plan;
mod receipt;
mod report;
mod time;

/// Now, as RFC 3339 in UTC to the millisecond.
pub(crate) fn now_rfc3339() -> String {
    time::rfc3339(std::time::SystemTime::now())
}

pub use eraser::{DEFAULT_BATCH_SIZE, DEFAULT_CONCURRENCY, Eraser, Intent, WriteAhead};
pub use log::{
    LogEntry, LogError, LogInfo, RECEIPTS_FORMAT, RECEIPTS_VERSION, ReceiptIndex, ReceiptLog,
    read_log,
};
pub use person::Person;
pub use plan::{Lookup, LookupKind, Plan, VendorPlan};
pub use receipt::{IntentRecord, LIBRARY_VERSION, PersonRef, Receipt, ReceiptKey};
pub use report::{NextStep, Report, VendorReport, VendorStatus};
