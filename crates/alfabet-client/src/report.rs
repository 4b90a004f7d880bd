//! What one `anonymizeuser` request comes to: one [`Outcome`] per ref sent, and the batch's
//! facts ([`BatchReport`]).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use anonymize_core::vendor::{EXCERPT_CHARS, excerpt};
use anonymize_core::{Evidence, Outcome};

use crate::VENDOR;
use crate::id::RefStr;
use crate::model::{AnonymizeAnswer, RejectedObject};

/// Where a request stands in a run: batch `number` of `of` (both from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) number: usize,
    pub(crate) of: usize,
}

/// One `PUT api/v2/anonymizeuser` request and what its answer says, ref by ref.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchReport {
    /// The batch's number in its run, from 1 (1 for a single
    /// [`anonymize_batch`](crate::AlfabetClient::anonymize_batch)).
    pub number: usize,
    /// The refs sent, in order.
    pub refs: Vec<RefStr>,
    /// One outcome per ref sent, in the same order: `Cannot find instance` is
    /// [`Outcome::NotFound`], any other rejection [`Outcome::Rejected`] with the vendor's message,
    /// a ref not rejected [`Outcome::Anonymized`].
    pub outcomes: Vec<Outcome>,
    /// The vendor's answer, as read (unknown fields in [`AnonymizeAnswer::extra`]).
    pub answer: AnonymizeAnswer,
    /// The vendor's `Count` disagrees with the refs sent minus the refs it rejected.
    pub count_mismatch: Option<CountMismatch>,
    /// Rejections that name no ref of this batch (a ref that was not sent, or none at all): kept
    /// here, never turned into an outcome.
    pub unmatched_rejections: Vec<RejectedObject>,
    /// Everything odd about the answer, in words (counts only, no refs). The same warnings are
    /// attached to the evidence of every ref anonymized by this batch.
    pub warnings: Vec<String>,
}

impl BatchReport {
    /// The outcome for `ref_str`, when it was sent in this batch.
    pub fn outcome(&self, ref_str: &RefStr) -> Option<&Outcome> {
        let index = self.refs.iter().position(|r| r == ref_str)?;
        self.outcomes.get(index)
    }
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

/// Turn one batch's answer into one outcome per ref sent, and the batch's facts. The refs are
/// distinct (the client never sends a ref twice in one request).
pub(crate) fn judge(position: Position, refs: Vec<RefStr>, answer: AnonymizeAnswer) -> BatchReport {
    let Position { number, of } = position;
    // The set of refs sent is needed only to match rejections: none is the common case.
    let sent: HashSet<RefStr> = if answer.rejected_objects.is_empty() {
        HashSet::new()
    } else {
        refs.iter().copied().collect()
    };
    let mut rejected: HashMap<RefStr, &RejectedObject> = HashMap::new();
    let mut unmatched = Vec::new();
    let mut repeated = 0usize;
    for entry in &answer.rejected_objects {
        match entry.parsed_ref().filter(|r| sent.contains(r)) {
            // With a repeated entry, the first message is kept.
            Some(r) => match rejected.entry(r) {
                Entry::Occupied(_) => repeated += 1,
                Entry::Vacant(slot) => {
                    slot.insert(entry);
                }
            },
            None => unmatched.push(entry.clone()),
        }
    }

    let expected = (refs.len() - rejected.len()) as u64;
    let count_mismatch = answer
        .count
        .filter(|reported| *reported != expected)
        .map(|reported| CountMismatch { reported, expected });

    let mut warnings = Vec::new();
    if let Some(m) = count_mismatch {
        tracing::warn!(
            vendor = VENDOR,
            batch = number,
            reported = m.reported,
            expected = m.expected,
            sent = refs.len(),
            rejected = rejected.len(),
            "anonymizeuser Count disagrees with the refs sent minus the refs rejected"
        );
        warnings.push(m.to_string());
    }
    let unnamed = unmatched
        .iter()
        .filter(|e| e.parsed_ref().is_none())
        .count();
    let foreign = unmatched.len() - unnamed;
    if foreign > 0 {
        tracing::warn!(
            vendor = VENDOR,
            batch = number,
            count = foreign,
            "anonymizeuser rejected refs that were not sent"
        );
        warnings.push(format!(
            "the vendor rejected {foreign} ref(s) that were not sent in this batch"
        ));
    }
    if unnamed > 0 {
        tracing::warn!(
            vendor = VENDOR,
            batch = number,
            count = unnamed,
            "anonymizeuser rejections without a readable RefStr"
        );
        warnings.push(format!(
            "the vendor sent {unnamed} rejection(s) without a readable RefStr"
        ));
    }
    if repeated > 0 {
        warnings.push(format!(
            "the vendor rejected {repeated} ref(s) more than once; the first message is kept"
        ));
    }
    for part in &answer.unreadable {
        tracing::warn!(
            vendor = VENDOR,
            batch = number,
            "anonymizeuser answer: {part}"
        );
        warnings.push(part.clone());
    }

    // The batch's facts, shared by every ref it anonymized (one string per batch, not per ref);
    // the whole answer is the batch's (`anonymize_batch`), never copied into each ref.
    let summary: Arc<str> = format!(
        "anonymizeuser batch {number} of {of}: {} sent, {} rejected, Count {}",
        refs.len(),
        rejected.len(),
        answer
            .count
            .map_or_else(|| "missing".to_owned(), |c| c.to_string())
    )
    .into();
    let anonymized = || {
        let mut evidence = Evidence::new(Arc::clone(&summary));
        evidence.warnings.clone_from(&warnings);
        Outcome::Anonymized(evidence)
    };
    let outcomes = if rejected.is_empty() {
        // The common case: no look-up per ref.
        refs.iter().map(|_| anonymized()).collect()
    } else {
        refs.iter()
            .map(|r| match rejected.get(r) {
                Some(entry) if entry.is_not_found() => Outcome::NotFound,
                Some(entry) => Outcome::Rejected {
                    message: entry
                        .message
                        .as_deref()
                        .map(|m| excerpt(m, EXCERPT_CHARS))
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| "rejected by Alfabet without a message".to_owned()),
                },
                None => anonymized(),
            })
            .collect()
    };
    BatchReport {
        number,
        refs,
        outcomes,
        count_mismatch,
        unmatched_rejections: unmatched,
        warnings,
        answer,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn refs(objects: &[u64]) -> Vec<RefStr> {
        objects.iter().map(|o| RefStr::new(421, *o)).collect()
    }

    fn answer(v: serde_json::Value) -> AnonymizeAnswer {
        AnonymizeAnswer::from_body(v.to_string().as_bytes()).unwrap()
    }

    fn at(number: usize, of: usize) -> Position {
        Position { number, of }
    }

    #[test]
    fn judge_maps_rejections_and_counts() {
        let a = answer(json!({"Count": 2, "RejectedObjects": [
            {"RefStr": "421-999-0", "Message": "Cannot find instance"},
            {"RefStr": "421-12-0", "Message": "User is excluded from anonymization"},
            {"RefStr": "421-12-0", "Message": "second message"},
            {"RefStr": "421-7-0", "Message": "Cannot find instance"},
        ]}));
        let batch = judge(at(1, 1), refs(&[5, 9, 12, 999]), a);
        let labels: Vec<_> = batch.outcomes.iter().map(|o| o.label()).collect();
        assert_eq!(
            labels,
            ["anonymized", "anonymized", "rejected", "not_found"]
        );
        match batch.outcome(&RefStr::new(421, 12)).unwrap() {
            Outcome::Rejected { message } => {
                assert_eq!(message, "User is excluded from anonymization")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(batch.count_mismatch, None);
        assert_eq!(batch.unmatched_rejections.len(), 1);
        assert_eq!(batch.warnings.len(), 2, "{:?}", batch.warnings);
        // Batch warnings travel with the evidence of each anonymized ref.
        match &batch.outcomes[0] {
            Outcome::Anonymized(e) => {
                assert_eq!(e.warnings, batch.warnings);
                assert!(
                    e.summary.contains("4 sent, 2 rejected, Count 2"),
                    "{}",
                    e.summary
                );
                assert!(!e.warnings.iter().any(|w| w.contains("421-7-0")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn judge_reports_a_count_mismatch() {
        let batch = judge(at(2, 3), refs(&[1, 2, 3]), answer(json!({"Count": 5})));
        assert_eq!(
            batch.count_mismatch,
            Some(CountMismatch {
                reported: 5,
                expected: 3
            })
        );
        for o in &batch.outcomes {
            match o {
                Outcome::Anonymized(e) => {
                    assert!(e.warnings[0].contains("Count (5)"), "{:?}", e.warnings);
                    assert!(e.summary.starts_with("anonymizeuser batch 2 of 3"));
                }
                other => panic!("{other:?}"),
            }
        }
        let batch = judge(at(1, 1), refs(&[1, 2, 3]), answer(json!({})));
        assert_eq!(batch.count_mismatch, None);
        assert!(batch.warnings.is_empty());
    }

    #[test]
    fn judge_never_invents_outcomes() {
        let batch = judge(
            at(1, 1),
            refs(&[1]),
            answer(json!({"Count": 1, "RejectedObjects": {"RefStr": "421-2-0", "Message": "x"}})),
        );
        assert_eq!(batch.outcomes.len(), 1);
        assert_eq!(batch.refs, [RefStr::new(421, 1)]);
        assert!(batch.outcome(&RefStr::new(421, 2)).is_none());
        assert_eq!(
            batch.unmatched_rejections[0].ref_str.as_deref(),
            Some("421-2-0")
        );
    }

    #[test]
    fn judge_matches_refs_the_vendor_wrote_loosely_and_keeps_empty_messages_visible() {
        let batch = judge(
            at(1, 1),
            refs(&[5]),
            answer(
                json!({"Count": 0, "RejectedObjects": [{"RefStr": " 421-005-0", "Message": ""}]}),
            ),
        );
        match &batch.outcomes[0] {
            Outcome::Rejected { message } => assert!(message.contains("without a message")),
            other => panic!("{other:?}"),
        }
    }

    proptest::proptest! {
        /// Whatever the vendor answers, every ref sent gets exactly one outcome, in order, and
        /// no outcome is invented for a ref that was not sent.
        #[test]
        fn judge_gives_one_outcome_per_ref_sent(
            sent in proptest::collection::btree_set(0u64..40, 1..12),
            rejected in proptest::collection::vec((0u64..60, proptest::bool::ANY), 0..15),
            count in proptest::option::of(0u64..20),
        ) {
            let chunk: Vec<RefStr> = sent.iter().map(|o| RefStr::new(421, *o)).collect();
            let entries: Vec<_> = rejected
                .iter()
                .map(|(o, missing)| json!({
                    "RefStr": RefStr::new(421, *o).to_string(),
                    "Message": if *missing { "Cannot find instance" } else { "Excluded" },
                }))
                .collect();
            let a = answer(json!({"Count": count, "RejectedObjects": entries}));
            let batch = judge(at(1, 1), chunk.clone(), a);
            proptest::prop_assert_eq!(&batch.refs, &chunk);
            proptest::prop_assert_eq!(batch.outcomes.len(), chunk.len());
            let foreign = rejected.iter().filter(|(o, _)| !sent.contains(o)).count();
            proptest::prop_assert_eq!(batch.unmatched_rejections.len(), foreign);
            let rejected_sent: HashSet<u64> = rejected
                .iter()
                .map(|(o, _)| *o)
                .filter(|o| sent.contains(o))
                .collect();
            for (r, o) in batch.refs.iter().zip(&batch.outcomes) {
                let was_rejected = rejected_sent.contains(&r.object());
                proptest::prop_assert_eq!(
                    matches!(o, Outcome::Anonymized(_)),
                    !was_rejected
                );
            }
            let expected = (chunk.len() - rejected_sent.len()) as u64;
            proptest::prop_assert_eq!(
                batch.count_mismatch.is_some(),
                count.is_some_and(|c| c != expected)
            );
        }
    }
}
