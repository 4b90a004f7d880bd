//! The input: persons from a CSV file with a header, or from JSON lines (a file named `*.jsonl`),
//! read one line at a time.
//!
//! Columns (CSV) or fields (JSON): `email` and the vendors' id columns (`guardhouse_id`,
//! `alfabet_ref`, `learning360_id`), any subset; an empty cell or a JSON `null` is "not given".
//! A line needs an address or at least one id. Every problem is reported with its line number
//! (the CSV header is line 1), its column and the reason, never the value.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use anonymize_core::{Email, Person};

use crate::vendors::{self, SPECS};

/// The address column.
pub(crate) const EMAIL: &str = "email";

/// One line of the input: a person, or what is wrong with it.
#[derive(Debug)]
pub(crate) enum Line {
    /// A person (`line`: where it is in the file).
    Person { line: u64, person: Person },
    /// A line that cannot be used, with every problem found on it.
    Bad(Vec<Problem>),
}

/// One problem of the input. `Display`: `line 7, column email: not a valid e-mail address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) line: u64,
    /// The column or field, when the problem is in one.
    pub(crate) column: Option<String>,
    pub(crate) reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

fn problem(line: u64, column: Option<&str>, reason: impl Into<String>) -> Problem {
    Problem {
        line,
        column: column.map(str::to_owned),
        reason: reason.into(),
    }
}

/// Why the input cannot be read at all.
#[derive(Debug)]
pub(crate) enum OpenError {
    Io(io::Error),
    /// The header (CSV) is unusable: every problem found in it.
    Header(Vec<Problem>),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io(e) => write!(f, "cannot read the input: {e}"),
            OpenError::Header(problems) => {
                let lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
                write!(f, "the input's header is unusable: {}", lines.join("; "))
            }
        }
    }
}

/// A column name as it may be printed: names of the expected shape only, so that a file
/// without a header (whose first line is data) never has a value echoed as a "column";
/// `otherwise` is shown instead.
fn shown_name(name: &str, otherwise: impl FnOnce() -> String) -> String {
    let plain = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain { name.to_owned() } else { otherwise() }
}

fn expected_columns() -> String {
    let mut names = vec![EMAIL];
    names.extend(SPECS.iter().map(|s| s.column));
    names.join(", ")
}

/// The input as a file that can be read more than once (once to check it, once per vendor).
///
/// A regular file is read where it is. Anything else (`-` for standard input, a pipe such as
/// `<(cut -f1 hr.tsv)`, a FIFO, `/dev/stdin`) can be read only once: it is copied, once, to a
/// private temporary file (mode 0600, deleted when this is dropped), and read from there; a
/// second pass over the pipe itself would find it empty and erase nobody.
#[derive(Debug)]
pub(crate) struct Source {
    path: std::path::PathBuf,
    spooled: bool,
}

impl Source {
    /// The input at `path` (`-`: standard input), spooled when it is not a regular file.
    pub(crate) fn new(path: &Path) -> Result<Self, OpenError> {
        let named = |e: io::Error| {
            OpenError::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
        };
        let stdin = path.as_os_str() == "-";
        if !stdin && std::fs::metadata(path).map_err(named)?.is_file() {
            return Ok(Self {
                path: path.to_owned(),
                spooled: false,
            });
        }
        // Keep the name's extension: it says whether the input is CSV or JSON lines.
        let extension = if stdin {
            String::new()
        } else {
            path.extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default()
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let spool = std::env::temp_dir().join(format!(
            "anonymize-input-{}-{nanos}{extension}",
            std::process::id()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            // The input holds addresses: the copy is its owner's alone.
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&spool).map_err(OpenError::Io)?;
        // From here on the copy is removed on every way out.
        let source = Self {
            path: spool,
            spooled: true,
        };
        let copied = if stdin {
            io::copy(&mut io::stdin().lock(), &mut file)
        } else {
            File::open(path).and_then(|mut input| io::copy(&mut input, &mut file))
        };
        copied.map_err(named)?;
        Ok(source)
    }

    /// Where to read it, as often as needed.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        if self.spooled {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The persons of the file at `path`, one [`Line`] at a time: JSON lines when the name ends in
/// `.jsonl`, CSV otherwise.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Iterator<Item = Line> + Send>, OpenError> {
    let file = File::open(path)
        .map_err(|e| OpenError::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display()))))?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"))
    {
        Ok(Box::new(JsonLines {
            reader: BufReader::new(file),
            line: 0,
            buf: Vec::new(),
        }))
    } else {
        Ok(Box::new(Csv::new(file)?))
    }
}

/// What a column is for.
#[derive(Clone, Copy)]
enum Column {
    Email,
    Id(&'static vendors::Spec),
}

fn column(name: &str) -> Option<Column> {
    if name == EMAIL {
        Some(Column::Email)
    } else {
        vendors::by_column(name).map(Column::Id)
    }
}

/// Build a person from `(column, name, value)` cells; blank values are "not given".
fn person<'a>(
    line: u64,
    cells: impl Iterator<Item = (Column, &'a str, &'a str)>,
) -> Result<Person, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut email = None;
    let mut ids = Vec::new();
    for (kind, name, value) in cells {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match kind {
            Column::Email => match Email::parse(value) {
                Ok(e) => email = Some(e),
                Err(e) => problems.push(problem(line, Some(name), reason(&e))),
            },
            Column::Id(spec) => match (spec.parse_id)(value) {
                Ok(id) => ids.push((spec.name, id)),
                Err(e) => problems.push(problem(line, Some(name), reason(&e))),
            },
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut ids = ids.into_iter();
    let start = match (email, ids.next()) {
        (Some(email), first) => {
            let p = Person::from_email(email);
            match first {
                Some((vendor, id)) => p.with_id(vendor, id),
                None => p,
            }
        }
        (None, Some((vendor, id))) => Person::from_id(vendor, id),
        (None, None) => {
            return Err(vec![problem(
                line,
                None,
                "neither an e-mail address nor an id: nothing to find the person by",
            )]);
        }
    };
    Ok(ids.fold(start, |p, (vendor, id)| p.with_id(vendor, id)))
}

/// The reason of an input error, without its "invalid input:" prefix.
fn reason(error: &anonymize_core::Error) -> String {
    match error {
        anonymize_core::Error::InvalidInput { reason } => reason.clone(),
        other => other.to_string(),
    }
}

struct Csv {
    reader: csv::Reader<File>,
    columns: Vec<(Column, String)>,
    record: csv::ByteRecord,
}

impl Csv {
    fn new(file: File) -> Result<Self, OpenError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(file);
        let header = match reader.byte_headers() {
            Ok(h) => h.clone(),
            Err(e) => return Err(OpenError::Header(vec![csv_error(e, 1)])),
        };
        let mut problems = Vec::new();
        let mut columns = Vec::new();
        for (i, raw) in header.iter().enumerate() {
            // Header names match in any case (`Email`); the name is shown only as the check
            // below allows, in its own case.
            let given = String::from_utf8_lossy(raw).trim().to_owned();
            let shown = shown_name(&given, || format!("{} (its name is not shown)", i + 1));
            let name = given.to_ascii_lowercase();
            match column(&name) {
                _ if columns.iter().any(|(_, n)| *n == name) => {
                    problems.push(problem(1, Some(&shown), "this column is given twice"));
                }
                Some(kind) => columns.push((kind, name)),
                None => problems.push(problem(
                    1,
                    Some(&shown),
                    format!(
                        "unknown column (the columns are {}; is the header missing?)",
                        expected_columns()
                    ),
                )),
            }
        }
        if !problems.is_empty() {
            return Err(OpenError::Header(problems));
        }
        Ok(Self {
            reader,
            columns,
            record: csv::ByteRecord::new(),
        })
    }
}

/// A CSV reading error as a problem of line `line`.
fn csv_error(error: csv::Error, line: u64) -> Problem {
    let line = error.position().map_or(line, |p| p.line());
    match error.into_kind() {
        csv::ErrorKind::Io(e) => problem(line, None, format!("cannot read the line: {e}")),
        csv::ErrorKind::Utf8 { .. } => problem(line, None, "not valid UTF-8"),
        _ => problem(line, None, "not valid CSV"),
    }
}

impl Iterator for Csv {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        let line = self.reader.position().line();
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => Some(Line::Bad(vec![csv_error(e, line)])),
            Ok(true) => {
                let line = self.record.position().map_or(line, |p| p.line());
                if self.record.len() != self.columns.len() {
                    return Some(Line::Bad(vec![problem(
                        line,
                        None,
                        format!(
                            "{} fields, but the header has {}",
                            self.record.len(),
                            self.columns.len()
                        ),
                    )]));
                }
                let mut texts = Vec::with_capacity(self.record.len());
                for (i, raw) in self.record.iter().enumerate() {
                    match std::str::from_utf8(raw) {
                        Ok(text) => texts.push(text),
                        Err(_) => {
                            return Some(Line::Bad(vec![problem(
                                line,
                                Some(&self.columns[i].1),
                                "not valid UTF-8",
                            )]));
                        }
                    }
                }
                let cells = self
                    .columns
                    .iter()
                    .zip(texts)
                    .map(|((kind, name), value)| (*kind, name.as_str(), value));
                Some(match person(line, cells) {
                    Ok(person) => Line::Person { line, person },
                    Err(problems) => Line::Bad(problems),
                })
            }
        }
    }
}

struct JsonLines {
    reader: BufReader<File>,
    line: u64,
    buf: Vec<u8>,
}

impl Iterator for JsonLines {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        loop {
            self.buf.clear();
            self.line += 1;
            let line = self.line;
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    return Some(Line::Bad(vec![problem(
                        line,
                        None,
                        format!("cannot read the line: {e}"),
                    )]));
                }
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue; // a blank line holds no person
            }
            return Some(json_line(line, &self.buf));
        }
    }
}

fn json_line(line: u64, bytes: &[u8]) -> Line {
    let object = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(object)) => object,
        Ok(_) => return Line::Bad(vec![problem(line, None, "not a JSON object")]),
        Err(_) => return Line::Bad(vec![problem(line, None, "not valid JSON")]),
    };
    let mut problems = Vec::new();
    let mut cells: Vec<(Column, &str, String)> = Vec::new();
    for (name, value) in &object {
        let Some(kind) = column(name) else {
            problems.push(problem(
                line,
                Some(&shown_name(name, || "<not shown>".to_owned())),
                format!("unknown field (the fields are {})", expected_columns()),
            ));
            continue;
        };
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(text) => cells.push((kind, name, text.clone())),
            // A numeric id (Guardhouse's are numbers) is taken as its digits.
            serde_json::Value::Number(n) if matches!(kind, Column::Id(_)) => {
                cells.push((kind, name, n.to_string()));
            }
            _ => problems.push(problem(line, Some(name), "expected text")),
        }
    }
    if !problems.is_empty() {
        return Line::Bad(problems);
    }
    match person(
        line,
        cells
            .iter()
            .map(|(kind, name, value)| (*kind, *name, value.as_str())),
    ) {
        Ok(person) => Line::Person { line, person },
        Err(problems) => Line::Bad(problems),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Write;

    fn write(name: &str, content: &str) -> (std::path::PathBuf, TempDir) {
        let dir = TempDir::new();
        let path = dir.0.join(name);
        File::create(&path)
            .unwrap()
            .write_all(content.as_bytes())
            .unwrap();
        (path, dir)
    }

    /// A directory removed when dropped.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new() -> Self {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "anonymize-input-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn read(name: &str, content: &str) -> Result<Vec<Line>, OpenError> {
        let (path, _dir) = write(name, content);
        open(&path).map(Iterator::collect)
    }

    fn problems(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .filter_map(|l| match l {
                Line::Bad(p) => Some(p.iter().map(Problem::to_string).collect::<Vec<_>>()),
                Line::Person { .. } => None,
            })
            .flatten()
            .collect()
    }

    const SECRETS: [&str; 4] = ["jane", "1x1", "zz-9", "5f00"];

    fn assert_no_value(texts: &[String]) {
        for t in texts {
            for s in SECRETS {
                assert!(!t.contains(s), "{t:?} repeats a value");
            }
        }
    }

    #[test]
    fn csv_persons_with_any_columns() {
        let lines = read(
            "people.csv",
            "email,alfabet_ref,guardhouse_id,learning360_id\n\
             Jane@Example.com,421-5-0,101,\n\
             ,421-6-0,,\n\
             \"bob@example.com\",,,656000000000000000000001\n",
        )
        .unwrap();
        assert!(problems(&lines).is_empty(), "{:?}", problems(&lines));
        let persons: Vec<(u64, &Person)> = lines
            .iter()
            .filter_map(|l| match l {
                Line::Person { line, person } => Some((*line, person)),
                Line::Bad(_) => None,
            })
            .collect();
        assert_eq!(persons.len(), 3);
        assert_eq!(persons[0].0, 2);
        assert_eq!(persons[0].1.id("alfabet"), Some("421-5-0"));
        assert_eq!(persons[0].1.id("guardhouse"), Some("101"));
        assert!(persons[0].1.email().is_some());
        assert_eq!(persons[1].1.email(), None);
        assert_eq!(
            persons[2].1.id("learning360"),
            Some("656000000000000000000001")
        );
        // Only an address column is fine too.
        let lines = read("a.csv", "email\njane@example.com\n").unwrap();
        assert_eq!(lines.len(), 1);
        // Header names match in any case.
        let lines = read("b.csv", "Email,ALFABET_REF\njane@example.com,421-5-0\n").unwrap();
        assert!(problems(&lines).is_empty(), "{:?}", problems(&lines));
        assert!(matches!(&lines[0], Line::Person { person, .. } if person.id("alfabet").is_some()));
    }

    #[test]
    fn a_missing_input_is_named_and_a_fifo_is_read_once_to_a_private_copy() {
        let dir = std::env::temp_dir().join(format!("anonymize-source-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("nobody.csv");
        let err = Source::new(&missing).unwrap_err().to_string();
        assert!(err.contains("nobody.csv"), "{err}");

        let file = dir.join("people.csv");
        std::fs::write(&file, "email\njane@example.com\n").unwrap();
        assert_eq!(
            Source::new(&file).unwrap().path(),
            file,
            "a file is read in place"
        );

        #[cfg(unix)]
        {
            let fifo = dir.join("people.jsonl");
            let made = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap();
            assert!(made.success());
            let writer = {
                let fifo = fifo.clone();
                std::thread::spawn(move || {
                    std::fs::write(
                        fifo,
                        "{\"email\":\"jane@example.com\"}\n{\"alfabet_ref\":\"421-5-0\"}\n",
                    )
                    .unwrap();
                })
            };
            let source = Source::new(&fifo).unwrap();
            writer.join().unwrap();
            let copy = source.path().to_owned();
            assert_ne!(copy, fifo);
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
            // Read as often as needed, as JSON lines (the name's extension is kept).
            for _ in 0..3 {
                assert_eq!(
                    open(&copy)
                        .unwrap()
                        .filter(|l| matches!(l, Line::Person { .. }))
                        .count(),
                    2
                );
            }
            drop(source);
            assert!(!copy.exists(), "the copy is removed");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_bad_csv_line_is_named_without_its_value() {
        let lines = read(
            "people.csv",
            "email,guardhouse_id,alfabet_ref,learning360_id\n\
             jane@,1x1,,\n\
             ,,zz-9,\n\
             ,,,5f00\n\
             ,,,\n\
             a@example.com,101\n\
             ok@example.com,,,\n",
        )
        .unwrap();
        let found = problems(&lines);
        assert_eq!(
            found,
            [
                "line 2, column email: not a valid e-mail address",
                &format!(
                    "line 2, column guardhouse_id: {}",
                    reason_of("guardhouse", "1x1")
                ),
                &format!(
                    "line 3, column alfabet_ref: {}",
                    reason_of("alfabet", "zz-9")
                ),
                &format!(
                    "line 4, column learning360_id: {}",
                    reason_of("learning360", "5f00")
                ),
                "line 5: neither an e-mail address nor an id: nothing to find the person by",
                "line 6: 2 fields, but the header has 4",
            ]
        );
        assert_no_value(&found);
        assert!(matches!(lines.last(), Some(Line::Person { line: 7, .. })));
    }

    fn reason_of(vendor: &str, value: &str) -> String {
        let spec = SPECS.iter().find(|s| s.name == vendor).unwrap();
        reason(&(spec.parse_id)(value).unwrap_err())
    }

    #[test]
    fn a_bad_header_is_refused_whole_and_never_echoes_data() {
        for (content, expected) in [
            (
                "email,phone\n",
                "line 1, column phone: unknown column (the columns are email, guardhouse_id, \
                 alfabet_ref, learning360_id; is the header missing?)",
            ),
            (
                "jane@example.com,101\n",
                "line 1, column 1 (its name is not shown): unknown column",
            ),
            (
                "email,email\n",
                "line 1, column email: this column is given twice",
            ),
        ] {
            let err = read("p.csv", content).err().unwrap();
            let text = err.to_string();
            assert!(text.contains(expected), "{text}");
            assert!(!text.contains("jane"), "{text}");
        }
    }

    #[test]
    fn empty_inputs_have_no_line() {
        assert!(read("p.csv", "").unwrap().is_empty());
        assert!(read("p.csv", "email,guardhouse_id\n").unwrap().is_empty());
        assert!(read("p.jsonl", "").unwrap().is_empty());
        assert!(read("p.jsonl", "\n  \n").unwrap().is_empty());
    }

    #[test]
    fn invalid_utf8_is_a_bad_line() {
        let (path, _dir) = write("p.csv", "");
        std::fs::write(&path, b"email\nja\xffne@example.com\nok@example.com\n").unwrap();
        let lines: Vec<Line> = open(&path).unwrap().collect();
        assert_eq!(problems(&lines), ["line 2, column email: not valid UTF-8"]);
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn json_lines_with_the_same_fields() {
        let lines = read(
            "people.jsonl",
            "{\"email\":\"jane@example.com\",\"guardhouse_id\":101}\n\
             \n\
             {\"alfabet_ref\":\"421-5-0\",\"learning360_id\":null}\n\
             [1]\n\
             {\"email\":\"jane@\n\
             {\"email\":\"jane@\"}\n\
             {\"email\":7}\n\
             {\"phone\":\"1x1\",\"Jane Doe\":\"x\"}\n\
             {}\n",
        )
        .unwrap();
        let found = problems(&lines);
        assert_eq!(
            found,
            [
                "line 4: not a JSON object",
                "line 5: not valid JSON",
                "line 6, column email: not a valid e-mail address",
                "line 7, column email: expected text",
                "line 8, column <not shown>: unknown field (the fields are email, \
                 guardhouse_id, alfabet_ref, learning360_id)",
                "line 8, column phone: unknown field (the fields are email, guardhouse_id, \
                 alfabet_ref, learning360_id)",
                "line 9: neither an e-mail address nor an id: nothing to find the person by",
            ]
        );
        assert_no_value(&found);
        match &lines[0] {
            Line::Person { line: 1, person } => assert_eq!(person.id("guardhouse"), Some("101")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(&lines[1], Line::Person { line: 3, .. }));
    }
}
