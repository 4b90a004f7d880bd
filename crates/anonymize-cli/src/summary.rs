//! `anonymize receipts summarize` and `anonymize receipts find`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::json;

use anonymize_core::{Email, LogEntry, LogError, Receipt, ReceiptKey, read_log};

use crate::output;
use crate::receipts::short;
use crate::{EXIT_NOT_DONE, EXIT_OK, EXIT_USAGE, KEY_VARIABLE, say, warn};

/// The labels a receipt can have, in the order the summary shows them (the two done ones
/// first: the counting below relies on it).
const LABELS: [&str; 6] = anonymize_core::VendorStatus::LABELS;

/// Counts per vendor and outcome by each person's latest receipt, and the persons erased at
/// every vendor the files have receipts from. Several files (one per worker of a sharded run)
/// count each person once, by their latest receipt across the files. Needs no key; with one,
/// the MACs are checked too.
pub(crate) fn summarize(paths: &[PathBuf], key: Option<&ReceiptKey>) -> u8 {
    let mut vendors: Vec<String> = Vec::new();
    // (person, vendor) → the latest receipt's file, time and label.
    let mut latest: HashMap<(u128, u16), (usize, String, u8)> = HashMap::new();
    let mut total = 0u64;
    let mut key_id: Option<String> = None;
    let mut unchained = Vec::new();
    let mut unverified = false;
    for (file, path) in paths.iter().enumerate() {
        let read = read_log(path, key, |_, entry| {
            let LogEntry::Receipt(receipt) = entry else {
                return;
            };
            total += 1;
            let vendor = match vendors.iter().position(|v| *v == receipt.vendor) {
                Some(i) => i,
                None => {
                    vendors.push(receipt.vendor.clone());
                    vendors.len() - 1
                }
            };
            let label = LABELS
                .iter()
                .position(|l| *l == receipt.status.label())
                .unwrap_or(LABELS.len() - 1);
            let place = (
                short(&receipt.person),
                u16::try_from(vendor).unwrap_or(u16::MAX),
            );
            let label = u8::try_from(label).unwrap_or(u8::MAX);
            // Within a file the later line wins, as for `run` (whatever the clock said); across
            // files, the later time (RFC 3339, UTC, one format: ordered as text), and the later
            // file at the same time.
            match latest.get_mut(&place) {
                Some((seen_in, at, old)) if *seen_in == file || *at <= receipt.at => {
                    (*seen_in, *at, *old) = (file, receipt.at, label);
                }
                Some(_) => {}
                None => {
                    latest.insert(place, (file, receipt.at, label));
                }
            }
        });
        let contents = match read {
            Ok(c) => c,
            Err(e) => {
                warn!("{e}");
                return EXIT_USAGE;
            }
        };
        for w in contents.warnings(path) {
            warn!("{w}");
        }
        match &key_id {
            Some(id) if id != contents.key_id() => {
                warn!(
                    "{}: written with another receipt key (key id {}) than {} (key id {id}): \
                     the two name persons differently, so they cannot be counted together",
                    path.display(),
                    contents.key_id(),
                    paths[0].display()
                );
                return EXIT_USAGE;
            }
            Some(_) => {}
            None => key_id = Some(contents.key_id().to_owned()),
        }
        if contents.version() < 2 {
            unchained.push(path.display().to_string());
        } else if !contents.is_verified() {
            unverified = true;
        }
    }
    let key_id = key_id.unwrap_or_default();
    let mut counts = vec![[0u64; LABELS.len()]; vendors.len()];
    // Per person: how many vendors have a done latest receipt, and how many any.
    let mut persons: HashMap<u128, (u16, u16)> = HashMap::new();
    for (&(person, vendor), (_, _, label)) in &latest {
        counts[usize::from(vendor)][usize::from(*label)] += 1;
        let entry = persons.entry(person).or_default();
        entry.1 += 1;
        if *label < 2 {
            entry.0 += 1;
        }
    }
    let everywhere = persons
        .values()
        .filter(|(done, _)| usize::from(*done) == vendors.len())
        .count();
    let files = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    say!(
        "{files}: {total} receipt(s) about {} person(s) at {} vendor(s) (key id {key_id})",
        persons.len(),
        vendors.len(),
    );
    say!(
        "{:<12} {}",
        "vendor",
        LABELS.map(|l| format!("{l:>13}")).join(" ")
    );
    let mut order: Vec<usize> = (0..vendors.len()).collect();
    order.sort_by(|a, b| vendors[*a].cmp(&vendors[*b]));
    let mut by_vendor = serde_json::Map::new();
    for i in order {
        say!(
            "{:<12} {}",
            vendors[i],
            counts[i].map(|n| format!("{n:>13}")).join(" ")
        );
        let row: serde_json::Map<String, serde_json::Value> = LABELS
            .iter()
            .zip(counts[i])
            .map(|(l, n)| ((*l).to_owned(), n.into()))
            .collect();
        by_vendor.insert(vendors[i].clone(), row.into());
    }
    say!(
        "erased everywhere (anonymized or not found at every vendor above): {everywhere} of {} \
         person(s)",
        persons.len()
    );
    for file in &unchained {
        say!("{file}: format version 1: these receipts carry no MACs, and nothing shows an edit");
    }
    if unverified {
        say!(
            "unverified: without the receipt key ({KEY_VARIABLE}) the MACs are not checked; \
             `anonymize receipts verify` checks them"
        );
    }
    output::document(json!({
        "command": "receipts summarize",
        "files": paths,
        "key_id": key_id,
        "receipts": total,
        "persons": persons.len(),
        "vendors": by_vendor,
        "erased_everywhere": everywhere,
        "verified": unchained.is_empty() && !unverified,
        "unchained_files": unchained,
    }));
    EXIT_OK
}

/// Check every MAC of the file: `ok` and the counts, or the first bad line.
pub(crate) fn verify(key: Option<&ReceiptKey>, path: &Path) -> u8 {
    let Some(key) = key else {
        warn!(
            "receipts verify needs the receipt key the receipts were written with: set \
             {KEY_VARIABLE} (only its holder can check, or forge, the MACs)"
        );
        return EXIT_USAGE;
    };
    let (mut receipts, mut intents) = (0u64, 0u64);
    let contents = match read_log(path, Some(key), |_, entry| match entry {
        LogEntry::Intent(_) => intents += 1,
        _ => receipts += 1,
    }) {
        Ok(c) => c,
        Err(e @ LogError::Tampered { .. }) => {
            say!("NOT ok: {e}");
            output::document(json!({
                "command": "receipts verify",
                "file": path,
                "ok": false,
                "line": e.line(),
                "error": e.to_string(),
            }));
            return EXIT_NOT_DONE;
        }
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };
    for w in contents.warnings(path) {
        warn!("{w}");
    }
    if contents.version() < 2 {
        say!(
            "{}: format version 1, without MACs: {receipts} receipt(s), nothing to verify",
            path.display()
        );
        output::document(json!({
            "command": "receipts verify",
            "file": path,
            "ok": false,
            "format_version": 1,
            "receipts": receipts,
            "error": "format version 1, without MACs: nothing to verify",
        }));
        return EXIT_NOT_DONE;
    }
    let head = contents.head().unwrap_or_default();
    output::document(json!({
        "command": "receipts verify",
        "file": path,
        "ok": true,
        "receipts": receipts,
        "intents": intents,
        "key_id": contents.key_id(),
        "chain_head": head,
    }));
    say!(
        "ok: {}: {receipts} receipt(s) and {intents} intent(s), every line's MAC matches (key id \
         {}); chain head {head}",
        path.display(),
        contents.key_id()
    );
    EXIT_OK
}

/// Every receipt about `email`, and where the person stands at each vendor.
pub(crate) fn find(key: Option<&ReceiptKey>, email: &str, path: &Path) -> u8 {
    let Some(key) = key else {
        warn!(
            "receipts find needs the receipt key the receipts were written with: set {KEY_VARIABLE} \
             (receipts name persons only by a keyed hash)"
        );
        return EXIT_USAGE;
    };
    let email = match Email::parse(email) {
        Ok(e) => e,
        Err(e) => {
            warn!("--email: {e}");
            return EXIT_USAGE;
        }
    };
    let wanted = key.email_ref(&email);
    let mut found: Vec<(u64, Receipt)> = Vec::new();
    if let Err(e) = read_log(path, Some(key), |line, entry| {
        if let LogEntry::Receipt(r) = entry
            && r.person == wanted
        {
            found.push((line, r));
        }
    }) {
        warn!("{e}");
        return EXIT_USAGE;
    }
    let mut doc = json!({
        "command": "receipts find",
        "file": path,
        "receipts": found
            .iter()
            .map(|(line, receipt)| json!({"line": line, "receipt": receipt}))
            .collect::<Vec<_>>(),
        "vendors": {},
    });
    output::document(doc.clone());
    if found.is_empty() {
        say!(
            "no receipt names this address (with this key): it was never erased through these receipts"
        );
        return EXIT_NOT_DONE;
    }
    for (line, receipt) in &found {
        let json = serde_json::to_string(receipt).unwrap_or_default();
        say!("line {line}: {json}");
    }
    let mut latest: BTreeMap<&str, &Receipt> = BTreeMap::new();
    for (_, receipt) in &found {
        latest.insert(receipt.vendor.as_str(), receipt);
    }
    let mut not_done = BTreeSet::new();
    for (vendor, receipt) in &latest {
        doc["vendors"][*vendor] = json!({
            "erased": receipt.is_done(),
            "outcome": receipt.status.label(),
            "at": receipt.at,
            "vendor_id": receipt.vendor_id,
        });
        let verdict = if receipt.is_done() {
            "erased"
        } else {
            not_done.insert(*vendor);
            "NOT erased"
        };
        say!(
            "{vendor:<12} {verdict}: {} at {}{}",
            receipt.status,
            receipt.at,
            receipt
                .vendor_id
                .as_deref()
                .map(|id| format!(" ({vendor} id {id})"))
                .unwrap_or_default()
        );
    }
    doc["erased_everywhere"] = not_done.is_empty().into();
    output::document(doc);
    if not_done.is_empty() {
        EXIT_OK
    } else {
        EXIT_NOT_DONE
    }
}
