//! The one parse step every vendor's [`Anonymizer::anonymize`](crate::Anonymizer::anonymize)
//! runs: [`Batch`].

use std::collections::HashSet;
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;

use crate::error::{Error, Result};
use crate::outcome::{BatchError, Evidence, Outcome, UserOutcome};

/// The ids of one [`anonymize`](crate::Anonymizer::anonymize) call, de-duplicated (first
/// appearance wins) and parsed into the vendor's id type `Id` before anything is sent.
///
/// A malformed id gets [`Outcome::Invalid`] here, so no vendor can send one: the only ids a vendor
/// crate's code ever sees are parsed `Id`s. The vendor then says how the valid ids are sent:
/// one by one with [`each`](Self::each), or in groups with [`chunks`](Self::chunks). Either way
/// the result has one outcome per distinct input, in input order, and an error that
/// [aborts the batch](Error::aborts_batch) stops it with a [`BatchError`] that hides nothing.
///
/// ```
/// use anonymize_core::Evidence;
/// use anonymize_core::vendor::Batch;
/// # use anonymize_core::{Error, Result, vendor::VendorId};
/// # #[derive(Clone, PartialEq, Eq, Hash)] struct AcmeId(u32);
/// # impl VendorId for AcmeId {
/// #     fn parse_id(t: &str) -> Result<Self> {
/// #         t.parse().map(Self).map_err(|_| Error::invalid_input("not an Acme id"))
/// #     }
/// #     fn fmt_id(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{}", self.0) }
/// # }
/// # anonymize_core::vendor_id!(AcmeId);
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let ids = ["7", "x", "7", "9"].map(String::from);
/// let outcomes = Batch::<AcmeId>::parse("acme", &ids)
///     .each(4, |id| async move { Ok(Evidence::new(format!("erased {id}"))) })
///     .await
///     .unwrap();
/// let labels: Vec<_> = outcomes.iter().map(|o| o.outcome.label()).collect();
/// assert_eq!(labels, ["anonymized", "invalid", "anonymized"]);
/// # }
/// ```
#[derive(Debug)]
pub struct Batch<Id> {
    vendor: &'static str,
    entries: Vec<Entry<Id>>,
}

#[derive(Debug)]
struct Entry<Id> {
    input: String,
    parsed: std::result::Result<Id, String>,
}

impl<Id> Batch<Id>
where
    Id: FromStr<Err = Error> + Clone + Send,
{
    /// De-duplicate `ids` and parse each distinct one as an `Id` of `vendor`.
    pub fn parse<S: AsRef<str>>(vendor: &'static str, ids: &[S]) -> Self {
        // One id (the common single erasure) needs no set to be distinct.
        let mut seen = HashSet::with_capacity(if ids.len() > 1 { ids.len() } else { 0 });
        let entries = ids
            .iter()
            .map(AsRef::as_ref)
            .filter(|id| ids.len() == 1 || seen.insert(*id))
            .map(|input| Entry {
                input: input.to_owned(),
                parsed: input.parse::<Id>().map_err(|e| match e {
                    Error::InvalidInput { reason } => reason,
                    other => other.to_string(),
                }),
            })
            .collect();
        Self { vendor, entries }
    }

    /// How many distinct ids there are (valid or not).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no ids at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The valid ids, in input order.
    pub fn ids(&self) -> impl Iterator<Item = &Id> {
        self.entries.iter().filter_map(|e| e.parsed.as_ref().ok())
    }

    /// Anonymize each valid id with `per_user`, at most `concurrency` at a time (at least 1).
    ///
    /// `Ok(evidence)` is [`Outcome::Anonymized`]; an error becomes its outcome through
    /// [`Outcome::from_error`] (a 404 is `not_found`, a rejection `rejected` with the vendor's
    /// message, anything else `failed`). After an error that aborts the batch no further user is
    /// started; the ones under way finish.
    pub async fn each<F, Fut>(
        self,
        concurrency: usize,
        per_user: F,
    ) -> std::result::Result<Vec<UserOutcome>, BatchError>
    where
        F: Fn(Id) -> Fut,
        Fut: Future<Output = Result<Evidence>>,
    {
        let stop = AtomicBool::new(false);
        let run = |id: Id| {
            let stop = &stop;
            let per_user = &per_user;
            async move {
                if stop.load(Ordering::SeqCst) {
                    return None;
                }
                let outcome = outcome_of(per_user(id).await);
                if matches!(&outcome, Outcome::Failed(e) if e.aborts_batch()) {
                    stop.store(true, Ordering::SeqCst);
                }
                Some(outcome)
            }
        };
        let valid: Vec<Id> = self.ids().cloned().collect();
        let results: Vec<Option<Outcome>> = match valid.len() {
            0 => Vec::new(),
            // One user needs no stream machinery.
            1 => vec![run(valid[0].clone()).await],
            n => {
                // Unordered, so that one slow answer never keeps the next users from starting
                // (an ordered buffer would hold `concurrency` slots behind it); each outcome goes
                // back to its input's place.
                let mut results: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
                let mut done = futures_util::stream::iter(valid.into_iter().enumerate())
                    .map(|(i, id)| {
                        let run = &run;
                        async move { (i, run(id).await) }
                    })
                    .buffer_unordered(concurrency.max(1));
                while let Some((i, outcome)) = done.next().await {
                    results[i] = outcome;
                }
                results
            }
        };
        self.finish(results)
    }

    /// Anonymize the valid ids in groups of at most `size` (at least 1), one group after the
    /// other, with `per_chunk`, which answers one [`Outcome`] per id of its group, in order.
    ///
    /// A group whose call fails is [`Outcome::Failed`] for each of its ids and the next group is
    /// still sent, unless the error aborts the batch: then no later group is attempted. A `per_chunk` that answers the wrong number of outcomes is a bug in the vendor
    /// crate; the ids it left without one are `failed`, never dropped.
    pub async fn chunks<F, Fut>(
        self,
        size: usize,
        mut per_chunk: F,
    ) -> std::result::Result<Vec<UserOutcome>, BatchError>
    where
        F: FnMut(Vec<Id>) -> Fut,
        Fut: Future<Output = Result<Vec<Outcome>>>,
    {
        let valid: Vec<Id> = self.ids().cloned().collect();
        let mut results: Vec<Option<Outcome>> = Vec::with_capacity(valid.len());
        let mut stopped = false;
        for chunk in valid.chunks(size.max(1)) {
            if stopped {
                results.extend(chunk.iter().map(|_| None));
                continue;
            }
            match per_chunk(chunk.to_vec()).await {
                Ok(outcomes) => {
                    let answered = outcomes.len();
                    results.extend(outcomes.into_iter().take(chunk.len()).map(Some));
                    for _ in answered..chunk.len() {
                        results.push(Some(Outcome::Failed(Error::Protocol {
                            vendor: self.vendor,
                            operation: "anonymize users",
                            detail: "the client read no outcome for this id from the answer".into(),
                        })));
                    }
                }
                Err(error) if error.aborts_batch() => {
                    // The group was sent and refused: each of its ids failed; later groups are
                    // not attempted.
                    stopped = true;
                    results.extend(chunk.iter().map(|_| Some(Outcome::Failed(error.clone()))));
                }
                Err(error) => {
                    results.extend(chunk.iter().map(|_| Some(Outcome::Failed(error.clone()))));
                }
            }
        }
        self.finish(results)
    }

    /// Pair the results of the valid ids (in order; `None`: not attempted) with every input, and
    /// fail with the first error that aborts a batch.
    fn finish(
        self,
        results: Vec<Option<Outcome>>,
    ) -> std::result::Result<Vec<UserOutcome>, BatchError> {
        let mut results = results.into_iter();
        let mut completed = Vec::with_capacity(self.entries.len());
        let mut not_attempted = Vec::new();
        let mut fatal = None;
        for entry in self.entries {
            let outcome = match entry.parsed {
                Err(reason) => Some(Outcome::Invalid { reason }),
                Ok(_) => results.next().flatten(),
            };
            match outcome {
                Some(outcome) => {
                    if fatal.is_none()
                        && let Outcome::Failed(e) = &outcome
                        && e.aborts_batch()
                    {
                        fatal = Some(e.clone());
                    }
                    completed.push(UserOutcome::new(entry.input, outcome));
                }
                None => not_attempted.push(entry.input),
            }
        }
        match fatal {
            Some(error) => Err(BatchError {
                error,
                completed,
                not_attempted,
            }),
            None => Ok(completed),
        }
    }
}

fn outcome_of(result: Result<Evidence>) -> Outcome {
    match result {
        Ok(evidence) => Outcome::Anonymized(evidence),
        Err(error) => Outcome::from_error(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::VendorReply;
    use crate::id::tests::TestId;
    use reqwest::StatusCode;
    use std::sync::atomic::AtomicUsize;

    fn strings(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn unauthenticated() -> Error {
        Error::from_reply(
            VendorReply::new("v", "op", StatusCode::UNAUTHORIZED, None, None),
            None,
        )
    }

    #[tokio::test]
    async fn one_outcome_per_distinct_id_in_order() {
        let out = Batch::<TestId>::parse("v", &["3", "1", "3", "2", "x"])
            .each(4, |id| async move {
                if id.0 == 2 {
                    Err(Error::from_reply(
                        VendorReply::new("v", "op", StatusCode::NOT_FOUND, None, None),
                        None,
                    ))
                } else {
                    Ok(Evidence::new("ok"))
                }
            })
            .await
            .unwrap();
        let got: Vec<_> = out
            .iter()
            .map(|o| (o.id.as_str(), o.outcome.label()))
            .collect();
        assert_eq!(
            got,
            [
                ("3", "anonymized"),
                ("1", "anonymized"),
                ("2", "not_found"),
                ("x", "invalid")
            ]
        );
    }

    #[tokio::test]
    async fn malformed_ids_never_reach_the_vendor() {
        let calls = AtomicUsize::new(0);
        let out = Batch::<TestId>::parse("v", &["a", "-1", ""])
            .each(2, |_| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(Evidence::new("ok"))
            })
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert!(out.iter().all(|o| o.outcome.label() == "invalid"));
        let out = Batch::<TestId>::parse("v", &["a"])
            .chunks(10, |_| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(Vec::new())
            })
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(out.len(), 1);
    }

    #[tokio::test]
    async fn a_fatal_error_stops_the_batch_without_hiding_work() {
        let ids = strings(&["1", "2", "x", "3", "4", "5"]);
        let err = Batch::<TestId>::parse("v", &ids)
            .each(1, |id| async move {
                if id.0 == 3 {
                    Err(unauthenticated())
                } else {
                    Ok(Evidence::new("ok"))
                }
            })
            .await
            .unwrap_err();
        let done: Vec<_> = err.completed.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(done, ["1", "2", "x", "3"]);
        assert_eq!(err.not_attempted, ["4", "5"]);
        assert!(matches!(err.error, Error::Unauthenticated(_)));
    }

    #[tokio::test]
    async fn chunks_fail_alone_or_stop_the_rest() {
        let ids = strings(&["1", "2", "3", "4", "5"]);
        let sizes = std::sync::Mutex::new(Vec::new());
        let out = Batch::<TestId>::parse("v", &ids)
            .chunks(2, |chunk| {
                sizes.lock().unwrap().push(chunk.len());
                async move {
                    if chunk.iter().any(|i| i.0 == 3) {
                        Err(Error::from_reply(
                            VendorReply::new("v", "op", StatusCode::BAD_GATEWAY, None, None),
                            None,
                        ))
                    } else {
                        Ok(chunk
                            .iter()
                            .map(|_| Outcome::Anonymized(Evidence::new("ok")))
                            .collect())
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(*sizes.lock().unwrap(), [2, 2, 1]);
        let labels: Vec<_> = out.iter().map(|o| o.outcome.label()).collect();
        assert_eq!(
            labels,
            ["anonymized", "anonymized", "failed", "failed", "anonymized"]
        );

        let err = Batch::<TestId>::parse("v", &ids)
            .chunks(2, |chunk| async move {
                if chunk.iter().any(|i| i.0 == 3) {
                    Err(unauthenticated())
                } else {
                    Ok(vec![Outcome::NotFound; chunk.len()])
                }
            })
            .await
            .unwrap_err();
        // The refused group (3, 4) failed as a whole; the group after it was not attempted.
        let labels: Vec<_> = err.completed.iter().map(|o| o.outcome.label()).collect();
        assert_eq!(labels, ["not_found", "not_found", "failed", "failed"]);
        assert_eq!(err.not_attempted, ["5"]);
    }

    #[tokio::test]
    async fn a_short_answer_is_failed_never_dropped() {
        let out = Batch::<TestId>::parse("v", &["1", "2"])
            .chunks(5, |_| async { Ok(vec![Outcome::NotFound]) })
            .await
            .unwrap();
        let labels: Vec<_> = out.iter().map(|o| o.outcome.label()).collect();
        assert_eq!(labels, ["not_found", "failed"]);
    }
}
