//! The first pass over the input, before anything is sent: every bad line, duplicates, how many
//! persons there are, and how many each vendor has already done.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anonymize_core::{Person, PersonRef, ReceiptKey};
use futures_util::stream::{self, Stream};

use crate::input::{self, Line, OpenError, Problem};
use anonymize_core::ReceiptIndex;

use crate::receipts::short;

/// What the first pass found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Usable persons (bad lines and repeated persons left out).
    pub(crate) persons: u64,
    /// Lines with a problem (each reported).
    pub(crate) bad_lines: u64,
    /// Lines that repeat an earlier line's person: left out of every pass.
    pub(crate) repeats: HashSet<u64>,
    /// Per vendor, the persons already done there according to the receipts.
    pub(crate) already_done: HashMap<&'static str, u64>,
}

/// Read the whole input once, calling `report` for every problem. A person is identified as in
/// the receipts (`key`): the same address twice (in any case), or the same ids without an
/// address, is a repeat, reported as a problem of the later line.
pub(crate) fn scan(
    path: &Path,
    key: &ReceiptKey,
    done: &ReceiptIndex,
    vendors: &[&'static str],
    mut report: impl FnMut(&Problem),
) -> Result<Scan, OpenError> {
    let mut scan = Scan::default();
    let mut first_line: HashMap<u128, u64> = HashMap::new();
    for line in input::open(path)? {
        match line {
            Line::Bad(problems) => {
                scan.bad_lines += 1;
                problems.iter().for_each(&mut report);
            }
            Line::Person { line, person } => {
                let person_ref = key.person_ref(&person);
                if let Some(first) = first_line.get(&short(&person_ref)) {
                    scan.bad_lines += 1;
                    scan.repeats.insert(line);
                    report(&Problem {
                        line,
                        column: None,
                        reason: format!("the same person as line {first}"),
                    });
                    continue;
                }
                first_line.insert(short(&person_ref), line);
                scan.persons += 1;
                for vendor in vendors {
                    if done.is_done(vendor, &person_ref) {
                        *scan.already_done.entry(vendor).or_default() += 1;
                    }
                }
            }
        }
    }
    Ok(scan)
}

/// The usable persons of the input for one vendor, read again from the file, without the
/// repeats, each passed through `prepare` (which leaves out a person by answering `None`, or
/// changes them, e.g. to give the id an earlier intent named): what the vendor's pipeline takes.
pub(crate) fn persons(
    path: &Path,
    key: ReceiptKey,
    repeats: std::sync::Arc<HashSet<u64>>,
    mut prepare: impl FnMut(&PersonRef, Person) -> Option<Person> + Send + 'static,
) -> Result<impl Stream<Item = (PersonRef, Person)> + Send + 'static, OpenError> {
    let lines = input::open(path)?;
    Ok(stream::iter(lines.filter_map(move |line| match line {
        Line::Person { line, person } if !repeats.contains(&line) => {
            let person_ref = key.person_ref(&person);
            prepare(&person_ref, person).map(|p| (person_ref, p))
        }
        _ => None,
    })))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use anonymize_core::secrecy::SecretString;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn repeated_persons_are_bad_lines_and_done_persons_are_counted_and_skipped() {
        let dir = std::env::temp_dir().join(format!("anonymize-scan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.csv");
        std::fs::write(
            &path,
            "email,alfabet_ref\n\
             jane@example.com,\n\
             JANE@Example.com,421-1-0\n\
             ,421-2-0\n\
             ,421-2-0\n\
             bob@example.com,\n\
             bad@,\n",
        )
        .unwrap();
        let key =
            ReceiptKey::from_hex(&SecretString::from(format!("ab{}", "cd".repeat(31)))).unwrap();
        let bob = key.person_ref(&Person::from_email(
            anonymize_core::Email::parse("bob@example.com").unwrap(),
        ));
        let mut done = ReceiptIndex::default();
        let receipt: anonymize_core::Receipt = serde_json::from_value(serde_json::json!({
            "at": "2026-01-01T00:00:00.000Z", "person": bob.to_string(), "vendor": "alfabet",
            "lookup": "given", "outcome": "not_found", "elapsed_ms": 1, "library": "0.1.0"
        }))
        .unwrap();
        done.add_receipt(&receipt);
        let mut problems = Vec::new();
        let scanned = scan(&path, &key, &done, &["alfabet", "guardhouse"], |p| {
            problems.push(p.to_string());
        })
        .unwrap();
        assert_eq!(
            problems,
            [
                "line 3: the same person as line 2",
                "line 5: the same person as line 4",
                "line 7, column email: not a valid e-mail address",
            ]
        );
        assert_eq!((scanned.persons, scanned.bad_lines), (3, 3));
        assert_eq!(scanned.already_done.get("alfabet"), Some(&1));
        assert_eq!(scanned.already_done.get("guardhouse"), None);
        // A vendor's pass leaves out the repeats and what is done there.
        let repeats = std::sync::Arc::new(scanned.repeats.clone());
        let at_alfabet: Vec<PersonRef> = persons(&path, key.clone(), repeats, move |r, p| {
            (!done.is_done("alfabet", r)).then_some(p)
        })
        .unwrap()
        .map(|(r, _)| r)
        .collect()
        .await;
        assert_eq!(at_alfabet.len(), 2);
        assert!(!at_alfabet.contains(&bob));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
