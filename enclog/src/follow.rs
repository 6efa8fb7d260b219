//! [`Follower`]: `tail -F` over a path. Delivers whole lines as they are appended, and keeps
//! following across rotation (rename and create), copytruncate, and deletion.
//!
//! How it watches: a notify watcher on the file's **parent directory**, filtered by file name
//! (a watch on the file itself loses it when it is renamed, notify#555). Each wake-up drains the
//! open handle to its end, then looks at the path: a different file there means rotation (the
//! old handle is read to its end first, then the new file from its start), a file shorter than
//! the read position means truncation (read again from the start), and no file means wait for
//! one. A timer wakes the follower as well, in case an event is lost; where the platform's
//! watcher cannot start (or [`FollowOptions::poll`] asks for it), the timer alone drives it.
//!
//! # The hand-over at a rotation
//!
//! A writer does not see a rotation at once: between logrotate's rename and the writer's reopen
//! (well under a second for enclog's own writers; until the next `postrotate` signal for
//! others), its lines still go into the renamed file. GNU `tail -F` switches to the new file at
//! the rename and never shows them. A [`Follower`] keeps the old file open and goes on reading
//! it **by its handle** (never by name: it may have been renamed again or compressed) beside
//! the new one, until either
//!
//! - the old file has not grown for [`FollowOptions::grace`] (3 s by default), counted from the
//!   rotation or its last growth, whichever is later, or
//! - the caller has said the old file is done ([`Follower::finish`]; `enclog tailf` does when
//!   it reads the close record of the last session it saw open in that file, which a writer
//!   that reopens its file writes into the old one, FORMAT.md §5) **and** the file has not
//!   grown for [`QUIET_AFTER_FINISH`] (half a second). Not at once: when several writers share
//!   the log, the caller knows only the sessions whose lines it has read, and a writer that
//!   has not noticed the rotation yet may still append to the old file. A line read from the
//!   file after [`Follower::finish`] cancels it.
//!
//! A second rotation while an old file is still read adds another: each is let go on its own
//! terms. Each line is delivered once, and the lines of each file in the order the file received
//! them; but at the hand-over the lines of an old file and of the new one **may interleave**.
//! A writer's own lines keep their order across the files: each look reads the new file first
//! and delivers what it read only after the old files have been read to their end, so a line
//! the writer put in the old file before its first new line comes first. Each line says
//! which file it was read from ([`FollowedLine::file`], compared with
//! [`Follower::current_file`]). Copy-and-truncate (the size drops: read again from the start)
//! and deletion (wait for a new file) are followed as before; a deleted file still open is
//! drained like a renamed one.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use crate::read::decryptor::DEFAULT_MAX_LINE;

mod follower;
mod open_file;
mod tail;

pub use follower::Follower;

/// The default of [`FollowOptions::grace`]: 3 seconds.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3);

/// How long a rotated-away file must stay quiet (not grow) after [`Follower::finish`] before it
/// is let go of, counted from the rotation or its last growth, whichever is later (unless
/// [`FollowOptions::grace`] is shorter): half a second.
///
/// Why not at once: the caller of `finish` knows only the sessions it has read lines of. With
/// several writers on one log, one that has not noticed the rotation yet still appends to the
/// old file; enclog's writers check their path every
/// [`DEFAULT_CHECK_INTERVAL`](crate::file::DEFAULT_CHECK_INTERVAL) (100 ms), so half a second
/// is five of their checks: a writer that appends to the old file later has either been
/// stalled that long or does not follow rotations on its own (see [`FollowOptions::grace`]).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(enclog::follow::QUIET_AFTER_FINISH, Duration::from_millis(500));
/// ```
pub const QUIET_AFTER_FINISH: Duration = Duration::from_millis(500);

/// Bytes read at a time, forwards and backwards.
pub(crate) const BLOCK: usize = 64 * 1024;

/// How a [`Follower`] starts and watches.
///
/// ```
/// use enclog::follow::FollowOptions;
/// let options = FollowOptions::default().last_lines(10); // like `tail -n 10 -F`
/// let nfs = FollowOptions::default().poll(true).poll_interval(std::time::Duration::from_secs(1));
/// # let _ = (options, nfs);
/// ```
#[derive(Clone, Debug)]
pub struct FollowOptions {
    from_start: bool,
    last_lines: usize,
    poll: bool,
    poll_interval: Duration,
    max_line: usize,
    grace: Duration,
}

impl FollowOptions {
    /// Read the file from its start instead of its end. Default: `false`.
    ///
    /// ```
    /// let options = enclog::follow::FollowOptions::default().from_start(true); // like `tail -f -n +1`
    /// # let _ = options;
    /// ```
    pub fn from_start(mut self, on: bool) -> Self {
        self.from_start = on;
        self
    }

    /// When starting at the end, first deliver this many of the last complete lines. Default: 0.
    ///
    /// ```
    /// let options = enclog::follow::FollowOptions::default().last_lines(10); // like `tail -n 10 -F`
    /// # let _ = options;
    /// ```
    pub fn last_lines(mut self, last_lines: usize) -> Self {
        self.last_lines = last_lines;
        self
    }

    /// Do not use the platform's file watcher; look at the file every
    /// [`FollowOptions::poll_interval`] instead (for network file systems, where change events
    /// do not arrive). Default: `false`.
    ///
    /// ```
    /// let nfs = enclog::follow::FollowOptions::default().poll(true);
    /// # let _ = nfs;
    /// ```
    pub fn poll(mut self, on: bool) -> Self {
        self.poll = on;
        self
    }

    /// How often to look at the file when polling; when watching, how often to look anyway in
    /// case a change event was lost. Default: 250 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = enclog::follow::FollowOptions::default().poll_interval(Duration::from_secs(1));
    /// # let _ = options;
    /// ```
    pub fn poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// Longest line delivered, in bytes; a longer one is skipped and reported as
    /// [`FollowError::LineTooLong`], so memory stays bounded. Default: [`DEFAULT_MAX_LINE`].
    ///
    /// ```
    /// let options = enclog::follow::FollowOptions::default().max_line(1 << 20); // 1 MiB
    /// # let _ = options;
    /// ```
    pub fn max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    /// After a rotation, how long a rotated-away file must stay quiet (not grow) before the
    /// follower stops reading it, counted from the rotation or the file's last growth, whichever
    /// is later. Default: 3 s, enough for a writer that reopens its file on its own (enclog's
    /// do, well under a second) or on logrotate's `postrotate` signal. A writer that closes
    /// its session in the old file lets the caller shorten the wait ([`Follower::finish`]) to
    /// [`QUIET_AFTER_FINISH`] (half a second), never to nothing. `Duration::ZERO` stops
    /// reading the old file as soon as it has been read to its end, like `tail -F`, which
    /// loses what the writer adds to it before it reopens.
    ///
    /// ```
    /// use std::time::Duration;
    /// // A writer reopened only by a slow postrotate script.
    /// let options = enclog::follow::FollowOptions::default().grace(Duration::from_secs(30));
    /// # let _ = options;
    /// ```
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            from_start: false,
            last_lines: 0,
            poll: false,
            poll_interval: Duration::from_millis(250),
            max_line: DEFAULT_MAX_LINE,
            grace: DEFAULT_GRACE,
        }
    }
}

/// One complete line of the followed file.
///
/// ```
/// use enclog::follow::{FollowOptions, Follower};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("app.log");
/// std::fs::write(&path, "hello\n")?;
/// let mut follower = Follower::new(&path, FollowOptions::default().from_start(true))?;
/// let line = follower.next_line(Some(std::time::Duration::from_secs(10)))?.expect("a line");
/// assert_eq!((line.bytes, line.terminated), (b"hello".to_vec(), true));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FollowedLine {
    /// The line, without its `\n`.
    pub bytes: Vec<u8>,
    /// `false` only for the unfinished last line of a file that was rotated away or truncated
    /// (its writer stopped mid-line); such a line is delivered as it is, not joined to the next
    /// file's first line.
    pub terminated: bool,
    /// The file it was read from: the one now at the path ([`Follower::current_file`]) or one
    /// rotated away and still being read (see [`FollowOptions::grace`]).
    pub file: FileId,
}

/// Which file a [`FollowedLine`] was read from. A [`Follower`] numbers the files it opens at
/// its path, in order; give the id back to [`Follower::finish`] when a line shows that file is
/// done.
///
/// ```
/// use std::time::Duration;
/// use enclog::follow::{FollowOptions, Follower};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("app.log");
/// std::fs::write(&path, "one\n")?;
/// let mut follower = Follower::new(&path, FollowOptions::default().from_start(true))?;
/// let first = follower.next_line(Some(Duration::from_secs(10)))?.expect("a line");
/// std::fs::rename(&path, dir.path().join("app.log.1"))?;
/// std::fs::write(&path, "two\n")?;
/// let second = follower.next_line(Some(Duration::from_secs(10)))?.expect("a line");
/// assert!(first.file < second.file);
/// assert_eq!(follower.current_file(), Some(second.file));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(u64);

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "file #{}", self.0)
    }
}

/// Something that happened to the followed path, worth telling the user about.
///
/// ```
/// let event = enclog::follow::FollowEvent::Rotated;
/// assert!(event.to_string().contains("new file"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FollowEvent {
    /// The platform's file watcher could not start; the file is polled instead.
    Polling {
        /// Why the watcher could not start.
        reason: String,
    },
    /// A file appeared at a path that had none; it is read from its start.
    Appeared,
    /// The path no longer exists (deleted or renamed away). The old file is still read, and the
    /// follower waits for a file to appear at the path.
    Disappeared,
    /// Another file took the path (rotation); the new one is read from its start, and the old
    /// one goes on being read, by its open handle, until its writer is done with it (see
    /// [`FollowOptions::grace`]): their lines may interleave.
    Rotated,
    /// The file shrank (truncated, e.g. by `copytruncate`); it is read again from its start.
    Truncated,
}

impl fmt::Display for FollowEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FollowEvent::Polling { reason } => write!(
                f,
                "cannot watch for changes ({reason}); polling the file instead"
            ),
            FollowEvent::Appeared => f.write_str("the file appeared; following it"),
            FollowEvent::Disappeared => f.write_str(
                "the file was deleted or renamed away; waiting for a new file at this path",
            ),
            FollowEvent::Rotated => {
                f.write_str("the file was rotated; following the new file from its start, and the old one until its writer is done with it")
            }
            FollowEvent::Truncated => {
                f.write_str("the file was truncated; following it from its start")
            }
        }
    }
}

/// What a [`Follower`] yields: a line, or an event about the path.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("app.log");
/// let mut follower = enclog::follow::Follower::new(&path, enclog::follow::FollowOptions::default())?;
/// std::fs::write(&path, "hello\n")?;
/// let wait = Some(std::time::Duration::from_secs(10));
/// while let Some(item) = follower.next_item(wait)? {
///     match item {
///         enclog::follow::Followed::Line(line) => {
///             assert_eq!(line.bytes, b"hello");
///             break;
///         }
///         enclog::follow::Followed::Event(event) => eprintln!("{}: {event}", path.display()),
///         _ => {} // kinds added by later versions
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Followed {
    /// A line: complete, or (see [`FollowedLine::terminated`]) the unfinished last line of a
    /// file that was rotated away or truncated.
    Line(FollowedLine),
    /// Something happened to the path.
    Event(FollowEvent),
}

/// Following a file failed.
///
/// ```
/// let err = enclog::follow::FollowError::LineTooLong {
///     path: "app.log".into(), offset: 4096, limit: 1024,
/// };
/// assert!(err.to_string().contains("app.log"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    /// The file could not be opened, read or looked at.
    #[error("cannot {action} {}", .path.display())]
    Io {
        /// The followed path.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A line is longer than [`FollowOptions::max_line`]. It is skipped up to its newline and
    /// following goes on with the next call.
    #[error("{}: the line at byte {offset} is longer than {limit} bytes; it was skipped (raise the line limit if this file really has such lines)", .path.display())]
    LineTooLong {
        /// The followed path.
        path: PathBuf,
        /// Where the line starts in its file.
        offset: u64,
        /// The limit.
        limit: usize,
    },
}

/// Stops a [`Follower`] from another thread (e.g. a Ctrl-C handler): a waiting call returns
/// `Ok(None)` at once, and so does every later call.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let mut follower =
///     enclog::follow::Follower::new(dir.path().join("app.log"), enclog::follow::FollowOptions::default())?;
/// let stopper = follower.stopper();
/// // In a program, e.g. from a Ctrl-C handler.
/// std::thread::spawn(move || stopper.stop());
/// while let Some(line) = follower.next_line(None)? {
///     println!("{}", String::from_utf8_lossy(&line.bytes));
/// }
/// assert!(follower.stopper().is_stopped());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Stopper {
    stopped: Arc<AtomicBool>,
    wake: SyncSender<()>,
}

impl Stopper {
    /// Stops the follower.
    ///
    /// ```
    /// use std::time::Duration;
    /// let dir = tempfile::tempdir()?;
    /// let options = enclog::follow::FollowOptions::default();
    /// let mut follower = enclog::follow::Follower::new(dir.path().join("app.log"), options)?;
    /// follower.stopper().stop();
    /// // Returns at once instead of waiting for the timeout.
    /// assert!(follower.next_line(Some(Duration::from_secs(5)))?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Full means a wake-up is already pending, which is as good.
        let _ = self.wake.try_send(());
    }

    /// Whether [`Stopper::stop`] was called.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let options = enclog::follow::FollowOptions::default();
    /// let follower = enclog::follow::Follower::new(dir.path().join("app.log"), options)?;
    /// let stopper = follower.stopper();
    /// assert!(!stopper.is_stopped());
    /// stopper.stop();
    /// assert!(stopper.is_stopped() && follower.stopper().is_stopped());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
}
