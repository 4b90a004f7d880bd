//! `anonymize run`: erase, with progress, receipts and resume.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use anonymize_core::{Eraser, PersonRef, Receipt, ReceiptKey, VendorReport};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::progress::Progress;
use crate::receipts::{self, Done, Writer};
use crate::scan::{self, Scan};
use crate::signals::{self, Signal};
use crate::{Context, EXIT_NOT_DONE, EXIT_OK, EXIT_USAGE, KEY_VARIABLE, Tuning, say, warn};

/// What `run` was asked.
pub(crate) struct Options {
    pub(crate) input: PathBuf,
    pub(crate) receipts: PathBuf,
    pub(crate) skip_invalid: bool,
    pub(crate) grace: Duration,
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
    let mut writer = match Writer::lock(&options.receipts, false) {
        Ok(w) => w,
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };

    // What earlier runs did.
    let mut done = Done::default();
    let existing = match &writer {
        Some(w) if w.len() > 0 => {
            match receipts::read(&options.receipts, Some(&key), |_, r| done.record(&r)) {
                Ok(contents) => Some(contents),
                Err(e) => {
                    warn!("{e}");
                    return EXIT_USAGE;
                }
            }
        }
        _ => None,
    };
    if let Some(warning) = existing.as_ref().and_then(|c| c.warning(&options.receipts)) {
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
        return EXIT_OK;
    }

    let mut writer = match writer.take() {
        Some(w) => w,
        // A new file: created and locked now that the input is known to be good.
        None => match Writer::lock(&options.receipts, true) {
            Ok(Some(w)) if w.len() == 0 => w,
            Ok(_) => {
                warn!(
                    "{}: another run created this receipts file while this one read its input; \
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
    if let Err(e) = writer.start(&options.receipts, &key, existing.as_ref()) {
        warn!("cannot write {}: {e}", options.receipts.display());
        return EXIT_USAGE;
    }
    if let Ok(signal) = signalled.try_recv() {
        say!(
            "interrupted ({}) before anything was sent: nothing was erased",
            signal.name
        );
        return signal.exit_status();
    }
    let eraser = match Eraser::new(ctx.vendors.active.iter().cloned()) {
        Ok(e) => e
            .with_concurrency(options.tuning.concurrency)
            .with_batch_size(options.tuning.batch_size),
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };
    erase(
        &eraser,
        &key,
        done,
        &scanned,
        &options,
        &mut writer,
        signalled,
    )
    .await
}

/// The counts of one vendor in this run.
#[derive(Default)]
struct Tally {
    skipped: u64,
    labels: BTreeMap<&'static str, u64>,
    advice: BTreeMap<&'static str, u64>,
}

async fn erase(
    eraser: &Eraser,
    key: &ReceiptKey,
    done: Done,
    scanned: &Scan,
    options: &Options,
    writer: &mut Writer,
    mut signalled: tokio::sync::oneshot::Receiver<Signal>,
) -> u8 {
    let names: Vec<&'static str> = eraser.vendors().collect();
    let done = Arc::new(done);
    let repeats: Arc<HashSet<u64>> = Arc::new(scanned.repeats.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, mut rx) = mpsc::channel::<(PersonRef, VendorReport)>(WRITE_BATCH * 2);
    for &vendor in &names {
        let done = done.clone();
        let stopping = stop.clone();
        let persons = match scan::persons(&options.input, key.clone(), repeats.clone(), move |r| {
            done.contains(vendor, r)
        }) {
            Ok(p) => p.take_while(move |_| std::future::ready(!stopping.load(Ordering::SeqCst))),
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
            while let Some(item) = reports.next().await {
                if tx.send(item).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);

    let mut tallies: BTreeMap<&'static str, Tally> = BTreeMap::new();
    let totals: Vec<(&'static str, u64)> = names
        .iter()
        .map(|&v| {
            let skipped = scanned.already_done.get(v).copied().unwrap_or(0);
            tallies.entry(v).or_default().skipped = skipped;
            (v, scanned.persons - skipped)
        })
        .collect();
    let mut progress = Progress::new("done", &totals, options.tuning.progress_every());
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    let mut interrupted: Option<Signal> = None;
    let mut listening = true;
    let deadline = tokio::time::sleep(Duration::MAX / 4);
    let mut deadline = std::pin::pin!(deadline);
    let mut written = 0u64;
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
                if let Err(e) = write(writer, &batch, &mut tallies, &mut progress) {
                    warn!(
                        "cannot write {}: {e}; stopping (the requests of the last {} results were \
                         sent; those persons are looked up again on the next run)",
                        options.receipts.display(),
                        batch.len()
                    );
                    return EXIT_NOT_DONE;
                }
                written += batch.len() as u64;
            }
            signal = &mut signalled, if listening => {
                listening = false;
                let Ok(signal) = signal else { continue };
                interrupted = Some(signal);
                stop.store(true, Ordering::SeqCst);
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
                    "gave up waiting for the requests in flight: they have no receipt and are \
                     done again on the next run"
                );
                break;
            }
            _ = ticks.tick() => progress.tick(),
        }
    }
    progress.finish();
    report(&names, &tallies, &options.receipts, written, interrupted)
}

/// Write one batch of results as receipts, synced, and count them.
fn write(
    writer: &mut Writer,
    batch: &[(PersonRef, VendorReport)],
    tallies: &mut BTreeMap<&'static str, Tally>,
    progress: &mut Progress,
) -> std::io::Result<()> {
    let now = SystemTime::now();
    let mut lines = String::with_capacity(batch.len() * 320);
    for (person, report) in batch {
        let receipt = Receipt::at(now, *person, report);
        lines.push_str(&serde_json::to_string(&receipt).map_err(std::io::Error::other)?);
        lines.push('\n');
    }
    // The disk wait blocks this thread only: the vendors' work goes on on the others.
    tokio::task::block_in_place(|| writer.append(&lines))?;
    for (_, report) in batch {
        let tally = tallies.entry(report.vendor).or_default();
        *tally.labels.entry(report.status.label()).or_default() += 1;
        if let Some(step) = report.status.next_step() {
            *tally.advice.entry(step.advice()).or_default() += 1;
        }
        progress.advance(report.vendor, 1);
    }
    Ok(())
}

/// The last word of a run, on stdout.
fn report(
    names: &[&'static str],
    tallies: &BTreeMap<&'static str, Tally>,
    receipts: &std::path::Path,
    written: u64,
    interrupted: Option<Signal>,
) -> u8 {
    let mut everything_done = true;
    for (vendor, tally) in names.iter().filter_map(|v| tallies.get(v).map(|t| (v, t))) {
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
        for (advice, n) in &tally.advice {
            everything_done = false;
            say!("{:<12} {n} to finish: {advice}", "");
        }
    }
    say!("receipts: {written} written to {}", receipts.display());
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
