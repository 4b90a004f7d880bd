//! Where the command's words go. By default its result is human text on stdout (`say!`), and
//! progress, warnings and errors go to stderr (`warn!`). With `--json`, stdout carries exactly
//! one JSON document instead: the command's result ([`document`]), or, when it stopped before
//! having one, `{"error": <its last message>}`; either way with `"exit"`, the exit status. Stderr
//! is the same in both modes.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

static JSON: AtomicBool = AtomicBool::new(false);
static DOCUMENT: Mutex<Option<serde_json::Map<String, serde_json::Value>>> = Mutex::new(None);
static LAST_ERROR: Mutex<Option<String>> = Mutex::new(None);

/// Switch to one JSON document on stdout (`--json`).
pub(crate) fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// Whether `--json` was given.
pub(crate) fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// A line of the human result, on stdout; nothing with `--json`.
pub(crate) fn say(args: std::fmt::Arguments<'_>) {
    if !json() {
        let _ = writeln!(std::io::stdout().lock(), "{args}");
    }
}

/// A line on stderr (progress, a warning, an error); with `--json` the last one is the
/// document's `error` when the command ends without a result.
pub(crate) fn warn(args: std::fmt::Arguments<'_>) {
    let text = args.to_string();
    let _ = writeln!(std::io::stderr().lock(), "{text}");
    if json() {
        *LAST_ERROR.lock().unwrap_or_else(PoisonError::into_inner) = Some(text);
    }
}

/// The command's result, for `--json`: an object, printed by [`finish`]. A later call replaces
/// an earlier one.
pub(crate) fn document(value: serde_json::Value) {
    if let serde_json::Value::Object(map) = value {
        *DOCUMENT.lock().unwrap_or_else(PoisonError::into_inner) = Some(map);
    }
}

/// With `--json`, print the one document with the exit status.
pub(crate) fn finish(exit: u8) {
    if !json() {
        return;
    }
    let mut doc = DOCUMENT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .unwrap_or_else(|| {
            let error = LAST_ERROR
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .unwrap_or_else(|| "stopped without a result".to_owned());
            let mut map = serde_json::Map::new();
            map.insert("error".to_owned(), error.into());
            map
        });
    doc.insert("exit".to_owned(), exit.into());
    let text = serde_json::to_string(&doc).unwrap_or_else(|_| format!("{{\"exit\":{exit}}}"));
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}
