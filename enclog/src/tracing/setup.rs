//! [`init_file`]: the common case in one call — tracing into an encrypted file.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use crate::seal::{Sealer, SealingKey};
use crate::tracing::writer::EncryptedWriter;

/// Sets up `tracing` for the common case: every event sealed into the file at `path` (created
/// if needed, appended to otherwise), the level kept in clear for grep, `RUST_LOG` honoured
/// (default `info`), and `log` records captured too. Returns a guard that writes the session's
/// close record when dropped: keep it in `main`.
///
/// `key` is a symmetric [`Key`](crate::Key) or a [`Recipient`](crate::Recipient) (then this
/// host cannot read its own log). The session starts before this returns, so an unusable
/// random number generator is an error here, never plaintext later (fail closed). For anything
/// else (stderr, rolling files, non-blocking writers, other formatters) compose
/// [`EncryptedWriter`] with `tracing_subscriber::fmt` yourself.
///
/// ```no_run
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let key = enclog::SealingKey::from_file("app.key")?;
///     let _guard = enclog::init_file("app.log", key)?;
///     tracing::info!(user = "alice@example.com", "signed in");
///     Ok(())
/// }
/// ```
pub fn init_file(
    path: impl AsRef<Path>,
    key: impl Into<SealingKey>,
) -> Result<LogGuard, SetupError> {
    let path = path.as_ref();
    let file = open_log(path).map_err(|source| SetupError::Open {
        path: path.to_owned(),
        source,
    })?;
    // One lock per event: the file's mutex also keeps lines in sequence order.
    let writer = EncryptedWriter::locked(key, file).clear_level(true);
    writer.sealer().start().map_err(SetupError::Seal)?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer.clone())
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| SetupError::AlreadyInitialized(e.to_string()))?;
    Ok(LogGuard { writer })
}

fn open_log(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        // Ciphertext, but its line count and timing still tell something: not world-readable.
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o640);
    }
    options.open(path)
}

/// Returned by [`init_file`]: writes the session's close record when dropped, so readers
/// (`enclog verify`) can tell a clean exit from a crash.
///
/// Not run here: [`init_file`] installs the process's global subscriber.
///
/// ```no_run
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let guard: enclog::tracing::LogGuard = enclog::init_file("app.log", enclog::Key::generate()?)?;
///     tracing::info!("working");
///     assert_eq!(guard.lost_lines(), 0);
///     Ok(()) // `guard` drops here: the close record is written
/// }
/// ```
#[must_use = "the close record is written when the guard is dropped; keep it in main"]
pub struct LogGuard {
    writer: EncryptedWriter<Mutex<File>>,
}

impl LogGuard {
    /// Lines dropped because writing to the file failed.
    ///
    /// Not run here: a guard comes from [`init_file`], which installs a global subscriber.
    ///
    /// ```no_run
    /// let guard = enclog::init_file("app.log", enclog::Key::generate()?)?;
    /// tracing::info!("shutting down");
    /// if guard.lost_lines() > 0 {
    ///     eprintln!("{} log lines could not be written", guard.lost_lines());
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lost_lines(&self) -> u64 {
        self.writer.lost_lines()
    }

    /// The sealer, e.g. to watch the key file with [`KeyReloader`](crate::seal::KeyReloader).
    ///
    /// Not run here: a guard comes from [`init_file`], which installs a global subscriber.
    ///
    /// ```no_run
    /// let key = enclog::SealingKey::from_file("app.key")?;
    /// let guard = enclog::init_file("app.log", key.clone())?;
    /// assert_eq!(guard.sealer().key_id(), key.id());
    /// // Switch to a new key whenever app.key is replaced.
    /// let _reloader = enclog::seal::KeyReloader::watch(guard.sealer(), "app.key")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sealer(&self) -> &Sealer {
        self.writer.sealer()
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.writer.close_session();
    }
}

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogGuard")
            .field("writer", &self.writer)
            .finish()
    }
}

/// [`init_file`] failed; nothing was installed. `Debug` shows the message and its causes.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// // A directory is not a log file: nothing is installed.
/// let err = enclog::init_file(dir.path(), enclog::Key::generate()?).unwrap_err();
/// assert!(matches!(err, enclog::tracing::SetupError::Open { .. }));
/// assert!(err.to_string().starts_with("cannot open log file"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The log file could not be opened.
    #[error("cannot open log file {}", .path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The encryption session could not start.
    #[error(transparent)]
    Seal(crate::seal::SealError),
    /// A global subscriber is already set.
    #[error("a global tracing subscriber is already installed ({0}); call init_file once, first")]
    AlreadyInitialized(String),
}

impl std::fmt::Debug for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::error::debug_chain(self, f)
    }
}
