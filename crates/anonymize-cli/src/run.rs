//! `anonymize run`: erase, with progress, receipts and resume.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anonymize_core::{
    Eraser, Intent, IntentRecord, Outcome, Person, PersonRef, Receipt, ReceiptIndex, ReceiptKey,
    ReceiptLog, Stop, VendorReport, VendorStatus, WriteAhead,
};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use serde_json::json;

use crate::output;
use crate::progress::Progress;
use crate::receipts::short;
use crate::scan::{self, Scan};
use crate::signals::{self, Signal};
use crate::{
    Context, EXIT_NOT_DONE, EXIT_OK, EXIT_RECORD, EXIT_USAGE, KEY_VARIABLE, Tuning, say, warn,
};

/// What `run` was asked.
pub(crate) struct Options {
    pub(crate) input: PathBuf,
    pub(crate) receipts: PathBuf,
    pub(crate) skip_invalid: bool,
    pub(crate) grace: Duration,
    /// Check each erasure at the vendor (`--verify`).
    pub(crate) verify: bool,
    pub(crate) tuning: Tuning,
}

/// How many results the writer takes at most before it writes and syncs them.
const WRITE_BATCH: usize = 512;

pub(crate) async fn run(ctx: Context, options: Options) -> u8 {
    let Some(key) = ctx.key else {
        warn!(
            "run needs a receipt key: set {KEY_VARIABLE} to at least 64 hex digits (e.g. the output \
             of `openssl rand -hex 32`) and keep it: it is what finds a person in the receipts \
             later (docs/erasure.md)"
        );
        return EXIT_USAGE;
    };
    if ctx.vendors.active.is_empty() {
        warn!(
            "no vendor is configured: set the variables of at least one (GUARDHOUSE_URL…, \
             ALFABET_URL…, LEARNING360_URL…; see docs/erasure.md)"
        );
        return EXIT_USAGE;
    }
    for spec in &ctx.vendors.skipped {
        warn!(
            "{}: not configured ({} not set): skipped",
            spec.name, spec.variables[0]
        );
    }
    let names = ctx.vendors.names();

    // Listening before anything is read or sent: a signal from now on stops the run the same
    // way, never by the default action that would kill it mid-request.
    let mut signalled = match signals::listen() {
        Ok(rx) => rx,
        Err(e) => {
            warn!(
                "cannot listen for signals ({e}): refusing to start an erasure that could not be stopped cleanly"
            );
            return EXIT_USAGE;
        }
    };

    // One run per receipts file: an existing file is locked before it is read, and stays
    // locked until this process ends.
    let mut done = ReceiptIndex::default();
    let existing = match ReceiptLog::open_existing(&options.receipts, &key, |_, e| done.add(&e)) {
        Ok(log) => log,
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };
    for warning in existing
        .iter()
        .flat_map(|log| log.info().warnings(&options.receipts))
    {
        warn!("{warning}");
    }

    // Every line checked before anything is sent.
    let scanned = scan::scan(&options.input, &key, &done, &names, |p| warn!("{p}"));
    let scanned = match scanned {
        Ok(s) => s,
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };
    if scanned.bad_lines > 0 {
        if !options.skip_invalid {
            warn!(
                "refusing to start: {} bad input line(s), listed above; fix them, or run with \
                 --skip-invalid to leave them out",
                scanned.bad_lines
            );
            return EXIT_USAGE;
        }
        warn!(
            "leaving out {} bad input line(s), listed above",
            scanned.bad_lines
        );
    }
    if scanned.persons == 0 {
        say!("the input holds no person: nothing to do");
        output::document(json!({"command": "run", "persons": 0, "vendors": {}}));
        return EXIT_OK;
    }

    let mut writer = match existing {
        Some(log) => log,
        // A new file: created and locked now that the input is known to be good.
        None => match ReceiptLog::open(&options.receipts, &key) {
            Ok(log) if log.info().entries() == 0 => log,
            Ok(_) => {
                warn!(
                    "{}: another run wrote to this receipts file while this one read its input; \
                     run again to continue it",
                    options.receipts.display()
                );
                return EXIT_USAGE;
            }
            Err(e) => {
                warn!("{e}");
                return EXIT_USAGE;
            }
        },
    };
    if let Ok(signal) = signalled.try_recv() {
        say!(
            "interrupted ({}) before anything was sent: nothing was erased",
            signal.name
        );
        output::document(json!({"command": "run", "interrupted": signal.name, "vendors": {}}));
        return signal.exit_status();
    }
    let eraser = Eraser::new(ctx.vendors.active.iter().cloned())
        .and_then(|e| e.with_concurrency(options.tuning.concurrency))
        .and_then(|e| e.with_batch_size(options.tuning.batch_size))
        .map(|e| e.with_receipt_key(key.clone()).with_verify(options.verify));
    let eraser = match eraser {
        Ok(e) => e,
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };
    erase(
        eraser,
        &key,
        done,
        &scanned,
        &options,
        &mut writer,
        signalled,
    )
    .await
}

/// What the vendors' pipelines and the journal hand to the writer.
enum Message {
    /// Erasures about to be sent: written and synced, then answered (the error's text when the
    /// write failed), and only then sent.
    Intents(Vec<IntentRecord>, oneshot::Sender<Result<(), String>>),
    /// One person's outcome at one vendor.
    Report(PersonRef, VendorReport),
}

/// The run's write-ahead journal: the intents go to the writer, which syncs them with the
/// receipts; an erasure is sent only once its intent is on disk, and never once the run stops.
#[derive(Debug)]
struct Journal {
    key: ReceiptKey,
    tx: mpsc::Sender<Message>,
    stop: Stop,
}

impl Journal {
    fn stopping(&self) -> anonymize_core::Result<()> {
        self.stop.error().map_or(Ok(()), Err)
    }
}

#[async_trait::async_trait]
impl WriteAhead for Journal {
    async fn before_erase(
        &self,
        vendor: &'static str,
        intents: &[Intent<'_>],
    ) -> anonymize_core::Result<()> {
        self.stopping()?;
        let now = SystemTime::now();
        let records = intents
            .iter()
            .map(|i| IntentRecord::erase(now, self.key.person_ref(i.person), vendor, i.id))
            .collect();
        let (ack, written) = oneshot::channel();
        let gone = || anonymize_core::Error::stopped("the receipts writer has stopped");
        self.tx
            .send(Message::Intents(records, ack))
            .await
            .map_err(|_| gone())?;
        match written.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(anonymize_core::Error::stopped(format!(
                    "its intent could not be recorded ({e})"
                )));
            }
            Err(_) => return Err(gone()),
        }
        // A signal while the intent was being synced: nothing new starts.
        self.stopping()
    }
}

/// The counts of one vendor in this run.
#[derive(Default)]
struct Tally {
    skipped: u64,
    /// Erasures interrupted in an earlier run (an intent, no outcome), settled in this one.
    settling: u64,
    labels: BTreeMap<&'static str, u64>,
    advice: BTreeMap<&'static str, u64>,
    /// With `--verify`: the anonymized outcomes by how their check went.
    verified: BTreeMap<&'static str, u64>,
}

async fn erase(
    eraser: Eraser,
    key: &ReceiptKey,
    done: ReceiptIndex,
    scanned: &Scan,
    options: &Options,
    writer: &mut ReceiptLog,
    mut signalled: oneshot::Receiver<Signal>,
) -> u8 {
    let names: Vec<&'static str> = eraser.vendors().collect();
    let done = Arc::new(done);
    let repeats: Arc<HashSet<u64>> = Arc::new(scanned.repeats.clone());
    let stop = Stop::new();
    let (tx, mut rx) = mpsc::channel::<Message>(WRITE_BATCH * 2);
    let eraser = eraser
        .with_stop(stop.clone())
        .with_write_ahead(Arc::new(Journal {
            key: key.clone(),
            tx: tx.clone(),
            stop: stop.clone(),
        }));
    for &vendor in &names {
        let done = done.clone();
        let prepare = move |r: &PersonRef, person: Person| {
            if done.is_done(vendor, r) {
                return None;
            }
            // An earlier intent without a done receipt: erased by the id it named, never looked
            // up again (the vendor may have erased them, and would answer "not found").
            Some(match done.intended(vendor, r) {
                Some((id, _)) => person.with_id(vendor, id),
                None => person,
            })
        };
        let persons = match scan::persons(&options.input, key.clone(), repeats.clone(), prepare) {
            Ok(p) => p,
            Err(e) => {
                warn!("{e}");
                return EXIT_USAGE;
            }
        };
        let reports = match eraser.erase_at(vendor, persons) {
            Ok(r) => r,
            Err(e) => {
                warn!("{e}");
                return EXIT_USAGE;
            }
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut reports = std::pin::pin!(reports);
            while let Some((person, report)) = reports.next().await {
                if tx.send(Message::Report(person, report)).await.is_err() {
                    break;
                }
            }
        });
    }
    // The writer ends when every pipeline has, and with them their journal (the eraser's).
    drop(tx);
    drop(eraser);

    let mut tallies: BTreeMap<&'static str, Tally> = BTreeMap::new();
    let totals: Vec<(&'static str, u64)> = names
        .iter()
        .map(|&v| {
            let skipped = scanned.already_done.get(v).copied().unwrap_or(0);
            let tally = tallies.entry(v).or_default();
            tally.skipped = skipped;
            tally.settling = done.in_doubt(v) as u64;
            (v, scanned.persons - skipped)
        })
        .collect();
    let mut progress = Progress::new("done", &totals, options.tuning.progress_every());
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    let mut interrupted: Option<Signal> = None;
    let mut listening = true;
    let deadline = tokio::time::sleep(Duration::MAX / 4);
    let mut deadline = std::pin::pin!(deadline);
    let mut log = Log::default();
    loop {
        tokio::select! {
            item = rx.recv() => {
                let Some(first) = item else { break };
                let mut batch = vec![first];
                while batch.len() < WRITE_BATCH {
                    match rx.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                if let Err(e) = log.write(writer, batch, &done, &mut tallies, &mut progress) {
                    // Nothing more is sent: the journal refuses every intent from now on.
                    stop.stop("a record could not be written");
                    progress.finish();
                    warn!("cannot write {}: {e}; stopping, nothing more is sent", options.receipts.display());
                    log.say_unrecorded(&names, &options.receipts, &e.to_string());
                    return EXIT_RECORD;
                }
            }
            signal = &mut signalled, if listening => {
                listening = false;
                let Ok(signal) = signal else { continue };
                interrupted = Some(signal);
                stop.stop(format!("interrupted ({})", signal.name));
                deadline.as_mut().reset(tokio::time::Instant::now() + options.grace);
                warn!(
                    "interrupted ({}): starting nothing new; waiting up to {} s for the requests \
                     in flight and writing their receipts",
                    signal.name,
                    options.grace.as_secs()
                );
            }
            () = &mut deadline, if interrupted.is_some() => {
                warn!(
                    "gave up waiting for the requests in flight: their intents are on file, and \
                     the next run settles them at the ids recorded"
                );
                break;
            }
            _ = ticks.tick() => progress.tick(),
        }
    }
    progress.finish();
    report(
        &names,
        &tallies,
        &options.receipts,
        log.receipts,
        Some(writer.head()),
        interrupted,
    )
}

/// What this run wrote: its receipts, and the intents not yet followed by an outcome.
#[derive(Default)]
struct Log {
    receipts: u64,
    /// (vendor, person) of each intent written and not yet answered by a receipt.
    open: HashSet<(String, u128)>,
}

impl Log {
    /// Write one batch (intents and receipts) in one piece, synced; then answer the intents,
    /// and count the receipts. On an error every intent of the batch is answered with it (so
    /// nothing of it is sent).
    fn write(
        &mut self,
        writer: &mut ReceiptLog,
        batch: Vec<Message>,
        done: &ReceiptIndex,
        tallies: &mut BTreeMap<&'static str, Tally>,
        progress: &mut Progress,
    ) -> std::io::Result<()> {
        let now = SystemTime::now();
        let mut acks = Vec::new();
        let mut reports = Vec::new();
        let mut intents = Vec::new();
        let mut result = Ok(());
        for message in batch {
            match message {
                Message::Intents(records, ack) => {
                    for record in &records {
                        if result.is_ok() {
                            result = writer.push_intent(record);
                        }
                    }
                    intents.extend(records);
                    acks.push(ack);
                }
                Message::Report(person, report) => {
                    let mut receipt = Receipt::at(now, person, &report);
                    if done
                        .intended(report.vendor, &person)
                        .is_some_and(|(_, cut)| cut)
                    {
                        receipt = receipt.settling();
                    }
                    if result.is_ok() {
                        result = writer.push_receipt(&receipt);
                    }
                    reports.push((person, report));
                }
            }
        }
        // The disk wait blocks this thread only: the vendors' work goes on on the others.
        let result = result.and_then(|()| tokio::task::block_in_place(|| writer.commit()));
        if let Err(e) = &result {
            for ack in acks {
                let _ = ack.send(Err(e.to_string()));
            }
            return result;
        }
        for intent in intents {
            self.open.insert((intent.vendor, short(&intent.person)));
        }
        for ack in acks {
            let _ = ack.send(Ok(()));
        }
        for (person, report) in reports {
            // Any outcome answers the intent, a not-attempted one too (nothing was sent).
            self.open
                .remove(&(report.vendor.to_owned(), short(&person)));
            self.receipts += 1;
            let tally = tallies.entry(report.vendor).or_default();
            *tally.labels.entry(report.status.label()).or_default() += 1;
            if let Some(step) = report.status.next_step() {
                *tally.advice.entry(step.advice()).or_default() += 1;
            }
            if let VendorStatus::Finished(Outcome::Anonymized(evidence)) = &report.status
                && let Some(verification) = evidence.verified.as_deref()
            {
                *tally.verified.entry(verification.label()).or_default() += 1;
            }
            progress.advance(report.vendor, 1);
        }
        Ok(())
    }

    /// After a failed write: which erasures are in which state, per vendor.
    fn say_unrecorded(&self, names: &[&'static str], receipts: &std::path::Path, error: &str) {
        say!(
            "receipts: {} written to {} before the write failed",
            self.receipts,
            receipts.display()
        );
        let mut in_doubt = serde_json::Map::new();
        for vendor in names {
            let open = self.open.iter().filter(|(v, _)| v == vendor).count();
            in_doubt.insert((*vendor).to_owned(), open.into());
            say!(
                "{vendor:<12} {open} erasure(s) recorded as about to be sent, without an outcome \
                 on file: in doubt, settled on the next run at the ids recorded"
            );
        }
        say!(
            "every erasure sent has its intent on file; the erasures whose intent could not be \
             written were not sent. Free the disk (or fix the error), then run the same command \
             again"
        );
        output::document(json!({
            "command": "run",
            "error": format!("cannot write {}: {error}", receipts.display()),
            "receipts": {"file": receipts, "written": self.receipts},
            "in_doubt": in_doubt,
        }));
    }
}

/// The last word of a run, on stdout.
fn report(
    names: &[&'static str],
    tallies: &BTreeMap<&'static str, Tally>,
    receipts: &std::path::Path,
    written: u64,
    head: Option<String>,
    interrupted: Option<Signal>,
) -> u8 {
    let mut everything_done = true;
    let mut vendors = serde_json::Map::new();
    for (vendor, tally) in names.iter().filter_map(|v| tallies.get(v).map(|t| (v, t))) {
        vendors.insert(
            (*vendor).to_owned(),
            json!({
                "outcomes": tally.labels,
                "already_done": tally.skipped,
                "settled_interrupted": tally.settling,
                "to_finish": tally.advice,
                "verified": tally.verified,
            }),
        );
        let counts: Vec<String> = tally
            .labels
            .iter()
            .map(|(label, n)| format!("{n} {label}"))
            .collect();
        let counts = if counts.is_empty() {
            "nothing to do".to_owned()
        } else {
            counts.join(", ")
        };
        say!(
            "{vendor:<12} {counts}; {} already done before this run",
            tally.skipped
        );
        if tally.settling > 0 {
            say!(
                "{:<12} {} of them settle(d) an erasure interrupted in an earlier run, at the id \
                 its intent recorded",
                "",
                tally.settling
            );
        }
        if !tally.verified.is_empty() {
            let counts: Vec<String> = tally
                .verified
                .iter()
                .map(|(label, n)| match *label {
                    "failed" => format!("{n} failed (a warning in their receipts says what)"),
                    "unsupported" => format!("{n} cannot be checked at this vendor"),
                    other => format!("{n} {other}"),
                })
                .collect();
            say!("{:<12} verified at the vendor: {}", "", counts.join(", "));
        }
        for (advice, n) in &tally.advice {
            everything_done = false;
            say!("{:<12} {n} to finish: {advice}", "");
        }
    }
    say!("receipts: {written} written to {}", receipts.display());
    if let Some(head) = &head {
        say!(
            "receipts chain head: {head} (keep it: `receipts verify` shows it, and a file whose \
             head differs later was cut or changed)"
        );
    }
    output::document(json!({
        "command": "run",
        "vendors": vendors,
        "receipts": {"file": receipts, "written": written, "chain_head": head},
        "interrupted": interrupted.map(|s| s.name),
    }));
    if let Some(signal) = interrupted {
        say!(
            "interrupted ({}): run the same command again to finish",
            signal.name
        );
        signal.exit_status()
    } else if everything_done {
        EXIT_OK
    } else {
        EXIT_NOT_DONE
    }
}
