//! [`Directory`]: the e-mail → user id map the vendor's migration guide asks integrators to keep.
//!
//! The directory is data: it is filled from a stream of users that someone else fetches
//! ([`Learning360Client::refresh_directory`](crate::Learning360Client::refresh_directory) hands it
//! *List users*), and it never sends a request itself.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anonymize_core::{Email, Result};
use futures_util::{Stream, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::id::UserId;
use crate::model::{User, UserStatus};

/// How a [`Directory`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirectoryOptions {
    /// A directory older than this is refreshed (every page of *List users*) before the next
    /// look-up. Default: one hour.
    pub max_age: Duration,
    /// Whether an address the directory does not know is looked up with one `mail[eq]` /
    /// `mail[in][]` query (finds users created since the last refresh). Default: `true`.
    pub fallback_query: bool,
}

impl Default for DirectoryOptions {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(3600),
            fallback_query: true,
        }
    }
}

impl DirectoryOptions {
    /// Set [`max_age`](Self::max_age).
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Set [`fallback_query`](Self::fallback_query).
    #[must_use]
    pub fn with_fallback_query(mut self, fallback: bool) -> Self {
        self.fallback_query = fallback;
        self
    }
}

/// What the directory knows about one address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirectoryEntry {
    /// The user's id.
    pub id: UserId,
    /// The user's status at the last refresh (or after this client deleted them).
    pub status: UserStatus,
}

/// An e-mail → (user id, status) map of every user of a 360Learning platform.
///
/// API v2 only takes user ids; the vendor's migration guide asks integrators who only have an
/// e-mail to list every user, keep them in a cache refreshed periodically, and match the `mail`
/// field. This is that cache, kept lean for large platforms: per user only the lower-cased
/// address, the 12-byte id and a one-byte status (measured in `docs/benchmarks.md`).
///
/// - Matching is exact and case-insensitive (addresses are lower-cased).
/// - Refreshed on demand ([`refresh_from`](Self::refresh_from), which
///   [`Learning360Client::refresh_directory`](crate::Learning360Client::refresh_directory) calls
///   with every user of *List users*) and, by the client, before a look-up when older than
///   [`DirectoryOptions::max_age`] ([`refresh_if_stale`](Self::refresh_if_stale)).
/// - A miss can fall back to a `mail[eq]` query ([`DirectoryOptions::fallback_query`]).
/// - When two users share an address, the one that is not deleted wins.
/// - [`save`](Self::save) / [`load`](Self::load) keep it across restarts. **The file holds
///   personal data** (e-mail addresses): it is created readable by its owner only (unix mode
///   `0600`) and written atomically (temporary file, then rename).
///
/// Clones share the same entries. `Debug` shows the size, never an address.
#[derive(Clone)]
pub struct Directory {
    inner: Arc<DirInner>,
}

struct DirInner {
    options: DirectoryOptions,
    state: RwLock<DirState>,
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct DirState {
    entries: HashMap<Box<str>, Entry>,
    refreshed_at: Option<SystemTime>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    id: [u8; 12],
    status: u8,
}

const ACTIVE: u8 = 0;
const INVITED: u8 = 1;
const DELETED: u8 = 2;
const OTHER: u8 = 3;

fn status_code(status: Option<&UserStatus>) -> u8 {
    match status {
        Some(UserStatus::Active) => ACTIVE,
        Some(UserStatus::Invited) => INVITED,
        Some(UserStatus::Deleted) => DELETED,
        Some(UserStatus::Other(_)) | None => OTHER,
    }
}

fn status_of_code(code: u8) -> UserStatus {
    match code {
        ACTIVE => UserStatus::Active,
        INVITED => UserStatus::Invited,
        DELETED => UserStatus::Deleted,
        _ => UserStatus::Other("unknown".to_owned()),
    }
}

/// Insert `entry` for `mail`, unless a non-deleted entry is already there and this one is
/// deleted.
fn insert(entries: &mut HashMap<Box<str>, Entry>, mail: &str, entry: Entry) {
    let key = mail.trim().to_lowercase();
    if key.is_empty() {
        return;
    }
    match entries.get_mut(key.as_str()) {
        Some(existing) if existing.status != DELETED && entry.status == DELETED => {}
        Some(existing) => *existing = entry,
        None => {
            entries.insert(key.into_boxed_str(), entry);
        }
    }
}

/// Insert `user` under its e-mail (a user without one is skipped).
fn insert_user(entries: &mut HashMap<Box<str>, Entry>, user: &User) {
    if let Some(mail) = &user.mail {
        let entry = Entry {
            id: *user.id.as_bytes(),
            status: status_code(user.effective_status().as_ref()),
        };
        insert(entries, mail, entry);
    }
}

impl fmt::Debug for Directory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.read();
        f.debug_struct("Directory")
            .field("entries", &state.entries.len())
            .field("refreshed_at", &state.refreshed_at)
            .field("options", &self.inner.options)
            .finish()
    }
}

impl Default for Directory {
    fn default() -> Self {
        Self::new(DirectoryOptions::default())
    }
}

impl Directory {
    /// An empty directory (filled by its first refresh).
    pub fn new(options: DirectoryOptions) -> Self {
        Self::from_state(options, DirState::default())
    }

    fn from_state(options: DirectoryOptions, state: DirState) -> Self {
        Self {
            inner: Arc::new(DirInner {
                options,
                state: RwLock::new(state),
                refreshing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, DirState> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, DirState> {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The options.
    pub fn options(&self) -> &DirectoryOptions {
        &self.inner.options
    }

    /// How many addresses it knows.
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether it knows no address.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// When it was last refreshed from the vendor (`None`: never).
    pub fn refreshed_at(&self) -> Option<SystemTime> {
        self.read().refreshed_at
    }

    /// Whether the next look-up will refresh it first (never refreshed, or older than the max
    /// age).
    pub fn is_stale(&self) -> bool {
        match self.refreshed_at() {
            None => true,
            Some(at) => SystemTime::now()
                .duration_since(at)
                .is_ok_and(|age| age >= self.inner.options.max_age),
        }
    }

    /// What it knows about `email` (no request is sent).
    pub fn lookup(&self, email: &Email) -> Option<DirectoryEntry> {
        let key = email.normalized();
        self.read()
            .entries
            .get(key.as_str())
            .map(|e| DirectoryEntry {
                id: UserId::from_bytes(e.id),
                status: status_of_code(e.status),
            })
    }

    /// Whether an address it knows belongs to `id` and says the user is deleted.
    pub fn knows_deleted(&self, id: &UserId) -> bool {
        let bytes = id.as_bytes();
        self.read()
            .entries
            .values()
            .any(|e| e.id == *bytes && e.status == DELETED)
    }

    /// Add or update one user (users without an e-mail are skipped).
    pub fn record(&self, user: &User) {
        insert_user(&mut self.write().entries, user);
    }

    /// Mark every address of `id` as deleted (after this client deleted the user).
    pub(crate) fn mark_deleted(&self, id: &UserId) {
        let bytes = id.as_bytes();
        for e in self.write().entries.values_mut() {
            if e.id == *bytes {
                e.status = DELETED;
            }
        }
    }

    /// Drop every address of `id` (after pseudonymization replaced the user's e-mail).
    pub(crate) fn forget(&self, id: &UserId) {
        let bytes = id.as_bytes();
        self.write().entries.retain(|_, e| e.id != *bytes);
    }

    /// Replace the entries by `users` (every user of the platform, e.g. the stream of
    /// [`Learning360Client::list_users`](crate::Learning360Client::list_users) without a filter),
    /// read one at a time into a new map that is swapped in at the end. Returns how many addresses
    /// it now knows. Concurrent refreshes are serialized; if the stream fails, the old entries
    /// are kept and the error is returned.
    pub async fn refresh_from<S>(&self, users: S) -> Result<usize>
    where
        S: Stream<Item = Result<User>>,
    {
        let _guard = self.inner.refreshing.lock().await;
        self.refresh_locked(users).await
    }

    /// Refresh from the stream `users()` makes, if the directory is [stale](Self::is_stale).
    /// Concurrent callers share one refresh: the first calls its `users`, the others wait and
    /// then find the directory fresh (they only refresh themselves if that refresh failed).
    /// `users` is not called at all when the directory is fresh. Returns whether it refreshed.
    pub async fn refresh_if_stale<F, S>(&self, users: F) -> Result<bool>
    where
        F: FnOnce() -> S,
        S: Stream<Item = Result<User>>,
    {
        if !self.is_stale() {
            return Ok(false);
        }
        let _guard = self.inner.refreshing.lock().await;
        if !self.is_stale() {
            return Ok(false);
        }
        self.refresh_locked(users()).await?;
        Ok(true)
    }

    async fn refresh_locked<S>(&self, users: S) -> Result<usize>
    where
        S: Stream<Item = Result<User>>,
    {
        let started = SystemTime::now();
        let mut entries = HashMap::with_capacity(self.len());
        let mut users = std::pin::pin!(users);
        while let Some(user) = users.try_next().await? {
            insert_user(&mut entries, &user);
        }
        entries.shrink_to_fit();
        let n = entries.len();
        let mut state = self.write();
        state.entries = entries;
        state.refreshed_at = Some(started);
        tracing::debug!(vendor = crate::VENDOR, entries = n, "directory refreshed");
        Ok(n)
    }

    /// An estimate of the heap memory the entries use (table slots plus the address strings).
    pub fn approx_heap_bytes(&self) -> usize {
        let state = self.read();
        let slot = std::mem::size_of::<(Box<str>, Entry)>() + 1;
        let table = state.entries.capacity() * slot;
        let strings: usize = state.entries.keys().map(|k| k.len().max(16)).sum();
        table + strings
    }

    /// Write the directory to `path` as JSON lines, atomically (a temporary file beside it,
    /// synced, then renamed over `path`). **The file holds personal data**: on unix it is
    /// created with mode `0600`. Blocking I/O: from async code, call it in
    /// `tokio::task::spawn_blocking` for large directories.
    pub fn save(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        let tmp = temp_path(path);
        let result = self.write_to(&tmp).and_then(|()| fs::rename(&tmp, path));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        // Make the rename itself durable (best effort: not every platform can sync a directory).
        #[cfg(unix)]
        if let Some(parent) = path.parent() {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            if let Ok(dir) = File::open(parent) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }

    fn write_to(&self, tmp: &Path) -> io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(tmp)?;
        let mut out = BufWriter::new(file);
        let state = self.read();
        let header = FileHeader {
            format: FORMAT.to_owned(),
            version: VERSION,
            refreshed_at_ms: state.refreshed_at.map(|t| {
                t.duration_since(UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            }),
            entries: state.entries.len(),
        };
        serde_json::to_writer(&mut out, &header)?;
        out.write_all(b"\n")?;
        for (mail, entry) in &state.entries {
            let line = FileEntry {
                mail: mail.to_string(),
                id: UserId::from_bytes(entry.id),
                status: status_of_code(entry.status).as_str().to_owned(),
            };
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
        }
        drop(state);
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()
    }

    /// Read a directory written by [`save`](Self::save). Its age is the saved refresh time, so a
    /// directory older than `options.max_age` refreshes before its first look-up. A truncated
    /// or foreign file is an [`io::ErrorKind::InvalidData`] error (which never quotes the file).
    pub fn load(path: impl AsRef<Path>, options: DirectoryOptions) -> io::Result<Self> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        let mut lines = BufReader::new(File::open(path)?).lines();
        let header: FileHeader = serde_json::from_str(
            &lines
                .next()
                .ok_or_else(|| invalid("the directory file is empty"))??,
        )
        .map_err(|_| invalid("the directory file has no valid header"))?;
        if header.format != FORMAT || header.version != VERSION {
            return Err(invalid(
                "not a learning360 directory file of a known version",
            ));
        }
        let mut state = DirState {
            entries: HashMap::with_capacity(header.entries),
            refreshed_at: header
                .refreshed_at_ms
                .map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
        };
        let mut count = 0usize;
        for line in lines {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let e: FileEntry = serde_json::from_str(&line)
                .map_err(|_| invalid("a line of the directory file cannot be read"))?;
            let entry = Entry {
                id: *e.id.as_bytes(),
                status: status_code(Some(&UserStatus::from_wire(&e.status))),
            };
            insert(&mut state.entries, &e.mail, entry);
            count += 1;
        }
        if count != header.entries {
            return Err(invalid(
                "the directory file is truncated (fewer entries than its header says)",
            ));
        }
        Ok(Self::from_state(options, state))
    }
}

const FORMAT: &str = "learning360-directory";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct FileHeader {
    format: String,
    version: u32,
    refreshed_at_ms: Option<u64>,
    entries: usize,
}

#[derive(Serialize, Deserialize)]
struct FileEntry {
    mail: String,
    id: UserId,
    status: String,
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "directory".to_owned());
    let unique = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    path.with_file_name(format!(".{name}.{}.{unique}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn user(id: &str, mail: &str, status: UserStatus) -> User {
        let mut u = User::new(id.parse().unwrap());
        u.mail = Some(mail.to_owned());
        u.status = Some(status);
        u
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn case_insensitive_and_non_deleted_wins() {
        let d = Directory::default();
        d.record(&user(A, "Jane@Example.com", UserStatus::Deleted));
        d.record(&user(B, "jane@example.COM", UserStatus::Active));
        d.record(&user(A, "jane@example.com", UserStatus::Deleted));
        let e = d
            .lookup(&Email::parse("JANE@example.com").unwrap())
            .unwrap();
        assert_eq!(e.id.to_string(), B);
        assert_eq!(e.status, UserStatus::Active);
        assert_eq!(d.len(), 1);
        let mut no_mail = User::new(A.parse::<UserId>().unwrap());
        no_mail.status = Some(UserStatus::Active);
        d.record(&no_mail);
        assert_eq!(d.len(), 1);
        assert!(!format!("{d:?}").contains("jane"));
    }

    #[test]
    fn deleted_and_forgotten() {
        let d = Directory::default();
        let id = A.parse::<UserId>().unwrap();
        d.record(&user(A, "a@example.com", UserStatus::Active));
        assert!(!d.knows_deleted(&id));
        d.mark_deleted(&id);
        assert!(d.knows_deleted(&id));
        d.forget(&id);
        assert!(d.is_empty());
        assert!(d.is_stale());
    }

    #[tokio::test]
    async fn filled_from_a_stream_and_kept_when_it_fails() {
        use anonymize_core::Error;
        use futures_util::stream;
        let d = Directory::default();
        let users = vec![
            Ok(user(A, "a@example.com", UserStatus::Active)),
            Ok(user(B, "b@example.com", UserStatus::Deleted)),
        ];
        assert_eq!(d.refresh_from(stream::iter(users)).await.unwrap(), 2);
        assert!(!d.is_stale());
        assert!(d.knows_deleted(&B.parse().unwrap()));

        // A stream that fails half-way changes nothing.
        let failing = vec![
            Ok(user(A, "new@example.com", UserStatus::Active)),
            Err(Error::invalid_input("listing failed")),
        ];
        assert!(d.refresh_from(stream::iter(failing)).await.is_err());
        assert_eq!(d.len(), 2);
        assert!(
            d.lookup(&Email::parse("new@example.com").unwrap())
                .is_none()
        );

        // Fresh: the source is not even asked.
        let refreshed = d
            .refresh_if_stale(|| -> stream::Iter<std::vec::IntoIter<Result<User>>> {
                panic!("a fresh directory must not list users")
            })
            .await
            .unwrap();
        assert!(!refreshed);
        let stale = Directory::new(DirectoryOptions::default().with_max_age(Duration::ZERO));
        let refreshed = stale
            .refresh_if_stale(|| {
                stream::iter(vec![Ok(user(A, "a@example.com", UserStatus::Active))])
            })
            .await
            .unwrap();
        assert!(refreshed);
        assert_eq!(stale.len(), 1);
    }

    #[test]
    fn refuses_foreign_and_truncated_files() {
        let dir = std::env::temp_dir().join(format!("l360-dir-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("foreign.jsonl");
        fs::write(&p, "{\"hello\":1}\n").unwrap();
        let err = Directory::load(&p, DirectoryOptions::default()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let d = Directory::default();
        d.record(&user(A, "a@example.com", UserStatus::Active));
        d.record(&user(B, "b@example.com", UserStatus::Deleted));
        d.save(&p).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        let cut: Vec<&str> = text.lines().take(2).collect();
        fs::write(&p, cut.join("\n")).unwrap();
        let err = Directory::load(&p, DirectoryOptions::default()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(!err.to_string().contains("example.com"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
