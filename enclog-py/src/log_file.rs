//! `LogFileWriter`: what `init_file`'s handler writes through — a sealer and a
//! [`LogFile`] that follows its path across log rotations, as the Rust `init_file` writes.
//!
//! Each record is sealed and written under the file's lock (which keeps lines in sequence
//! order) with one `write` call; after logrotate renamed or deleted the file, the next record
//! first writes the session's close record into the old file and reopens the path
//! ([`LogFile::reopen_reporting`]). A write that fails never raises: Python's
//! `Handler.handleError` would print the record's message and arguments in clear on stderr.
//! The line is counted (`lost_lines`) and stderr says once that writing fails, and once that
//! it works again.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use enclog::Sealer;
use enclog::file::LogFile;
use enclog::seal::{ChainState, Rotation};

use crate::keys::sealing_key_arg;
use crate::sealer::{mode_name, open_chain_state, record_bytes, seal_record, with_line_buffer};
use crate::split::MAX_EVENT;

/// Appends sealed records to the log file at `path` (created with mode 0640 if missing),
/// following the path across log rotations. `chain_state`: `True` (default) continues the
/// writer's chain in the per-log state file the Rust `init_file` uses, going on without it
/// (and saying so on stderr) when it is unusable; `False` for none; or a path.
#[pyclass(frozen, name = "LogFileWriter", module = "enclog")]
pub(crate) struct PyLogFileWriter {
    file: Mutex<LogFile>,
    sealer: Sealer,
    path: PathBuf,
    max_event: usize,
    lost: AtomicU64,
    failing: AtomicBool,
}

#[pymethods]
impl PyLogFileWriter {
    #[new]
    #[pyo3(signature = (path, key, *, chain_state = None, max_event = MAX_EVENT))]
    fn new(
        path: PathBuf,
        key: &Bound<'_, PyAny>,
        chain_state: Option<&Bound<'_, PyAny>>,
        max_event: usize,
    ) -> PyResult<PyLogFileWriter> {
        let key = sealing_key_arg(key)?;
        let file = LogFile::open(&path).map_err(|e| os_error(&e, &path))?;
        let state = match chain_state {
            // The default: the per-log state, as the Rust `init_file` keeps it.
            None => Some(ChainState::open_for_log(&path).map_err(|e| e.to_string())),
            Some(flag) if flag.is_instance_of::<pyo3::types::PyBool>() => flag
                .extract::<bool>()?
                .then(|| ChainState::open_for_log(&path).map_err(|e| e.to_string())),
            Some(other) => Some(Ok(open_chain_state(other.extract::<PathBuf>()?)?)),
        };
        let sealer = match state {
            None => Sealer::new(key),
            Some(state) => state
                .and_then(|state| {
                    Sealer::with_chain_state(key.clone(), Rotation::default(), state)
                        .map_err(|e| e.to_string())
                })
                .unwrap_or_else(|e| {
                    eprintln!(
                        "enclog: the log {} goes on without its chain state ({e}): each run \
                         starts a new chain, which `enclog verify` reports unless \
                         --allow-new-chains",
                        path.display()
                    );
                    Sealer::new(key)
                }),
        };
        // Fail closed: a broken random number generator is an error here, not later.
        sealer.start().map_err(|e| crate::errors::seal_error(&e))?;
        Ok(PyLogFileWriter {
            file: Mutex::new(file),
            sealer,
            path,
            max_event: max_event.max(1),
            lost: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        })
    }

    /// Seals `text` (with `clear`, e.g. the level, in clear before the token) and appends it;
    /// returns the number of events it was sealed as (more than 1 for a record over the cap).
    /// A failure to write is counted in `lost_lines` and reported on stderr, never raised.
    #[pyo3(signature = (text, clear = None))]
    fn write(
        &self,
        text: &Bound<'_, PyAny>,
        clear: Option<&Bound<'_, PyString>>,
    ) -> PyResult<usize> {
        let bytes = record_bytes(text)?;
        let clear = clear.map(|c| c.encode_utf8()).transpose()?;
        let clear = clear.as_ref().map(|c| c.as_bytes());
        let mut file = self.lock();
        // One relaxed load; after a rotation, the close record goes to the old file first.
        if file.rotated() {
            file.reopen_reporting(&self.sealer);
        }
        let pieces = with_line_buffer(|out| {
            match seal_record(&self.sealer, clear, bytes.as_bytes(), self.max_event, out) {
                Ok(pieces) => {
                    let written = file.write_all(out);
                    self.record(written, pieces as u64);
                    pieces
                }
                Err(e) => {
                    self.failed(1, &e);
                    0
                }
            }
        });
        Ok(pieces)
    }

    /// Writes the session's close record, so readers (`enclog verify`) can tell a clean
    /// shutdown from a crash; returns whether there was a session to close. A record written
    /// afterwards starts a new session.
    fn close(&self) -> bool {
        let mut file = self.lock();
        with_line_buffer(|out| match self.sealer.close_to(out) {
            Ok(()) if out.is_empty() => false,
            Ok(()) => {
                let written = file.write_all(out).and_then(|()| file.flush());
                self.record(written, 1);
                true
            }
            Err(e) => {
                self.failed(1, &e);
                false
            }
        })
    }

    /// Reopens the path now (logrotate's `postrotate`, a SIGHUP): if it names another file
    /// than the one being written, the close record goes into the old one and the next record
    /// starts a linked session in the new one. Returns whether another file was opened.
    fn reopen(&self) -> PyResult<bool> {
        let mut file = self.lock();
        file.request_reopen();
        file.reopen_if_requested(&self.sealer)
            .map_err(|e| os_error(&e, &self.path))
    }

    /// Lines lost because writing failed (or the random number generator did).
    #[getter]
    fn lost_lines(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// The chain state file the writer continues its chain through, or None.
    #[getter]
    fn chain_state_path(&self) -> Option<PathBuf> {
        self.sealer.chain_state().map(|s| s.path().to_owned())
    }

    /// The log's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
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

    /// The current session's id (hex), or None.
    #[getter]
    fn session_id(&self) -> Option<String> {
        self.sealer.session_id().map(|s| s.to_string())
    }

    fn __repr__(&self) -> String {
        format!(
            "LogFileWriter(path={:?}, key_id='{}')",
            self.path.to_string_lossy(),
            self.sealer.key_id()
        )
    }
}

impl PyLogFileWriter {
    fn lock(&self) -> MutexGuard<'_, LogFile> {
        self.file.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts and reports the outcome of writing `lines` lines.
    fn record(&self, written: std::io::Result<()>, lines: u64) {
        match written {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    eprintln!(
                        "enclog: writing to the log {} works again; {} lines were lost",
                        self.path.display(),
                        self.lost.load(Ordering::Relaxed)
                    );
                }
            }
            Err(e) => self.failed(lines, &e),
        }
    }

    fn failed(&self, lines: u64, e: &dyn std::fmt::Display) {
        self.lost.fetch_add(lines, Ordering::Relaxed);
        if !self.failing.swap(true, Ordering::Relaxed) {
            eprintln!(
                "enclog: cannot write to the log {}: {e}; lines are lost until it works again \
                 (counted in lost_lines; nothing is written in clear)",
                self.path.display()
            );
        }
    }
}

/// An `OSError` (the subclass for its errno: `FileNotFoundError`…) naming `path`.
pub(crate) fn os_error(e: &std::io::Error, path: &std::path::Path) -> PyErr {
    let errno = e.raw_os_error().unwrap_or(0);
    PyOSError::new_err((errno, e.to_string(), path.to_string_lossy().into_owned()))
}

/// Adds `LogFileWriter` to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLogFileWriter>()
}
