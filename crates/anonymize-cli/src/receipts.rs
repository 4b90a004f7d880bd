//! The receipts file: JSON lines, a header line then one [`Receipt`] per line, appended as each
//! finishes and synced to disk.
//!
//! Line 1: `{"format":"anonymize-receipts","version":2,"key_id":"…","library":"…"}`: the marker
//! that this is a receipts file, and the id of the key whose hashes name its persons (a file
//! written with another key would name everyone differently, so it is refused).
//!
//! Version 2 adds the write-ahead [`IntentRecord`] lines: one per (person, vendor), written and
//! synced before the erasure is sent. An intent without a later receipt for the same person and
//! vendor is *in doubt* ([`Done::in_doubt`]). Version 1 files (no intents) are read, and never
//! appended to: that would make them a version 2 file under a version 1 header.
//!
//! Reading: a last line cut short (the process was killed while writing it) is dropped with a
//! warning, and cut from the file before anything is appended; any other line that is not a
//! receipt, or a first line that is not the header, refuses the file, naming the line.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anonymize_core::{IntentRecord, LIBRARY_VERSION, PersonRef, Receipt, ReceiptKey};

/// The format marker of line 1.
pub(crate) const FORMAT: &str = "anonymize-receipts";
/// The version of the format this program writes (and the newest it reads).
pub(crate) const VERSION: u32 = 2;

/// One line after the header.
#[derive(Debug)]
pub(crate) enum Entry {
    /// An outcome.
    Receipt(Receipt),
    /// An erasure about to be sent (version 2).
    Intent(IntentRecord),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    format: String,
    version: u32,
    key_id: String,
    library: String,
}

/// Why a receipts file cannot be used.
#[derive(Debug)]
pub(crate) enum ReadError {
    Io(PathBuf, io::Error),
    /// Line 1 is not this format's header.
    NotReceipts(PathBuf),
    /// A newer format.
    Version(PathBuf, u32),
    /// Written with another key than the one given.
    OtherKey(PathBuf),
    /// A line (not the last, cut-short one) that is not a receipt.
    Corrupt(PathBuf, u64),
    /// A line whose MAC does not continue the chain: edited, or lines removed, inserted or
    /// moved before it.
    Tampered(PathBuf, u64, &'static str),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            ReadError::NotReceipts(path) => write!(
                f,
                "{}, line 1: not a receipts file (no \"{FORMAT}\" header); refusing to add to it",
                path.display()
            ),
            ReadError::Version(path, v) => write!(
                f,
                "{}, line 1: receipts format version {v}, this program reads version {VERSION}",
                path.display()
            ),
            ReadError::OtherKey(path) => write!(
                f,
                "{}: these receipts were written with another receipt key; with this key they \
                 name nobody (use the key they were written with, or another receipts file)",
                path.display()
            ),
            ReadError::Tampered(path, line, why) => write!(
                f,
                "{}, line {line}: {why}; these receipts cannot be trusted from this line on \
                 (restore the file from a copy, or start another receipts file)",
                path.display()
            ),
            ReadError::Corrupt(path, line) => write!(
                f,
                "{}, line {line}: not a receipt; the file is damaged (only a last line cut short \
                 is repaired): restore it or start another receipts file",
                path.display()
            ),
        }
    }
}

/// What reading a receipts file found besides the receipts.
#[derive(Debug)]
pub(crate) struct Contents {
    /// The id of the key the file was written with.
    pub(crate) key_id: String,
    /// The format version of its header (0: no header yet).
    pub(crate) version: u32,
    /// The line number of a last line cut short, dropped.
    pub(crate) torn: Option<u64>,
    /// How many bytes of the file are whole lines.
    good_len: u64,
    /// The last line is whole but lacks its newline.
    needs_newline: bool,
    /// The MAC of the last whole line (version 2): where the chain goes on.
    pub(crate) head: Option<[u8; 32]>,
    /// Whether every MAC was checked (a key was given).
    pub(crate) verified: bool,
}

impl Contents {
    /// The warning about a dropped last line, if there is one.
    pub(crate) fn warning(&self, path: &Path) -> Option<String> {
        self.torn.map(|line| {
            format!(
                "warning: {}, line {line}: the last line was cut short (the run that wrote it was \
                 killed); it is dropped, and that person is done again at that vendor",
                path.display()
            )
        })
    }
}

/// Read the receipts file at `path`, calling `each` with every receipt and its line number (the
/// intents are left out: see [`read_entries`]). With `key`, a file written with another key is
/// refused.
pub(crate) fn read(
    path: &Path,
    key: Option<&ReceiptKey>,
    mut each: impl FnMut(u64, Receipt),
) -> Result<Contents, ReadError> {
    read_entries(path, key, |line, entry| {
        if let Entry::Receipt(r) = entry {
            each(line, r);
        }
    })
}

/// [`read`], with every line after the header: receipts and intents.
pub(crate) fn read_entries(
    path: &Path,
    key: Option<&ReceiptKey>,
    mut each: impl FnMut(u64, Entry),
) -> Result<Contents, ReadError> {
    let io = |e| ReadError::Io(path.to_owned(), e);
    let tampered = |line, why| ReadError::Tampered(path.to_owned(), line, why);
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut buf = Vec::new();
    let mut contents = Contents {
        key_id: String::new(),
        version: 0,
        torn: None,
        good_len: 0,
        needs_newline: false,
        head: None,
        verified: key.is_some(),
    };
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        line += 1;
        let whole = buf.last() == Some(&b'\n');
        let text = trim_newline(&buf);
        // From version 2 every line ends in its MAC (`,"mac":"…"}`): split it off.
        let (body, mac) = match split_mac(text) {
            Some((body, mac)) => (body, Some(mac)),
            None => (text, None),
        };
        if line == 1 {
            let header: Header = match serde_json::from_slice(text) {
                Ok(h) => h,
                Err(_) if !whole && header_prefix(text) => {
                    // Killed while writing the header: the file holds nothing yet.
                    contents.torn = Some(1);
                    return Ok(contents);
                }
                Err(_) => return Err(ReadError::NotReceipts(path.to_owned())),
            };
            if header.format != FORMAT {
                return Err(ReadError::NotReceipts(path.to_owned()));
            }
            if header.version == 0 || header.version > VERSION {
                return Err(ReadError::Version(path.to_owned(), header.version));
            }
            if key.is_some_and(|k| k.id() != header.key_id) {
                return Err(ReadError::OtherKey(path.to_owned()));
            }
            contents.key_id = header.key_id;
            contents.version = header.version;
            if header.version >= 2 {
                let Some(mac) = mac else {
                    return Err(tampered(1, "the header has no MAC"));
                };
                if let Some(key) = key
                    && key.chain_mac(None, body) != mac
                {
                    return Err(tampered(1, "the header's MAC does not match"));
                }
                contents.head = Some(mac);
            }
        } else {
            let Some(entry) = entry(text, contents.version) else {
                if !whole {
                    // The last line, cut short: what a kill (or a full disk) during a write
                    // leaves.
                    contents.torn = Some(line);
                    return Ok(contents);
                }
                return Err(ReadError::Corrupt(path.to_owned(), line));
            };
            if contents.version >= 2 {
                let Some(mac) = mac else {
                    return Err(tampered(line, "the line has no MAC"));
                };
                if let Some(key) = key
                    && key.chain_mac(contents.head.as_ref(), body) != mac
                {
                    return Err(tampered(
                        line,
                        "its MAC does not match: the line was edited, or a line before it was \
                         removed, inserted or moved",
                    ));
                }
                contents.head = Some(mac);
            }
            each(line, entry);
        }
        contents.good_len += n as u64;
        if !whole {
            contents.needs_newline = true;
            return Ok(contents);
        }
    }
    Ok(contents)
}

/// The suffix every line of version 2 ends with: `,"mac":"` + 64 hex digits + `"}`.
const MAC_FIELD: &[u8] = b",\"mac\":\"";

/// A line split into the bytes its MAC covers (everything before `,"mac":"`) and the MAC.
fn split_mac(text: &[u8]) -> Option<(&[u8], [u8; 32])> {
    let tail_len = MAC_FIELD.len() + 64 + 2;
    let start = text.len().checked_sub(tail_len)?;
    let (body, tail) = text.split_at(start);
    let digits = tail.strip_prefix(MAC_FIELD)?.strip_suffix(b"\"}")?;
    let mut mac = [0u8; 32];
    for (byte, pair) in mac.iter_mut().zip(digits.chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some((body, mac))
}

/// `json` (one serialized object) with its chain MAC after `previous`: the line as written.
fn chained(key: &ReceiptKey, previous: Option<&[u8; 32]>, json: &str) -> (String, [u8; 32]) {
    let body = json.strip_suffix('}').unwrap_or(json);
    let mac = key.chain_mac(previous, body.as_bytes());
    let mut line = String::with_capacity(json.len() + MAC_FIELD.len() + 66);
    line.push_str(body);
    line.push_str(",\"mac\":\"");
    for byte in mac {
        line.push_str(&format!("{byte:02x}"));
    }
    line.push_str("\"}");
    (line, mac)
}

/// A line after the header: a receipt, or (from version 2) an intent.
fn entry(text: &[u8], version: u32) -> Option<Entry> {
    match serde_json::from_slice::<Receipt>(text) {
        Ok(receipt) => Some(Entry::Receipt(receipt)),
        Err(_) if version >= 2 => serde_json::from_slice::<IntentRecord>(text)
            .ok()
            .filter(|i| i.intent == "erase")
            .map(Entry::Intent),
        Err(_) => None,
    }
}

fn trim_newline(buf: &[u8]) -> &[u8] {
    let buf = buf.strip_suffix(b"\n").unwrap_or(buf);
    buf.strip_suffix(b"\r").unwrap_or(buf)
}

/// Whether `text` is the start of a header this program writes (or begins with one).
fn header_prefix(text: &[u8]) -> bool {
    let start = format!("{{\"format\":\"{FORMAT}\"");
    start.as_bytes().starts_with(text) || text.starts_with(start.as_bytes())
}

/// A person's place in the in-memory sets: the first 16 bytes of their reference (a collision
/// needs about 2^64 persons).
pub(crate) fn short(person: &PersonRef) -> u128 {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&person.as_bytes()[..16]);
    u128::from_be_bytes(bytes)
}

/// The persons done at each vendor, by their latest receipt there, and the erasures whose intent
/// has no done receipt after it.
#[derive(Debug, Default)]
pub(crate) struct Done {
    by_vendor: HashMap<String, HashSet<u128>>,
    /// Per vendor and person: the id of the latest intent not followed by a done receipt, and
    /// whether any outcome was written after it.
    intents: HashMap<String, HashMap<u128, (String, bool)>>,
}

impl Done {
    /// Account for one more line of the file.
    pub(crate) fn entry(&mut self, entry: &Entry) {
        match entry {
            Entry::Receipt(receipt) => self.record(receipt),
            Entry::Intent(intent) => {
                self.intents
                    .entry(intent.vendor.clone())
                    .or_default()
                    .insert(short(&intent.person), (intent.vendor_id.clone(), false));
            }
        }
    }

    /// Account for one more receipt (later receipts replace earlier ones). Only a done receipt
    /// closes an intent: after a failed one (a timeout may have reached the vendor), the person
    /// is still erased by the intent's id, never looked up again; a not-attempted one sent
    /// nothing and leaves the intent as it was.
    pub(crate) fn record(&mut self, receipt: &Receipt) {
        if let Some(intents) = self.intents.get_mut(&receipt.vendor) {
            let person = short(&receipt.person);
            if receipt.is_done() {
                intents.remove(&person);
            } else if receipt.status.label() != "not_attempted"
                && let Some((_, answered)) = intents.get_mut(&person)
            {
                *answered = true;
            }
        }
        let set = self.by_vendor.entry(receipt.vendor.clone()).or_default();
        if receipt.is_done() {
            set.insert(short(&receipt.person));
        } else {
            set.remove(&short(&receipt.person));
        }
    }

    /// The vendor id that `person`'s erasure at `vendor` must go to: the id of an intent that no
    /// done receipt followed (the erasure may have reached the vendor, so a look-up by address
    /// could find nobody). With it, whether no outcome at all was written after the intent (the
    /// attempt was interrupted).
    pub(crate) fn intended(&self, vendor: &str, person: &PersonRef) -> Option<(&str, bool)> {
        self.intents
            .get(vendor)?
            .get(&short(person))
            .map(|(id, answered)| (id.as_str(), !answered))
    }

    /// How many erasures at `vendor` were interrupted: an intent, and no outcome after it.
    pub(crate) fn in_doubt(&self, vendor: &str) -> usize {
        self.intents
            .get(vendor)
            .map_or(0, |m| m.values().filter(|(_, answered)| !answered).count())
    }

    /// Whether `person` is done at `vendor`.
    pub(crate) fn contains(&self, vendor: &str, person: &PersonRef) -> bool {
        self.by_vendor
            .get(vendor)
            .is_some_and(|s| s.contains(&short(person)))
    }
}

/// Why the receipts file cannot be opened for a run.
#[derive(Debug)]
pub(crate) enum LockError {
    /// Another process holds it: a second run on one file would erase persons twice and mix
    /// its lines with the other's.
    Busy(PathBuf),
    /// A symbolic link to nothing: following it would create the file somewhere unexpected.
    Dangling(PathBuf),
    Io(PathBuf, io::Error),
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Busy(path) => write!(
                f,
                "{}: another run is using this receipts file (it is locked); nothing was sent. \
                 Wait for it to end, or give this run its own receipts file",
                path.display()
            ),
            LockError::Dangling(path) => write!(
                f,
                "{}: a symbolic link to a file that does not exist; refusing to create the \
                 receipts file where it points (give the real path)",
                path.display()
            ),
            LockError::Io(path, e) => write!(f, "cannot open {}: {e}", path.display()),
        }
    }
}

/// Appends receipts to a receipts file this process holds locked, each batch written in one
/// piece and synced before the next.
pub(crate) struct Writer {
    file: File,
    /// The key and the MAC of the last line written: set by [`start`](Self::start).
    chain: Option<(ReceiptKey, [u8; 32])>,
    /// Lines pushed, not yet committed.
    pending: String,
}

impl Writer {
    /// Open the receipts file at `path` to append to it, and lock it for this process until it
    /// ends (the lock dies with the process, so a killed run leaves none behind). A missing file
    /// is `None`, unless `create`: then it is created, for its owner alone. Another process's
    /// lock is [`LockError::Busy`], at once.
    pub(crate) fn lock(path: &Path, create: bool) -> Result<Option<Self>, LockError> {
        let io = |e| LockError::Io(path.to_owned(), e);
        if let Ok(meta) = std::fs::symlink_metadata(path)
            && meta.file_type().is_symlink()
            && std::fs::metadata(path).is_err()
        {
            return Err(LockError::Dangling(path.to_owned()));
        }
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(create);
        #[cfg(unix)]
        {
            // Vendor ids are pseudonymous personal data: the file is its owner's alone.
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = match options.open(path) {
            Ok(f) => f,
            Err(e) if !create && e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        match file.try_lock() {
            Ok(()) => Ok(Some(Self {
                file,
                chain: None,
                pending: String::new(),
            })),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Busy(path.to_owned())),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// The file's length now.
    pub(crate) fn len(&self) -> u64 {
        self.file.metadata().map_or(0, |m| m.len())
    }

    /// Prepare to append after what [`read`] found (`None`: a new or empty file, which gets the
    /// header first): a cut-short last line is cut off first, a whole one lacking its newline
    /// gets it.
    pub(crate) fn start(
        &mut self,
        path: &Path,
        key: &ReceiptKey,
        found: Option<&Contents>,
    ) -> io::Result<()> {
        let good_len = found.map_or(0, |c| c.good_len);
        self.file.set_len(good_len)?;
        match found.and_then(|c| c.head) {
            Some(head) if good_len > 0 => {
                self.chain = Some((key.clone(), head));
                if found.is_some_and(|c| c.needs_newline) {
                    self.write("\n")?;
                }
            }
            Some(_) | None if good_len > 0 => {
                return Err(io::Error::other(
                    "the receipts file has no MAC chain to continue (format version 1)",
                ));
            }
            _ => {
                let header = Header {
                    format: FORMAT.to_owned(),
                    version: VERSION,
                    key_id: key.id(),
                    library: LIBRARY_VERSION.to_owned(),
                };
                let json = serde_json::to_string(&header).map_err(io::Error::other)?;
                let (line, mac) = chained(key, None, &json);
                self.write(&format!("{line}\n"))?;
                sync_parent(path)?;
                self.chain = Some((key.clone(), mac));
            }
        }
        Ok(())
    }

    /// Add `value` as the next line, chained to the one before; written by
    /// [`commit`](Self::commit).
    pub(crate) fn push(&mut self, value: &impl serde::Serialize) -> io::Result<()> {
        let Some((key, head)) = &mut self.chain else {
            return Err(io::Error::other("the receipts writer was not started"));
        };
        let json = serde_json::to_string(value).map_err(io::Error::other)?;
        let (line, mac) = chained(key, Some(head), &json);
        *head = mac;
        self.pending.push_str(&line);
        self.pending.push('\n');
        Ok(())
    }

    /// Write the lines pushed since the last commit in one piece, then wait until they are on
    /// disk.
    pub(crate) fn commit(&mut self) -> io::Result<()> {
        let lines = std::mem::take(&mut self.pending);
        self.write(&lines)
    }

    /// The MAC of the last line pushed: the head of the chain, which an auditor can keep to
    /// notice lines cut from the end later.
    pub(crate) fn head(&self) -> Option<String> {
        self.chain
            .as_ref()
            .map(|(_, head)| head.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Open, lock and [start](Self::start) in one step (tests).
    #[cfg(test)]
    pub(crate) fn open(
        path: &Path,
        key: &ReceiptKey,
        found: Option<&Contents>,
    ) -> io::Result<Self> {
        let mut writer = Self::lock(path, true)
            .map_err(|e| io::Error::other(e.to_string()))?
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        writer.start(path, key, found)?;
        Ok(writer)
    }

    /// Write `lines` in one piece at the end of the file, then wait until they are on disk.
    fn write(&mut self, lines: &str) -> io::Result<()> {
        self.file.write_all(lines.as_bytes())?;
        self.file.sync_data()
    }
}

/// Make a new file's name durable too.
fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use anonymize_core::secrecy::SecretString;
    use anonymize_core::{Email, Lookup, Outcome, Person, VendorReport, VendorStatus};
    use std::time::Duration;

    pub(crate) fn key(byte: &str) -> ReceiptKey {
        ReceiptKey::from_hex(&SecretString::from(format!("{byte}{}", "5a".repeat(31)))).unwrap()
    }

    fn receipt(key: &ReceiptKey, n: usize, outcome: Outcome) -> Receipt {
        let person = Person::from_email(Email::parse(&format!("p{n}@example.com")).unwrap());
        let report = VendorReport::new(
            "acme",
            Lookup::Resolved(n.to_string()),
            VendorStatus::Finished(outcome),
            Duration::from_millis(3),
        );
        Receipt::new(key, &person, &report)
    }

    fn line(r: &Receipt) -> String {
        format!("{}\n", serde_json::to_string(r).unwrap())
    }

    struct Dir(PathBuf);
    impl Dir {
        fn new(name: &str) -> Self {
            let d = std::env::temp_dir()
                .join(format!("anonymize-receipts-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Self(d)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn read_all(path: &Path, key: &ReceiptKey) -> Result<(Contents, Vec<Receipt>), ReadError> {
        let mut all = Vec::new();
        read(path, Some(key), |_, r| all.push(r)).map(|c| (c, all))
    }

    /// Push `receipts` and commit them.
    fn add(w: &mut Writer, receipts: &[Receipt]) {
        for r in receipts {
            w.push(r).unwrap();
        }
        w.commit().unwrap();
    }

    #[test]
    fn written_receipts_read_back_and_the_latest_wins() {
        let dir = Dir::new("roundtrip");
        let path = dir.0.join("r.jsonl");
        let k = key("01");
        let failed = Outcome::Failed(anonymize_core::Error::invalid_input("x"));
        let mut w = Writer::open(&path, &k, None).unwrap();
        add(
            &mut w,
            &[
                receipt(&k, 1, failed.clone()),
                receipt(&k, 2, Outcome::NotFound),
            ],
        );
        add(&mut w, &[receipt(&k, 1, Outcome::NotFound)]);
        let head = w.head().unwrap();
        drop(w);
        let (contents, all) = read_all(&path, &k).unwrap();
        assert_eq!(all.len(), 3);
        assert!(contents.torn.is_none() && contents.verified);
        let hex: String = contents
            .head
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, head, "the chain head the writer says is the file's");
        let mut done = Done::default();
        all.iter().for_each(|r| done.record(r));
        assert!(done.contains("acme", &all[0].person) && done.contains("acme", &all[1].person));
        // A later receipt that is not done replaces an earlier one that was.
        done.record(&receipt(&k, 2, failed));
        assert!(!done.contains("acme", &all[1].person));
        assert!(!done.contains("other", &all[0].person));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn an_edited_removed_inserted_or_moved_line_is_named_with_the_key() {
        let dir = Dir::new("tamper");
        let path = dir.0.join("r.jsonl");
        let k = key("05");
        let rejected = Outcome::Rejected {
            message: "userIsCompanyOwner".into(),
        };
        let mut w = Writer::open(&path, &k, None).unwrap();
        add(
            &mut w,
            &[
                receipt(&k, 1, Outcome::NotFound),
                receipt(&k, 2, rejected),
                receipt(&k, 3, Outcome::NotFound),
            ],
        );
        drop(w);
        let good = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = good.lines().collect();
        let join = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();
        // A rejection rewritten as done: the rerun would skip that person, never erased.
        let edited = good.replacen(
            "\"outcome\":\"rejected\",\"message\":\"userIsCompanyOwner\"",
            "\"outcome\":\"not_found\"",
            1,
        );
        assert_ne!(edited, good);
        let cases = [
            ("edited", edited, 3),
            ("removed", join(&[lines[0], lines[1], lines[3]]), 3),
            ("moved", join(&[lines[0], lines[2], lines[1], lines[3]]), 2),
            (
                "inserted",
                join(&[lines[0], lines[1], lines[1], lines[2], lines[3]]),
                3,
            ),
            (
                "header edited",
                good.replacen("\"library\":\"", "\"library\":\"x", 1),
                1,
            ),
        ];
        for (what, text, bad) in cases {
            std::fs::write(&path, &text).unwrap();
            match read_all(&path, &k) {
                Err(ReadError::Tampered(_, line, _)) => assert_eq!(line, bad, "{what}"),
                other => panic!("{what}: {other:?}"),
            }
            let err = read_all(&path, &k).err().unwrap().to_string();
            assert!(err.contains(&format!("line {bad}:")), "{what}: {err}");
            // Without the key nothing can be checked: the file reads, unverified.
            let contents = read(&path, None, |_, _| {}).unwrap();
            assert!(!contents.verified);
        }
        // A line whose MAC was stripped (or a forged one without the key) is refused too.
        let stripped = good.replacen(&lines[2][lines[2].len() - 74..], "}", 1);
        std::fs::write(&path, stripped).unwrap();
        assert!(matches!(
            read_all(&path, &k),
            Err(ReadError::Tampered(_, 3, _))
        ));
        // And the untouched file verifies.
        std::fs::write(&path, &good).unwrap();
        assert_eq!(read_all(&path, &k).unwrap().1.len(), 3);
    }

    #[test]
    fn a_torn_last_line_is_dropped_with_a_warning_and_cut_before_appending() {
        let dir = Dir::new("torn");
        let path = dir.0.join("r.jsonl");
        let k = key("02");
        let mut w = Writer::open(&path, &k, None).unwrap();
        add(&mut w, &[receipt(&k, 1, Outcome::NotFound)]);
        let whole = line(&receipt(&k, 2, Outcome::NotFound));
        w.write(&whole[..whole.len() / 2]).unwrap();
        drop(w);
        let (contents, all) = read_all(&path, &k).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(contents.torn, Some(3));
        let warning = contents.warning(&path).unwrap();
        assert!(
            warning.contains("line 3") && warning.contains("cut short"),
            "{warning}"
        );
        // Appending after a repair gives whole lines only, and the chain goes on.
        let mut w = Writer::open(&path, &k, Some(&contents)).unwrap();
        add(&mut w, &[receipt(&k, 2, Outcome::NotFound)]);
        drop(w);
        let (contents, all) = read_all(&path, &k).unwrap();
        assert_eq!((all.len(), contents.torn), (2, None));

        // A whole last receipt without its newline is kept, and the next one starts a new line.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.trim_end()).unwrap();
        let (contents, all) = read_all(&path, &k).unwrap();
        assert_eq!((all.len(), contents.torn), (2, None));
        let mut w = Writer::open(&path, &k, Some(&contents)).unwrap();
        add(&mut w, &[receipt(&k, 3, Outcome::NotFound)]);
        drop(w);
        assert_eq!(read_all(&path, &k).unwrap().1.len(), 3);

        // Killed while writing the header: nothing is lost, the header is written again.
        std::fs::write(&path, "{\"format\":\"anonym").unwrap();
        let (contents, all) = read_all(&path, &k).unwrap();
        assert_eq!((all.len(), contents.torn), (0, Some(1)));
        Writer::open(&path, &k, Some(&contents)).unwrap();
        assert!(read_all(&path, &k).unwrap().0.torn.is_none());
    }

    #[test]
    fn damage_elsewhere_foreign_files_and_other_keys_are_refused_by_line() {
        let dir = Dir::new("corrupt");
        let path = dir.0.join("r.jsonl");
        let k = key("03");
        let mut w = Writer::open(&path, &k, None).unwrap();
        add(&mut w, &[receipt(&k, 1, Outcome::NotFound)]);
        w.write("{\"at\":\"2026\n").unwrap();
        add(&mut w, &[receipt(&k, 1, Outcome::NotFound)]);
        drop(w);
        let err = read_all(&path, &k).err().unwrap();
        assert!(matches!(err, ReadError::Corrupt(_, 3)), "{err:?}");
        assert!(err.to_string().contains("line 3: not a receipt"), "{err}");

        // A whole last line that is not a receipt is damage, not a cut.
        let text = std::fs::read_to_string(&path).unwrap();
        let first_two: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, format!("{first_two}not json\n")).unwrap();
        assert!(matches!(read_all(&path, &k), Err(ReadError::Corrupt(_, 3))));

        for foreign in ["email\njane@example.com\n", "{\"format\":\"other\"}\n", "x"] {
            std::fs::write(&path, foreign).unwrap();
            let err = read_all(&path, &k).err().unwrap();
            assert!(
                matches!(err, ReadError::NotReceipts(_)),
                "{foreign:?}: {err:?}"
            );
            assert!(
                err.to_string().contains("line 1: not a receipts file"),
                "{err}"
            );
            assert!(!err.to_string().contains("jane"));
        }
        std::fs::write(
            &path,
            header_line(&k).replace("\"version\":2", "\"version\":3"),
        )
        .unwrap();
        assert!(matches!(read_all(&path, &k), Err(ReadError::Version(_, 3))));

        std::fs::write(&path, &first_two).unwrap();
        let other = key("04");
        let err = read_all(&path, &other).err().unwrap();
        assert!(matches!(err, ReadError::OtherKey(_)), "{err:?}");
        // Without a key (summarize), the file reads.
        assert!(read(&path, None, |_, _| {}).is_ok());

        // Version 1 (no MACs) reads, unchained; a run does not continue it.
        let v1 = format!(
            "{{\"format\":\"{FORMAT}\",\"version\":1,\"key_id\":\"{}\",\"library\":\"x\"}}\n{}",
            k.id(),
            line(&receipt(&k, 1, Outcome::NotFound))
        );
        std::fs::write(&path, v1).unwrap();
        let (contents, all) = read_all(&path, &k).unwrap();
        assert_eq!((contents.version, all.len(), contents.head), (1, 1, None));
        let mut w = Writer::lock(&path, false).unwrap().unwrap();
        assert!(w.start(&path, &k, Some(&contents)).is_err());
    }

    fn header_line(k: &ReceiptKey) -> String {
        format!(
            "{{\"format\":\"{FORMAT}\",\"version\":2,\"key_id\":\"{}\",\"library\":\"x\"}}\n",
            k.id()
        )
    }
}
