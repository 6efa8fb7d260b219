//! The Python exceptions, one class per error a caller can act on, mapped from the library's
//! typed errors. Their messages are the library's (which never hold key material or
//! plaintext); the details are attributes (`reason`, `path`, `key_id`, `line_number`…).

use pyo3::IntoPyObjectExt;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use enclog::read::{LineError, OpenError as LibOpenError};

create_exception!(
    enclog,
    EnclogError,
    PyException,
    "Base class of every error enclog raises."
);
create_exception!(
    enclog,
    InvalidKeyError,
    EnclogError,
    "A key, identity, recipient or Fernet key could not be generated, parsed or loaded, or is \
     of the wrong kind for the job. `reason` names the cause (`malformed`, `checksum`, \
     `loose_permissions`, `identity_for_writer`…), `path` the file and `variable` the \
     environment variable it came from, if any. The message never holds key text."
);
create_exception!(
    enclog,
    SealError,
    EnclogError,
    "A record could not be sealed: the operating system's random number generator failed."
);
create_exception!(
    enclog,
    OpenError,
    EnclogError,
    "A line holds a token that could not be opened. `line_number` is its 1-based number when \
     it comes from `read_file` (None from `open_line`)."
);
create_exception!(
    enclog,
    UnknownKeyError,
    OpenError,
    "The line was sealed under a key that is not in the keyring: `key_id` names it, \
     `known_key_ids` the keyring's."
);
create_exception!(
    enclog,
    CorruptedLineError,
    OpenError,
    "The line fails authentication under the key it names (`key_id`): it was altered."
);
create_exception!(
    enclog,
    TruncatedLineError,
    OpenError,
    "The token ends early: a writer cut off mid-line (a crash, a cut file) or an edit."
);
create_exception!(
    enclog,
    MalformedLineError,
    OpenError,
    "The token is not well formed."
);
create_exception!(
    enclog,
    UnsupportedLineError,
    OpenError,
    "The token names a format version or mode this enclog does not read (a newer writer, or \
     a damaged line)."
);
create_exception!(
    enclog,
    NoFernetKeyError,
    OpenError,
    "A zato-enclog line (`enclogdata:`) but the keyring holds no Fernet key."
);
create_exception!(
    enclog,
    LineTooLongError,
    OpenError,
    "The line is longer than the reader's limit (`length` and `limit`, in bytes); it was \
     skipped without being read into memory."
);

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("EnclogError", py.get_type::<EnclogError>())?;
    m.add("InvalidKeyError", py.get_type::<InvalidKeyError>())?;
    m.add("SealError", py.get_type::<SealError>())?;
    m.add("OpenError", py.get_type::<OpenError>())?;
    m.add("UnknownKeyError", py.get_type::<UnknownKeyError>())?;
    m.add("CorruptedLineError", py.get_type::<CorruptedLineError>())?;
    m.add("TruncatedLineError", py.get_type::<TruncatedLineError>())?;
    m.add("MalformedLineError", py.get_type::<MalformedLineError>())?;
    m.add(
        "UnsupportedLineError",
        py.get_type::<UnsupportedLineError>(),
    )?;
    m.add("NoFernetKeyError", py.get_type::<NoFernetKeyError>())?;
    m.add("LineTooLongError", py.get_type::<LineTooLongError>())?;
    Ok(())
}

/// Sets attributes on the exception `err` carries.
fn with_attrs<'py>(
    py: Python<'py>,
    err: PyErr,
    attrs: &[(&str, Bound<'py, PyAny>)],
) -> PyResult<PyErr> {
    let value = err.value(py);
    for (name, attr) in attrs {
        value.setattr(*name, attr)?;
    }
    Ok(err)
}

/// An [`enclog::KeyError`] as an `InvalidKeyError`: the message is the library's, with its
/// causes (`Debug` prints the chain); `reason`, `path` and `variable` come from the innermost
/// cause and the file or variable that wraps it.
pub(crate) fn key_error(py: Python<'_>, e: &enclog::KeyError) -> PyErr {
    use enclog::KeyError as K;
    let mut path = None;
    let mut variable = None;
    let mut cause = e;
    loop {
        match cause {
            K::InFile { path: p, source } => {
                path = Some(p.clone());
                cause = source;
            }
            K::InEnv { var, source } => {
                variable = Some(var.clone());
                cause = source;
            }
            _ => break,
        }
    }
    let reason = match cause {
        K::Empty { .. } => "empty",
        K::WrongKind { .. } => "wrong_kind",
        K::Malformed { .. } => "malformed",
        K::Checksum { .. } => "checksum",
        K::Io { path: p, .. } => {
            path = Some(p.clone());
            "io"
        }
        K::LoosePermissions { path: p, .. } => {
            path = Some(p.clone());
            "loose_permissions"
        }
        K::WritableByOthers { path: p, .. } => {
            path = Some(p.clone());
            "writable_by_others"
        }
        K::ForeignOwner { path: p, .. } => {
            path = Some(p.clone());
            "foreign_owner"
        }
        K::EmptyFile { path: p } => {
            path = Some(p.clone());
            "empty_file"
        }
        K::NotAKeyFile { path: p, .. } => {
            path = Some(p.clone());
            "not_a_key_file"
        }
        K::EnvMissing { var } => {
            variable = Some(var.clone());
            "env_missing"
        }
        K::RecipientForReader => "recipient_for_reader",
        K::IdentityForWriter => "identity_for_writer",
        K::Random(_) => "random",
        _ => "other",
    };
    let err = InvalidKeyError::new_err(format!("{e:?}"));
    let path = path.map(|p| p.to_string_lossy().into_owned());
    let attrs = vec![
        ("reason", reason.into_bound_py_any(py)),
        ("path", path.into_bound_py_any(py)),
        ("variable", variable.into_bound_py_any(py)),
    ];
    finish(py, err, attrs)
}

/// A [`enclog::seal::SealError`] as a `SealError`.
pub(crate) fn seal_error(e: &enclog::seal::SealError) -> PyErr {
    SealError::new_err(e.to_string())
}

/// An [`enclog::read::OpenError`] as the matching `OpenError` subclass, with `line_number` (None outside a
/// file) and the key ids it names.
pub(crate) fn open_error(py: Python<'_>, e: &LibOpenError, line_number: Option<u64>) -> PyErr {
    let message = e.to_string();
    let mut attrs: Vec<(&str, PyResult<Bound<'_, PyAny>>)> = Vec::new();
    let err = match e {
        LibOpenError::UnknownKey { key_id, known } => {
            attrs.push(("key_id", key_id.to_string().into_bound_py_any(py)));
            let known: Vec<String> = known.iter().map(ToString::to_string).collect();
            attrs.push(("known_key_ids", known.into_bound_py_any(py)));
            UnknownKeyError::new_err(message)
        }
        LibOpenError::Corrupted { key_id } => {
            attrs.push(("key_id", key_id.to_string().into_bound_py_any(py)));
            CorruptedLineError::new_err(message)
        }
        LibOpenError::Truncated { .. } => TruncatedLineError::new_err(message),
        LibOpenError::Malformed { .. } => MalformedLineError::new_err(message),
        LibOpenError::NoFernetKey => NoFernetKeyError::new_err(message),
        LibOpenError::Unsupported { .. } => UnsupportedLineError::new_err(message),
        _ => OpenError::new_err(message),
    };
    attrs.push(("line_number", line_number.into_bound_py_any(py)));
    finish(py, err, attrs)
}

/// A [`LineError`] (from reading a file) as the matching `OpenError` subclass.
pub(crate) fn line_error(py: Python<'_>, e: &LineError, line_number: u64) -> PyErr {
    match e {
        LineError::Open(open) => open_error(py, open, Some(line_number)),
        LineError::TooLong { len, limit } => {
            let err = LineTooLongError::new_err(e.to_string());
            let attrs = vec![
                ("length", len.into_bound_py_any(py)),
                ("limit", limit.into_bound_py_any(py)),
                ("line_number", line_number.into_bound_py_any(py)),
            ];
            finish(py, err, attrs)
        }
        _ => {
            let err = OpenError::new_err(e.to_string());
            let attrs = vec![("line_number", line_number.into_bound_py_any(py))];
            finish(py, err, attrs)
        }
    }
}

/// `err` with `attrs` set, or the error that setting them raised.
fn finish<'py>(
    py: Python<'py>,
    err: PyErr,
    attrs: Vec<(&str, PyResult<Bound<'py, PyAny>>)>,
) -> PyErr {
    let attrs: PyResult<Vec<_>> = attrs
        .into_iter()
        .map(|(name, value)| value.map(|v| (name, v)))
        .collect();
    match attrs {
        Ok(attrs) => with_attrs(py, err, &attrs).unwrap_or_else(|e| e),
        Err(e) => e,
    }
}
