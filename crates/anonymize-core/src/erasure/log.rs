//! The receipts file: one log for a service and for the `anonymize` command.
//!
//! JSON lines, append-only: a header line, then one line per [`IntentRecord`] or [`Receipt`],
//! each ending in a MAC that chains it to the line before ([`ReceiptKey::chain_mac`]):
//!
//! ```text
//! {"format":"anonymize-receipts","version":2,"key_id":"…","library":"…","mac":"…"}
//! {"at":"…","intent":"erase","person":"…","vendor":"…","vendor_id":"…","library":"…","mac":"…"}
//! {"at":"…","person":"…","vendor":"…","vendor_id":"…","lookup":"resolved","outcome":"anonymized",…,"mac":"…"}
//! ```
//!
//! - The header names the format, its version and the id of the key whose hashes name the
//!   file's persons ([`ReceiptKey::id`]): a file written with another key is refused, since with
//!   this key it names nobody.
//! - Every line's `mac` is HMAC-SHA-256 (with the receipt key) of the previous line's MAC and the
//!   line's bytes before `,"mac":"`: an edited, removed, inserted or reordered line breaks the
//!   chain at that line for whoever holds the key, and nobody without the key can forge one.
//! - A last line cut short (a process killed while writing it, a full disk) is dropped with a
//!   warning ([`LogInfo::torn_line`]) and cut from the file before anything is appended; any
//!   other line that is not an entry refuses the file, naming the line.
//! - Version 1 files (no intents, no MACs) are read, reported as unchained, and never appended
//!   to: that would give them a version 2 body under a version 1 header.
//!
//! [`ReceiptLog`] writes it: created for its owner alone (mode 0600), opened in append mode and
//! locked for the writer's lifetime (a second writer is refused at once, and the lock dies with
//! its process), and each [`commit`](ReceiptLog::commit) written in one piece and synced before
//! it returns. [`read_log`] reads it, and [`ReceiptIndex`] is its latest-receipt-wins view.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, Write};
use std::path::{Path, PathBuf};

use crate::erasure::receipt::{IntentRecord, LIBRARY_VERSION, PersonRef, Receipt, ReceiptKey, hex};

/// The format marker of a receipts file's header.
pub const RECEIPTS_FORMAT: &str = "anonymize-receipts";
/// The version of the receipts format this library writes, and the newest it reads.
pub const RECEIPTS_VERSION: u32 = 2;

/// One line of a receipts file after its header.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LogEntry {
    /// An outcome.
    Receipt(Receipt),
    /// An erasure about to be sent (from version 2).
    Intent(IntentRecord),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    format: String,
    version: u32,
    key_id: String,
    library: String,
}

/// Why a receipts file cannot be read or written. Each names the file, and the line where
/// there is one; none repeats a line's content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Line 1 is not a receipts file's header.
    #[error(
        "{}, line 1: not a receipts file (no \"{RECEIPTS_FORMAT}\" header)",
        path.display()
    )]
    NotReceipts {
        /// The file.
        path: PathBuf,
    },
    /// A newer format than this library reads.
    #[error(
        "{}, line 1: receipts format version {version}, this library reads versions 1 to \
         {RECEIPTS_VERSION}",
        path.display()
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version its header names.
        version: u32,
    },
    /// Written with another key than the one given: with this key it names nobody.
    #[error(
        "{}: these receipts were written with another receipt key; with this key they name \
         nobody (use the key they were written with, or another receipts file)",
        path.display()
    )]
    OtherKey {
        /// The file.
        path: PathBuf,
    },
    /// A line (other than a last line cut short) that is not an entry.
    #[error(
        "{}, line {line}: not a receipt; the file is damaged (only a last line cut short is \
         repaired): restore it or start another receipts file",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
    },
    /// A line whose MAC does not continue the chain: it was edited, or lines before it were
    /// removed, inserted or moved.
    #[error(
        "{}, line {line}: {why}; these receipts cannot be trusted from this line on (restore \
         the file from a copy, or start another receipts file)",
        path.display()
    )]
    Tampered {
        /// The file.
        path: PathBuf,
        /// The first line that breaks the chain.
        line: u64,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Another writer (this process or another) holds the file: two writers would record
    /// erasures twice and mix their lines.
    #[error(
        "{}: another run is using this receipts file (it is locked); nothing was sent. Wait \
         for it to end, or give this run its own receipts file",
        path.display()
    )]
    Busy {
        /// The file.
        path: PathBuf,
    },
    /// A symbolic link to nothing: following it would create the file somewhere unexpected.
    #[error(
        "{}: a symbolic link to a file that does not exist; refusing to create the receipts \
         file where it points (give the real path)",
        path.display()
    )]
    Dangling {
        /// The link.
        path: PathBuf,
    },
    /// A version 1 file: readable, but it has no MAC chain to continue.
    #[error(
        "{}: receipts format version 1, written before write-ahead intents and MACs; it is \
         read, but appended to only as a version {RECEIPTS_VERSION} file: give this run a new \
         receipts file",
        path.display()
    )]
    Unchained {
        /// The file.
        path: PathBuf,
    },
}

impl LogError {
    /// The line the error is about, where it is about one.
    pub fn line(&self) -> Option<u64> {
        match self {
            LogError::Corrupt { line, .. } | LogError::Tampered { line, .. } => Some(*line),
            LogError::NotReceipts { .. } | LogError::Version { .. } => Some(1),
            _ => None,
        }
    }
}

/// What reading a receipts file found besides its entries.
#[derive(Debug, Clone, Default)]
pub struct LogInfo {
    key_id: String,
    version: u32,
    entries: u64,
    torn: Option<u64>,
    /// How many bytes of the file are whole lines.
    good_len: u64,
    /// The last line is whole but lacks its newline.
    needs_newline: bool,
    head: Option<[u8; 32]>,
    verified: bool,
    readable_by_others: bool,
}

impl LogInfo {
    /// The id of the key the file was written with (empty for a new file).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The format version of its header (0: a new file, no header yet).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// How many entries (receipts and intents) it holds.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The line number of a last line cut short, which was dropped.
    pub fn torn_line(&self) -> Option<u64> {
        self.torn
    }

    /// The MAC of the last whole line, in hex: the head of the chain. Keep it to notice later
    /// that lines were cut from the end (`None` for a version 1 or new file).
    pub fn head(&self) -> Option<String> {
        self.head.as_ref().map(|h| hex(h))
    }

    /// Whether every MAC was checked: a key was given and the file is of version 2.
    pub fn is_verified(&self) -> bool {
        self.verified && self.version >= 2
    }

    /// Whether the file's mode lets others than its owner read it (Unix): its vendor ids are
    /// pseudonymous personal data.
    pub fn is_readable_by_others(&self) -> bool {
        self.readable_by_others
    }

    /// The warnings a reader of `path` should see: a last line cut short and dropped, a file
    /// readable by others.
    pub fn warnings(&self, path: &Path) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(line) = self.torn {
            warnings.push(format!(
                "warning: {}, line {line}: the last line was cut short (the run that wrote it was \
                 killed); it is dropped, and that person is done again at that vendor",
                path.display()
            ));
        }
        if self.readable_by_others {
            warnings.push(format!(
                "warning: {}: readable by other users of this machine, though its vendor ids are \
                 personal data: `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
        warnings
    }
}

/// Read the receipts file at `path`, calling `each` with every entry after the header and its
/// line number. With `key`, every MAC is checked and a file written with another key is
/// refused; without it, the file is read unverified ([`LogInfo::is_verified`]).
pub fn read_log(
    path: impl AsRef<Path>,
    key: Option<&ReceiptKey>,
    each: impl FnMut(u64, LogEntry),
) -> Result<LogInfo, LogError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|source| io_error(path, source))?;
    read_from(&file, path, key, each)
}

fn io_error(path: &Path, source: io::Error) -> LogError {
    LogError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read_from(
    mut file: &File,
    path: &Path,
    key: Option<&ReceiptKey>,
    mut each: impl FnMut(u64, LogEntry),
) -> Result<LogInfo, LogError> {
    let io = |e| io_error(path, e);
    let tampered = |line, why| LogError::Tampered {
        path: path.to_owned(),
        line,
        why,
    };
    file.rewind().map_err(io)?;
    let mut info = LogInfo {
        verified: key.is_some(),
        readable_by_others: readable_by_others(file),
        ..LogInfo::default()
    };
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
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
                    info.torn = Some(1);
                    return Ok(info);
                }
                Err(_) => {
                    return Err(LogError::NotReceipts {
                        path: path.to_owned(),
                    });
                }
            };
            if header.format != RECEIPTS_FORMAT {
                return Err(LogError::NotReceipts {
                    path: path.to_owned(),
                });
            }
            if header.version == 0 || header.version > RECEIPTS_VERSION {
                return Err(LogError::Version {
                    path: path.to_owned(),
                    version: header.version,
                });
            }
            if key.is_some_and(|k| k.id() != header.key_id) {
                return Err(LogError::OtherKey {
                    path: path.to_owned(),
                });
            }
            info.key_id = header.key_id;
            info.version = header.version;
            if header.version >= 2 {
                let Some(mac) = mac else {
                    return Err(tampered(1, "the header has no MAC"));
                };
                if let Some(key) = key
                    && key.chain_mac(None, body) != mac
                {
                    return Err(tampered(1, "the header's MAC does not match"));
                }
                info.head = Some(mac);
            }
        } else {
            let Some(entry) = entry(text, info.version) else {
                if !whole {
                    // The last line, cut short: what a kill (or a full disk) during a write
                    // leaves.
                    info.torn = Some(line);
                    return Ok(info);
                }
                return Err(LogError::Corrupt {
                    path: path.to_owned(),
                    line,
                });
            };
            if info.version >= 2 {
                let Some(mac) = mac else {
                    return Err(tampered(line, "the line has no MAC"));
                };
                if let Some(key) = key
                    && key.chain_mac(info.head.as_ref(), body) != mac
                {
                    return Err(tampered(
                        line,
                        "its MAC does not match: the line was edited, or a line before it was \
                         removed, inserted or moved",
                    ));
                }
                info.head = Some(mac);
            }
            info.entries += 1;
            each(line, entry);
        }
        info.good_len += n as u64;
        if !whole {
            info.needs_newline = true;
            return Ok(info);
        }
    }
    Ok(info)
}

#[cfg(unix)]
fn readable_by_others(file: &File) -> bool {
    use std::os::unix::fs::PermissionsExt;
    file.metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_: &File) -> bool {
    false
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

/// `json` (one serialized object) with its chain MAC after `previous`: the line as written,
/// without its newline.
fn chained(key: &ReceiptKey, previous: Option<&[u8; 32]>, json: &str) -> (String, [u8; 32]) {
    let body = json.strip_suffix('}').unwrap_or(json);
    let mac = key.chain_mac(previous, body.as_bytes());
    let mut line = String::with_capacity(json.len() + MAC_FIELD.len() + 66);
    line.push_str(body);
    line.push_str(",\"mac\":\"");
    line.push_str(&hex(&mac));
    line.push_str("\"}");
    (line, mac)
}

/// A line after the header: a receipt, or (from version 2) an intent.
fn entry(text: &[u8], version: u32) -> Option<LogEntry> {
    match serde_json::from_slice::<Receipt>(text) {
        Ok(receipt) => Some(LogEntry::Receipt(receipt)),
        Err(_) if version >= 2 => serde_json::from_slice::<IntentRecord>(text)
            .ok()
            .filter(|i| i.intent == "erase")
            .map(LogEntry::Intent),
        Err(_) => None,
    }
}

fn trim_newline(buf: &[u8]) -> &[u8] {
    let buf = buf.strip_suffix(b"\n").unwrap_or(buf);
    buf.strip_suffix(b"\r").unwrap_or(buf)
}

/// Whether `text` is the start of a header this library writes (or begins with one).
fn header_prefix(text: &[u8]) -> bool {
    let start = format!("{{\"format\":\"{RECEIPTS_FORMAT}\"");
    start.as_bytes().starts_with(text) || text.starts_with(start.as_bytes())
}

/// A person's key in the index ([`PersonRef::short_key`]).
fn short(person: &PersonRef) -> u128 {
    person.short_key()
}

/// The latest-receipt-wins view of a receipts file: which persons are done at each vendor, and
/// which erasures were written ahead and not answered by a done receipt (*in doubt*).
///
/// Feed it every entry in file order ([`add`](Self::add)), e.g. from [`read_log`] or
/// [`ReceiptLog::open_with`].
#[derive(Debug, Default)]
pub struct ReceiptIndex {
    by_vendor: HashMap<String, HashSet<u128>>,
    /// Per vendor and person: the id of the latest intent not followed by a done receipt, and
    /// whether any outcome was written after it.
    intents: HashMap<String, HashMap<u128, (String, bool)>>,
}

impl ReceiptIndex {
    /// Account for one more entry of the file.
    pub fn add(&mut self, entry: &LogEntry) {
        match entry {
            LogEntry::Receipt(receipt) => self.add_receipt(receipt),
            LogEntry::Intent(intent) => {
                self.intents
                    .entry(intent.vendor.clone())
                    .or_default()
                    .insert(short(&intent.person), (intent.vendor_id.clone(), false));
            }
        }
    }

    /// Account for one more receipt (a later receipt replaces an earlier one). Only a done
    /// receipt closes an intent: after a failed one (a timeout may have reached the vendor), the
    /// person is still to be erased by the intent's id, never looked up again; a not-attempted
    /// one sent nothing and leaves the intent as it was.
    pub fn add_receipt(&mut self, receipt: &Receipt) {
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
    pub fn intended(&self, vendor: &str, person: &PersonRef) -> Option<(&str, bool)> {
        self.intents
            .get(vendor)?
            .get(&short(person))
            .map(|(id, answered)| (id.as_str(), !answered))
    }

    /// How many erasures at `vendor` were interrupted: an intent, and no outcome after it.
    pub fn in_doubt(&self, vendor: &str) -> usize {
        self.intents
            .get(vendor)
            .map_or(0, |m| m.values().filter(|(_, answered)| !answered).count())
    }

    /// Whether `person` is done at `vendor` (anonymized or not found, by the latest receipt).
    pub fn is_done(&self, vendor: &str, person: &PersonRef) -> bool {
        self.by_vendor
            .get(vendor)
            .is_some_and(|s| s.contains(&short(person)))
    }
}

/// Appends intents and receipts to a receipts file that it holds locked, each
/// [`commit`](Self::commit) written in one piece and synced before it returns.
///
/// ```no_run
/// use anonymize_core::{ReceiptKey, ReceiptLog};
/// # fn receipts(key: &ReceiptKey, receipt: &anonymize_core::Receipt) -> Result<(), Box<dyn std::error::Error>> {
/// let mut log = ReceiptLog::open("receipts.jsonl", key)?; // created 0600, or continued
/// log.append(receipt)?; // written and synced
/// # Ok(()) }
/// ```
pub struct ReceiptLog {
    file: File,
    path: PathBuf,
    key: ReceiptKey,
    /// The MAC of the last line written.
    head: [u8; 32],
    /// Lines pushed, not yet committed.
    pending: String,
    info: LogInfo,
}

impl fmt::Debug for ReceiptLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptLog")
            .field("path", &self.path)
            .field("key_id", &self.info.key_id)
            .field("pending_bytes", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl ReceiptLog {
    /// Open the receipts file at `path` to append to it, creating it (for its owner alone) when
    /// it does not exist: see [`open_with`](Self::open_with), which also hands over the entries
    /// already there.
    pub fn open(path: impl AsRef<Path>, key: &ReceiptKey) -> Result<Self, LogError> {
        Self::open_with(path, key, |_, _| {})
    }

    /// Open the receipts file at `path` to append to it, creating it (mode 0600) when it does
    /// not exist, and lock it until this log is dropped (or its process ends: a killed writer
    /// leaves no lock). The entries already there are read, their MACs checked with `key`, and
    /// each handed to `each`; a last line cut short is dropped ([`LogInfo::torn_line`]) and cut
    /// off.
    ///
    /// Refused: a file locked by another writer ([`LogError::Busy`], at once), a dangling
    /// symbolic link ([`LogError::Dangling`]), a file written with another key, one that fails
    /// its chain or is damaged, and a version 1 file ([`LogError::Unchained`]).
    pub fn open_with(
        path: impl AsRef<Path>,
        key: &ReceiptKey,
        each: impl FnMut(u64, LogEntry),
    ) -> Result<Self, LogError> {
        let path = path.as_ref();
        let file = lock(path, true)?
            .ok_or_else(|| io_error(path, io::Error::from(io::ErrorKind::NotFound)))?;
        Self::start(file, path, key, each)
    }

    /// [`open_with`](Self::open_with) for a file that must exist already: `None` when there is
    /// none (nothing is created).
    pub fn open_existing(
        path: impl AsRef<Path>,
        key: &ReceiptKey,
        each: impl FnMut(u64, LogEntry),
    ) -> Result<Option<Self>, LogError> {
        let path = path.as_ref();
        match lock(path, false)? {
            Some(file) => Self::start(file, path, key, each).map(Some),
            None => Ok(None),
        }
    }

    fn start(
        file: File,
        path: &Path,
        key: &ReceiptKey,
        each: impl FnMut(u64, LogEntry),
    ) -> Result<Self, LogError> {
        let io = |e| io_error(path, e);
        let info = read_from(&file, path, Some(key), each)?;
        // Cut a last line cut short before appending after it.
        file.set_len(info.good_len).map_err(io)?;
        let mut log = Self {
            file,
            path: path.to_owned(),
            key: key.clone(),
            head: [0; 32],
            pending: String::new(),
            info,
        };
        match log.info.head {
            Some(head) if log.info.good_len > 0 => {
                log.head = head;
                if log.info.needs_newline {
                    log.write("\n").map_err(io)?;
                }
            }
            _ if log.info.good_len > 0 => {
                return Err(LogError::Unchained {
                    path: path.to_owned(),
                });
            }
            _ => {
                let header = Header {
                    format: RECEIPTS_FORMAT.to_owned(),
                    version: RECEIPTS_VERSION,
                    key_id: key.id(),
                    library: LIBRARY_VERSION.to_owned(),
                };
                let json = serde_json::to_string(&header).map_err(|e| io(io::Error::other(e)))?;
                let (line, mac) = chained(key, None, &json);
                log.write(&format!("{line}\n")).map_err(io)?;
                sync_parent(path).map_err(io)?;
                log.head = mac;
                log.info.key_id = key.id();
                log.info.version = RECEIPTS_VERSION;
            }
        }
        Ok(log)
    }

    /// What opening found: the entries already there, a dropped last line, the key id.
    pub fn info(&self) -> &LogInfo {
        &self.info
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Add `receipt` as the next line; it is written by the next [`commit`](Self::commit).
    pub fn push_receipt(&mut self, receipt: &Receipt) -> io::Result<()> {
        self.push(receipt)
    }

    /// Add `intent` as the next line; it is written by the next [`commit`](Self::commit). Send
    /// the erasure it announces only after that commit returned `Ok`.
    pub fn push_intent(&mut self, intent: &IntentRecord) -> io::Result<()> {
        self.push(intent)
    }

    fn push(&mut self, value: &impl serde::Serialize) -> io::Result<()> {
        let json = serde_json::to_string(value).map_err(io::Error::other)?;
        let (line, mac) = chained(&self.key, Some(&self.head), &json);
        self.head = mac;
        self.pending.push_str(&line);
        self.pending.push('\n');
        Ok(())
    }

    /// Write the lines pushed since the last commit in one piece, then wait until they are on
    /// disk. After an error the log is unusable: the file may hold part of the lines, which the
    /// next reader drops as a last line cut short (or refuses); open it again.
    pub fn commit(&mut self) -> io::Result<()> {
        let lines = std::mem::take(&mut self.pending);
        self.write(&lines)
    }

    /// [`push_receipt`](Self::push_receipt), then [`commit`](Self::commit).
    pub fn append(&mut self, receipt: &Receipt) -> io::Result<()> {
        self.push_receipt(receipt)?;
        self.commit()
    }

    /// The MAC of the last line pushed, in hex: the head of the chain, which an auditor can keep
    /// to notice lines cut from the end later.
    pub fn head(&self) -> String {
        hex(&self.head)
    }

    /// Write `lines` in one piece at the end of the file, then wait until they are on disk.
    fn write(&mut self, lines: &str) -> io::Result<()> {
        self.file.write_all(lines.as_bytes())?;
        self.file.sync_data()
    }
}

/// Open the file at `path` to append to it, and lock it for this process. A missing file is
/// `None`, unless `create`: then it is created, for its owner alone.
fn lock(path: &Path, create: bool) -> Result<Option<File>, LogError> {
    let io = |e| io_error(path, e);
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.file_type().is_symlink()
        && std::fs::metadata(path).is_err()
    {
        return Err(LogError::Dangling {
            path: path.to_owned(),
        });
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
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(LogError::Busy {
            path: path.to_owned(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
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
    use super::*;
    use crate::erasure::plan::Lookup;
    use crate::erasure::report::{VendorReport, VendorStatus};
    use crate::{Email, Outcome, Person};
    use secrecy::SecretString;
    use std::time::Duration;

    fn key(byte: &str) -> ReceiptKey {
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
                .join(format!("anonymize-core-log-{name}-{}", std::process::id()));
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

    fn read_all(path: &Path, key: &ReceiptKey) -> Result<(LogInfo, Vec<Receipt>), LogError> {
        let mut all = Vec::new();
        read_log(path, Some(key), |_, e| {
            if let LogEntry::Receipt(r) = e {
                all.push(r)
            }
        })
        .map(|c| (c, all))
    }

    /// Push `receipts` and commit them.
    fn add(log: &mut ReceiptLog, receipts: &[Receipt]) {
        for r in receipts {
            log.push_receipt(r).unwrap();
        }
        log.commit().unwrap();
    }

    /// Bytes written past the log, as a process killed mid-write (or another program) leaves.
    fn append_raw(path: &Path, bytes: &str) {
        let mut f = OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(bytes.as_bytes()).unwrap();
    }

    #[test]
    fn written_receipts_read_back_and_the_latest_wins() {
        let dir = Dir::new("roundtrip");
        let path = dir.0.join("r.jsonl");
        let k = key("01");
        let failed = Outcome::Failed(crate::Error::invalid_input("x"));
        let mut log = ReceiptLog::open(&path, &k).unwrap();
        assert_eq!(log.info().entries(), 0);
        add(
            &mut log,
            &[
                receipt(&k, 1, failed.clone()),
                receipt(&k, 2, Outcome::NotFound),
            ],
        );
        log.append(&receipt(&k, 1, Outcome::NotFound)).unwrap();
        let head = log.head();
        drop(log);
        let (info, all) = read_all(&path, &k).unwrap();
        assert_eq!((all.len(), info.entries()), (3, 3));
        assert!(info.torn_line().is_none() && info.is_verified());
        assert_eq!(
            info.head().unwrap(),
            head,
            "the chain head the writer says is the file's"
        );
        assert_eq!(info.key_id(), k.id());
        let mut index = ReceiptIndex::default();
        all.iter().for_each(|r| index.add_receipt(r));
        assert!(index.is_done("acme", &all[0].person) && index.is_done("acme", &all[1].person));
        // A later receipt that is not done replaces an earlier one that was.
        index.add_receipt(&receipt(&k, 2, failed));
        assert!(!index.is_done("acme", &all[1].person));
        assert!(!index.is_done("other", &all[0].person));
        // Opened again, the log goes on where it was and hands over what it holds.
        let mut seen = 0;
        let log = ReceiptLog::open_with(&path, &k, |_, _| seen += 1).unwrap();
        assert_eq!((seen, log.info().entries(), log.head()), (3, 3, head));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            assert!(!log.info().is_readable_by_others());
        }
    }

    #[test]
    fn intents_are_in_doubt_until_a_done_receipt_answers_them() {
        let dir = Dir::new("intents");
        let path = dir.0.join("r.jsonl");
        let k = key("06");
        let r1 = receipt(&k, 1, Outcome::NotFound);
        let mut log = ReceiptLog::open(&path, &k).unwrap();
        let intent = IntentRecord::erase(std::time::SystemTime::now(), r1.person, "acme", "1");
        log.push_intent(&intent).unwrap();
        log.commit().unwrap();
        drop(log);
        let mut index = ReceiptIndex::default();
        read_log(&path, Some(&k), |_, e| index.add(&e)).unwrap();
        assert_eq!(index.intended("acme", &r1.person), Some(("1", true)));
        assert_eq!(index.in_doubt("acme"), 1);
        // A failed outcome answers the intent but does not close it: erase by its id again.
        let mut log = ReceiptLog::open(&path, &k).unwrap();
        log.append(&receipt(
            &k,
            1,
            Outcome::Failed(crate::Error::invalid_input("x")),
        ))
        .unwrap();
        drop(log);
        let mut index = ReceiptIndex::default();
        read_log(&path, Some(&k), |_, e| index.add(&e)).unwrap();
        assert_eq!(index.intended("acme", &r1.person), Some(("1", false)));
        assert_eq!(index.in_doubt("acme"), 0);
        let mut log = ReceiptLog::open(&path, &k).unwrap();
        log.append(&r1).unwrap();
        drop(log);
        let mut index = ReceiptIndex::default();
        read_log(&path, Some(&k), |_, e| index.add(&e)).unwrap();
        assert_eq!(index.intended("acme", &r1.person), None);
        assert!(index.is_done("acme", &r1.person));
    }

    #[test]
    fn one_writer_at_a_time_and_no_dangling_link_followed() {
        let dir = Dir::new("lock");
        let path = dir.0.join("r.jsonl");
        let k = key("07");
        let log = ReceiptLog::open(&path, &k).unwrap();
        let err = ReceiptLog::open(&path, &k).unwrap_err();
        assert!(matches!(err, LogError::Busy { .. }), "{err:?}");
        assert!(err.to_string().contains("another run is using"), "{err}");
        // Reading needs no lock.
        assert!(read_log(&path, Some(&k), |_, _| {}).is_ok());
        drop(log);
        assert!(ReceiptLog::open(&path, &k).is_ok());
        assert!(
            ReceiptLog::open_existing(dir.0.join("none.jsonl"), &k, |_, _| {})
                .unwrap()
                .is_none()
        );
        assert!(!dir.0.join("none.jsonl").exists());
        #[cfg(unix)]
        {
            let link = dir.0.join("link.jsonl");
            std::os::unix::fs::symlink(dir.0.join("nowhere/r.jsonl"), &link).unwrap();
            let err = ReceiptLog::open(&link, &k).unwrap_err();
            assert!(matches!(err, LogError::Dangling { .. }), "{err:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_said() {
        use std::os::unix::fs::PermissionsExt;
        let dir = Dir::new("mode");
        let path = dir.0.join("r.jsonl");
        let k = key("08");
        drop(ReceiptLog::open(&path, &k).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let info = read_log(&path, Some(&k), |_, _| {}).unwrap();
        assert!(info.is_readable_by_others());
        let warnings = info.warnings(&path);
        assert!(
            warnings.iter().any(|w| w.contains("chmod 600")),
            "{warnings:?}"
        );
    }

    #[test]
    fn an_edited_removed_inserted_or_moved_line_is_named_with_the_key() {
        let dir = Dir::new("tamper");
        let path = dir.0.join("r.jsonl");
        let k = key("05");
        let rejected = Outcome::Rejected {
            message: "userIsCompanyOwner".into(),
        };
        let mut log = ReceiptLog::open(&path, &k).unwrap();
        add(
            &mut log,
            &[
                receipt(&k, 1, Outcome::NotFound),
                receipt(&k, 2, rejected),
                receipt(&k, 3, Outcome::NotFound),
            ],
        );
        drop(log);
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
                Err(LogError::Tampered { line, .. }) => assert_eq!(line, bad, "{what}"),
                other => panic!("{what}: {other:?}"),
            }
            let err = read_all(&path, &k).err().unwrap();
            assert_eq!(err.line(), Some(bad));
            assert!(
                err.to_string().contains(&format!("line {bad}:")),
                "{what}: {err}"
            );
            // A writer refuses it too.
            assert!(matches!(
                ReceiptLog::open(&path, &k),
                Err(LogError::Tampered { .. })
            ));
            // Without the key nothing can be checked: the file reads, unverified.
            let info = read_log(&path, None, |_, _| {}).unwrap();
            assert!(!info.is_verified());
        }
        // A line whose MAC was stripped (or a forged one without the key) is refused too.
        let stripped = good.replacen(&lines[2][lines[2].len() - 74..], "}", 1);
        std::fs::write(&path, stripped).unwrap();
        assert!(matches!(
            read_all(&path, &k),
            Err(LogError::Tampered { line: 3, .. })
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
        let mut log = ReceiptLog::open(&path, &k).unwrap();
        add(&mut log, &[receipt(&k, 1, Outcome::NotFound)]);
        drop(log);
        let whole = line(&receipt(&k, 2, Outcome::NotFound));
        append_raw(&path, &whole[..whole.len() / 2]);
        let (info, all) = read_all(&path, &k).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(info.torn_line(), Some(3));
        let warnings = info.warnings(&path);
        assert!(
            warnings[0].contains("line 3") && warnings[0].contains("cut short"),
            "{warnings:?}"
        );
        // Appending after a repair gives whole lines only, and the chain goes on.
        let mut log = ReceiptLog::open(&path, &k).unwrap();
        assert_eq!(log.info().torn_line(), Some(3));
        add(&mut log, &[receipt(&k, 2, Outcome::NotFound)]);
        drop(log);
        let (info, all) = read_all(&path, &k).unwrap();
        assert_eq!((all.len(), info.torn_line()), (2, None));

        // A whole last receipt without its newline is kept, and the next one starts a new line.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.trim_end()).unwrap();
        let (info, all) = read_all(&path, &k).unwrap();
        assert_eq!((all.len(), info.torn_line()), (2, None));
        let mut log = ReceiptLog::open(&path, &k).unwrap();
        add(&mut log, &[receipt(&k, 3, Outcome::NotFound)]);
        drop(log);
        assert_eq!(read_all(&path, &k).unwrap().1.len(), 3);

        // Killed while writing the header: nothing is lost, the header is written again.
        std::fs::write(&path, "{\"format\":\"anonym").unwrap();
        let (info, all) = read_all(&path, &k).unwrap();
        assert_eq!((all.len(), info.torn_line()), (0, Some(1)));
        drop(ReceiptLog::open(&path, &k).unwrap());
        assert!(read_all(&path, &k).unwrap().0.torn_line().is_none());
    }

    #[test]
    fn damage_elsewhere_foreign_files_and_other_keys_are_refused_by_line() {
        let dir = Dir::new("corrupt");
        let path = dir.0.join("r.jsonl");
        let k = key("03");
        let mut log = ReceiptLog::open(&path, &k).unwrap();
        add(&mut log, &[receipt(&k, 1, Outcome::NotFound)]);
        drop(log);
        let first_two = std::fs::read_to_string(&path).unwrap();
        append_raw(&path, "{\"at\":\"2026\n");
        append_raw(&path, &line(&receipt(&k, 1, Outcome::NotFound)));
        let err = read_all(&path, &k).err().unwrap();
        assert!(matches!(err, LogError::Corrupt { line: 3, .. }), "{err:?}");
        assert!(err.to_string().contains("line 3: not a receipt"), "{err}");

        // A whole last line that is not a receipt is damage, not a cut.
        std::fs::write(&path, format!("{first_two}not json\n")).unwrap();
        assert!(matches!(
            read_all(&path, &k),
            Err(LogError::Corrupt { line: 3, .. })
        ));

        for foreign in ["email\njane@example.com\n", "{\"format\":\"other\"}\n", "x"] {
            std::fs::write(&path, foreign).unwrap();
            let err = read_all(&path, &k).err().unwrap();
            assert!(
                matches!(err, LogError::NotReceipts { .. }),
                "{foreign:?}: {err:?}"
            );
            assert!(
                err.to_string().contains("line 1: not a receipts file"),
                "{err}"
            );
            assert!(!err.to_string().contains("jane"));
            // A writer never adds to a file that is not its own.
            assert!(ReceiptLog::open(&path, &k).is_err());
            assert_eq!(std::fs::read_to_string(&path).unwrap(), foreign);
        }
        std::fs::write(
            &path,
            first_two
                .lines()
                .next()
                .unwrap()
                .replace("\"version\":2", "\"version\":3"),
        )
        .unwrap();
        assert!(matches!(
            read_all(&path, &k),
            Err(LogError::Version { version: 3, .. })
        ));

        std::fs::write(&path, &first_two).unwrap();
        let other = key("04");
        let err = read_all(&path, &other).err().unwrap();
        assert!(matches!(err, LogError::OtherKey { .. }), "{err:?}");
        assert!(matches!(
            ReceiptLog::open(&path, &other),
            Err(LogError::OtherKey { .. })
        ));
        // Without a key (a summary), the file reads.
        assert!(read_log(&path, None, |_, _| {}).is_ok());

        // Version 1 (no MACs) reads, unchained; a writer does not continue it.
        let v1 = format!(
            "{{\"format\":\"{RECEIPTS_FORMAT}\",\"version\":1,\"key_id\":\"{}\",\"library\":\"x\"}}\n{}",
            k.id(),
            line(&receipt(&k, 1, Outcome::NotFound))
        );
        std::fs::write(&path, &v1).unwrap();
        let (info, all) = read_all(&path, &k).unwrap();
        assert_eq!((info.version(), all.len(), info.head()), (1, 1, None));
        assert!(!info.is_verified());
        let err = ReceiptLog::open(&path, &k).unwrap_err();
        assert!(matches!(err, LogError::Unchained { .. }), "{err:?}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            v1,
            "never upgraded"
        );
    }
}
