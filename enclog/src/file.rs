//! [`LogFile`]: a log file that follows its path, so that a writer notices when logrotate (or
//! anyone) renames or deletes the file under it and goes on in the file the path names now.
//!
//! Threat: a rotated log that the writer keeps appending to under its old name, while the new
//! file stays empty; readers following the path (`enclog tailf`) then miss those lines, and a
//! `compress` of the old file cuts them off.
//!
//! How it notices: the file is opened with `O_APPEND` (so `copytruncate` needs nothing: writes
//! go to the new end) and its `(st_dev, st_ino)` are remembered. The process's background
//! thread (the one that retires idle sessions) stats the path every [`DEFAULT_CHECK_INTERVAL`]
//! and sets a flag when the path names another file, or has named none for
//! [`MISSING_PATH_GRACE`] (1 s: logrotate's `create` renames, then creates the new file with
//! `O_EXCL`, and fails if the writer created it first). A forked child inherits the check: its
//! background thread starts with its first line (a pre-fork server's workers follow rotations
//! as the parent does). A writer reads that flag with one
//! relaxed atomic load per event ([`LogFile::rotated`]), and only when it is set does it do any
//! system call: before sealing its next event, under the lock that orders its lines, it closes
//! its sealer's session (the close record goes into the old file), opens the path (creating it,
//! mode 0640, only if missing: a file that logrotate's `create MODE` made keeps its mode), and
//! the next event starts the session's successor there, linked to the closed one
//! ([`LogFile::reopen_if_requested`]). So `enclog verify app.log.1 app.log` is clean, and
//! `verify app.log` alone starts from its first link.
//!
//! **The delay.** A line logged more than one check interval (plus one `stat`) after the
//! rename and create goes to the new file (after a deletion, or a rename that nobody follows
//! with a new file: [`MISSING_PATH_GRACE`] more); lines logged before that go to the old one,
//! in order, followed by the close record. Nothing is lost either way. A writer that logs nothing after a rotation
//! writes its close record at its next event (or when it is closed); [`LogFile::request_reopen`]
//! (e.g. from a SIGHUP handler, for logrotate's `postrotate`) asks for a reopen at the next
//! event without waiting for the check.
//!
//! ```
//! use std::io::Write;
//! use enclog::file::LogFile;
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("app.log");
//! let sealer = enclog::Sealer::new(enclog::Key::generate()?);
//! let mut file = LogFile::open(&path)?;
//! let mut line = Vec::new();
//! sealer.seal_to(None, b"before the rotation", &mut line)?;
//! file.write_all(&line)?;
//!
//! std::fs::rename(&path, dir.path().join("app.log.1"))?; // logrotate, `create` style
//! file.request_reopen(); // or wait for the background thread to notice (100 ms)
//! if file.rotated() {
//!     // The close record goes into app.log.1; app.log is created.
//!     assert!(file.reopen_if_requested(&sealer)?);
//! }
//! line.clear();
//! sealer.seal_to(None, b"after the rotation", &mut line)?; // the successor's first record
//! file.write_all(&line)?;
//! assert_eq!(std::fs::read(dir.path().join("app.log.1"))?.iter().filter(|&&b| b == b'\n').count(), 2);
//! assert_eq!(std::fs::read(&path)?, line);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::seal::Sealer;
use crate::seal::housekeeping::{self, Chore};

/// How often the background thread checks what the path names, by default: a rotation is
/// noticed within this interval (plus one `stat`).
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// How long the path must have been missing before the writer creates it again (when it names
/// another file, the writer reopens at its next check).
///
/// Why wait: logrotate's `create` renames the log, then creates the new file with
/// `O_CREAT|O_EXCL|O_NOFOLLOW`. A writer that created the path first, in that window, would make
/// logrotate fail ("error creating output file ...: File exists") and leave the new file with
/// the writer's mode instead of `create MODE`'s. A second leaves logrotate ample time; a log
/// that was deleted (and that nobody recreates) comes back after this delay plus one check.
pub const MISSING_PATH_GRACE: Duration = Duration::from_secs(1);

/// A log file opened for appending that follows its path across rotations. See the
/// [module documentation](self) for how, and what it costs.
///
/// Writing to it (`io::Write`) writes to the file it has open, with no check: a writer checks
/// [`LogFile::rotated`] before sealing an event and calls [`LogFile::reopen_if_requested`] when
/// it is set. [`init_file`](crate::init_file), [`non_blocking::file`](crate::non_blocking::file)
/// and `enclog encrypt -o FILE` do so.
#[derive(Debug)]
pub struct LogFile {
    file: File,
    watch: Arc<Watch>,
    /// Whether the last reopen failed (reported once on stderr until one succeeds).
    failing: bool,
}

/// What the background thread checks, shared with the [`LogFile`] (held weakly by the thread:
/// a dropped log file drops out of its list).
#[derive(Debug)]
struct Watch {
    path: PathBuf,
    /// Set by the background thread (the path names another file, or none) or by
    /// [`LogFile::request_reopen`]; cleared by a reopen. The writers' one load per event.
    requested: Arc<AtomicBool>,
    /// The open file's `(st_dev, st_ino)`.
    dev: AtomicU64,
    ino: AtomicU64,
    /// Bumped by each reopen, after the ids are stored: a check that began before a reopen
    /// does not flag the new file with the old file's ids.
    epoch: AtomicU64,
    interval_ms: AtomicU64,
    /// When the check first found the path missing, in ms after `opened` plus one (0: it was
    /// not missing at the last check). An atomic, not a lock: a forked child runs this check
    /// too, and a lock may have been held by its parent's thread at the fork.
    missing_since: AtomicU64,
    opened: Instant,
}

impl LogFile {
    /// Opens `path` for appending, creating it (mode 0640 on Unix: ciphertext, but its size and
    /// timing still tell something) if it is missing; an existing file's mode is left as it
    /// is. The background thread checks the path every [`DEFAULT_CHECK_INTERVAL`] from now on
    /// (in this process and in its forked children, from their first line on).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let file = enclog::file::LogFile::open(dir.path().join("app.log"))?;
    /// assert!(!file.rotated());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> io::Result<LogFile> {
        let path = path.as_ref().to_owned();
        let file = open_append(&path)?;
        let (dev, ino) = file_id(&file)?;
        let watch = Arc::new(Watch {
            path,
            requested: Arc::new(AtomicBool::new(false)),
            dev: AtomicU64::new(dev),
            ino: AtomicU64::new(ino),
            epoch: AtomicU64::new(0),
            interval_ms: AtomicU64::new(DEFAULT_CHECK_INTERVAL.as_millis() as u64),
            missing_since: AtomicU64::new(0),
            opened: Instant::now(),
        });
        // Without the thread (it could not start), rotations are followed on request only.
        let weak: Weak<dyn Chore> = Arc::downgrade(&watch) as _;
        housekeeping::register(weak);
        Ok(LogFile {
            file,
            watch,
            failing: false,
        })
    }

    /// Checks the path every `interval` instead (at least 1 ms): the bound on the delay between
    /// a rotation and the first line in the new file.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let file = enclog::file::LogFile::open(dir.path().join("app.log"))?
    ///     .check_every(std::time::Duration::from_millis(20));
    /// # drop(file);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_every(self, interval: Duration) -> LogFile {
        let ms = interval.as_millis().clamp(1, u128::from(u64::MAX)) as u64;
        self.watch.interval_ms.store(ms, Ordering::Relaxed);
        housekeeping::wake();
        self
    }

    /// The path this file follows.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.log");
    /// assert_eq!(enclog::file::LogFile::open(&path)?.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.watch.path
    }

    /// Whether a reopen is due: the path names another file or none (seen by the background
    /// thread), or one was requested. One relaxed atomic load: the writers call it per event.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let file = enclog::file::LogFile::open(dir.path().join("app.log"))?;
    /// file.request_reopen();
    /// assert!(file.rotated());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn rotated(&self) -> bool {
        self.watch.requested.load(Ordering::Relaxed)
    }

    /// Asks for a reopen at the writer's next event, without waiting for the background
    /// thread's check (logrotate's `postrotate`, a SIGHUP).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let file = enclog::file::LogFile::open(dir.path().join("app.log"))?;
    /// assert!(!file.rotated());
    /// file.request_reopen();
    /// assert!(file.rotated());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_reopen(&self) {
        self.watch.requested.store(true, Ordering::Relaxed);
    }

    /// The flag [`LogFile::request_reopen`] sets, for a signal handler that can only store to
    /// an atomic (`signal_hook::flag::register(SIGHUP, file.reopen_flag())`).
    ///
    /// ```
    /// use std::sync::atomic::Ordering;
    /// let dir = tempfile::tempdir()?;
    /// let file = enclog::file::LogFile::open(dir.path().join("app.log"))?;
    /// file.reopen_flag().store(true, Ordering::Relaxed); // what a signal handler does
    /// assert!(file.rotated());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reopen_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.watch.requested)
    }

    /// If a reopen is due ([`LogFile::rotated`]): opens the path (creating it if missing) and,
    /// if it names another file than the one open, closes `sealer`'s session into the old file
    /// (its close record, written and flushed there), then writes to the new file from now on.
    /// The next line `sealer` seals starts the successor session, linked to the closed one.
    /// Call it under the lock that orders the writer's lines, before sealing the next event.
    ///
    /// Returns whether another file was opened (`false`: no reopen was due, or the path still
    /// names the open file, as after `copytruncate`). An error: the path could not be opened
    /// (the writer goes on in the old file, and the background thread asks again at its next
    /// check), or the close record could not be written to the old file (the new file is used
    /// all the same).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// let mut file = enclog::file::LogFile::open(dir.path().join("app.log"))?;
    /// assert!(!file.reopen_if_requested(&sealer)?); // nothing due
    /// file.request_reopen();
    /// assert!(!file.reopen_if_requested(&sealer)?); // the path still names the open file
    /// assert!(!file.rotated());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reopen_if_requested(&mut self, sealer: &Sealer) -> io::Result<bool> {
        if !self.watch.requested.swap(false, Ordering::Acquire) {
            return Ok(false);
        }
        let fresh = open_append(&self.watch.path)?;
        let (dev, ino) = file_id(&fresh)?;
        let watch = &*self.watch;
        if (dev, ino)
            == (
                watch.dev.load(Ordering::Relaxed),
                watch.ino.load(Ordering::Relaxed),
            )
        {
            return Ok(false);
        }
        let mut close = Vec::new();
        let closed = sealer
            .close_to(&mut close)
            .map_err(io::Error::other)
            .and_then(|()| self.file.write_all(&close))
            .and_then(|()| self.file.flush());
        self.file = fresh;
        watch.dev.store(dev, Ordering::Relaxed);
        watch.ino.store(ino, Ordering::Relaxed);
        watch.missing_since.store(0, Ordering::Relaxed);
        watch.epoch.fetch_add(1, Ordering::Release);
        closed.map(|()| true)
    }

    /// [`LogFile::reopen_if_requested`] for writers that cannot return its error: a failure is
    /// reported on stderr once (and the recovery once), not at every retry.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// let mut file = enclog::file::LogFile::open(dir.path().join("app.log"))?;
    /// if file.rotated() {
    ///     file.reopen_reporting(&sealer);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reopen_reporting(&mut self, sealer: &Sealer) {
        match self.reopen_if_requested(sealer) {
            Ok(_) if self.failing => {
                self.failing = false;
                eprintln!(
                    "enclog: reopened the log {} after its rotation",
                    self.watch.path.display()
                );
            }
            Ok(_) => {}
            Err(e) => {
                if !std::mem::replace(&mut self.failing, true) {
                    eprintln!(
                        "enclog: cannot reopen the log {} after its rotation: {e}; still \
                         writing to the file it named before (trying again every {} ms)",
                        self.watch.path.display(),
                        self.watch.interval_ms.load(Ordering::Relaxed)
                    );
                }
            }
        }
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Chore for Watch {
    /// Flags a reopen when the path names another file than the open one, or has named none
    /// for [`MISSING_PATH_GRACE`].
    fn run(&self, now: Instant) -> Option<Instant> {
        let mut next = now + Duration::from_millis(self.interval_ms.load(Ordering::Relaxed));
        if self.requested.load(Ordering::Relaxed) {
            return Some(next);
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let open = (
            self.dev.load(Ordering::Relaxed),
            self.ino.load(Ordering::Relaxed),
        );
        let moved = match std::fs::metadata(&self.path) {
            Ok(meta) => {
                self.missing_since.store(0, Ordering::Relaxed);
                meta_id(&meta).is_some_and(|named| named != open)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Leave logrotate's `create` its window (see MISSING_PATH_GRACE).
                let since_open = now.saturating_duration_since(self.opened);
                let mut since = self.missing_since.load(Ordering::Relaxed);
                if since == 0 {
                    since = since_open.as_millis() as u64 + 1;
                    self.missing_since.store(since, Ordering::Relaxed);
                }
                let due = self.opened + Duration::from_millis(since - 1) + MISSING_PATH_GRACE;
                if now < due {
                    next = next.min(due);
                }
                now >= due
            }
            Err(_) => false,
        };
        // A reopen between the loads and here already follows the path. (One finishing between
        // this check and the store costs a spurious request: the reopen then finds the path
        // naming the open file and does nothing.)
        if moved && self.epoch.load(Ordering::Acquire) == epoch {
            self.requested.store(true, Ordering::Relaxed);
        }
        Some(next)
    }
}

/// Opens `path` for appending (`O_APPEND`: writes go to the end even after a `copytruncate`),
/// creating it with mode 0640 if it is missing.
pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o640);
    }
    options.open(path)
}

/// The open file's `(st_dev, st_ino)`; `(0, 0)` where there are none (not Unix: rotations are
/// then followed on request only).
fn file_id(file: &File) -> io::Result<(u64, u64)> {
    Ok(meta_id(&file.metadata()?).unwrap_or((0, 0)))
}

#[cfg(unix)]
fn meta_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn meta_id(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}
