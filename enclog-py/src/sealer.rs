//! `Sealer`: seals one Python record (a `str`) into one line, or into several consecutive
//! lines when it is longer than the cap ([`crate::split`]). `EncryptedFormatter` seals through
//! it; `LogFileWriter` shares [`seal_record`].

use std::cell::RefCell;
use std::path::PathBuf;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use enclog::Sealer;
use enclog::fields::{IndexKey, Selection};
use enclog::format::Mode;
use enclog::seal::{ChainState, Rotation, SealError};

use crate::errors::{EnclogError, seal_error};
use crate::keys::{PyKey, sealing_key_arg};
use crate::split::{self, MAX_EVENT};

thread_local! {
    /// The sealed lines of the record being sealed: reused, so a warm thread seals without
    /// allocating for the line.
    static LINES: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's line buffer, emptied (a fresh one if it is in use or gone).
pub(crate) fn with_line_buffer<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut f = Some(f);
    let reused = LINES.try_with(|lines| {
        lines.try_borrow_mut().ok().map(|mut buf| {
            buf.clear();
            let f = f.take().expect("called once");
            let result = f(&mut buf);
            // A record of megabytes does not pin its buffer for the thread's life.
            if buf.capacity() > 64 * 1024 {
                *buf = Vec::new();
            }
            result
        })
    });
    match reused {
        Ok(Some(result)) => result,
        _ => f.take().expect("not called yet")(&mut Vec::new()),
    }
}

/// The UTF-8 bytes of a record to seal. A `str` holding lone surrogates cannot be UTF-8: those
/// that `surrogateescape` made (bytes of a file name or a pipe that were not UTF-8) go back to
/// their bytes, any other is written as a `\udXXX` escape; nothing is refused.
pub(crate) fn record_bytes<'py>(text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let text = text.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "a record to seal must be a str, not {}",
            text.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    match text.encode_utf8() {
        Ok(bytes) => Ok(bytes),
        Err(_) => text
            .call_method1("encode", ("utf-8", "surrogateescape"))
            .or_else(|_| text.call_method1("encode", ("utf-8", "backslashreplace")))?
            .cast_into::<PyBytes>()
            .map_err(Into::into),
    }
}

/// Seals `plaintext` into `out` as one event line, or as one per piece when it is longer than
/// `max` bytes; returns the number of pieces. Each line ends with `\n`; a session's close
/// record may come first (rotation, a new key: [`Sealer::seal_to`]).
pub(crate) fn seal_record(
    sealer: &Sealer,
    clear: Option<&[u8]>,
    plaintext: &[u8],
    max: usize,
    out: &mut Vec<u8>,
) -> Result<usize, SealError> {
    if plaintext.len() <= max {
        sealer.seal_to(clear, plaintext, out)?;
        return Ok(1);
    }
    let pieces = split::pieces(plaintext, max);
    for piece in &pieces {
        sealer.seal_to(clear, piece, out)?;
    }
    Ok(pieces.len())
}

/// `out`'s lines as a `str` without the last newline (a handler adds its own terminator).
pub(crate) fn lines_to_str<'py>(py: Python<'py>, out: &[u8]) -> PyResult<Bound<'py, PyString>> {
    let lines = out.strip_suffix(b"\n").unwrap_or(out);
    // Sealed lines are ASCII (clear metadata is made printable ASCII by the library).
    let text = std::str::from_utf8(lines)
        .map_err(|_| EnclogError::new_err("a sealed line is not ASCII (a bug in enclog)"))?;
    Ok(PyString::new(py, text))
}

/// The writer's chain state, from the `chain_state` argument: `None`/`False` for none, or a
/// path.
pub(crate) fn open_chain_state(path: PathBuf) -> PyResult<ChainState> {
    ChainState::open(&path)
        .map_err(|e| EnclogError::new_err(format!("chain state {}: {e}", path.to_string_lossy())))
}

/// The name Python sees for a mode.
pub(crate) fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Symmetric => "symmetric",
        Mode::Recipient => "recipient",
        Mode::Fernet => "fernet",
        _ => "unknown",
    }
}

/// Seals records into lines: `Sealer(key)` with a `Key`, a `Recipient` (this process then
/// cannot read what it writes) or a zato-enclog `FernetKey` (lines zato-enclog reads). Each
/// record becomes one line with its session and sequence number; threads may share a sealer,
/// and a forked child starts a session of its own. The session starts here, so a broken random
/// number generator is an error now, never plaintext later.
///
/// `max_event` is the longest record sealed as one event, in bytes (default `MAX_EVENT`, 12
/// MiB less 1 KiB, as `enclog encrypt`); a longer one is sealed as several consecutive events,
/// cut as `enclog encrypt` cuts a line (never inside a UTF-8 character).
///
/// `chain_state` (a path) continues the writer's chain of sessions across runs (private
/// folder, one writer per file; see the README's "Chained sessions").
#[pyclass(frozen, name = "Sealer", module = "enclog")]
pub(crate) struct PySealer {
    sealer: Sealer,
    max_event: usize,
    /// The fields `seal_json_fields` seals (and indexes).
    fields: Selection,
}

#[pymethods]
impl PySealer {
    #[new]
    #[pyo3(signature = (key, *, max_event = MAX_EVENT, chain_state = None, fields = Vec::new(), index = Vec::new(), index_key = None))]
    fn new(
        key: &Bound<'_, PyAny>,
        max_event: usize,
        chain_state: Option<PathBuf>,
        fields: Vec<String>,
        index: Vec<String>,
        index_key: Option<PyRef<'_, PyKey>>,
    ) -> PyResult<PySealer> {
        let key = sealing_key_arg(key)?;
        let sealer = match chain_state {
            None => Sealer::new(key),
            Some(path) => {
                let state = open_chain_state(path)?;
                Sealer::with_chain_state(key, Rotation::default(), state)
                    .map_err(|e| EnclogError::new_err(format!("chain state: {e}")))?
            }
        };
        sealer.start().map_err(|e| seal_error(&e))?;
        if let Some(index_key) = index_key {
            sealer.set_index_key(Some(IndexKey::from_key(&index_key.0)));
        }
        if let Some(name) = index.iter().find(|name| !fields.contains(name)) {
            return Err(EnclogError::new_err(format!(
                "index={name:?} names a field that fields= does not seal (an index is written next to a sealed value)"
            )));
        }
        Ok(PySealer {
            sealer,
            max_event: max_event.max(1),
            fields: Selection::new(fields).index(index),
        })
    }

    /// Seals, in a JSON object `line`, the values of the fields given as `fields=` (names,
    /// dotted paths, `*` globs), in place, each followed by its blind index if `index=` names
    /// it: every other byte stays as it is, and the line gets one more member, its envelope
    /// (FORMAT.md §11). Returns the line (no newline). A line that cannot be sealed field by
    /// field (not a JSON object, a repeated key, the text `enclog:` in a clear value, an index
    /// without an index key) is sealed whole, never returned in clear; so is one over
    /// `max_event` (as several events).
    fn seal_json_fields<'py>(&self, line: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
        let py = line.py();
        let bytes = record_bytes(line)?;
        with_line_buffer(|out| {
            let fielded = bytes.as_bytes().len() <= self.max_event
                && self
                    .sealer
                    .seal_json_fields(bytes.as_bytes(), &self.fields, out)
                    .is_ok();
            if !fielded {
                out.clear();
                seal_record(&self.sealer, None, bytes.as_bytes(), self.max_event, out)
                    .map_err(|e| seal_error(&e))?;
            }
            lines_to_str(py, out)
        })
    }

    /// Seals `text` as one line (without a newline), with `clear` (e.g. the level) in clear
    /// before the token: readers check it against its sealed copy. A record over `max_event`
    /// gives several lines joined by newlines; so may the first record after a session ended
    /// (its close record comes first).
    #[pyo3(signature = (text, clear = None))]
    fn seal<'py>(
        &self,
        text: &Bound<'py, PyAny>,
        clear: Option<&Bound<'py, PyString>>,
    ) -> PyResult<Bound<'py, PyString>> {
        let py = text.py();
        let bytes = record_bytes(text)?;
        let clear = clear.map(|c| c.encode_utf8()).transpose()?;
        with_line_buffer(|out| {
            seal_record(
                &self.sealer,
                clear.as_ref().map(|c| c.as_bytes()),
                bytes.as_bytes(),
                self.max_event,
                out,
            )
            .map_err(|e| seal_error(&e))?;
            lines_to_str(py, out)
        })
    }

    /// Seals like `seal`, and also says how many events the record was sealed as: `(lines,
    /// pieces)`, `pieces` > 1 when it was longer than `max_event` (the formatters report it).
    #[pyo3(signature = (text, clear = None))]
    fn seal_counted<'py>(
        &self,
        text: &Bound<'py, PyAny>,
        clear: Option<&Bound<'py, PyString>>,
    ) -> PyResult<(Bound<'py, PyString>, usize)> {
        let py = text.py();
        let bytes = record_bytes(text)?;
        let clear = clear.map(|c| c.encode_utf8()).transpose()?;
        with_line_buffer(|out| {
            let pieces = seal_record(
                &self.sealer,
                clear.as_ref().map(|c| c.as_bytes()),
                bytes.as_bytes(),
                self.max_event,
                out,
            )
            .map_err(|e| seal_error(&e))?;
            Ok((lines_to_str(py, out)?, pieces))
        })
    }

    /// Ends the session: its close record (one line, without a newline), which tells readers
    /// it ended cleanly; `None` when no session is open (nothing sealed since the last close).
    /// A record sealed afterwards starts a new session.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        with_line_buffer(|out| {
            self.sealer.close_to(out).map_err(|e| seal_error(&e))?;
            if out.is_empty() {
                return Ok(None);
            }
            lines_to_str(py, out).map(Some)
        })
    }

    /// The id of the key the lines name.
    #[getter]
    fn key_id(&self) -> String {
        self.sealer.key_id().to_string()
    }

    /// `"symmetric"`, `"recipient"` or `"fernet"`.
    #[getter]
    fn mode(&self) -> &'static str {
        mode_name(self.sealer.mode())
    }

    /// The current session's id (hex), or None (a Fernet key has no sessions).
    #[getter]
    fn session_id(&self) -> Option<String> {
        self.sealer.session_id().map(|s| s.to_string())
    }

    /// The longest record sealed as one event, in bytes.
    #[getter]
    fn max_event(&self) -> usize {
        self.max_event
    }

    fn __repr__(&self) -> String {
        format!(
            "Sealer(key_id='{}', mode='{}')",
            self.sealer.key_id(),
            mode_name(self.sealer.mode())
        )
    }
}

impl PySealer {
    /// The library's sealer.
    pub(crate) fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// The longest record sealed as one event, in bytes.
    pub(crate) fn event_cap(&self) -> usize {
        self.max_event
    }
}

/// Adds `Sealer` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySealer>()
}
