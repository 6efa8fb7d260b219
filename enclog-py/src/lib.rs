//! `enclog._enclog`: the native half of the Python package `enclog` (the Python half, with the
//! `logging` integration, is in `python/enclog/`). Everything here calls the `enclog` library:
//! no part of the line format is implemented twice.
//!
//! | Python name | Rust | file |
//! |---|---|---|
//! | `Key`, `Recipient`, `Identity`, `FernetKey`, `Keyring` | [`enclog::Key`] and its kin | `keys.rs` |
//! | `Sealer` (seals one record, splitting one over the cap) | [`enclog::Sealer`] | `sealer.rs` |
//! | `FormatCore` (`EncryptedFormatter`'s per-record path) | a `Sealer` | `formatter.rs` |
//! | `LogFileWriter` (what `init_file`'s handler writes through) | [`enclog::file::LogFile`] + a sealer | `log_file.rs` |
//! | `Opener`, `open_line`, `read_file`, `Event`, `Entry` | [`enclog::Opener`], [`enclog::read::Decryptor`] | `reading.rs` |
//! | `EnclogError` and its subclasses | [`enclog::KeyError`], [`enclog::read::OpenError`], … | `errors.rs` |
//!
//! **Fork safety.** The sealers detect a `fork()` themselves (`enclog-fork`) and start a new
//! session in the child. The locks taken here are held only while the GIL is held and never
//! across a call that releases it, so a thread that forks (holding the GIL) cannot leave a
//! lock of this module taken in the child.

mod errors;
mod formatter;
mod keys;
mod log_file;
mod reading;
mod sealer;
mod split;

use pyo3::prelude::*;

/// The module `enclog._enclog`. `gil_used`: the fork safety above rests on the GIL (and an
/// abi3 wheel does not load on a free-threaded interpreter anyway).
#[pymodule(gil_used = true)]
fn _enclog(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    keys::register(m)?;
    sealer::register(m)?;
    formatter::register(m)?;
    log_file::register(m)?;
    reading::register(m)?;
    m.add("MARKER", String::from_utf8_lossy(enclog::format::MARKER))?;
    m.add(
        "FERNET_MARKER",
        String::from_utf8_lossy(enclog::fernet::MARKER),
    )?;
    m.add("MAX_EVENT", split::MAX_EVENT)?;
    m.add("DEFAULT_MAX_LINE", enclog::read::DEFAULT_MAX_LINE)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
