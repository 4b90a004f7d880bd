//! What happened to each user of a batch.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, ErrorRecord};

/// What the vendor confirmed when it anonymized a user.
///
/// `Debug` does not print the [`record`](Self::record) (only whether there is one): a vendor's
/// record may still hold fields it does not anonymize. Read the field itself where you need it.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Evidence {
    /// A short summary, free of personal data (e.g. `HTTP 204`, `status Archived`). Shared, not
    /// copied: the users of one batch request all hold the batch's one summary.
    pub summary: Arc<str>,
    /// The record the vendor returned, when it returned one (e.g. the pseudonymized user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<serde_json::Value>,
    /// Anything the caller should look at (e.g. a count that disagrees with the refs sent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Whether, how and when the erasure was checked at the vendor after it answered (asked
    /// for with [`Anonymizer::anonymize_verified`](crate::Anonymizer::anonymize_verified)).
    /// Boxed: most evidence has none, and every user's outcome carries the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<Box<Verification>>,
}

/// How an erasure was checked at the vendor, beyond its success answer: free of personal data
/// (what was checked and what failed, never a value).
///
/// Serialized with `result` as the tag: `{"result":"passed","how":"…","at":"…"}`,
/// `{"result":"failed","how":"…","at":"…","failed":"…"}`, `{"result":"unsupported","why":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verification {
    /// The vendor's record shows the user erased.
    Passed {
        /// What was checked (e.g. `read back: status Archived, names Deleted User, address at
        /// deleted.guardhouse.local`).
        how: String,
        /// When (RFC 3339, UTC).
        at: String,
    },
    /// The vendor answered success, but its record does not show the user erased: the outcome
    /// stays `anonymized` (the vendor said so), with a warning that says what failed. Check it
    /// at the vendor.
    Failed {
        /// What was checked.
        how: String,
        /// When (RFC 3339, UTC).
        at: String,
        /// What did not hold (field names, never values).
        failed: String,
    },
    /// The vendor offers no way to check (e.g. no documented read of a user).
    Unsupported {
        /// Why.
        why: String,
    },
}

impl Verification {
    /// Checked now, and it held.
    pub fn passed(how: impl Into<String>) -> Self {
        Verification::Passed {
            how: how.into(),
            at: crate::erasure::now_rfc3339(),
        }
    }

    /// Checked now, and `failed` did not hold.
    pub fn failed(how: impl Into<String>, failed: impl Into<String>) -> Self {
        Verification::Failed {
            how: how.into(),
            at: crate::erasure::now_rfc3339(),
            failed: failed.into(),
        }
    }

    /// The vendor cannot be checked, for `why`.
    pub fn unsupported(why: impl Into<String>) -> Self {
        Verification::Unsupported { why: why.into() }
    }

    /// The label: `passed`, `failed` or `unsupported`.
    pub fn label(&self) -> &'static str {
        match self {
            Verification::Passed { .. } => "passed",
            Verification::Failed { .. } => "failed",
            Verification::Unsupported { .. } => "unsupported",
        }
    }
}

impl fmt::Debug for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evidence")
            .field("summary", &self.summary)
            .field("record", &self.record.as_ref().map(|_| "<not shown>"))
            .field("warnings", &self.warnings)
            .field("verified", &self.verified)
            .finish()
    }
}

impl Evidence {
    /// Evidence with a summary only.
    pub fn new(summary: impl Into<Arc<str>>) -> Self {
        Self {
            summary: summary.into(),
            record: None,
            warnings: Vec::new(),
            verified: None,
        }
    }

    /// Attach the record the vendor returned.
    pub fn with_record(mut self, record: serde_json::Value) -> Self {
        self.record = Some(record);
        self
    }

    /// Attach a warning.
    pub fn with_warning(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(warning.into());
        self
    }

    /// Attach how the erasure was checked at the vendor. A failed check also becomes a warning
    /// (what failed), so that it is never silently accepted by whoever reads only the warnings.
    pub fn with_verification(mut self, verification: Verification) -> Self {
        if let Verification::Failed { failed, .. } = &verification {
            self.warnings
                .push(format!("verification at the vendor failed: {failed}"));
        }
        self.verified = Some(Box::new(verification));
        self
    }
}

/// The outcome for one user.
///
/// Serialized (serde) with its label as the tag, e.g. `{"outcome":"rejected","message":"…"}`, and
/// a failure's error as its [`ErrorRecord`] (`{"outcome":"failed","error":{…}}`), which reads back
/// as [`Error::Recorded`]. Two outcomes are equal when their labels and details are; two failures
/// when their error records are.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "OutcomeRepr", from = "OutcomeRepr")]
#[non_exhaustive]
#[must_use = "an outcome says whether the user's data is gone: check it"]
pub enum Outcome {
    /// The vendor anonymized the user.
    Anonymized(Evidence),
    /// The vendor has no such user (it may have been erased already).
    NotFound,
    /// The vendor refused to anonymize this user, with its message (e.g. the company owner, a user
    /// excluded from anonymization).
    Rejected {
        /// The vendor's message (an excerpt).
        message: String,
    },
    /// The id is malformed for this vendor; nothing was sent for it.
    Invalid {
        /// Why the id was refused (never the id itself).
        reason: String,
    },
    /// The request for this user failed (after retries); the user may or may not be anonymized.
    Failed(Error),
}

impl Outcome {
    /// A stable machine-readable label: `anonymized`, `not_found`, `rejected`, `invalid`, `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Anonymized(_) => "anonymized",
            Outcome::NotFound => "not_found",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Invalid { .. } => "invalid",
            Outcome::Failed(_) => "failed",
        }
    }

    /// Whether the user's data is known to be gone from the vendor (anonymized, or not there).
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Anonymized(_) | Outcome::NotFound)
    }

    /// The outcome of a per-user call that failed with `error`: a 404 is [`Outcome::NotFound`], a
    /// rejection is [`Outcome::Rejected`] with the vendor's message, invalid input is
    /// [`Outcome::Invalid`], anything else [`Outcome::Failed`].
    pub fn from_error(error: Error) -> Self {
        match error {
            Error::NotFound(_) => Outcome::NotFound,
            Error::Rejected(reply) => Outcome::Rejected {
                message: match (reply.code(), reply.message()) {
                    (Some(code), Some(message)) if code != message => {
                        format!("{code}: {message}")
                    }
                    (_, Some(text)) | (Some(text), None) => text.to_owned(),
                    (None, None) => "refused by the vendor".to_owned(),
                },
            },
            Error::InvalidInput { reason } => Outcome::Invalid { reason },
            // Asking again will never help: the input must change (e.g. an id instead of an
            // e-mail address for a vendor without a look-up). Nothing was sent.
            Error::Unsupported { vendor, operation } => Outcome::Invalid {
                reason: format!(
                    "{vendor} does not support {operation}: give the user's {vendor} id instead"
                ),
            },
            other => Outcome::Failed(other),
        }
    }
}

/// How an [`Outcome`] is written and read.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum OutcomeRepr {
    Anonymized { evidence: Evidence },
    NotFound,
    Rejected { message: String },
    Invalid { reason: String },
    Failed { error: ErrorRecord },
}

impl From<Outcome> for OutcomeRepr {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Anonymized(evidence) => OutcomeRepr::Anonymized { evidence },
            Outcome::NotFound => OutcomeRepr::NotFound,
            Outcome::Rejected { message } => OutcomeRepr::Rejected { message },
            Outcome::Invalid { reason } => OutcomeRepr::Invalid { reason },
            Outcome::Failed(error) => OutcomeRepr::Failed {
                error: error.record(),
            },
        }
    }
}

impl From<OutcomeRepr> for Outcome {
    fn from(repr: OutcomeRepr) -> Self {
        match repr {
            OutcomeRepr::Anonymized { evidence } => Outcome::Anonymized(evidence),
            OutcomeRepr::NotFound => Outcome::NotFound,
            OutcomeRepr::Rejected { message } => Outcome::Rejected { message },
            OutcomeRepr::Invalid { reason } => Outcome::Invalid { reason },
            OutcomeRepr::Failed { error } => Outcome::Failed(Error::Recorded(Box::new(error))),
        }
    }
}

impl PartialEq for Outcome {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Outcome::Anonymized(a), Outcome::Anonymized(b)) => a == b,
            (Outcome::NotFound, Outcome::NotFound) => true,
            (Outcome::Rejected { message: a }, Outcome::Rejected { message: b }) => a == b,
            (Outcome::Invalid { reason: a }, Outcome::Invalid { reason: b }) => a == b,
            (Outcome::Failed(a), Outcome::Failed(b)) => a.record() == b.record(),
            _ => false,
        }
    }
}

impl fmt::Display for Outcome {
    /// The label, then the details: `rejected Cannot anonymize the company owner`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())?;
        match self {
            Outcome::Anonymized(evidence) => {
                write!(f, " {}", evidence.summary)?;
                match evidence.verified.as_deref() {
                    Some(Verification::Passed { .. }) => f.write_str("; verified at the vendor")?,
                    Some(Verification::Unsupported { .. }) => {
                        f.write_str("; cannot be verified at the vendor")?;
                    }
                    // Its warning says what failed.
                    Some(Verification::Failed { .. }) | None => {}
                }
                for w in &evidence.warnings {
                    write!(f, "; warning: {w}")?;
                }
                Ok(())
            }
            Outcome::NotFound => Ok(()),
            Outcome::Rejected { message } => write!(f, " {message}"),
            Outcome::Invalid { reason } => write!(f, " {reason}"),
            // The whole cause, each part once (each error level's Display says only its own part).
            Outcome::Failed(error) => write!(f, " {}", crate::error::chain(error)),
        }
    }
}

/// One user's outcome, with the id it was asked for. Serialized flat:
/// `{"id":"101","outcome":"anonymized","evidence":{"summary":"HTTP 204"}}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct UserOutcome {
    /// The id as the caller gave it.
    pub id: String,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl UserOutcome {
    /// Pair an id with its outcome.
    pub fn new(id: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            id: id.into(),
            outcome,
        }
    }
}

/// A batch stopped early because an error means no further request can succeed (refused
/// credentials, missing permission). Nothing is hidden: the users that have an outcome are in
/// `completed`, the ones never attempted in `not_attempted`; together they are every distinct id.
///
/// `Display` says only this level's part (`batch stopped after 3 of 5 users`); the cause is the
/// [`source`](std::error::Error::source), `error`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("batch stopped after {} of {} users", completed.len(), completed.len() + not_attempted.len())]
#[non_exhaustive]
pub struct BatchError {
    /// Why the batch stopped.
    #[source]
    pub error: Error,
    /// The users that got an outcome before it stopped, in input order.
    pub completed: Vec<UserOutcome>,
    /// The users never attempted, in input order.
    pub not_attempted: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::VendorReply;
    use reqwest::StatusCode;

    #[test]
    fn evidence_debug_does_not_print_the_record() {
        let e = Evidence::new("ok").with_record(serde_json::json!({"phone": "+33 6 12 34 56 78"}));
        let shown = format!("{e:?}");
        assert!(!shown.contains("+33"), "{shown}");
        assert!(shown.contains("<not shown>"));
    }

    #[test]
    fn errors_become_outcomes() {
        let r = |s: u16, m: Option<&str>| {
            Error::from_reply(
                VendorReply::new(
                    "v",
                    "op",
                    StatusCode::from_u16(s).unwrap(),
                    Some("code".into()),
                    m.map(Into::into),
                ),
                None,
            )
        };
        assert_eq!(Outcome::from_error(r(404, None)).label(), "not_found");
        match Outcome::from_error(r(400, Some("Failed to anonymize user data."))) {
            // The vendor's code and its message: a receipt keeps the code (an identifier).
            Outcome::Rejected { message } => {
                assert_eq!(message, "code: Failed to anonymize user data.")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(Outcome::from_error(r(503, None)).label(), "failed");
        assert_eq!(
            Outcome::from_error(Error::invalid_input("bad")).label(),
            "invalid"
        );
        // A vendor without a look-up by e-mail: asking again never helps (issue 8, defect 7).
        match Outcome::from_error(Error::Unsupported {
            vendor: "acme",
            operation: "looking up a user by e-mail",
        }) {
            Outcome::Invalid { reason } => assert_eq!(
                reason,
                "acme does not support looking up a user by e-mail: give the user's acme id instead"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn outcomes_serialize_and_read_back() {
        let failed = Error::from_reply(
            VendorReply::new("v", "op", StatusCode::SERVICE_UNAVAILABLE, None, None),
            None,
        );
        let outcomes = [
            UserOutcome::new(
                "1",
                Outcome::Anonymized(Evidence::new("HTTP 204").with_warning("check me")),
            ),
            UserOutcome::new("2", Outcome::NotFound),
            UserOutcome::new(
                "3",
                Outcome::Rejected {
                    message: "the owner".into(),
                },
            ),
            UserOutcome::new(
                "4",
                Outcome::Invalid {
                    reason: "empty".into(),
                },
            ),
            UserOutcome::new("5", Outcome::Failed(failed)),
        ];
        for o in &outcomes {
            let json = serde_json::to_string(o).unwrap();
            let back: UserOutcome = serde_json::from_str(&json).unwrap();
            assert_eq!(&back, o, "{json}");
            assert_eq!(back.outcome.label(), o.outcome.label());
            assert_eq!(back.outcome.to_string(), o.outcome.to_string());
        }
        assert_eq!(
            serde_json::to_value(&outcomes[0]).unwrap(),
            serde_json::json!({
                "id": "1", "outcome": "anonymized",
                "evidence": {"summary": "HTTP 204", "warnings": ["check me"]}
            })
        );
        assert_eq!(
            serde_json::to_value(&outcomes[2]).unwrap(),
            serde_json::json!({"id": "3", "outcome": "rejected", "message": "the owner"})
        );
        let failed = serde_json::to_value(&outcomes[4]).unwrap();
        assert_eq!(failed["outcome"], "failed");
        assert_eq!(failed["error"]["kind"], "server");
        assert_eq!(failed["error"]["retryable"], true);
        assert_ne!(
            Outcome::NotFound,
            Outcome::Failed(Error::invalid_input("x"))
        );
    }

    #[test]
    fn error_chains_say_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let transport = Error::Transport {
            vendor: "v",
            operation: "op",
            source: std::sync::Arc::new(io),
            tries: None,
        };
        let batch = BatchError {
            error: transport.clone(),
            completed: Vec::new(),
            not_attempted: vec!["1".into()],
        };
        // Walk the chain as anyhow's `{:#}` or eyre do: no level repeats another's text.
        let mut levels = Vec::new();
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(&batch);
        while let Some(e) = next {
            levels.push(e.to_string());
            next = e.source();
        }
        assert_eq!(
            levels,
            [
                "batch stopped after 0 of 1 users",
                "v op: transport error",
                "connection refused"
            ]
        );
        for (i, a) in levels.iter().enumerate() {
            for b in &levels[i + 1..] {
                assert!(!a.contains(b.as_str()), "{a:?} repeats {b:?}");
            }
        }
        // A one-line outcome still says the whole cause, once.
        assert_eq!(
            Outcome::Failed(transport).to_string(),
            "failed v op: transport error: connection refused"
        );
    }
}
