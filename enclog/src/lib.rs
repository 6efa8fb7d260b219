//! Encrypted logging for Rust: every log event is sealed as one line of text that only a key
//! holder can read, so log files, backups and shippers see only ciphertext.
//!
//! # Which type for which job
//!
//! | you are… | use |
//! |---|---|
//! | a `tracing` user, one file | [`init_file`]: one call, returns a [`LogGuard`](tracing::LogGuard) |
//! | a `tracing` user | [`EncryptedWriter`]: wraps any `fmt::MakeWriter` (a file, stderr, a rolling appender); [`EncryptedWriter::locked`] for a plain `io::Write` (one lock per event); the rest of the integration in [`tracing`](mod@tracing) |
//! | a `tracing` user who wants log tools to keep seeing the fields, with only the sensitive ones sealed | [`tracing::fields::SealedFields`] (JSON or text lines, a field sealed by name or with [`sealed()`], blind indexes); [`fields`] for the format |
//! | a `tracing` user who wants encryption and I/O off the logging thread | [`non_blocking()`]: a worker thread seals and writes (any `io::Write`, a rolling appender too); its builder and guard in [`non_blocking`](mod@non_blocking) |
//! | a `log` user | [`EncryptedLogger`]: a `log::Log` implementation ([`log`](mod@log)) |
//! | embedding enclog in another program | [`Sealer`] to seal, [`Opener`] + [`Keyring`] to open one line; [`seal`] and [`read`] for the rest |
//! | reading logs | [`read::Decryptor`] over any `BufRead`; [`read::ParallelDecryptor`] for large files (several cores, same output); [`follow::Follower`] to follow a growing file (`follow` feature) |
//! | checking a log for deleted, copied, moved or cut lines | [`verify::Verifier`], which gives a [`verify::Report`] |
//! | managing keys | [`Key`] (generate, parse, load from env or file), [`Keyring`]; ids, kinds and errors in [`key`] |
//! | a log file that logrotate rotates (`create` or `copytruncate`) | [`file::LogFile`]: follows its path and continues the chain in the new file; [`init_file`], [`non_blocking::file`] and `enclog encrypt -o` use it, [`tracing::LogGuard::reopen`] for `postrotate` |
//! | rotating a running writer's key without a restart | [`Sealer::set_key`]; [`seal::KeyReloader`] watches the key file (`follow` feature) |
//! | writers that must not read their own logs | [`Recipient`] for the writer, [`Identity`] for readers; [`SealingKey`] takes either kind |
//! | reading or writing zato-enclog logs | [`fernet::FernetKey`] in a [`Keyring`] or a [`SealingKey`] |
//! | the line format itself | [`format`](mod@format): its constants and types, and the specification with test vectors |
//! | the threat model | [`security`] |
//!
//! Each line decrypts on its own with only the key.
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
// The guide above and the module docs link to every integration; with a feature off, its items
// are missing and those links cannot resolve. docs.rs builds with all features.
#![cfg_attr(
    not(all(feature = "tracing", feature = "log", feature = "follow")),
    allow(rustdoc::broken_intra_doc_links)
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cipher;
mod error;
mod private_file;
#[cfg(test)]
mod test_support;
#[cfg(any(feature = "tracing", feature = "log"))]
mod timestamp;
#[cfg(test)]
mod vectors;

pub mod fernet;
pub mod fields;
pub mod file;
#[cfg(feature = "follow")]
pub mod follow;
pub mod format;
pub mod key;
#[cfg(feature = "log")]
pub mod log;
#[cfg(feature = "tracing")]
pub mod non_blocking;
pub mod read;
pub mod seal;
#[cfg(feature = "tracing")]
pub mod tracing;
pub mod verify;

#[doc = include_str!("../SECURITY.md")]
pub mod security {}

#[doc(inline)]
pub use self::key::{Identity, Key, KeyError, Keyring, Recipient};
#[cfg(feature = "log")]
#[doc(inline)]
pub use self::log::EncryptedLogger;
#[cfg(feature = "tracing")]
#[doc(inline)]
pub use self::non_blocking::non_blocking;
#[doc(inline)]
pub use self::read::Opener;
#[doc(inline)]
pub use self::seal::{Sealer, SealingKey};
#[cfg(feature = "tracing")]
#[doc(inline)]
pub use self::tracing::fields::sealed;
#[cfg(feature = "tracing")]
#[doc(inline)]
pub use self::tracing::{EncryptedWriter, init_file};

/// The README's Rust examples, compiled as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
