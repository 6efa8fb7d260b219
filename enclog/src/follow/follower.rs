//! [`Follower`] itself: the open handle, the watcher, and what is done on each wake-up.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

use super::tail::start_of_last_lines;
use super::{BLOCK, FollowError, FollowEvent, FollowOptions, Followed, FollowedLine, Stopper};

type FileId = (u64, u64);

#[cfg(unix)]
fn file_id(meta: &Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

/// Without (device, inode), rotation is noticed only as truncation or disappearance.
#[cfg(not(unix))]
fn file_id(_meta: &Metadata) -> Option<FileId> {
    None
}

/// Follows a file like `tail -F`: yields each complete line appended to it, across rotation,
/// truncation and deletion, never half a line.
///
/// [`Follower::next_item`] yields lines and [`FollowEvent`]s, [`Follower::next_line`] lines
/// only; both wait up to a timeout. As an [`Iterator`], it waits without limit and ends when
/// stopped ([`Follower::stopper`]).
///
/// ```
/// use std::io::Write;
/// use std::time::Duration;
/// use enclog::follow::{FollowOptions, Follower};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("app.log");
/// std::fs::write(&path, "old line\n")?;
///
/// let mut follower = Follower::new(&path, FollowOptions::default())?;
/// let mut file = std::fs::OpenOptions::new().append(true).open(&path)?;
/// file.write_all(b"new ")?;
/// file.write_all(b"line\n")?;
/// let line = follower.next_line(Some(Duration::from_secs(10)))?.expect("a line");
/// assert_eq!(line.bytes, b"new line");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Follower {
    path: PathBuf,
    options: FollowOptions,
    file: Option<File>,
    id: Option<FileId>,
    /// Offset in the open file of the end of `buf`.
    pos: u64,
    buf: Vec<u8>,
    /// `buf[..start]` was delivered.
    start: usize,
    /// `buf[start..scanned]` holds no newline.
    scanned: usize,
    /// Discarding an over-long line up to its newline.
    skipping: bool,
    /// The path was reported gone and no new file has been seen yet.
    gone: bool,
    pending: VecDeque<Followed>,
    stopped: Arc<AtomicBool>,
    wake_tx: SyncSender<()>,
    wake: Receiver<()>,
    watcher: Option<notify::RecommendedWatcher>,
    /// File names whose events concern us: the path's own, and a symlink's target's.
    names: Arc<Mutex<Vec<OsString>>>,
    watched_dirs: Vec<PathBuf>,
}

impl fmt::Debug for Follower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Follower")
            .field("path", &self.path)
            .field("options", &self.options)
            .field("open", &self.file.is_some())
            .field("pos", &self.pos)
            .field("buffered", &(self.buf.len() - self.start))
            .field("watching", &self.watcher.is_some())
            .finish()
    }
}

impl Follower {
    /// Starts following `path`. The file need not exist yet; its parent directory should (else
    /// the follower polls). Fails if the file exists but cannot be opened or read.
    ///
    /// ```
    /// use std::time::Duration;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.log");
    /// std::fs::write(&path, "first\n")?;
    /// let options = enclog::follow::FollowOptions::default().from_start(true);
    /// let mut follower = enclog::follow::Follower::new(&path, options)?;
    /// let line = follower.next_line(Some(Duration::from_secs(5)))?.expect("a line");
    /// assert_eq!(line.bytes, b"first");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(path: impl AsRef<Path>, options: FollowOptions) -> Result<Follower, FollowError> {
        let path = path.as_ref().to_path_buf();
        let (wake_tx, wake) = sync_channel(1);
        let name = path.file_name().map(OsString::from).unwrap_or_default();
        let mut follower = Follower {
            path,
            options,
            file: None,
            id: None,
            pos: 0,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            skipping: false,
            gone: false,
            pending: VecDeque::new(),
            stopped: Arc::new(AtomicBool::new(false)),
            wake_tx,
            wake,
            watcher: None,
            names: Arc::new(Mutex::new(vec![name])),
            watched_dirs: Vec::new(),
        };
        // The watch starts before the file is opened, so that no append falls in between.
        if !follower.options.poll
            && let Err(reason) = follower.start_watcher()
        {
            follower
                .pending
                .push_back(Followed::Event(FollowEvent::Polling { reason }));
        }
        match File::open(&follower.path) {
            Ok(mut file) => {
                let meta = file.metadata().map_err(|e| follower.io("read", e))?;
                let start = if follower.options.from_start {
                    0
                } else {
                    start_of_last_lines(&mut file, meta.len(), follower.options.last_lines)
                        .map_err(|e| follower.io("read", e))?
                };
                file.seek(SeekFrom::Start(start))
                    .map_err(|e| follower.io("read", e))?;
                follower.pos = start;
                follower.id = file_id(&meta);
                follower.file = Some(file);
                follower.watch_symlink_target();
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(follower.io("open", e)),
        }
        Ok(follower)
    }

    /// The followed path.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.log");
    /// let follower = enclog::follow::Follower::new(&path, enclog::follow::FollowOptions::default())?;
    /// assert_eq!(follower.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether changes are watched (`false`: polled).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let options = enclog::follow::FollowOptions::default().poll(true); // e.g. on a network file system
    /// let follower = enclog::follow::Follower::new(dir.path().join("app.log"), options)?;
    /// assert!(!follower.is_watching());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_watching(&self) -> bool {
        self.watcher.is_some()
    }

    /// A handle that stops this follower from another thread.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let options = enclog::follow::FollowOptions::default();
    /// let mut follower = enclog::follow::Follower::new(dir.path().join("app.log"), options)?;
    /// let stopper = follower.stopper();
    /// std::thread::spawn(move || stopper.stop()).join().unwrap();
    /// assert!(follower.next_item(None)?.is_none()); // stopped: no wait
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stopper(&self) -> Stopper {
        Stopper {
            stopped: Arc::clone(&self.stopped),
            wake: self.wake_tx.clone(),
        }
    }

    /// The next line or event. Waits up to `timeout` (`None`: without limit) for one;
    /// `Ok(None)` when the time is up or the follower was stopped.
    ///
    /// An error leaves the follower usable: after [`FollowError::LineTooLong`] the next call
    /// goes on after the skipped line, after an I/O error it tries again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use enclog::follow::{FollowOptions, Followed, Follower};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.log");
    /// let options = FollowOptions::default().poll(true).poll_interval(Duration::from_millis(10)); /// options.poll_interval = Duration::from_millis(10);
    /// let mut follower = Follower::new(&path, options)?;
    /// std::fs::write(&path, "hello\n")?;
    /// let mut lines = Vec::new();
    /// while let Some(item) = follower.next_item(Some(Duration::from_secs(5)))? {
    ///     if let Followed::Line(line) = item {
    ///         lines.push(line.bytes);
    ///         break;
    ///     } // else an event, such as `FollowEvent::Appeared`
    /// }
    /// assert_eq!(lines, [b"hello"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_item(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Option<Followed>, FollowError> {
        // A timeout too large to add to now is no limit at all.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            if self.stopped.load(Ordering::SeqCst) {
                return Ok(None);
            }
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            if let Some(line) = self.take_line()? {
                return Ok(Some(Followed::Line(line)));
            }
            if self.read_more()? || self.check_path()? {
                continue;
            }
            let tick = self.options.poll_interval.max(Duration::from_millis(1));
            let wait = match deadline {
                None => tick,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    left.min(tick)
                }
            };
            // A wake-up, a tick or the deadline: all lead to another look at the file.
            let _ = self.wake.recv_timeout(wait);
        }
    }

    /// The next line, skipping events. Waits up to `timeout` (`None`: without limit);
    /// `Ok(None)` when the time is up or the follower was stopped.
    ///
    /// ```
    /// use std::time::Duration;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.log");
    /// std::fs::write(&path, "old\n")?;
    /// let mut follower = enclog::follow::Follower::new(&path, enclog::follow::FollowOptions::default())?;
    /// // Starts at the end: nothing new within the timeout.
    /// assert!(follower.next_line(Some(Duration::from_millis(50)))?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_line(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Option<FollowedLine>, FollowError> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            let left = match (timeout, deadline) {
                (Some(_), Some(deadline)) => {
                    Some(deadline.saturating_duration_since(Instant::now()))
                }
                _ => timeout,
            };
            match self.next_item(left)? {
                Some(Followed::Line(line)) => return Ok(Some(line)),
                Some(Followed::Event(_)) => continue,
                None => return Ok(None),
            }
        }
    }

    fn io(&self, action: &'static str, source: io::Error) -> FollowError {
        FollowError::Io {
            path: self.path.clone(),
            action,
            source,
        }
    }

    fn start_watcher(&mut self) -> Result<(), String> {
        let names = Arc::clone(&self.names);
        let wake = self.wake_tx.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let relevant = match &event {
                    // Our own reads and opens are access events; they say nothing new.
                    Ok(event) if matches!(event.kind, EventKind::Access(_)) => false,
                    Ok(event) if event.need_rescan() || event.paths.is_empty() => true,
                    Ok(event) => {
                        let names = names.lock().unwrap_or_else(|e| e.into_inner());
                        event
                            .paths
                            .iter()
                            .any(|p| p.file_name().is_some_and(|n| names.iter().any(|m| m == n)))
                    }
                    Err(_) => true,
                };
                if relevant {
                    let _ = wake.try_send(());
                }
            })
            .map_err(|e| e.to_string())?;
        let dir = parent_dir(&self.path);
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|e| format!("watching {}: {e}", dir.display()))?;
        self.watched_dirs.push(dir);
        self.watcher = Some(watcher);
        Ok(())
    }

    /// When the path is a symlink (e.g. tracing-appender's `latest_symlink`), writes go to its
    /// target, whose events carry the target's name: listen for that name too.
    fn watch_symlink_target(&mut self) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        let is_link = fs::symlink_metadata(&self.path).is_ok_and(|m| m.file_type().is_symlink());
        let target = if is_link {
            fs::canonicalize(&self.path).ok()
        } else {
            None
        };
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names.truncate(1);
        let Some(target) = target else {
            return;
        };
        if let Some(name) = target.file_name() {
            names.push(name.to_owned());
        }
        let dir = parent_dir(&target);
        if !self.watched_dirs.contains(&dir)
            && watcher.watch(&dir, RecursiveMode::NonRecursive).is_ok()
        {
            self.watched_dirs.push(dir);
        }
    }

    /// Takes the next complete line out of the buffer.
    fn take_line(&mut self) -> Result<Option<FollowedLine>, FollowError> {
        loop {
            let Some(found) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') else {
                self.scanned = self.buf.len();
                if self.skipping {
                    self.buf.clear();
                    self.start = 0;
                    self.scanned = 0;
                } else if self.buf.len() - self.start > self.options.max_line {
                    return Err(self.skip_long_line());
                }
                return Ok(None);
            };
            let end = self.scanned + found;
            let from = self.start;
            self.start = end + 1;
            self.scanned = self.start;
            if self.skipping {
                self.skipping = false;
                continue;
            }
            if end - from > self.options.max_line {
                return Err(self.too_long(from));
            }
            return Ok(Some(FollowedLine {
                bytes: self.buf[from..end].to_vec(),
                terminated: true,
            }));
        }
    }

    fn too_long(&self, from: usize) -> FollowError {
        FollowError::LineTooLong {
            path: self.path.clone(),
            offset: self.pos - (self.buf.len() - from) as u64,
            limit: self.options.max_line,
        }
    }

    fn skip_long_line(&mut self) -> FollowError {
        let error = self.too_long(self.start);
        self.skipping = true;
        self.buf.clear();
        self.buf.shrink_to(BLOCK);
        self.start = 0;
        self.scanned = 0;
        error
    }

    /// Reads the next block of the open file into the buffer; `false` at its end.
    fn read_more(&mut self) -> Result<bool, FollowError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(false);
        };
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + BLOCK, 0);
        let read = loop {
            match file.read(&mut self.buf[old..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match read {
            Ok(n) => {
                self.buf.truncate(old + n);
                self.pos += n as u64;
                Ok(n > 0)
            }
            Err(e) => {
                self.buf.truncate(old);
                Err(self.io("read", e))
            }
        }
    }

    /// At the end of the open file: looks at what the path holds now. `true` when something
    /// changed (a new file, a truncation, an event to deliver).
    fn check_path(&mut self) -> Result<bool, FollowError> {
        let meta = match fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.file.is_some() && !self.gone {
                    self.gone = true;
                    self.pending
                        .push_back(Followed::Event(FollowEvent::Disappeared));
                    return Ok(true);
                }
                return Ok(false);
            }
            Err(e) => return Err(self.io("look at", e)),
        };
        let id = file_id(&meta);
        if self.file.is_none() {
            return self.switch(FollowEvent::Appeared);
        }
        if id.is_some() && id != self.id {
            // The writer may have appended to the old file after our last read.
            if self.read_more()? {
                return Ok(true);
            }
            return self.switch(FollowEvent::Rotated);
        }
        self.gone = false;
        if meta.len() < self.pos {
            self.flush_partial();
            if let Some(file) = self.file.as_mut() {
                file.seek(SeekFrom::Start(0)).map_err(|e| FollowError::Io {
                    path: self.path.clone(),
                    action: "rewind",
                    source: e,
                })?;
            }
            self.pos = 0;
            self.pending
                .push_back(Followed::Event(FollowEvent::Truncated));
            return Ok(true);
        }
        Ok(false)
    }

    /// Opens the file now at the path and reads it from its start.
    fn switch(&mut self, event: FollowEvent) -> Result<bool, FollowError> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            // Gone again already: the next look will tell.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(self.io("open", e)),
        };
        let meta = file.metadata().map_err(|e| self.io("read", e))?;
        self.flush_partial();
        self.id = file_id(&meta);
        self.file = Some(file);
        self.pos = 0;
        self.gone = false;
        self.watch_symlink_target();
        self.pending.push_back(Followed::Event(event));
        Ok(true)
    }

    /// The old file ended mid-line: deliver what there is rather than join it to the new file.
    fn flush_partial(&mut self) {
        if !self.skipping && self.start < self.buf.len() {
            let bytes = self.buf[self.start..].to_vec();
            self.pending.push_back(Followed::Line(FollowedLine {
                bytes,
                terminated: false,
            }));
        }
        self.skipping = false;
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
    }
}

impl Iterator for Follower {
    type Item = Result<Followed, FollowError>;

    /// Waits without limit; `None` once stopped.
    fn next(&mut self) -> Option<Self::Item> {
        self.next_item(None).transpose()
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
