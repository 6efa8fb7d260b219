//! Reading: `open_line` and `Opener` open one line, `read_file` streams a file (or any binary
//! file object, `gzip.open(…)` too) as `Entry` objects with line numbers, a bad line never
//! stopping the lines after it. An `Event`'s `repr` shows where it sits, never its plaintext
//! (a repr ends up in tracebacks and logs).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use enclog::format::RecordKind;
use enclog::read::{Decryptor, MetaStatus, Opened, Outcome};
use enclog::{Keyring, Opener};

use crate::errors::{OpenError, line_error, open_error};
use crate::keys::keyring_arg;
use crate::log_file::os_error;
use crate::sealer::{mode_name, record_bytes};

/// One opened record.
///
/// `text` is the record as logged (a `str`: its UTF-8 bytes decoded, bytes that were not
/// UTF-8 as `surrogateescape` gives them), `plaintext` its bytes. `record` is `"event"` or
/// `"close"` (a session's close record, whose text is empty); `session` and `seq` place it in
/// its writer's stream (None for zato-enclog lines); `meta` is the authentic clear metadata
/// (e.g. the level) and `meta_status` whether the line's clear text matches it (`"matches"`,
/// `"differs"`: edited, or `"none"`).
#[pyclass(frozen, name = "Event", module = "enclog")]
pub(crate) struct PyEvent {
    plaintext: Vec<u8>,
    before: Vec<u8>,
    after: Vec<u8>,
    meta: Option<String>,
    meta_status: &'static str,
    key_id: String,
    mode: &'static str,
    record: &'static str,
    session: Option<String>,
    seq: Option<u64>,
    version: u8,
    timestamp: Option<u64>,
}

impl PyEvent {
    fn from_opened(opened: &Opened<'_>) -> PyEvent {
        PyEvent {
            plaintext: opened.plaintext.to_vec(),
            before: opened.before.to_vec(),
            after: opened.after.to_vec(),
            meta: opened.meta.map(|m| String::from_utf8_lossy(m).into_owned()),
            meta_status: match opened.meta_status {
                MetaStatus::None => "none",
                MetaStatus::Matches => "matches",
                MetaStatus::Differs => "differs",
                _ => "unknown",
            },
            key_id: opened.key_id.to_string(),
            mode: mode_name(opened.mode),
            record: match opened.record {
                RecordKind::Event => "event",
                RecordKind::Close => "close",
                _ => "unknown",
            },
            session: opened.sequence.map(|s| s.session.to_string()),
            seq: opened.sequence.map(|s| s.seq),
            version: opened.version,
            timestamp: opened.timestamp,
        }
    }
}

#[pymethods]
impl PyEvent {
    /// The record as logged, a `str`.
    #[getter]
    fn text<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        decode(py, &self.plaintext)
    }

    /// The record's bytes, exactly as sealed.
    #[getter]
    fn plaintext<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.plaintext)
    }

    /// The text before the token on the line, less verified clear metadata (a syslog header).
    #[getter]
    fn before<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.before)
    }

    /// The text after the token on the line.
    #[getter]
    fn after<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.after)
    }

    /// The authentic clear metadata (e.g. `"INFO"`), or None.
    #[getter]
    fn meta(&self) -> Option<String> {
        self.meta.clone()
    }

    /// `"matches"`, `"differs"` (the clear text before the token was edited) or `"none"`.
    #[getter]
    fn meta_status(&self) -> &'static str {
        self.meta_status
    }

    /// The id of the key that sealed the line.
    #[getter]
    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    /// `"symmetric"`, `"recipient"` or `"fernet"` (a zato-enclog line).
    #[getter]
    fn mode(&self) -> &'static str {
        self.mode
    }

    /// `"event"`, or `"close"` for a session's close record.
    #[getter]
    fn record(&self) -> &'static str {
        self.record
    }

    /// The writer's session (hex), None for zato-enclog lines.
    #[getter]
    fn session(&self) -> Option<String> {
        self.session.clone()
    }

    /// The line's number in its session, from 0; None for zato-enclog lines.
    #[getter]
    fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// The line format's version: 2 (1 for old lines, 0 for zato-enclog lines).
    #[getter]
    fn version(&self) -> u8 {
        self.version
    }

    /// A zato-enclog token's creation time (seconds since the epoch); None for enclog lines.
    #[getter]
    fn timestamp(&self) -> Option<u64> {
        self.timestamp
    }

    fn __repr__(&self) -> String {
        format!(
            "Event(record='{}', key_id='{}', session={}, seq={})",
            self.record,
            self.key_id,
            self.session
                .as_ref()
                .map_or("None".to_owned(), |s| format!("'{s}'")),
            self.seq.map_or("None".to_owned(), |s| s.to_string()),
        )
    }
}

/// One line of a file and what it turned out to be: `event` (an `Event`) when it opened,
/// `error` (an `OpenError` subclass, not raised) when it holds a token that did not, neither
/// for a plain line (`is_plain`). `line_number` counts from 1; `raw` is the line as read,
/// without its newline.
#[pyclass(frozen, name = "Entry", module = "enclog")]
pub(crate) struct PyEntry {
    line_number: u64,
    raw: Vec<u8>,
    terminated: bool,
    event: Option<Py<PyEvent>>,
    error: Option<PyErr>,
}

#[pymethods]
impl PyEntry {
    /// The 1-based line number.
    #[getter]
    fn line_number(&self) -> u64 {
        self.line_number
    }

    /// The line as read, without its newline (empty for a line over the limit).
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.raw)
    }

    /// The line as a `str` (for a plain line; an event's text is `event.text`).
    #[getter]
    fn text<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        decode(py, &self.raw)
    }

    /// Whether the line ended with a newline (False only for a cut last line).
    #[getter]
    fn terminated(&self) -> bool {
        self.terminated
    }

    /// The opened record, or None.
    #[getter]
    fn event(&self, py: Python<'_>) -> Option<Py<PyEvent>> {
        self.event.as_ref().map(|e| e.clone_ref(py))
    }

    /// Why the line's token did not open (an `OpenError` subclass), or None.
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.error
            .as_ref()
            .map(|e| e.value(py).clone().into_any().unbind())
    }

    /// Whether the line holds no token.
    #[getter]
    fn is_plain(&self) -> bool {
        self.event.is_none() && self.error.is_none()
    }

    /// Raises `error`, if there is one.
    fn raise_for_error(&self, py: Python<'_>) -> PyResult<()> {
        match &self.error {
            Some(e) => Err(e.clone_ref(py)),
            None => Ok(()),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let what = match (&self.event, &self.error) {
            (Some(event), _) => event.get().__repr__(),
            (None, Some(e)) => e
                .get_type(py)
                .name()
                .map_or_else(|_| "OpenError".to_owned(), |n| format!("{n}(…)")),
            (None, None) => "plain".to_owned(),
        };
        format!("Entry(line_number={}, {what})", self.line_number)
    }
}

/// Opens lines with the keys of a keyring, keeping each session's derived key for the next
/// line: `Opener(keyring).open(line)`. `keyring` is a `Keyring`, one key, key text, or an
/// iterable of keys.
#[pyclass(name = "Opener", module = "enclog")]
pub(crate) struct PyOpener(Opener);

#[pymethods]
impl PyOpener {
    #[new]
    fn new(keyring: &Bound<'_, PyAny>) -> PyResult<PyOpener> {
        Ok(PyOpener(Opener::new(keyring_arg(keyring)?)))
    }

    /// Opens the first token in `line` (`str` or `bytes`; a trailing newline is ignored):
    /// an `Event`, or None for a line that holds no token. Raises an `OpenError` subclass when
    /// the token does not open.
    fn open(&mut self, line: &Bound<'_, PyAny>) -> PyResult<Option<PyEvent>> {
        open_with(&mut self.0, line)
    }

    fn __repr__(&self) -> String {
        let ids: Vec<String> = self
            .0
            .keyring()
            .ids()
            .iter()
            .map(|i| i.to_string())
            .collect();
        format!("Opener(ids={ids:?})")
    }
}

fn open_with(opener: &mut Opener, line: &Bound<'_, PyAny>) -> PyResult<Option<PyEvent>> {
    let py = line.py();
    let owned;
    let bytes: &[u8] = if let Ok(b) = line.cast::<PyBytes>() {
        b.as_bytes()
    } else {
        owned = record_bytes(line)?;
        owned.as_bytes()
    };
    match opener.open(bytes) {
        None => Ok(None),
        Some(Ok(opened)) => Ok(Some(PyEvent::from_opened(&opened))),
        Some(Err(e)) => Err(open_error(py, &e, None)),
    }
}

/// Opens one line with `keyring` (a `Keyring`, one key, key text, or an iterable of keys): an
/// `Event`, or None for a line that holds no token; raises an `OpenError` subclass when its
/// token does not open (`UnknownKeyError`, `CorruptedLineError`…). For many lines, an `Opener`
/// keeps each session's derived key.
#[pyfunction]
fn open_line(line: &Bound<'_, PyAny>, keyring: &Bound<'_, PyAny>) -> PyResult<Option<PyEvent>> {
    let mut opener = Opener::new(keyring_arg(keyring)?);
    open_with(&mut opener, line)
}

/// A binary Python file object as `io::Read` (its `read` method).
struct PyFileReader(Py<PyAny>);

impl Read for PyFileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| {
            let data = self.0.bind(py).call_method1("read", (buf.len(),))?;
            let data = data.cast::<PyBytes>().map_err(PyErr::from)?;
            let data = data.as_bytes();
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            Ok::<usize, PyErr>(n)
        })
        .map_err(io::Error::other)
    }
}

/// The lines of a log, each an `Entry`: `for entry in enclog.read_file("app.log", keyring)`.
#[pyclass(name = "LogReader", module = "enclog")]
pub(crate) struct PyLogReader {
    decryptor: Decryptor<Box<dyn BufRead + Send + Sync>>,
    name: String,
}

#[pymethods]
impl PyLogReader {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<PyEntry>> {
        let entry = match self.decryptor.next_entry() {
            Ok(Some(entry)) => entry,
            Ok(None) => return Ok(None),
            Err(e) => {
                // A Python file object's own exception comes back as it was raised.
                if e.get_ref().is_some_and(|inner| inner.is::<PyErr>()) {
                    return Err(PyErr::from(e));
                }
                return Err(os_error(&e, std::path::Path::new(&self.name)));
            }
        };
        let (event, error) = match &entry.outcome {
            Outcome::Plain => (None, None),
            Outcome::Opened(opened) => (Some(Py::new(py, PyEvent::from_opened(opened))?), None),
            Outcome::Failed(e) => (None, Some(line_error(py, e, entry.line_no))),
            _ => (
                None,
                Some(OpenError::new_err(
                    "a line of a kind this version of enclog does not read",
                )),
            ),
        };
        Ok(Some(PyEntry {
            line_number: entry.line_no,
            raw: entry.raw.to_vec(),
            terminated: entry.terminated,
            event,
            error,
        }))
    }

    fn __repr__(&self) -> String {
        format!("LogReader({:?})", self.name)
    }
}

/// Reads a log line by line: `source` is a path, or a binary file object (`open(p, "rb")`,
/// `gzip.open(p)`, `sys.stdin.buffer`); `keyring` a `Keyring`, one key, key text, or an
/// iterable of keys. Yields an `Entry` per line, a bad line never stopping the lines after it.
/// Lines longer than `max_line` bytes (default 16 MiB) are reported (`LineTooLongError`)
/// without being read into memory.
#[pyfunction]
#[pyo3(signature = (source, keyring, *, max_line = enclog::read::DEFAULT_MAX_LINE))]
fn read_file(
    source: &Bound<'_, PyAny>,
    keyring: &Bound<'_, PyAny>,
    max_line: usize,
) -> PyResult<PyLogReader> {
    let keyring: Keyring = keyring_arg(keyring)?;
    let (reader, name): (Box<dyn BufRead + Send + Sync>, String) =
        if source.hasattr("read")? && !source.is_instance_of::<PyString>() {
            let name = source
                .getattr("name")
                .and_then(|n| n.str().map(|s| s.to_string()))
                .unwrap_or_else(|_| "<file object>".to_owned());
            let reader = PyFileReader(source.clone().unbind());
            (Box::new(BufReader::with_capacity(64 * 1024, reader)), name)
        } else {
            let path: PathBuf = source.extract()?;
            let file = File::open(&path).map_err(|e| os_error(&e, &path))?;
            (
                Box::new(BufReader::with_capacity(64 * 1024, file)),
                path.to_string_lossy().into_owned(),
            )
        };
    let decryptor = Decryptor::new(reader, keyring).max_line(max_line);
    Ok(PyLogReader { decryptor, name })
}

/// `bytes` decoded as UTF-8, bytes that are not UTF-8 as `surrogateescape` gives them (so a
/// record logged from such a `str` comes back equal to it).
fn decode<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(PyString::new(py, text).into_any()),
        Err(_) => PyBytes::new(py, bytes).call_method1("decode", ("utf-8", "surrogateescape")),
    }
}

/// Adds the reading classes and functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEvent>()?;
    m.add_class::<PyEntry>()?;
    m.add_class::<PyOpener>()?;
    m.add_class::<PyLogReader>()?;
    m.add_function(wrap_pyfunction!(open_line, m)?)?;
    m.add_function(wrap_pyfunction!(read_file, m)?)?;
    Ok(())
}
