//! The one parse step every vendor's [`Anonymizer::anonymize`](crate::Anonymizer::anonymize)
//! runs: [`Batch`].

use std::collections::HashSet;
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

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
    /// One place per distinct input, in input order (a malformed one settled at once).
    places: Places,
    /// The valid ids, with their places, in input order: what is to be sent.
    todo: Vec<(usize, Id)>,
}

impl<Id> Batch<Id>
where
    Id: FromStr<Err = Error> + Clone + Send,
{
    /// De-duplicate `ids` and parse each distinct one as an `Id` of `vendor`.
    pub fn parse<S: AsRef<str>>(vendor: &'static str, ids: &[S]) -> Self {
        // One id (the common single erasure) needs no set to be distinct.
        let mut seen = HashSet::with_capacity(if ids.len() > 1 { ids.len() } else { 0 });
        let mut places = Places::with_capacity(vendor, ids.len());
        let mut todo = Vec::with_capacity(ids.len());
        for input in ids.iter().map(AsRef::as_ref) {
            if ids.len() > 1 && !seen.insert(input) {
                continue;
            }
            match input.parse::<Id>() {
                Ok(id) => todo.push((places.pending(input), id)),
                Err(e) => places.invalid(
                    input,
                    match e {
                        Error::InvalidInput { reason } => reason,
                        other => other.to_string(),
                    },
                ),
            }
        }
        Self { places, todo }
    }

    /// How many distinct ids there are (valid or not).
    pub fn len(&self) -> usize {
        self.places.outcomes.len()
    }

    /// Whether there are no ids at all.
    pub fn is_empty(&self) -> bool {
        self.places.outcomes.is_empty()
    }

    /// The valid ids, in input order.
    pub fn ids(&self) -> impl Iterator<Item = &Id> {
        self.todo.iter().map(|(_, id)| id)
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
        use tracing::Instrument;
        let span = batch_span(self.places.vendor, self.len());
        self.each_in_span(concurrency, per_user)
            .instrument(span)
            .await
    }

    async fn each_in_span<F, Fut>(
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
                // After an error that stops the batch, or once the caller's stop is pulled, no
                // user not yet begun is started.
                if stop.load(Ordering::SeqCst) || crate::Stop::current().is_some() {
                    return None;
                }
                // The user is begun once its first request is sent, and then finished whatever
                // happens to the stop; refused before that, it was not attempted.
                let outcome = outcome_of(crate::Stop::user(per_user(id)).await);
                if matches!(&outcome, Outcome::Failed(Error::Stopped { .. })) {
                    return None;
                }
                if matches!(&outcome, Outcome::Failed(e) if e.aborts_batch()) {
                    stop.store(true, Ordering::SeqCst);
                }
                Some(outcome)
            }
        };
        let Batch { mut places, todo } = self;
        if let [(i, id)] = todo.as_slice() {
            // One user (a single erasure) needs no workers.
            places.settle(*i, run(id.clone()).await);
            return places.finish();
        }
        // `concurrency` workers, each taking the next id as soon as its last one is answered, so
        // one slow answer never keeps the next users from starting; each outcome goes to its
        // input's place. A worker's future holds the erasure under way in place: no allocation
        // per user (a task per user of a `FuturesUnordered` was one of about 1.5 KB each, too big
        // for the allocator's fast path).
        let workers = concurrency.max(1).min(todo.len());
        // A `Mutex`, never held across an await, since the batch's future must be `Send`.
        let shared = Mutex::new((places, todo.into_iter()));
        let mut pool: FuturesUnordered<_> = (0..workers)
            .map(|_| {
                let (shared, run) = (&shared, &run);
                async move {
                    let mut answered: Option<(usize, Option<Outcome>)> = None;
                    loop {
                        let next = {
                            let mut guard = shared.lock().unwrap_or_else(PoisonError::into_inner);
                            let (places, todo) = &mut *guard;
                            if let Some((i, outcome)) = answered.take() {
                                places.settle(i, outcome);
                            }
                            todo.next()
                        };
                        let Some((i, id)) = next else { break };
                        answered = Some((i, run(id).await));
                    }
                }
            })
            .collect();
        while pool.next().await.is_some() {}
        drop(pool);
        let (places, _) = shared.into_inner().unwrap_or_else(PoisonError::into_inner);
        places.finish()
    }

    /// Anonymize the valid ids in groups of at most `size` (at least 1), one group after the
    /// other, with `per_chunk`, which answers one [`Outcome`] per id of its group, in order.
    ///
    /// A group whose call fails is [`Outcome::Failed`] for each of its ids and the next group is
    /// still sent, unless the error aborts the batch: then no later group is attempted. A
    /// `per_chunk` that answers the wrong number of outcomes is a bug in the vendor crate; the ids
    /// it left without one are `failed`, never dropped.
    pub async fn chunks<F, Fut>(
        self,
        size: usize,
        per_chunk: F,
    ) -> std::result::Result<Vec<UserOutcome>, BatchError>
    where
        F: FnMut(Vec<Id>) -> Fut,
        Fut: Future<Output = Result<Vec<Outcome>>>,
    {
        use tracing::Instrument;
        let span = batch_span(self.places.vendor, self.len());
        self.chunks_in_span(size, per_chunk).instrument(span).await
    }

    async fn chunks_in_span<F, Fut>(
        self,
        size: usize,
        mut per_chunk: F,
    ) -> std::result::Result<Vec<UserOutcome>, BatchError>
    where
        F: FnMut(Vec<Id>) -> Fut,
        Fut: Future<Output = Result<Vec<Outcome>>>,
    {
        let Batch { mut places, todo } = self;
        let vendor = places.vendor;
        let mut stopped = false;
        // Group by group, in input order; an id of a group never sent stays unsettled: not
        // attempted.
        for group in todo.chunks(size.max(1)) {
            if stopped || crate::Stop::current().is_some() {
                break;
            }
            match per_chunk(group.iter().map(|(_, id)| id.clone()).collect()).await {
                Ok(outcomes) => {
                    let mut outcomes = outcomes.into_iter();
                    for (i, _) in group {
                        let outcome = outcomes.next().unwrap_or_else(|| {
                            Outcome::Failed(Error::Protocol {
                                vendor,
                                operation: "anonymize users",
                                detail: "the client read no outcome for this id from the answer"
                                    .into(),
                            })
                        });
                        places.settle(*i, Some(outcome));
                    }
                }
                // Refused before it was sent (the caller's stop, at the request): not attempted.
                Err(Error::Stopped { .. }) => break,
                Err(error) => {
                    // The group was sent and failed: each of its ids failed; after an error that
                    // aborts the batch, later groups are not attempted.
                    stopped = error.aborts_batch();
                    for (i, _) in group {
                        places.settle(*i, Some(Outcome::Failed(error.clone())));
                    }
                }
            }
        }
        places.finish()
    }
}

/// The span of one erasure call's batch: the vendor and the number of distinct inputs; the
/// outcome counts are recorded when it ends ([`Places::observe`]).
fn batch_span(vendor: &'static str, size: usize) -> tracing::Span {
    tracing::debug_span!(
        "batch",
        vendor,
        size,
        anonymized = tracing::field::Empty,
        not_found = tracing::field::Empty,
        rejected = tracing::field::Empty,
        invalid = tracing::field::Empty,
        failed = tracing::field::Empty,
        not_attempted = tracing::field::Empty,
    )
}

/// The labels a batch counts, in the order of [`batch_span`]'s fields.
const LABELS: [&str; 6] = crate::VendorStatus::LABELS;

/// The result of a batch: one place per distinct input, in input order, built once while
/// parsing. A malformed input's place is settled at once (`invalid`); a valid one's when its
/// answer comes, in whatever order answers come. No second list as long as the input.
#[derive(Debug)]
struct Places {
    vendor: &'static str,
    outcomes: Vec<UserOutcome>,
    /// Whether each place holds its outcome yet: a malformed input's from the start, a valid
    /// one's once answered. A place never settled is reported as not attempted, never with the
    /// stand-in outcome it holds.
    settled: Vec<bool>,
    /// Whether a settled outcome is a failure that aborts the batch.
    aborted: bool,
}

impl Places {
    fn with_capacity(vendor: &'static str, inputs: usize) -> Self {
        Self {
            vendor,
            outcomes: Vec::with_capacity(inputs),
            settled: Vec::with_capacity(inputs),
            aborted: false,
        }
    }

    /// The next input is malformed: settled at once.
    fn invalid(&mut self, input: &str, reason: String) {
        self.outcomes.push(UserOutcome::new(
            input.to_owned(),
            Outcome::Invalid { reason },
        ));
        self.settled.push(true);
    }

    /// The next input is a valid id, to be answered: its place.
    fn pending(&mut self, input: &str) -> usize {
        // A stand-in until settled; `finish` never reports it.
        self.outcomes
            .push(UserOutcome::new(input.to_owned(), Outcome::NotFound));
        self.settled.push(false);
        self.outcomes.len() - 1
    }

    /// The answer for the valid id at `i`; `None`: it was not attempted (the batch had stopped).
    fn settle(&mut self, i: usize, outcome: Option<Outcome>) {
        if let Some(outcome) = outcome {
            self.aborted |= matches!(&outcome, Outcome::Failed(e) if e.aborts_batch());
            self.outcomes[i].outcome = outcome;
            self.settled[i] = true;
        }
    }

    /// Count the outcomes, by label, on the batch's span and in the metrics (when either
    /// listens): never a user's id or words, only numbers.
    fn observe(&self) {
        let span = tracing::Span::current();
        if span.is_disabled() && !cfg!(feature = "metrics") {
            return;
        }
        let mut counts = [0u64; LABELS.len()];
        for (place, settled) in self.outcomes.iter().zip(&self.settled) {
            let label = if *settled {
                place.outcome.label()
            } else {
                "not_attempted"
            };
            if let Some(i) = LABELS.iter().position(|l| *l == label) {
                counts[i] += 1;
            }
        }
        for (label, n) in LABELS.iter().zip(counts) {
            if n > 0 {
                span.record(*label, n);
                crate::telemetry::outcomes(self.vendor, label, n);
            }
        }
    }

    /// The outcomes, or the batch's stop: the first failure (in input order) that aborts a batch,
    /// with every outcome reached and the inputs never attempted. An input left unsettled
    /// without such a failure (a bug) still fails the batch: no input is ever dropped.
    fn finish(self) -> std::result::Result<Vec<UserOutcome>, BatchError> {
        self.observe();
        let unsettled = self.settled.iter().filter(|s| !**s).count();
        if !self.aborted && unsettled == 0 {
            return Ok(self.outcomes);
        }
        let mut fatal = None;
        let mut completed = Vec::with_capacity(self.outcomes.len() - unsettled);
        let mut not_attempted = Vec::with_capacity(unsettled);
        for (place, settled) in self.outcomes.into_iter().zip(self.settled) {
            if !settled {
                not_attempted.push(place.id);
                continue;
            }
            if fatal.is_none()
                && let Outcome::Failed(e) = &place.outcome
                && e.aborts_batch()
            {
                fatal = Some(e.clone());
            }
            completed.push(place);
        }
        let error = fatal
            .or_else(crate::Stop::current)
            .unwrap_or_else(|| Error::Protocol {
                vendor: self.vendor,
                operation: "anonymize users",
                detail: "the batch stopped with no error that stops a batch".into(),
            });
        Err(BatchError {
            error,
            completed,
            not_attempted,
        })
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
    use std::time::Duration;

    fn strings(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    /// Each outcome's input and label, in order.
    fn labels(outcomes: &[UserOutcome]) -> Vec<(&str, &str)> {
        outcomes
            .iter()
            .map(|o| (o.id.as_str(), o.outcome.label()))
            .collect()
    }

    fn unauthenticated() -> Error {
        Error::from_reply(
            VendorReply::new("v", "op", StatusCode::UNAUTHORIZED, None, None),
            None,
        )
    }

    /// A per-user answer: the id `fatal` fails with an error that stops the batch, any other is
    /// anonymized.
    fn unauthenticated_at(fatal: u32, id: &TestId) -> Result<Evidence> {
        if id.0 == fatal {
            Err(unauthenticated())
        } else {
            Ok(Evidence::new("ok"))
        }
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
        let got = labels(&out);
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
    async fn a_pulled_stop_starts_no_user_not_yet_begun_and_finishes_the_begun_ones() {
        let stop = crate::Stop::new();
        let started = Mutex::new(Vec::new());
        // Two at a time: the stop is pulled while user 3 is under way (and 2 or 4 beside it).
        let ids = strings(&["1", "2", "3", "4", "5", "6", "7"]);
        let err = stop
            .scope(Batch::<TestId>::parse("v", &ids).each(2, |id| {
                let (stop, started) = (&stop, &started);
                async move {
                    started.lock().unwrap().push(id.0);
                    if id.0 == 3 {
                        stop.stop("interrupted (SIGTERM)");
                    }
                    tokio::task::yield_now().await;
                    Ok(Evidence::new("ok"))
                }
            }))
            .await
            .unwrap_err();
        let started = started.into_inner().unwrap();
        assert!(started.len() <= 4, "{started:?}");
        // Every user begun was finished and reported; the rest were not attempted, with the
        // reason.
        assert_eq!(err.completed.len(), started.len());
        assert!(
            err.completed
                .iter()
                .all(|o| o.outcome.label() == "anonymized")
        );
        assert_eq!(err.completed.len() + err.not_attempted.len(), 7);
        assert_eq!(err.error.kind(), "stopped");
        assert_eq!(err.error.to_string(), "not sent: interrupted (SIGTERM)");

        // In groups: no group after the stop is sent.
        let stop = crate::Stop::new();
        let mut groups = 0;
        let err = stop
            .scope(Batch::<TestId>::parse("v", &ids).chunks(3, |group| {
                groups += 1;
                stop.stop("stopping");
                async move { Ok(group.iter().map(|_| Outcome::NotFound).collect()) }
            }))
            .await
            .unwrap_err();
        assert_eq!(groups, 1);
        assert_eq!((err.completed.len(), err.not_attempted.len()), (3, 4));

        // Outside a pulled stop's scope nothing changes.
        stop.stop("x");
        let out = Batch::<TestId>::parse("v", &ids)
            .each(2, |_| async { Ok(Evidence::new("ok")) })
            .await
            .unwrap();
        assert_eq!(out.len(), 7);
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
            .each(2, |_| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(Evidence::new("ok"))
            })
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].outcome.label(), "invalid");
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
            .each(1, |id| async move { unauthenticated_at(3, &id) })
            .await
            .unwrap_err();
        let done: Vec<_> = err.completed.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(done, ["1", "2", "x", "3"]);
        assert_eq!(err.not_attempted, ["4", "5"]);
        assert!(matches!(err.error, Error::Unauthenticated(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn answers_out_of_order_land_in_input_order_even_when_the_batch_stops() {
        // Three in flight; later ids answer sooner (id n waits 10 - n ms). Id 4 stops the batch
        // when it answers, while 5 and 6 are under way: they finish; 7 and 8 are never started.
        let ids = strings(&["1", "2", "x", "3", "4", "5", "6", "y", "7", "8"]);
        let err = Batch::<TestId>::parse("v", &ids)
            .each(3, |id| async move {
                tokio::time::sleep(Duration::from_millis(10 - u64::from(id.0))).await;
                unauthenticated_at(4, &id)
            })
            .await
            .unwrap_err();
        let done = labels(&err.completed);
        assert_eq!(
            done,
            [
                ("1", "anonymized"),
                ("2", "anonymized"),
                ("x", "invalid"),
                ("3", "anonymized"),
                ("4", "failed"),
                ("5", "anonymized"),
                ("6", "anonymized"),
                ("y", "invalid"),
            ]
        );
        assert_eq!(err.not_attempted, ["7", "8"]);
        assert!(matches!(err.error, Error::Unauthenticated(_)));

        // One id that stops the batch: its failure is the batch's error, nothing is left out.
        let err = Batch::<TestId>::parse("v", &["9"])
            .each(3, |_| async { Err(unauthenticated()) })
            .await
            .unwrap_err();
        assert_eq!(err.completed.len(), 1);
        assert!(err.not_attempted.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn each_keeps_concurrency_in_flight_and_never_waits_behind_a_slow_answer() {
        // 20 ids, 4 at a time: id 1 takes 10 s, every other 1 s. The other 19 go through the
        // three free places (7 s) while id 1 is under way, so the batch takes id 1's 10 s. An
        // ordered buffer (or groups of 4) would hold the next users behind id 1 and take longer;
        // more than 4 in flight, or fewer, is caught by the counts.
        let ids: Vec<String> = (1..=20).map(|n| n.to_string()).collect();
        let in_flight = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let started = tokio::time::Instant::now();
        let out = Batch::<TestId>::parse("v", &ids)
            .each(4, |id| {
                let (in_flight, most) = (&in_flight, &most);
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let secs = if id.0 == 1 { 10 } else { 1 };
                    tokio::time::sleep(Duration::from_secs(secs)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    Ok(Evidence::new(format!("took {secs} s")))
                }
            })
            .await
            .unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        assert_eq!(most.load(Ordering::SeqCst), 4);
        let order: Vec<_> = out.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(order, ids);
        assert!(out.iter().all(|o| o.outcome.label() == "anonymized"));
        let evidence = |o: &UserOutcome| match &o.outcome {
            Outcome::Anonymized(e) => e.summary.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(evidence(&out[0]), "took 10 s");
        assert_eq!(evidence(&out[19]), "took 1 s");

        // Fewer ids than places: each one starts at once.
        let started = tokio::time::Instant::now();
        let out = Batch::<TestId>::parse("v", &["1", "2"])
            .each(32, |_| async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok(Evidence::new("ok"))
            })
            .await
            .unwrap();
        assert_eq!((out.len(), started.elapsed()), (2, Duration::from_secs(1)));
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
    async fn chunks_keep_malformed_ids_in_place_across_groups() {
        let ids = strings(&["x", "1", "y", "2", "3", "z", "4", "w"]);
        let groups = std::sync::Mutex::new(Vec::new());
        let out = Batch::<TestId>::parse("v", &ids)
            .chunks(2, |chunk| {
                groups
                    .lock()
                    .unwrap()
                    .push(chunk.iter().map(|i| i.0).collect::<Vec<_>>());
                async move {
                    Ok(chunk
                        .iter()
                        .map(|_| Outcome::Anonymized(Evidence::new("ok")))
                        .collect())
                }
            })
            .await
            .unwrap();
        assert_eq!(*groups.lock().unwrap(), [vec![1, 2], vec![3, 4]]);
        let got = labels(&out);
        assert_eq!(
            got,
            [
                ("x", "invalid"),
                ("1", "anonymized"),
                ("y", "invalid"),
                ("2", "anonymized"),
                ("3", "anonymized"),
                ("z", "invalid"),
                ("4", "anonymized"),
                ("w", "invalid"),
            ]
        );

        // Stopped after the group of 2: the malformed ids after it are still settled, the valid
        // ones are listed as not attempted, all in input order.
        let ids = strings(&["1", "x", "2", "3", "y", "4"]);
        let err = Batch::<TestId>::parse("v", &ids)
            .chunks(1, |chunk| async move {
                if chunk[0].0 == 2 {
                    Err(unauthenticated())
                } else {
                    Ok(vec![Outcome::NotFound])
                }
            })
            .await
            .unwrap_err();
        let got = labels(&err.completed);
        assert_eq!(
            got,
            [
                ("1", "not_found"),
                ("x", "invalid"),
                ("2", "failed"),
                ("y", "invalid")
            ]
        );
        assert_eq!(err.not_attempted, ["3", "4"]);
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
