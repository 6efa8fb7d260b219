//! The `tracing` integration: [`EncryptedWriter`], a `tracing_subscriber::fmt::MakeWriter` that
//! seals every formatted event as one line, and [`init_file`], the common case in one call.
//! For sealing and writing on a worker thread, see [`non_blocking`](mod@crate::non_blocking);
//! for sealing only chosen fields of each line, [`fields`].
//!
//! ```
//! let key = enclog::Key::generate()?;
//! let file = tempfile::NamedTempFile::new()?;
//! let writer = enclog::EncryptedWriter::new(key, file.reopen()?).clear_level(true);
//! let _session = writer.session_guard(); // writes the close record when dropped
//! let subscriber = tracing_subscriber::fmt().with_writer(writer).with_ansi(false).finish();
//! tracing::subscriber::with_default(subscriber, || tracing::warn!("disk 91% full"));
//! assert!(std::fs::read_to_string(file.path())?.starts_with("WARN enclog:"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod event;
pub mod fields;
pub(crate) mod file;
pub(crate) mod setup;
pub(crate) mod writer;

pub use event::EventWriter;
pub use file::{FollowedFile, FollowedFileLock};
pub use setup::{InitFile, LogGuard, SetupError, init_file};
pub use writer::{EncryptedWriter, SessionGuard};
