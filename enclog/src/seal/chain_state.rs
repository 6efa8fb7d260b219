//! The chain state file: how a writer continues its lineage of sessions across restarts
//! (FORMAT.md §5.5). [`ChainState`] documents where the file lives, what it protects, its lock
//! and its atomic replacement; `text` owns its layout.

use crate::private_file::sibling;
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use zeroize::Zeroizing;

use crate::format::{LineageId, SessionRef};
use crate::key::KeyId;
use crate::key::secret_file;

mod text;

/// What a writer remembers of its latest session: enough to seal the link record of its
/// successor (FORMAT.md §5.3) after a restart.
#[derive(Clone)]
pub(crate) struct SavedPoint {
    /// The session's `vm`: 0x21 symmetric or 0x22 recipient (FORMAT.md §3).
    pub(crate) vm: u8,
    /// The session's key id, as in its header.
    pub(crate) key_id: KeyId,
    /// The session field of its header: 16 bytes (vm 0x21) or 32 (vm 0x22).
    pub(crate) session: Vec<u8>,
    /// The lineage the session belongs to.
    pub(crate) lineage: [u8; 16],
    /// The session's index in its lineage.
    pub(crate) index: u64,
    /// `Some((count, end_tag))` once the session was closed: its number of records, the close
    /// record included, and the Poly1305 tag of its close record.
    pub(crate) end: Option<(u64, [u8; 16])>,
    /// The session's next chain key: authenticates the link of its successor.
    pub(crate) next_chain_key: Zeroizing<[u8; 32]>,
}

impl SavedPoint {
    /// Where this point stands in its lineage: a later session, or the close of the same one,
    /// is a later state.
    fn order(&self) -> (u64, bool) {
        (self.index, self.end.is_some())
    }
}

impl fmt::Debug for SavedPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SavedPoint")
            .field("vm", &format_args!("{:#04x}", self.vm))
            .field("key_id", &self.key_id)
            .field("session", &Hex(&self.session))
            .field("lineage", &Hex(&self.lineage))
            .field("index", &self.index)
            .field(
                "end",
                &self.end.as_ref().map(|(count, tag)| (count, Hex(tag))),
            )
            .field("next_chain_key", &format_args!("[redacted]"))
            .finish()
    }
}

/// Lowercase hex, for `Debug` and for the file.
struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A writer's chain state file: where the writer continues its lineage of sessions after a
/// restart (FORMAT.md §5.5). One `ChainState` belongs to one writer process for as long as it
/// runs.
///
/// # What it holds, and what it protects
///
/// The lineage id and index of the writer's latest session, that session's id, whether it was
/// closed (with its record count and end tag), and its **next chain key**: the secret that
/// authenticates the link record of the session's successor. So:
///
/// - whoever **reads** the file can authenticate one successor session in the writer's place;
///   it is created 0600 in a folder of mode 0700, and loading it refuses a file that group or
///   others can read or write (the error says to run `chmod 600 PATH`), or that belongs to
///   another user than the writer's or root;
/// - **restoring an old copy** (from a backup, a snapshot) makes the writer link its next session
///   to one that already has a successor: `enclog verify` reports the chain as replayed or
///   branched;
/// - **deleting** it makes the next run start a new chain (a new lineage), which `enclog verify`
///   reports unless given `--allow-new-chains`.
///
/// # Where it lives
///
/// Never beside a log: in a private state folder, so that backups, log shippers and globs such as
/// `/var/log/app/*` do not copy it. [`ChainState::default_path`] gives, for a name:
///
/// 1. `$ENCLOG_STATE_DIR/<name>.chain` when `ENCLOG_STATE_DIR` is set;
/// 2. else `$XDG_STATE_HOME/enclog/<name>.chain` when `XDG_STATE_HOME` is an absolute path;
/// 3. else, for root, `/var/lib/enclog/<name>.chain` (a service's state, the same whether it runs
///    from systemd, cron or a shell);
/// 4. else `$HOME/.local/state/enclog/<name>.chain`, or `/var/lib/enclog/<name>.chain` when
///    `HOME` is not set.
///
/// [`ChainState::open`] takes any path instead (the CLI's `--chain FILE`): choose it by the same
/// rule.
///
/// # One writer per file
///
/// A lineage has one writer. [`ChainState::open`] takes an exclusive lock on `PATH.lock` (a file
/// of its own, never replaced nor removed) and holds it until the `ChainState` is dropped; a second writer
/// using the same file, in this process or another, gets [`ChainStateError::InUse`]. Each
/// writer needs its own chain state.
///
/// # Safe against crashes
///
/// The state is replaced whole: written to `PATH.tmp`, synced, renamed over `PATH`, and the
/// folder synced, so a crash leaves either the old state or the new one. Writes from several
/// threads are serialised and never go back: a state older than the last one written (the close
/// of session *k* arriving after the start of session *k + 1*) is not written.
///
/// # Example
///
/// ```
/// use enclog::seal::{ChainState, ChainStateError};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state").join("billing.chain");
/// let state = ChainState::open(&path)?; // creates `state/` (0700) and takes the lock
/// assert_eq!(state.path(), path);
///
/// // A second writer with the same chain state is refused while the first one runs.
/// let second = ChainState::open(&path);
/// assert!(matches!(second, Err(ChainStateError::InUse { .. })));
/// drop(state);
/// let _again = ChainState::open(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ChainState {
    path: PathBuf,
    /// The open `PATH.lock`, locked: the lock lasts as long as this handle.
    _lock: File,
    /// The last state written, as `(index, closed)`; the lock serialises writes.
    written: Mutex<Option<(u64, bool)>>,
}

impl fmt::Debug for ChainState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let written = *self.written.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("ChainState")
            .field("path", &self.path)
            .field("last_written", &written)
            .finish_non_exhaustive()
    }
}

impl ChainState {
    /// Opens the chain state at `path` for this writer: creates its folder (mode 0700) if
    /// missing and takes the lock on `PATH.lock`. The state file itself need not exist yet (a
    /// new lineage).
    ///
    /// Fails with [`ChainStateError::InUse`] while another writer holds the lock, and with
    /// [`ChainStateError::Io`] when the folder or lock file cannot be created.
    ///
    /// ```
    /// # use std::os::unix::fs::PermissionsExt;
    /// let dir = tempfile::tempdir()?;
    /// let state = enclog::seal::ChainState::open(dir.path().join("app/app.chain"))?;
    /// let mode = std::fs::metadata(dir.path().join("app"))?.permissions().mode();
    /// assert_eq!(mode & 0o777, 0o700);
    /// assert!(dir.path().join("app/app.chain.lock").exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<ChainState, ChainStateError> {
        let path = path.as_ref().to_owned();
        if path.file_name().is_none() {
            return Err(ChainStateError::Io {
                source: io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
                path,
            });
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent).map_err(|source| ChainStateError::Io {
                path: parent.to_owned(),
                source,
            })?;
        }
        let lock_path = sibling(&path, ".lock");
        let io = |source| ChainStateError::Io {
            path: lock_path.clone(),
            source,
        };
        let lock = crate::private_file::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(ChainStateError::InUse { path });
            }
            Err(std::fs::TryLockError::Error(source)) => return Err(io(source)),
        }
        Ok(ChainState {
            path,
            _lock: lock,
            written: Mutex::new(None),
        })
    }

    /// Opens the chain state of the writer called `name` at its default place
    /// ([`ChainState::default_path`]).
    ///
    /// ```
    /// use enclog::seal::{ChainState, ChainStateError};
    ///
    /// // A writer opens its state once, at start:
    /// fn start() -> Result<ChainState, ChainStateError> {
    ///     ChainState::open_default("billing")
    /// }
    /// # let _ = start;
    ///
    /// // The name is a file name, not a path:
    /// let err = ChainState::open_default("../billing").unwrap_err();
    /// assert!(matches!(err, ChainStateError::BadName { .. }));
    /// ```
    pub fn open_default(name: &str) -> Result<ChainState, ChainStateError> {
        ChainState::open(ChainState::default_path(name)?)
    }

    /// Opens the default chain state of the writer of the log file at `path`:
    /// [`ChainState::open_default`] with a name made of the log's file name and a hash of its
    /// full path, `<file name>-<8 hex digits>` (so two logs of one name do not share a state).
    /// [`init_file`](crate::init_file) and the Python package's `init_file` keep their
    /// lineage here, so a Rust and a Python writer of one log find the same state (and its
    /// lock: one writer at a time).
    ///
    /// ```
    /// use enclog::seal::{ChainState, ChainStateError};
    /// // A writer of /var/log/app.log opens its state once, at start:
    /// fn start() -> Result<ChainState, ChainStateError> {
    ///     ChainState::open_for_log("/var/log/app.log")
    /// }
    /// # let _ = start;
    /// ```
    pub fn open_for_log(path: impl AsRef<Path>) -> Result<ChainState, ChainStateError> {
        let path = path.as_ref();
        let full = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let digest =
            ring::digest::digest(&ring::digest::SHA256, full.as_os_str().as_encoded_bytes());
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let plain: String = file_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let hash: String = digest.as_ref()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        ChainState::open_default(&format!("{}-{hash}", plain.trim_start_matches('.')))
    }

    /// Where the chain state of the writer called `name` lives by default: `<name>.chain` in
    /// `$ENCLOG_STATE_DIR`, else in `$XDG_STATE_HOME/enclog`, else (root) in `/var/lib/enclog`,
    /// else in `$HOME/.local/state/enclog` (the [`ChainState`] docs say why). `name` must be a
    /// plain file name: not empty, not `.` or `..`, without `/`.
    ///
    /// ```
    /// let path = enclog::seal::ChainState::default_path("billing")?;
    /// assert!(path.ends_with("billing.chain"));
    /// assert!(enclog::seal::ChainState::default_path("logs/billing").is_err());
    /// # Ok::<(), enclog::seal::ChainStateError>(())
    /// ```
    pub fn default_path(name: &str) -> Result<PathBuf, ChainStateError> {
        resolve(name, |var| std::env::var_os(var), is_root())
    }

    /// The chain state file's path.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let state = enclog::seal::ChainState::open(dir.path().join("app.chain"))?;
    /// assert_eq!(state.path(), dir.path().join("app.chain"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved point, or `None` when there is no file yet (the writer starts a new lineage).
    pub(crate) fn load(&self) -> Result<Option<SavedPoint>, ChainStateError> {
        load_from(&self.path)
    }

    /// What a chain state file says of its writer's latest session, read without taking the
    /// writer's lock (the writer may be running): the anchor `enclog verify --chain FILE`
    /// checks the end of a log against (`FORMAT.md` §8: the end of a log is invisible to a
    /// chain walk). The file must be private like the writer's own (it holds a chain key);
    /// the head keeps none of it.
    ///
    /// ```
    /// use enclog::seal::{ChainState, Rotation};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.chain");
    /// let sealer = enclog::Sealer::with_chain_state(
    ///     enclog::Key::generate()?, Rotation::default(), ChainState::open(&path)?)?;
    /// let mut log = sealer.seal_line(b"event")?;
    /// sealer.close_to(&mut log)?;
    /// let head = ChainState::head(&path)?.expect("saved at the first line");
    /// assert_eq!(head.session.session, sealer.session_id().unwrap());
    /// assert_eq!((head.index, head.count), (0, Some(2))); // an event and the close record
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn head(path: impl AsRef<Path>) -> Result<Option<ChainHead>, ChainStateError> {
        let path = path.as_ref();
        let Some(point) = load_from(path)? else {
            return Ok(None);
        };
        // `load_from` checked the session's length against its `vm`.
        let session = SessionRef::from_parts(point.vm, point.key_id, &point.session)
            .expect("a loaded chain state names a v2 session");
        Ok(Some(ChainHead {
            lineage: LineageId::from_bytes(point.lineage),
            index: point.index,
            session,
            count: point.end.map(|(count, _)| count),
            end_tag: point.end.map(|(_, tag)| tag),
        }))
    }
}

/// A writer's latest session as its chain state names it (see [`ChainState::head`]).
///
/// ```
/// # let _ = |head: enclog::seal::ChainHead| (head.lineage, head.index, head.count);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainHead {
    /// The writer's lineage.
    pub lineage: LineageId,
    /// The session's index in it.
    pub index: u64,
    /// The session.
    pub session: SessionRef,
    /// How many records it had, once closed (`None`: the writer is running, or crashed).
    pub count: Option<u64>,
    /// The tag of its close record, once closed.
    pub end_tag: Option<[u8; 16]>,
}

/// Reads a chain state file (see [`ChainState::load`]).
fn load_from(path: &Path) -> Result<Option<SavedPoint>, ChainStateError> {
    let path = &path.to_owned();
    let io = |source| ChainStateError::Io {
        path: path.clone(),
        source,
    };
    let mut file = match secret_file::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file (a folder, pipe or device); remove it",
        )));
    }
    if let Some((owner, uid)) = secret_file::foreign_owner(&meta).map_err(io)? {
        return Err(ChainStateError::ForeignOwner {
            path: path.clone(),
            owner,
            uid,
        });
    }
    if let Some(mode) = secret_file::loose_mode(&meta) {
        return Err(ChainStateError::LoosePermissions {
            path: path.clone(),
            mode,
        });
    }
    let raw = secret_file::read_capped(&mut file).map_err(io)?;
    if raw.len() > secret_file::MAX_KEY_FILE {
        return Err(ChainStateError::Malformed {
            path: path.clone(),
            line: 1,
            reason: "the file is larger than 64 KiB; a chain state is under 1 KiB".into(),
        });
    }
    text::parse(&raw)
        .map(Some)
        .map_err(|fault| fault.in_file(path.clone()))
}

impl ChainState {
    /// Replaces the file with `point`, unless this `ChainState` already wrote a later state
    /// (a higher index, or the same index closed): then nothing is written.
    pub(crate) fn save(&self, point: &SavedPoint) -> Result<(), ChainStateError> {
        if let Err(reason) = text::session_len_matches(point.vm, point.session.len()) {
            return Err(ChainStateError::Io {
                path: self.path.clone(),
                source: io::Error::new(io::ErrorKind::InvalidInput, reason),
            });
        }
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if written.is_some_and(|last| point.order() < last) {
            return Ok(());
        }
        let text = text::render(point);
        replace(&self.path, text.as_bytes())?;
        *written = Some(point.order());
        Ok(())
    }
}

/// The default path for `name`, from the environment as `env` reads it (`root`: the process
/// runs as root).
fn resolve(
    name: &str,
    env: impl Fn(&str) -> Option<OsString>,
    root: bool,
) -> Result<PathBuf, ChainStateError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(ChainStateError::BadName {
            name: name.to_owned(),
        });
    }
    let var = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = if let Some(dir) = var("ENCLOG_STATE_DIR") {
        dir
    } else if let Some(state) = var("XDG_STATE_HOME").filter(|p| p.is_absolute()) {
        state.join("enclog")
    } else if let Some(home) = var("HOME").filter(|p| !root && p.is_absolute()) {
        home.join(".local/state/enclog")
    } else {
        PathBuf::from("/var/lib/enclog")
    };
    Ok(dir.join(format!("{name}.chain")))
}

/// Whether this process runs as root (effective user id 0).
#[cfg(unix)]
fn is_root() -> bool {
    secret_file::own_uid().is_ok_and(|uid| uid == 0)
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

/// Creates `dir` and its missing parents, private to their owner (0700 on Unix); an existing
/// folder is left as it is.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// A chain state could not be opened, read or written.
///
/// No message ever contains the chain key.
///
/// ```
/// use enclog::seal::{ChainState, ChainStateError};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("app.chain");
/// let _writer = ChainState::open(&path)?;
/// match ChainState::open(&path) {
///     Err(ChainStateError::InUse { path: p }) => {
///         assert_eq!(p, path);
///         let message = ChainStateError::InUse { path: p }.to_string();
///         assert!(message.contains("each writer needs its own"));
///     }
///     other => panic!("expected InUse, got {other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainStateError {
    /// A file or folder of the chain state could not be created, read, locked or written.
    #[error(
        "cannot use chain state {}: check that this user can create and write it and its \
         folder, or choose another place (ENCLOG_STATE_DIR, --chain FILE)",
        .path.display()
    )]
    Io {
        /// The file or folder (the state file, its `.lock` or `.tmp` file, or its folder).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Another writer holds the chain state's lock.
    #[error(
        "chain state {} is in use: another process is writing with this chain state (it holds \
         {}.lock); each writer needs its own chain state (--chain FILE per writer)",
        .path.display(),
        .path.display()
    )]
    InUse {
        /// The chain state file.
        path: PathBuf,
    },
    /// The file gives group or others access, and it holds the writer's next chain key.
    #[error(
        "chain state {} is {} by group or others (mode {mode:04o}), and it holds the writer's \
         next chain key: run `chmod 600 {}`",
        .path.display(),
        secret_file::access(*.mode),
        .path.display()
    )]
    LoosePermissions {
        /// The chain state file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file belongs to another user (not the writer's, not root), who could replace it at
    /// any time.
    #[error(
        "chain state {} belongs to user id {owner}, not to you (user id {uid}) or root, so its \
         owner could replace it at any time: take it over (`sudo chown {uid} {}`) or delete it \
         to start a new chain",
        .path.display(),
        .path.display()
    )]
    ForeignOwner {
        /// The chain state file.
        path: PathBuf,
        /// The user id that owns the file.
        owner: u32,
        /// The effective user id of this process.
        uid: u32,
    },
    /// A line of the file is missing, unknown or malformed.
    #[error(
        "chain state {}, line {line}: {reason}; if it cannot be restored, delete it to start a \
         new chain (`enclog verify` reports it unless given --allow-new-chains)",
        .path.display()
    )]
    Malformed {
        /// The chain state file.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// What is wrong (never the line's text).
        reason: String,
    },
    /// The file's check line does not match its fields.
    #[error(
        "chain state {} fails its check: it was edited or damaged; delete it to start a new \
         chain (`enclog verify` reports it unless given --allow-new-chains)",
        .path.display()
    )]
    Checksum {
        /// The chain state file.
        path: PathBuf,
    },
    /// The name given for a default chain state is not a plain file name.
    #[error(
        "chain state name {name:?} is not a plain file name: give a name that is not empty, \
         `.` or `..` and has no `/` (such as the program's name)"
    )]
    BadName {
        /// The name.
        name: String,
    },
}

/// Says once per process that a chain state could not be saved: the log goes on (losing lines
/// would be worse), but the file is stale until a later save succeeds. Names the error only.
pub(crate) fn report_save_failure(err: &ChainStateError) {
    static REPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !REPORTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "enclog: cannot save the chain state: {err}; logging goes on, but until a save \
             succeeds a restart starts a new chain (which `enclog verify` reports); further \
             failures are not reported"
        );
    }
}

#[cfg(test)]
mod tests;

/// [`crate::private_file::replace`], its error as a [`ChainStateError`].
fn replace(path: &Path, bytes: &[u8]) -> Result<(), ChainStateError> {
    crate::private_file::replace(path, bytes)
        .map_err(|(path, source)| ChainStateError::Io { path, source })
}
