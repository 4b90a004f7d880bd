//! What [`AlfabetClient::anonymize_users`](crate::AlfabetClient::anonymize_users) reports.

use std::fmt;

use anonymize_core::{BatchError, Error, Outcome, UserOutcome};

use crate::model::{AnonymizeAnswer, RejectedObject};
use crate::refstr::RefStr;

/// The result of anonymizing a list of refs: one outcome per distinct ref, in input order, and
/// what each request (batch) answered.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AnonymizeReport {
    /// One outcome per distinct ref, in order of first appearance.
    pub outcomes: Vec<RefOutcome>,
    /// One entry per request sent, in order.
    pub batches: Vec<BatchReport>,
}

impl AnonymizeReport {
    /// The outcome for `ref_str`, when it was part of the call.
    pub fn outcome(&self, ref_str: &RefStr) -> Option<&Outcome> {
        self.outcomes
            .iter()
            .find(|o| o.ref_str == *ref_str)
            .map(|o| &o.outcome)
    }

    /// Whether any batch's answer looked wrong: a `Count` that disagrees with the refs sent minus
    /// the refs rejected, a rejection of a ref that was not sent, an unreadable part. Details in
    /// each [`BatchReport::warnings`].
    pub fn has_warnings(&self) -> bool {
        self.batches.iter().any(|b| !b.warnings.is_empty())
    }

    /// The outcomes as the [`Anonymizer`](anonymize_core::Anonymizer) trait reports them.
    pub fn into_user_outcomes(self) -> Vec<UserOutcome> {
        self.outcomes
            .into_iter()
            .map(|o| UserOutcome::new(o.ref_str.to_string(), o.outcome))
            .collect()
    }
}

/// One ref's outcome.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RefOutcome {
    /// The ref.
    pub ref_str: RefStr,
    /// What happened to it.
    pub outcome: Outcome,
}

/// One `PUT api/v2/anonymizeuser` request and its answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchReport {
    /// The batch's number, from 1.
    pub number: usize,
    /// The refs sent in this request.
    pub refs: Vec<RefStr>,
    /// The vendor's answer, when the request succeeded.
    pub answer: Option<AnonymizeAnswer>,
    /// Why the request failed (after retries), when it did; every ref of the batch is then
    /// [`Outcome::Failed`].
    pub error: Option<Error>,
    /// The vendor's `Count` disagrees with the refs sent minus the refs it rejected.
    pub count_mismatch: Option<CountMismatch>,
    /// Rejections that name no ref of this batch (a ref that was not sent, or none at all): kept
    /// here, never turned into an outcome.
    pub unmatched_rejections: Vec<RejectedObject>,
    /// Everything odd about the answer, in words (counts only, no refs). The same warnings are
    /// attached to the evidence of every ref anonymized by this batch.
    pub warnings: Vec<String>,
}

/// The vendor's `Count` and the number it should have been.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CountMismatch {
    /// The `Count` the vendor answered.
    pub reported: u64,
    /// The refs sent minus the refs the vendor rejected.
    pub expected: u64,
}

impl fmt::Display for CountMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the vendor's Count ({}) disagrees with the refs sent minus the refs rejected ({})",
            self.reported, self.expected
        )
    }
}

/// [`anonymize_users`](crate::AlfabetClient::anonymize_users) stopped early: an error means no
/// further request can succeed (refused credentials, missing permission, a base URL that is not
/// an Alfabet API server). Nothing is hidden: the batches already done are in
/// [`completed`](Self::completed) (the failing batch's refs are [`Outcome::Failed`] there), the
/// refs never sent are in [`not_attempted`](Self::not_attempted).
#[derive(Clone)]
pub struct AnonymizeStopped(Box<Stopped>);

#[derive(Clone)]
struct Stopped {
    error: Error,
    completed: AnonymizeReport,
    not_attempted: Vec<RefStr>,
}

impl AnonymizeStopped {
    pub(crate) fn new(
        error: Error,
        completed: AnonymizeReport,
        not_attempted: Vec<RefStr>,
    ) -> Self {
        Self(Box::new(Stopped {
            error,
            completed,
            not_attempted,
        }))
    }

    /// Why it stopped.
    pub fn error(&self) -> &Error {
        &self.0.error
    }

    /// The refs that have an outcome, and the batches sent.
    pub fn completed(&self) -> &AnonymizeReport {
        &self.0.completed
    }

    /// The refs never sent, in input order.
    pub fn not_attempted(&self) -> &[RefStr] {
        &self.0.not_attempted
    }

    /// The error, the partial report and the refs never sent.
    pub fn into_parts(self) -> (Error, AnonymizeReport, Vec<RefStr>) {
        let s = *self.0;
        (s.error, s.completed, s.not_attempted)
    }
}

impl fmt::Debug for AnonymizeStopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnonymizeStopped")
            .field("error", &self.0.error)
            .field("completed", &self.0.completed)
            .field("not_attempted", &self.0.not_attempted)
            .finish()
    }
}

impl fmt::Display for AnonymizeStopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let done = self.0.completed.outcomes.len();
        write!(
            f,
            "anonymization stopped after {done} of {} refs: {}",
            done + self.0.not_attempted.len(),
            self.0.error
        )
    }
}

impl std::error::Error for AnonymizeStopped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0.error)
    }
}

impl From<AnonymizeStopped> for BatchError {
    fn from(stopped: AnonymizeStopped) -> Self {
        let (error, completed, not_attempted) = stopped.into_parts();
        BatchError {
            error,
            completed: completed.into_user_outcomes(),
            not_attempted: not_attempted.iter().map(ToString::to_string).collect(),
        }
    }
}
