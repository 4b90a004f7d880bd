//! `anonymize plan`: look every person up (reads only) and say what `run` would do.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use anonymize_core::{Eraser, LookupKind, ReceiptKey};
use futures_util::StreamExt;
use futures_util::stream::select_all;
use serde_json::json;

use crate::progress::Progress;
use crate::{Context, EXIT_NOT_DONE, EXIT_OK, EXIT_USAGE, Tuning, say, warn};
use crate::{output, scan};
use anonymize_core::ReceiptIndex;

/// The key that names persons in memory when no receipt key is set: `plan` only uses it to
/// spot repeated persons, and nothing hashed with it leaves the process.
const IN_MEMORY_KEY: [u8; 32] = [0x5a; 32];

pub(crate) async fn plan(ctx: &Context, input: &Path, tuning: Tuning) -> u8 {
    let key = match &ctx.key {
        Some(key) => key.clone(),
        None => match ReceiptKey::new(&IN_MEMORY_KEY) {
            Ok(k) => k,
            Err(e) => {
                warn!("{e}");
                return EXIT_USAGE;
            }
        },
    };
    let names = ctx.vendors.names();
    let mut problems = Vec::new();
    let report = |p: &crate::input::Problem| {
        say!("{p}");
        problems.push(json!({"line": p.line, "column": p.column, "reason": p.reason}));
    };
    let scanned = match scan::scan(input, &key, &ReceiptIndex::default(), &names, report) {
        Ok(s) => s,
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };
    say!(
        "input: {} person(s), {} bad line(s){}",
        scanned.persons,
        scanned.bad_lines,
        if scanned.bad_lines > 0 {
            " (listed above; run refuses to start until they are fixed, or leaves them out with \
             --skip-invalid)"
        } else {
            ""
        }
    );
    for spec in &ctx.vendors.skipped {
        say!(
            "{:<12} skipped: not configured (set {} and its credentials); the {} column is not used",
            spec.name,
            spec.variables[0],
            spec.column
        );
    }
    let mut doc = json!({
        "command": "plan",
        "input": {
            "persons": scanned.persons,
            "bad_lines": scanned.bad_lines,
            "problems": problems,
        },
        "skipped_vendors": ctx.vendors.skipped.iter().map(|s| s.name).collect::<Vec<_>>(),
        "vendors": {},
    });
    output::document(doc.clone());
    if scanned.persons == 0 {
        say!("the input holds no person: nothing to do");
        return if scanned.bad_lines > 0 {
            EXIT_USAGE
        } else {
            EXIT_OK
        };
    }
    if names.is_empty() {
        say!("no vendor is configured: nothing would be erased");
        return EXIT_USAGE;
    }
    let eraser = Eraser::new(ctx.vendors.active.iter().cloned())
        .and_then(|e| e.with_concurrency(tuning.concurrency))
        .and_then(|e| e.with_batch_size(tuning.batch_size));
    let eraser = match eraser {
        Ok(e) => e,
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };
    let repeats: Arc<HashSet<u64>> = Arc::new(scanned.repeats.clone());
    let mut streams = Vec::new();
    for &vendor in &names {
        let persons = match scan::persons(input, key.clone(), repeats.clone(), |_, p| Some(p)) {
            Ok(p) => p,
            Err(e) => {
                warn!("{e}");
                return EXIT_USAGE;
            }
        };
        match eraser.plan_at(vendor, persons) {
            Ok(s) => streams.push(s.boxed()),
            Err(e) => {
                warn!("{e}");
                return EXIT_USAGE;
            }
        }
    }
    let totals: Vec<(&'static str, u64)> = names.iter().map(|&v| (v, scanned.persons)).collect();
    let mut progress = Progress::new("looked up", &totals, tuning.progress_every());
    let mut counts: BTreeMap<&'static str, BTreeMap<LookupKind, u64>> = BTreeMap::new();
    let mut first_error: BTreeMap<&'static str, String> = BTreeMap::new();
    let mut merged = select_all(streams);
    while let Some((_, planned)) = merged.next().await {
        *counts
            .entry(planned.vendor)
            .or_default()
            .entry(planned.lookup.kind())
            .or_default() += 1;
        if let anonymize_core::Lookup::Failed(e) | anonymize_core::Lookup::NotAttempted(e) =
            &planned.lookup
        {
            first_error
                .entry(planned.vendor)
                .or_insert_with(|| e.to_string());
        }
        progress.advance(planned.vendor, 1);
        progress.tick();
    }
    progress.finish();

    say!(
        "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>13}",
        "vendor",
        "given",
        "resolved",
        "not_found",
        "needs_id",
        "failed",
        "not_attempted"
    );
    for vendor in &names {
        let c = counts.get(vendor).cloned().unwrap_or_default();
        let n = |k| c.get(&k).copied().unwrap_or(0);
        say!(
            "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>13}",
            vendor,
            n(LookupKind::Given),
            n(LookupKind::Resolved),
            n(LookupKind::NotFound),
            n(LookupKind::NeedsId),
            n(LookupKind::Failed),
            n(LookupKind::NotAttempted)
        );
    }
    for vendor in &names {
        let c = counts.get(vendor).cloned().unwrap_or_default();
        let n = |k| c.get(&k).copied().unwrap_or(0);
        doc["vendors"][*vendor] = json!({
            "given": n(LookupKind::Given),
            "resolved": n(LookupKind::Resolved),
            "not_found": n(LookupKind::NotFound),
            "needs_id": n(LookupKind::NeedsId),
            "failed": n(LookupKind::Failed),
            "not_attempted": n(LookupKind::NotAttempted),
            "first_error": first_error.get(vendor),
        });
        let reach = n(LookupKind::Given) + n(LookupKind::Resolved);
        let unreachable =
            n(LookupKind::NeedsId) + n(LookupKind::Failed) + n(LookupKind::NotAttempted);
        say!(
            "{vendor}: run would erase {reach} (given or resolved); {} not found there; {unreachable} \
             cannot be reached{}",
            n(LookupKind::NotFound),
            first_error
                .get(vendor)
                .map(|e| format!(" (first error: {e})"))
                .unwrap_or_default()
        );
    }
    say!("plan sent only look-ups (reads): nothing was erased");
    output::document(doc);
    if scanned.bad_lines > 0 {
        EXIT_USAGE
    } else if first_error.is_empty() {
        EXIT_OK
    } else {
        EXIT_NOT_DONE
    }
}
