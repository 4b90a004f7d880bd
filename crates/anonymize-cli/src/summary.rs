//! `anonymize receipts summarize` and `anonymize receipts find`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use anonymize_core::{Email, Receipt, ReceiptKey};

use crate::receipts::{self, short};
use crate::{EXIT_NOT_DONE, EXIT_OK, EXIT_USAGE, KEY_VARIABLE, say, warn};

/// The labels a receipt can have, in the order the summary shows them.
const LABELS: [&str; 6] = [
    "anonymized",
    "not_found",
    "rejected",
    "invalid",
    "failed",
    "not_attempted",
];

/// Counts per vendor and outcome by each person's latest receipt, and the persons erased at
/// every vendor the file has receipts from. Needs no key; with one, the MACs are checked too.
pub(crate) fn summarize(path: &Path, key: Option<&ReceiptKey>) -> u8 {
    let mut vendors: Vec<String> = Vec::new();
    // (person, vendor) → the label of the latest receipt.
    let mut latest: HashMap<(u128, u16), u8> = HashMap::new();
    let mut total = 0u64;
    let read = receipts::read(path, key, |_, receipt| {
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
        latest.insert(
            (
                short(&receipt.person),
                u16::try_from(vendor).unwrap_or(u16::MAX),
            ),
            u8::try_from(label).unwrap_or(u8::MAX),
        );
    });
    let contents = match read {
        Ok(c) => c,
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };
    if let Some(w) = contents.warning(path) {
        warn!("{w}");
    }
    let mut counts = vec![[0u64; LABELS.len()]; vendors.len()];
    // Per person: how many vendors have a done latest receipt, and how many any.
    let mut persons: HashMap<u128, (u16, u16)> = HashMap::new();
    for (&(person, vendor), &label) in &latest {
        counts[usize::from(vendor)][usize::from(label)] += 1;
        let entry = persons.entry(person).or_default();
        entry.1 += 1;
        if label < 2 {
            entry.0 += 1;
        }
    }
    let everywhere = persons
        .values()
        .filter(|(done, _)| usize::from(*done) == vendors.len())
        .count();
    say!(
        "{}: {total} receipt(s) about {} person(s) at {} vendor(s) (key id {})",
        path.display(),
        persons.len(),
        vendors.len(),
        contents.key_id
    );
    say!(
        "{:<12} {}",
        "vendor",
        LABELS.map(|l| format!("{l:>13}")).join(" ")
    );
    let mut order: Vec<usize> = (0..vendors.len()).collect();
    order.sort_by(|a, b| vendors[*a].cmp(&vendors[*b]));
    for i in order {
        say!(
            "{:<12} {}",
            vendors[i],
            counts[i].map(|n| format!("{n:>13}")).join(" ")
        );
    }
    say!(
        "erased everywhere (anonymized or not found at every vendor above): {everywhere} of {} \
         person(s)",
        persons.len()
    );
    if contents.version < 2 {
        say!("format version 1: these receipts carry no MACs, and nothing shows an edit");
    } else if !contents.verified {
        say!(
            "unverified: without the receipt key ({KEY_VARIABLE}) the MACs are not checked; \
             `anonymize receipts verify` checks them"
        );
    }
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
    let contents = match receipts::read_entries(path, Some(key), |_, entry| match entry {
        receipts::Entry::Receipt(_) => receipts += 1,
        receipts::Entry::Intent(_) => intents += 1,
    }) {
        Ok(c) => c,
        Err(e @ receipts::ReadError::Tampered(..)) => {
            say!("NOT ok: {e}");
            return EXIT_NOT_DONE;
        }
        Err(e) => {
            warn!("{e}");
            return EXIT_USAGE;
        }
    };
    if let Some(w) = contents.warning(path) {
        warn!("{w}");
    }
    if contents.version < 2 {
        say!(
            "{}: format version 1, without MACs: {receipts} receipt(s), nothing to verify",
            path.display()
        );
        return EXIT_NOT_DONE;
    }
    let head: String = contents
        .head
        .map(|h| h.iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_default();
    say!(
        "ok: {}: {receipts} receipt(s) and {intents} intent(s), every line's MAC matches (key id \
         {}); chain head {head}",
        path.display(),
        contents.key_id
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
    if let Err(e) = receipts::read(path, Some(key), |line, r| {
        if r.person == wanted {
            found.push((line, r));
        }
    }) {
        warn!("{e}");
        return EXIT_USAGE;
    }
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
    if not_done.is_empty() {
        EXIT_OK
    } else {
        EXIT_NOT_DONE
    }
}
