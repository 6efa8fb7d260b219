//! [`init_file`]: the common case in one call — tracing into an encrypted file.

use std::path::{Path, PathBuf};

use tracing_subscriber::EnvFilter;

use crate::fields::IndexKey;
use crate::file::LogFile;
use crate::seal::{ChainState, Rotation, Sealer, SealingKey};
use crate::tracing::fields::SealedFields;
use crate::tracing::file::FollowedFile;
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
/// [`EncryptedWriter`] with `tracing_subscriber::fmt` yourself; [`InitFile`] does what this does
/// with options (sealed fields).
///
/// **Log rotation.** The file follows its path ([`LogFile`]): after logrotate renames it and
/// creates a new one (`create`), the writer notices within 100 ms, writes the session's close
/// record into the old file and goes on in the new one, where the next session links to the
/// closed one. A path left missing (deleted, or renamed with no new file) is created again
/// (mode 0640) after 1 s ([`MISSING_PATH_GRACE`](crate::file::MISSING_PATH_GRACE): logrotate's
/// own create must not find it made already). Forked children follow rotations too. `copytruncate` needs nothing
/// (the file is opened with `O_APPEND`). [`LogGuard::reopen`] reopens on demand (`postrotate`).
///
/// **Chain state.** The writer's lineage continues across restarts (`FORMAT.md` §5.5) through a
/// chain state file in the private state folder of [`ChainState::default_path`], named after
/// the log's file name and a hash of its full path ([`ChainState::open_for_log`]; so two logs
/// of one name do not share it):
/// `$ENCLOG_STATE_DIR`, else `$XDG_STATE_HOME/enclog`, else `~/.local/state/enclog`
/// (`/var/lib/enclog` for root). [`LogGuard::chain_state_path`] says which file. If that state
/// cannot be used (another process holds it: two processes writing one log; a damaged file),
/// logging goes on without it — each run then starts a new chain, which `enclog verify`
/// reports unless `--allow-new-chains` — and stderr says why, once.
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
    InitFile::new(path, key).init()
}

/// [`init_file`] with options: sealed fields instead of whole lines, an index key.
///
/// ```no_run
/// use enclog::tracing::{InitFile, fields::SealedFields};
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let key = enclog::SealingKey::from_file("app.key")?;
///     let _guard = InitFile::new("app.log", key)
///         .fields(SealedFields::json().seal(["user", "card*"]).index(["user"]))
///         .init()?;
///     tracing::info!(user = "alice@example.com", "signed in"); // only `user` is sealed
///     Ok(())
/// }
/// ```
#[derive(Debug)]
#[must_use = "nothing is set up until `init` is called"]
pub struct InitFile {
    path: PathBuf,
    key: SealingKey,
    fields: Option<SealedFields>,
    index_key: Option<IndexKey>,
}

impl InitFile {
    /// What [`init_file`]`(path, key)` sets up, until changed.
    ///
    /// ```
    /// let setup = enclog::tracing::InitFile::new("app.log", enclog::Key::generate()?);
    /// # drop(setup);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(path: impl AsRef<Path>, key: impl Into<SealingKey>) -> InitFile {
        InitFile {
            path: path.as_ref().to_owned(),
            key: key.into(),
            fields: None,
            index_key: None,
        }
    }

    /// Formats events with `format` and seals only the fields it names (see
    /// [`fields`](super::fields)), instead of sealing each whole line. The level stays in clear
    /// in the line itself.
    ///
    /// ```
    /// use enclog::tracing::{InitFile, fields::SealedFields};
    /// let setup = InitFile::new("app.log", enclog::Key::generate()?)
    ///     .fields(SealedFields::compact().seal(["email"]));
    /// # drop(setup);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fields(mut self, format: SealedFields) -> Self {
        self.fields = Some(format);
        self
    }

    /// The key of the blind indexes ([`Sealer::set_index_key`]): needed to index fields when
    /// the key is a recipient; with a symmetric key, its own index key is used otherwise.
    ///
    /// ```
    /// use enclog::tracing::{InitFile, fields::SealedFields};
    /// let identity = enclog::Identity::generate()?;
    /// let index_key = enclog::fields::IndexKey::from_key(&enclog::Key::generate()?);
    /// let setup = InitFile::new("app.log", identity.recipient())
    ///     .fields(SealedFields::json().seal(["user"]).index(["user"]))
    ///     .index_key(index_key);
    /// # drop(setup);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn index_key(mut self, key: IndexKey) -> Self {
        self.index_key = Some(key);
        self
    }

    /// Sets it up, as [`init_file`] says.
    ///
    /// Not run here: it installs the process's global subscriber.
    ///
    /// ```no_run
    /// let _guard = enclog::tracing::InitFile::new("app.log", enclog::Key::generate()?).init()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn init(self) -> Result<LogGuard, SetupError> {
        let InitFile {
            path,
            key,
            fields,
            index_key,
        } = self;
        let path = path.as_path();
        // Refused before anything is opened or created (the log, its chain state).
        if tracing_core::dispatcher::has_been_set() {
            return Err(SetupError::AlreadyInitialized(
                "a global default dispatcher was set".into(),
            ));
        }
        let file = LogFile::open(path).map_err(|source| SetupError::Open {
            path: path.to_owned(),
            source,
        })?;
        let sealer = match ChainState::open_for_log(path) {
            Ok(state) => Sealer::with_chain_state(key.clone(), Rotation::default(), state),
            Err(e) => Err(e),
        }
        .unwrap_or_else(|e| {
            eprintln!(
                "enclog: the log {} goes on without its chain state ({e}): each run starts a \
                 new chain, which `enclog verify` reports unless --allow-new-chains",
                path.display()
            );
            Sealer::new(key)
        });
        if index_key.is_some() {
            sealer.set_index_key(index_key);
        }
        let writer = EncryptedWriter::follow_file(file, sealer).clear_level(true);
        writer.sealer().start().map_err(SetupError::Seal)?;
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let builder = tracing_subscriber::fmt()
            .with_writer(writer.clone())
            .with_ansi(false)
            .with_env_filter(filter);
        let installed = match fields {
            Some(format) => builder
                .event_format(format.clone())
                .fmt_fields(format)
                .try_init(),
            None => builder.try_init(),
        };
        installed.map_err(|e| SetupError::AlreadyInitialized(e.to_string()))?;
        Ok(LogGuard { writer })
    }
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
    writer: EncryptedWriter<FollowedFile>,
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

    /// The chain state file the writer continues its lineage through (see [`init_file`]);
    /// `None` when it could not be used.
    ///
    /// Not run here: a guard comes from [`init_file`], which installs a global subscriber.
    ///
    /// ```no_run
    /// let guard = enclog::init_file("app.log", enclog::Key::generate()?)?;
    /// if let Some(path) = guard.chain_state_path() {
    ///     println!("chain state: {}", path.display());
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn chain_state_path(&self) -> Option<&Path> {
        self.sealer().chain_state().map(ChainState::path)
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

    /// Reopens the log's path now, for logrotate's `postrotate` (wire it to a signal, e.g.
    /// SIGHUP: `examples/reopen_on_sighup.rs`): if the path names another file than the one
    /// being written (or none), the session's close record is written into the old file, the
    /// path is opened (created, mode 0640, if missing) and the next event starts the next
    /// session there, linked to the closed one. Returns whether another file was opened
    /// (`false`: the path still names the file being written, and nothing changed).
    ///
    /// Without it, the writer notices a rename by itself within 100 ms, a deletion after a
    /// second (see
    /// [`init_file`]); `reopen` makes it immediate and writes the close record even if no
    /// event comes.
    ///
    /// Not run here: a guard comes from [`init_file`], which installs a global subscriber.
    ///
    /// ```no_run
    /// let guard = enclog::init_file("app.log", enclog::Key::generate()?)?;
    /// tracing::info!("before the rotation");
    /// std::fs::rename("app.log", "app.log.1")?;
    /// assert!(guard.reopen()?); // app.log.1 ends with the close record; app.log is new
    /// tracing::info!("after the rotation"); // in app.log, linked to the session in app.log.1
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reopen(&self) -> std::io::Result<bool> {
        self.writer.reopen()
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
