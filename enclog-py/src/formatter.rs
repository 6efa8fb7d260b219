//! `FormatCore`: the per-record path of `EncryptedFormatter` (python/enclog/_logging.py),
//! in Rust so that a record costs no Python frame beyond the wrapped formatter's own. It calls
//! the wrapped formatter, seals what it returns (one line, or several over the cap) and
//! remembers the last record: a record formatted again (`RotatingFileHandler` measures each
//! record before writing it) gets the same line, not a second sequence number. It remembers it
//! through a weak reference: a record holds its arguments and its traceback's frames, which
//! must not outlive the record because it was logged.

use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::PyException;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyWeakrefReference};

use crate::sealer::{PySealer, lines_to_str, record_bytes, seal_record, with_line_buffer};

/// The record path of an `EncryptedFormatter`: `FormatCore(sealer, format, on_error, on_split,
/// clear_level)`, called with a `LogRecord`, returns its sealed line(s). `format` is the
/// wrapped formatter's `format`; `on_error(record, exc)` gives the text to seal when it
/// raises; `on_split(record, text, pieces, max_event)` reports a record sealed as several
/// events.
#[pyclass(frozen, name = "FormatCore", module = "enclog")]
pub(crate) struct PyFormatCore {
    sealer: Py<PySealer>,
    format: Py<PyAny>,
    on_error: Py<PyAny>,
    on_split: Py<PyAny>,
    clear_level: bool,
    /// The last record sealed and its line.
    last: Mutex<Option<(Last, Py<PyString>)>>,
}

/// The last record sealed: weakly held (a strong hold only for a record that cannot be
/// referred to weakly, a `LogRecord` subclass with `__slots__`).
enum Last {
    Weak(Py<PyWeakrefReference>),
    Strong(Py<PyAny>),
}

impl Last {
    fn of(record: &Bound<'_, PyAny>) -> Last {
        match PyWeakrefReference::new(record) {
            Ok(weak) => Last::Weak(weak.unbind()),
            Err(_) => Last::Strong(record.clone().unbind()),
        }
    }

    fn is(&self, record: &Bound<'_, PyAny>) -> bool {
        match self {
            Last::Weak(weak) => weak
                .bind(record.py())
                .upgrade()
                .is_some_and(|last| last.is(record)),
            Last::Strong(last) => last.is(record),
        }
    }
}

#[pymethods]
impl PyFormatCore {
    #[new]
    fn new(
        sealer: Py<PySealer>,
        format: Py<PyAny>,
        on_error: Py<PyAny>,
        on_split: Py<PyAny>,
        clear_level: bool,
    ) -> PyFormatCore {
        PyFormatCore {
            sealer,
            format,
            on_error,
            on_split,
            clear_level,
            last: Mutex::new(None),
        }
    }

    /// The sealed line(s) of `record`.
    fn __call__<'py>(&self, record: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
        let py = record.py();
        if let Some((last, line)) = &*self.lock()
            && last.is(record)
        {
            return Ok(line.bind(py).clone());
        }
        let text = match self.format.bind(py).call1((record,)) {
            Ok(text) => text,
            // `logging` would print the record, arguments and all, in clear: it is sealed as a
            // note instead. (KeyboardInterrupt and the like go through.)
            Err(e) if e.is_instance_of::<PyException>(py) => {
                self.on_error.bind(py).call1((record, e.value(py)))?
            }
            Err(e) => return Err(e),
        };
        let clear = if self.clear_level {
            Some(
                record
                    .getattr(intern!(py, "levelname"))?
                    .str()?
                    .encode_utf8()?,
            )
        } else {
            None
        };
        let bytes = record_bytes(&text)?;
        let sealer = self.sealer.get();
        let (line, pieces) = with_line_buffer(|out| {
            let pieces = seal_record(
                sealer.sealer(),
                clear.as_ref().map(|c| c.as_bytes()),
                bytes.as_bytes(),
                sealer.event_cap(),
                out,
            )
            .map_err(|e| crate::errors::seal_error(&e))?;
            Ok::<_, PyErr>((lines_to_str(py, out)?, pieces))
        })?;
        if pieces > 1 {
            self.on_split
                .bind(py)
                .call1((record, &text, pieces, sealer.event_cap()))?;
        }
        self.remember(record, line.clone().unbind());
        Ok(line)
    }

    /// Makes `line` the answer for `record` (the close record written at shutdown goes through
    /// each handler as a record of its own).
    fn prime(&self, record: &Bound<'_, PyAny>, line: Py<PyString>) {
        self.remember(record, line);
    }
}

impl PyFormatCore {
    fn lock(&self) -> MutexGuard<'_, Option<(Last, Py<PyString>)>> {
        self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, record: &Bound<'_, PyAny>, line: Py<PyString>) {
        let last = Last::of(record);
        // The previous entry is dropped after the lock is released: dropping it may run
        // Python code (a `__del__`) that logs, and so comes back here.
        let previous = self.lock().replace((last, line));
        drop(previous);
    }
}

/// Adds `FormatCore` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFormatCore>()
}
