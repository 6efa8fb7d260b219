//! Encrypted logging for Rust: every log event is sealed as one line of text that only a key
//! holder can read, so log files, backups and shippers see only ciphertext.
//!
//! # Which type for which job
//!
//! | you are… | use |
//! |---|---|
//! | a `tracing` user, one file | [`init_file`]: one call, returns a guard |
//! | a `tracing` user | [`EncryptedWriter`]: wraps any `fmt::MakeWriter` (a file, stderr, `non_blocking`, a rolling appender); [`EncryptedWriter::locked`] for a plain `io::Write` (one lock per event) |
//! | a `tracing` user who wants encryption and I/O off the logging thread | [`non_blocking`]: a worker thread seals and writes (any `io::Write`, a rolling appender too); or [`SealingWrite`] inside `tracing_appender::non_blocking` |
//! | a `log` user | [`EncryptedLogger`]: a `log::Log` implementation |
//! | embedding enclog in another program | [`Sealer`] to seal, [`Opener`] + [`Keyring`] to open one line |
//! | reading logs | [`Decryptor`] over any `BufRead`; [`ParallelDecryptor`] for large files (several cores, same output); `Follower` to follow a growing file (`follow` feature) |
//! | checking a log for deleted, copied, moved or cut lines | [`Verifier`], which gives a [`Report`] |
//! | managing keys | [`Key`] (generate, parse, load from env or file), [`KeyId`], [`Keyring`] |
//! | rotating a running writer's key without a restart | [`Sealer::set_key`]; `KeyReloader` watches the key file (`follow` feature) |
//! | writers that must not read their own logs | [`Recipient`] for the writer, [`Identity`] for readers |
//! | reading zato-enclog logs | [`FernetKey`] in a [`Keyring`] |
//!
//! Each line decrypts on its own with only the key. The line format is specified in
//! `FORMAT.md` at the repository's root.
//!
//! # Quick start (tracing)
//!
//! ```
//! use tracing_subscriber::fmt;
//! let key = enclog::Key::generate()?;
//! let file = tempfile::NamedTempFile::new()?;
//! let writer = enclog::EncryptedWriter::new(key.clone(), file.reopen()?);
//! let subscriber = fmt().with_writer(writer).with_ansi(false).finish();
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info!(user = "alice@example.com", "signed in");
//! });
//! let text = std::fs::read_to_string(file.path())?;
//! assert!(text.starts_with("enclog:") && !text.contains("alice"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod armor;
mod cipher;
mod decryptor;
mod error;
mod failure;
mod fernet;
mod key;
mod keyring;
mod opener;
mod parallel;
mod recipient;
mod sealer;
mod sealing_write;
mod secret_file;
#[cfg(all(test, any(feature = "tracing", feature = "log")))]
mod test_support;
#[cfg(any(feature = "tracing", feature = "log"))]
mod timestamp;
mod token;
#[cfg(test)]
mod vectors;
mod verify;

#[cfg(feature = "follow")]
mod follow;
#[cfg(feature = "log")]
mod logger;
#[cfg(feature = "tracing")]
mod non_blocking;
#[cfg(feature = "follow")]
mod reload;
#[cfg(feature = "tracing")]
mod setup;
#[cfg(feature = "tracing")]
mod writer;

pub use armor::KeyKind;
pub use decryptor::{DEFAULT_MAX_LINE, Decryptor, Entry, LineError, Outcome};
pub use error::{KeyError, OpenError, SealError};
pub use failure::WriteErrorPolicy;
pub use fernet::{FERNET_MARKER, FernetError, FernetKey};
pub use key::{Key, KeyId, ParseKeyIdError};
pub use keyring::Keyring;
pub use opener::{MetaStatus, Opened, Opener, Sequence};
pub use parallel::{DEFAULT_CHUNK, ParallelDecryptor, ParallelOptions};
pub use recipient::{Identity, Recipient};
pub use sealer::{Rotation, Sealer, SealingKey};
pub use sealing_write::SealingWrite;
pub use secret_file::write_secret_file;
pub use token::{FORMAT_VERSION, MARKER, Mode, RecordKind, SessionId};
pub use verify::{Finding, FindingKind, Location, Report, Verifier, VerifyOptions};

#[cfg(feature = "follow")]
pub use follow::{
    FollowError, FollowEvent, FollowOptions, Followed, FollowedLine, Follower, Stopper, last_lines,
};
/// The README's Rust examples, compiled as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

#[cfg(feature = "log")]
pub use logger::{EncryptedLogger, InitError};
#[cfg(feature = "tracing")]
pub use non_blocking::{
    NonBlocking, NonBlockingBuilder, NonBlockingGuard, PendingEvent, non_blocking,
};
#[cfg(feature = "follow")]
pub use reload::KeyReloader;
#[cfg(feature = "tracing")]
pub use setup::{LogGuard, SetupError, init_file};
#[cfg(feature = "tracing")]
pub use writer::{EncryptedWriter, EventWriter, SessionGuard};
