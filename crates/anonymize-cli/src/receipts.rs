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
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut buf = Vec::new();
    let mut offset = 0u64;
    let mut line = 0u64;
    let mut key_id = None;
    let mut version = 0;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        line += 1;
        let whole = buf.last() == Some(&b'\n');
        let text = trim_newline(&buf);
        if line == 1 {
            let header: Header = match serde_json::from_slice(text) {
                Ok(h) => h,
                Err(_) if !whole && header_prefix(text) => {
                    // Killed while writing the header: the file holds nothing yet.
                    return Ok(Contents {
                        key_id: String::new(),
                        version: 0,
                        torn: Some(1),
                        good_len: 0,
                        needs_newline: false,
                    });
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
            key_id = Some(header.key_id);
            version = header.version;
        } else {
            match entry(text, version) {
                Some(entry) => each(line, entry),
                // The last line, cut short: what a kill during a write leaves.
                None if !whole => {
                    return Ok(Contents {
                        key_id: key_id.unwrap_or_default(),
                        version,
                        torn: Some(line),
                        good_len: offset,
                        needs_newline: false,
                    });
                }
                None => return Err(ReadError::Corrupt(path.to_owned(), line)),
            }
        }
        offset += n as u64;
        if !whole {
            return Ok(Contents {
                key_id: key_id.unwrap_or_default(),
                version,
                torn: None,
                good_len: offset,
                needs_newline: true,
            });
        }
    }
    match key_id {
        Some(key_id) => Ok(Contents {
            key_id,
            version,
            torn: None,
            good_len: offset,
            needs_newline: false,
        }),
        // An empty file: nothing written yet.
        None => Ok(Contents {
            key_id: String::new(),
            version: 0,
            torn: None,
            good_len: 0,
            needs_newline: false,
        }),
    }
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
            Ok(()) => Ok(Some(Self { file })),
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
        if good_len == 0 {
            let header = Header {
                format: FORMAT.to_owned(),
                version: VERSION,
                key_id: key.id(),
                library: LIBRARY_VERSION.to_owned(),
            };
            let line = serde_json::to_string(&header).map_err(io::Error::other)?;
            self.append(&format!("{line}\n"))?;
            sync_parent(path)?;
        } else if found.is_some_and(|c| c.needs_newline) {
            self.append("\n")?;
        }
        Ok(())
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

    /// Write `lines` (whole lines) in one piece at the end of the file, then wait until they are
    /// on disk.
    pub(crate) fn append(&mut self, lines: &str) -> io::Result<()> {
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
        ReceiptKey::from_hex(&SecretString::from(byte.repeat(32))).unwrap()
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

    #[test]
    fn written_receipts_read_back_and_the_latest_wins() {
        let dir = Dir::new("roundtrip");
        let path = dir.0.join("r.jsonl");
        let k = key("01");
        let failed = Outcome::Failed(anonymize_core::Error::invalid_input("x"));
        let mut w = Writer::open(&path, &k, None).unwrap();
        w.append(
            &(line(&receipt(&k, 1, failed.clone())) + &line(&receipt(&k, 2, Outcome::NotFound))),
        )
        .unwrap();
        w.append(&line(&receipt(&k, 1, Outcome::NotFound))).unwrap();
        drop(w);
        let (contents, all) = read_all(&path, &k).unwrap();
        assert_eq!(all.len(), 3);
        assert!(contents.torn.is_none());
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
    fn a_torn_last_line_is_dropped_with_a_warning_and_cut_before_appending() {
        let dir = Dir::new("torn");
        let path = dir.0.join("r.jsonl");
        let k = key("02");
        let mut w = Writer::open(&path, &k, None).unwrap();
        w.append(&line(&receipt(&k, 1, Outcome::NotFound))).unwrap();
        let whole = line(&receipt(&k, 2, Outcome::NotFound));
        w.append(&whole[..whole.len() / 2]).unwrap();
        drop(w);
        let (contents, all) = read_all(&path, &k).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(contents.torn, Some(3));
        let warning = contents.warning(&path).unwrap();
        assert!(
            warning.contains("line 3") && warning.contains("cut short"),
            "{warning}"
        );
        // Appending after a repair gives whole lines only.
        let mut w = Writer::open(&path, &k, Some(&contents)).unwrap();
        w.append(&whole).unwrap();
        drop(w);
        let (contents, all) = read_all(&path, &k).unwrap();
        assert_eq!((all.len(), contents.torn), (2, None));

        // A whole last receipt without its newline is kept, and the next one starts a new line.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.trim_end()).unwrap();
        let (contents, all) = read_all(&path, &k).unwrap();
        assert_eq!((all.len(), contents.torn), (2, None));
        Writer::open(&path, &k, Some(&contents))
            .unwrap()
            .append(&whole)
            .unwrap();
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
        let good = line(&receipt(&k, 1, Outcome::NotFound));
        w.append(&good).unwrap();
        w.append("{\"at\":\"2026\n").unwrap();
        w.append(&good).unwrap();
        drop(w);
        let err = read_all(&path, &k).err().unwrap();
        assert!(matches!(err, ReadError::Corrupt(_, 3)), "{err:?}");
        assert!(err.to_string().contains("line 3: not a receipt"), "{err}");

        // A whole last line that is not a receipt is damage, not a cut.
        std::fs::write(&path, format!("{}{}not json\n", header_line(&k), good)).unwrap();
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

        std::fs::write(&path, format!("{}{}", header_line(&k), good)).unwrap();
        let other = key("04");
        let err = read_all(&path, &other).err().unwrap();
        assert!(matches!(err, ReadError::OtherKey(_)), "{err:?}");
        // Without a key (summarize), the file reads.
        assert!(read(&path, None, |_, _| {}).is_ok());
    }

    fn header_line(k: &ReceiptKey) -> String {
        format!(
            "{{\"format\":\"{FORMAT}\",\"version\":2,\"key_id\":\"{}\",\"library\":\"x\"}}\n",
            k.id()
        )
    }
}
