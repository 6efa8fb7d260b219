//! [`FollowedFile`]: an [`EncryptedWriter`]'s destination when it is a log file that logrotate
//! rotates — [`init_file`](super::init_file)'s, or yours through
//! [`EncryptedWriter::follow_file`].

use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tracing_subscriber::fmt::MakeWriter;

use crate::file::LogFile;
use crate::seal::Sealer;
use crate::tracing::writer::EncryptedWriter;

/// A [`LogFile`] as a `MakeWriter`: each event's writer holds the file's lock (which keeps
/// lines in sequence order) and, if the path was rotated, first closes the session into the
/// old file and reopens the path, under that lock, before the event is sealed. Made by
/// [`EncryptedWriter::follow_file`].
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let file = enclog::file::LogFile::open(dir.path().join("app.log"))?;
/// let writer = enclog::EncryptedWriter::follow_file(file, enclog::Sealer::new(enclog::Key::generate()?));
/// let _: &enclog::tracing::FollowedFile = writer.inner_file();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FollowedFile {
    file: Mutex<LogFile>,
    sealer: Sealer,
}

impl FollowedFile {
    fn lock(&self) -> MutexGuard<'_, LogFile> {
        self.file.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl EncryptedWriter<FollowedFile> {
    /// A writer into a log file that follows its path through rotation (see [`LogFile`]): the
    /// logging thread pays one relaxed atomic load per event to learn that logrotate renamed or
    /// deleted the file; the next event then closes the session into the old file and goes on,
    /// in a linked session, in the new one. The file's lock orders the lines (no session order
    /// lock, as with [`EncryptedWriter::locked`]).
    ///
    /// ```
    /// use tracing_subscriber::fmt;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.log");
    /// let key = enclog::Key::generate()?;
    /// let file = enclog::file::LogFile::open(&path)?;
    /// let writer = enclog::EncryptedWriter::follow_file(file, enclog::Sealer::new(key.clone()));
    /// let subscriber = fmt().with_writer(writer.clone()).with_ansi(false).finish();
    /// tracing::subscriber::with_default(subscriber, || {
    ///     tracing::info!("before the rotation");
    ///     std::fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    ///     assert!(writer.reopen().unwrap()); // what logrotate's postrotate would ask for
    ///     tracing::info!("after the rotation");
    /// });
    /// writer.close_session();
    /// let old = std::fs::read(dir.path().join("app.log.1"))?;
    /// let new = std::fs::read(&path)?;
    /// assert_eq!((old.split(|&b| b == b'\n').count(), new.split(|&b| b == b'\n').count()), (3, 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn follow_file(file: LogFile, sealer: Sealer) -> EncryptedWriter<FollowedFile> {
        let followed = FollowedFile {
            file: Mutex::new(file),
            sealer: sealer.clone(),
        };
        EncryptedWriter::ordered_by(sealer, followed)
    }

    /// Reopens the file's path now (logrotate's `postrotate`): if it names another file than
    /// the one being written (or none), the session's close record goes into the old file and
    /// the next event starts the next session in the new one. Returns whether another file was
    /// opened. Example: [`EncryptedWriter::follow_file`].
    pub fn reopen(&self) -> io::Result<bool> {
        let followed = self.inner();
        let mut file = followed.lock();
        file.request_reopen();
        file.reopen_if_requested(&followed.sealer)
    }

    /// The destination.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let file = enclog::file::LogFile::open(dir.path().join("app.log"))?;
    /// let writer = enclog::EncryptedWriter::follow_file(file, enclog::Sealer::new(enclog::Key::generate()?));
    /// assert!(format!("{:?}", writer.inner_file()).starts_with("FollowedFile"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn inner_file(&self) -> &FollowedFile {
        self.inner()
    }
}

impl<'a> MakeWriter<'a> for FollowedFile {
    type Writer = FollowedFileLock<'a>;

    #[inline]
    fn make_writer(&'a self) -> Self::Writer {
        let mut file = self.lock();
        // The hot path's only cost: one relaxed load.
        if file.rotated() {
            file.reopen_reporting(&self.sealer);
        }
        FollowedFileLock(file)
    }
}

/// One event's hold on a [`FollowedFile`] (its `MakeWriter::Writer`).
///
/// ```
/// # let _ = std::mem::size_of::<enclog::tracing::FollowedFileLock<'static>>();
/// ```
pub struct FollowedFileLock<'a>(MutexGuard<'a, LogFile>);

impl io::Write for FollowedFileLock<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl std::fmt::Debug for FollowedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FollowedFile").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for FollowedFileLock<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FollowedFileLock").finish_non_exhaustive()
    }
}
