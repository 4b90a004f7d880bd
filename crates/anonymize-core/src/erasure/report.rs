//! What an erasure did: [`VendorStatus`] and [`VendorReport`] per vendor, a person's [`Report`].

use std::fmt;
use std::time::Duration;

use crate::erasure::plan::Lookup;
use crate::error::{Error, ErrorRecord};
use crate::outcome::Outcome;

/// Where one person stands at one vendor after an erasure.
///
/// Serialized like an [`Outcome`] (tagged by its [`label`](Self::label)), with one more case:
/// `{"outcome":"not_attempted","error":{…}}`.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use = "a status says whether the person's data is gone: check it"]
pub enum VendorStatus {
    /// The vendor was asked, or the look-up settled it (an unknown address is
    /// [`Outcome::NotFound`]; a missing id is [`Outcome::Invalid`]; a failed look-up
    /// [`Outcome::Failed`]).
    Finished(Outcome),
    /// Nothing was sent for this person: an earlier error stopped all work at this vendor
    /// ([`Error::aborts_batch`]: refused credentials, a missing permission, bad configuration).
    NotAttempted(Error),
}

impl VendorStatus {
    /// Every [`label`](Self::label), in the order reports and summaries show them: the two
    /// done ones first.
    pub const LABELS: [&'static str; 6] = [
        "anonymized",
        "not_found",
        "rejected",
        "invalid",
        "failed",
        "not_attempted",
    ];

    /// The outcome's label, or `not_attempted`.
    pub fn label(&self) -> &'static str {
        match self {
            VendorStatus::Finished(outcome) => outcome.label(),
            VendorStatus::NotAttempted(_) => "not_attempted",
        }
    }

    /// Whether the person's data is known to be gone from the vendor: anonymized, or not there.
    pub fn is_done(&self) -> bool {
        matches!(self, VendorStatus::Finished(o) if o.is_done())
    }

    /// The outcome, when the vendor was asked (or the look-up settled it).
    pub fn outcome(&self) -> Option<&Outcome> {
        match self {
            VendorStatus::Finished(outcome) => Some(outcome),
            VendorStatus::NotAttempted(_) => None,
        }
    }

    /// What it takes to finish the erasure at this vendor; `None` once it is done.
    pub fn next_step(&self) -> Option<NextStep> {
        match self {
            VendorStatus::Finished(Outcome::Anonymized(_) | Outcome::NotFound) => None,
            VendorStatus::Finished(Outcome::Rejected { .. }) => Some(NextStep::FixAtVendor),
            VendorStatus::Finished(Outcome::Invalid { .. }) => Some(NextStep::FixInput),
            // A stopped run (a signal, a record that could not be written) is run again.
            VendorStatus::Finished(Outcome::Failed(e)) | VendorStatus::NotAttempted(e)
                if e.aborts_batch() && e.kind() != "stopped" =>
            {
                Some(NextStep::FixConfiguration)
            }
            VendorStatus::Finished(_) | VendorStatus::NotAttempted(_) => Some(NextStep::RunAgain),
        }
    }
}

impl PartialEq for VendorStatus {
    /// Equal when the cases and their details are; two errors when their records are.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (VendorStatus::Finished(a), VendorStatus::Finished(b)) => a == b,
            (VendorStatus::NotAttempted(a), VendorStatus::NotAttempted(b)) => {
                a.record() == b.record()
            }
            _ => false,
        }
    }
}

impl fmt::Display for VendorStatus {
    /// The outcome's one line (`rejected Cannot anonymize the company owner`), or
    /// `not_attempted` and the error that stopped the vendor.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VendorStatus::Finished(outcome) => outcome.fmt(f),
            VendorStatus::NotAttempted(error) => {
                write!(f, "not_attempted {}", crate::error::chain(error))
            }
        }
    }
}

/// What it takes to finish an erasure at a vendor where it is not done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NextStep {
    /// The request failed (an outage, a timeout): run the erasure again.
    RunAgain,
    /// The vendor refused the credentials or the permission, or the client is misconfigured:
    /// fix that, then run again.
    FixConfiguration,
    /// The vendor refused this user (e.g. the company owner, a user excluded from
    /// anonymization): resolve it at the vendor, then run again.
    FixAtVendor,
    /// The input cannot work (a malformed id, no id for a vendor that needs one): fix the input.
    FixInput,
}

impl NextStep {
    /// A short instruction for an operator.
    pub fn advice(self) -> &'static str {
        match self {
            NextStep::RunAgain => "run again",
            NextStep::FixConfiguration => {
                "fix the vendor's credentials or permissions, then run again"
            }
            NextStep::FixAtVendor => "resolve the refusal at the vendor, then run again",
            NextStep::FixInput => "fix the input, then run again",
        }
    }
}

/// What happened to one person at one vendor.
///
/// `Debug` hides the vendor id (it may be input that was not an id at all).
#[derive(Clone)]
#[non_exhaustive]
pub struct VendorReport {
    /// The vendor's name.
    pub vendor: &'static str,
    /// How the person's id there was found, or why not.
    pub lookup: Lookup,
    /// Where the person stands there now.
    pub status: VendorStatus,
    /// How long this vendor's step took (look-up and erasure; in a bulk run, of the batch the
    /// person was part of).
    pub elapsed: Duration,
}

impl VendorReport {
    /// A report (for a caller's own records or tests; the [`Eraser`](crate::Eraser) makes them).
    pub fn new(
        vendor: &'static str,
        lookup: Lookup,
        status: VendorStatus,
        elapsed: Duration,
    ) -> Self {
        Self {
            vendor,
            lookup,
            status,
            elapsed,
        }
    }

    /// The vendor's id for the person, when one was given or found, unless the vendor refused
    /// it as malformed (then it may be anything, even personal data, and is not repeated).
    pub fn vendor_id(&self) -> Option<&str> {
        match self.status {
            VendorStatus::Finished(Outcome::Invalid { .. }) => None,
            _ => self.lookup.id(),
        }
    }
}

impl serde::Serialize for VendorReport {
    /// `{"vendor":"acme","lookup":"given","status":{"outcome":"anonymized",…},"elapsed_ms":12}`:
    /// the vendor, how the id was found (the case, never the id), the status as an
    /// [`Outcome`] writes it, the time taken. Nothing personal, for a service's logs; a report
    /// cannot be rebuilt from it (no `Deserialize`), as it leaves the id out.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Repr<'a> {
            vendor: &'static str,
            #[serde(flatten)]
            lookup: &'a Lookup,
            status: &'a VendorStatus,
            elapsed_ms: u64,
        }
        Repr {
            vendor: self.vendor,
            lookup: &self.lookup,
            status: &self.status,
            elapsed_ms: u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
        }
        .serialize(s)
    }
}

impl fmt::Debug for VendorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VendorReport")
            .field("vendor", &self.vendor)
            .field("lookup", &self.lookup.kind())
            .field("status", &self.status)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

/// What [`Eraser::erase`](crate::Eraser::erase) did for one person: one [`VendorReport`] per
/// vendor of the eraser, in its order.
///
/// Serializes as `{"vendors":[…]}` (see [`VendorReport`]'s form): nothing personal in it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub(crate) vendors: Vec<VendorReport>,
}

impl Report {
    /// One report per vendor.
    pub fn vendors(&self) -> &[VendorReport] {
        &self.vendors
    }

    /// Whether the person is erased everywhere: at every vendor anonymized, or not there.
    pub fn is_erased_everywhere(&self) -> bool {
        self.vendors.iter().all(|v| v.status.is_done())
    }

    /// The vendors where the erasure is not done, each with what it takes to finish it.
    pub fn unfinished(&self) -> impl Iterator<Item = (&VendorReport, NextStep)> {
        self.vendors
            .iter()
            .filter_map(|v| v.status.next_step().map(|step| (v, step)))
    }
}

/// How a [`VendorStatus`] is written: an [`Outcome`]'s own form, or the one extra case.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum NotAttemptedRepr {
    NotAttempted { error: ErrorRecord },
}

impl serde::Serialize for VendorStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            VendorStatus::Finished(outcome) => outcome.serialize(s),
            VendorStatus::NotAttempted(error) => NotAttemptedRepr::NotAttempted {
                error: error.record(),
            }
            .serialize(s),
        }
    }
}

impl<'de> serde::Deserialize<'de> for VendorStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(d)?;
        if value.get("outcome").and_then(serde_json::Value::as_str) == Some("not_attempted") {
            let NotAttemptedRepr::NotAttempted { error } =
                serde_json::from_value(value).map_err(D::Error::custom)?;
            Ok(VendorStatus::NotAttempted(Error::Recorded(Box::new(error))))
        } else {
            serde_json::from_value(value)
                .map(VendorStatus::Finished)
                .map_err(D::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Point 6 of issue 18: a report serializes (a service logs it as JSON) with nothing
    /// personal in it, even for an address pasted where an id belonged.
    #[test]
    fn a_report_serializes_without_ids_or_addresses() {
        let report = Report {
            vendors: vec![
                VendorReport::new(
                    "acme",
                    Lookup::Given("jane.doe@example.com".into()),
                    VendorStatus::Finished(Outcome::Invalid {
                        reason: "an acme id is a number".into(),
                    }),
                    Duration::from_millis(3),
                ),
                VendorReport::new(
                    "other",
                    Lookup::Resolved("4242".into()),
                    VendorStatus::Finished(Outcome::NotFound),
                    Duration::from_millis(7),
                ),
            ],
        };
        let json = serde_json::to_value(&report).unwrap();
        let text = json.to_string();
        assert!(!text.contains("jane") && !text.contains("4242"), "{text}");
        assert_eq!(
            json["vendors"][1],
            serde_json::json!({
                "vendor": "other", "lookup": "resolved",
                "status": {"outcome": "not_found"}, "elapsed_ms": 7
            })
        );
        assert_eq!(json["vendors"][0]["status"]["outcome"], "invalid");
    }
}
