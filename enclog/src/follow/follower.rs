//! [`Follower`] itself: the open files, the watcher, and what is done on each wake-up.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, Metadata};
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

use super::open_file::{Inode, OpenFile};
use super::tail::start_of_last_lines;
use super::{
    FileId, FollowError, FollowEvent, FollowOptions, Followed, FollowedLine, QUIET_AFTER_FINISH,
    Stopper,
};

#[cfg(unix)]
fn inode(meta: &Metadata) -> Option<Inode> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

/// Without (device, inode), rotation is noticed only as truncation or disappearance.
#[cfg(not(unix))]
fn inode(_meta: &Metadata) -> Option<Inode> {
    None
}

/// Follows a file like `tail -F`: yields each complete line appended to it, across rotation,
/// truncation and deletion, never half a line.
///
/// [`Follower::next_item`] yields lines and [`FollowEvent`]s, [`Follower::next_line`] lines
/// only; both wait up to a timeout. As an [`Iterator`], it waits without limit and ends when
/// stopped ([`Follower::stopper`]).
///
/// After a rotation the old file is still read, by its open handle, until its writer is done
/// with it (see [`FollowOptions::grace`] and [`Follower::finish`]): each line is delivered
/// once, with the [`FileId`] of the file it was read from.
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
    /// The file now at the path (or last seen there, if it is gone).
    current: Option<OpenFile>,
    /// Files rotated away whose writer may still append to them, oldest first.
    draining: Vec<OpenFile>,
    /// The [`FileId`] of the next file opened.
    next_id: u64,
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
    /// `!draining.is_empty()`, for the watcher: while an old file is drained, any change in the
    /// directory wakes the follower (the old file's new name is not known).
    any_change_wakes: Arc<AtomicBool>,
    /// The current file's buffered lines wait until the rotated-away files have been read to
    /// their end (see [`Follower::read_more`]).
    current_held: bool,
    /// Runs between the current file's read and the old files' in [`Follower::read_more`]: a
    /// test's writer acts there.
    #[cfg(test)]
    between_reads: Option<Box<dyn FnMut() + Send>>,
}

impl fmt::Debug for Follower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Follower")
            .field("path", &self.path)
            .field("options", &self.options)
            .field("open", &self.current.as_ref().map(|f| f.id))
            .field("pos", &self.current.as_ref().map(|f| f.pos))
            .field("buffered", &self.current.as_ref().map(OpenFile::buffered))
            .field(
                "draining",
                &self.draining.iter().map(|f| f.id).collect::<Vec<_>>(),
            )
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
            current: None,
            draining: Vec::new(),
            next_id: 0,
            gone: false,
            pending: VecDeque::new(),
            stopped: Arc::new(AtomicBool::new(false)),
            wake_tx,
            wake,
            watcher: None,
            names: Arc::new(Mutex::new(vec![name])),
            watched_dirs: Vec::new(),
            any_change_wakes: Arc::new(AtomicBool::new(false)),
            current_held: false,
            #[cfg(test)]
            between_reads: None,
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
                let id = follower.new_id();
                follower.current = Some(OpenFile::new(file, id, inode(&meta), start));
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
            if self.read_more()? || self.check_path()? || self.let_go_of_done_files() {
                continue;
            }
            let mut tick = self.options.poll_interval.max(Duration::from_millis(1));
            if let Some(end) = self.next_grace_end() {
                let left = end.saturating_duration_since(Instant::now());
                tick = tick.min(left.max(Duration::from_millis(1)));
            }
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

    /// Tells the follower that no more lines will be written to `file` as far as the lines
    /// delivered so far show: typically, the caller saw the close record of the last session
    /// open in it. A rotated-away file is then let go of once it has been quiet (not grown) for
    /// [`QUIET_AFTER_FINISH`] (half a second) instead of [`FollowOptions::grace`], whichever is
    /// shorter, counted from the rotation or its last growth, whichever is later. Never at once:
    /// the caller knows only the sessions it has seen, and another writer sharing the file
    /// (one whose earlier lines it never read) may not have noticed the rotation yet.
    ///
    /// Called for the current file, it takes effect if that file is rotated away later. A line
    /// delivered from `file` after this call cancels it (the writer was not done after all:
    /// e.g. it started its next session in the same file, or another writer wrote to it).
    ///
    /// ```
    /// use std::time::Duration;
    /// use enclog::follow::{FollowOptions, Follower};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.log");
    /// std::fs::write(&path, "last words of the old writer\n")?;
    /// let mut follower = Follower::new(&path, FollowOptions::default().from_start(true))?;
    /// let line = follower.next_line(Some(Duration::from_secs(10)))?.expect("a line");
    /// // Say, a close record: no more lines will come into this file.
    /// follower.finish(line.file);
    /// std::fs::rename(&path, dir.path().join("app.log.1"))?;
    /// std::fs::write(&path, "first line of the new file\n")?;
    /// let line = follower.next_line(Some(Duration::from_secs(10)))?.expect("a line");
    /// assert_eq!(line.bytes, b"first line of the new file");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(&mut self, file: FileId) {
        for open in self.draining.iter_mut().chain(self.current.as_mut()) {
            if open.id == file {
                open.finished = true;
            }
        }
    }

    /// The file now at the path (or last seen there); `None` before any file was opened. A
    /// line whose [`FollowedLine::file`] differs was read from a file rotated away.
    ///
    /// ```
    /// use std::time::Duration;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.log");
    /// std::fs::write(&path, "hello\n")?;
    /// let options = enclog::follow::FollowOptions::default().from_start(true);
    /// let mut follower = enclog::follow::Follower::new(&path, options)?;
    /// let line = follower.next_line(Some(Duration::from_secs(10)))?.expect("a line");
    /// assert_eq!(follower.current_file(), Some(line.file));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn current_file(&self) -> Option<FileId> {
        self.current.as_ref().map(|f| f.id)
    }

    /// How many rotated-away files are still read (see [`FollowOptions::grace`]).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let follower = enclog::follow::Follower::new(
    ///     dir.path().join("app.log"),
    ///     enclog::follow::FollowOptions::default(),
    /// )?;
    /// assert_eq!(follower.draining(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn draining(&self) -> usize {
        self.draining.len()
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
        let any_change_wakes = Arc::clone(&self.any_change_wakes);
        let wake = self.wake_tx.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let relevant = match &event {
                    // Our own reads and opens are access events; they say nothing new.
                    Ok(event) if matches!(event.kind, EventKind::Access(_)) => false,
                    Ok(event) if event.need_rescan() || event.paths.is_empty() => true,
                    // A rotated-away file has a name we do not know (app.log.1, or another).
                    Ok(_) if any_change_wakes.load(Ordering::Relaxed) => true,
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

    /// Takes the next complete line out of the buffers: the rotated-away files' first, oldest
    /// first (what they hold was mostly written before the newer files' lines), then the
    /// current file's, unless they are held back (see [`Follower::read_more`]).
    fn take_line(&mut self) -> Result<Option<FollowedLine>, FollowError> {
        let max_line = self.options.max_line;
        let current = self.current.as_mut().filter(|_| !self.current_held);
        for file in self.draining.iter_mut().chain(current) {
            if let Some(line) = file.take_line(&self.path, max_line)? {
                return Ok(Some(line));
            }
        }
        Ok(None)
    }

    /// Reads the next block of every open file; `false` when all are at their end and nothing
    /// was released.
    ///
    /// The current file is read **first**, and while rotated-away files are drained what that
    /// read brought is held back until each of them has been read to its end afterwards.
    /// A writer writes its last lines into the old file before it reopens and writes into the
    /// new one; so every old line written before a new line that was read is on disk by the
    /// time the old files are read, and is delivered first. (Reading the old files first would
    /// leave a gap in which a writer could add its last old line and its first new one: the
    /// new line would come out before the old.) While held, the current file is not read
    /// again: what is held is one read's worth.
    fn read_more(&mut self) -> Result<bool, FollowError> {
        let mut grew = false;
        if !self.current_held {
            grew = self.read_current()?;
            self.current_held = grew && !self.draining.is_empty();
        }
        #[cfg(test)]
        if let Some(hook) = self.between_reads.as_mut() {
            hook();
        }
        let mut all_at_end = true;
        let mut i = 0;
        while i < self.draining.len() {
            match self.draining[i].read_more() {
                Ok(more) => {
                    grew |= more;
                    all_at_end &= !more;
                }
                Err(e) => {
                    // A rotated-away file that cannot be read any more (its file system gone):
                    // report it once and let it go, rather than fail on every call.
                    let mut file = self.draining.remove(i);
                    if let Some(line) = file.take_partial() {
                        self.pending.push_back(Followed::Line(line));
                    }
                    self.update_any_change_wakes();
                    return Err(self.io("read the rotated-away file", e));
                }
            }
            i += 1;
        }
        let released = self.current_held && all_at_end;
        if released {
            self.current_held = false;
        }
        Ok(grew || released)
    }

    /// Reads the next block of the current file; `false` at its end.
    fn read_current(&mut self) -> Result<bool, FollowError> {
        match self.current.as_mut().map(OpenFile::read_more) {
            None => Ok(false),
            Some(Ok(more)) => Ok(more),
            Some(Err(e)) => Err(self.io("read", e)),
        }
    }

    /// At the end of every open file: looks at what the path holds now. `true` when something
    /// changed (a new file, a truncation, an event to deliver).
    fn check_path(&mut self) -> Result<bool, FollowError> {
        let meta = match fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.current.is_some() && !self.gone {
                    self.gone = true;
                    self.pending
                        .push_back(Followed::Event(FollowEvent::Disappeared));
                    return Ok(true);
                }
                return Ok(false);
            }
            Err(e) => return Err(self.io("look at", e)),
        };
        let id = inode(&meta);
        let Some(current) = self.current.as_mut() else {
            return self.switch(FollowEvent::Appeared);
        };
        if id.is_some() && id != current.inode {
            // The writer may have appended to the old file after our last read: its lines come
            // first (it goes on being read after the switch as well). Read as every round is,
            // the files rotated away before it after it.
            if self.read_more()? {
                return Ok(true);
            }
            return self.switch(FollowEvent::Rotated);
        }
        self.gone = false;
        if meta.len() < current.pos {
            let partial = current.take_partial();
            let rewound = current.rewind();
            self.pending.extend(partial.map(Followed::Line));
            rewound.map_err(|e| self.io("rewind", e))?;
            self.pending
                .push_back(Followed::Event(FollowEvent::Truncated));
            return Ok(true);
        }
        Ok(false)
    }

    /// Opens the file now at the path and reads it from its start; the one it replaces is
    /// drained until its writer is done with it.
    fn switch(&mut self, event: FollowEvent) -> Result<bool, FollowError> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            // Gone again already: the next look will tell.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(self.io("open", e)),
        };
        let meta = file.metadata().map_err(|e| self.io("read", e))?;
        let id = self.new_id();
        if let Some(mut old) = self
            .current
            .replace(OpenFile::new(file, id, inode(&meta), 0))
        {
            // The grace period runs from the rotation, even for a file that was quiet before.
            old.last_growth = Instant::now();
            self.draining.push(old);
            self.update_any_change_wakes();
        }
        self.gone = false;
        self.watch_symlink_target();
        self.pending.push_back(Followed::Event(event));
        Ok(true)
    }

    /// At the end of every open file: lets go of the rotated-away files that are done (quiet
    /// for the grace period, or for the shorter [`QUIET_AFTER_FINISH`] once the caller said so). `true` when that left
    /// something to deliver (an unfinished last line).
    fn let_go_of_done_files(&mut self) -> bool {
        let before = self.pending.len();
        let mut kept = Vec::with_capacity(self.draining.len());
        for mut file in std::mem::take(&mut self.draining) {
            if file.last_growth.elapsed() >= self.quiet_period(&file) {
                if let Some(line) = file.take_partial() {
                    self.pending.push_back(Followed::Line(line));
                }
            } else {
                kept.push(file);
            }
        }
        self.draining = kept;
        self.update_any_change_wakes();
        self.pending.len() > before
    }

    /// When the first rotated-away file's grace period ends.
    fn next_grace_end(&self) -> Option<Instant> {
        self.draining
            .iter()
            .filter_map(|f| f.last_growth.checked_add(self.quiet_period(f)))
            .min()
    }

    /// How long a rotated-away file must stay quiet before it is let go of: the grace period,
    /// or, once the caller said it is done, [`QUIET_AFTER_FINISH`] if that is shorter. Never
    /// zero after [`Follower::finish`] alone: another writer that has not noticed the rotation
    /// yet may still append to the file (the caller only knows the sessions it has seen).
    fn quiet_period(&self, file: &OpenFile) -> Duration {
        if file.finished {
            self.options.grace.min(QUIET_AFTER_FINISH)
        } else {
            self.options.grace
        }
    }

    fn update_any_change_wakes(&self) {
        self.any_change_wakes
            .store(!self.draining.is_empty(), Ordering::Relaxed);
    }

    fn new_id(&mut self) -> FileId {
        let id = FileId(self.next_id);
        self.next_id += 1;
        id
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A writer that reopens between the follower's reads: its last line in the old file and
    /// its first in the new one both land between the two reads of one look. The old line is
    /// still delivered first (reading the old file first, then the new one, would deliver the
    /// new line first: it was on disk for the second read, the old one not for the first).
    #[test]
    fn a_writers_last_old_line_comes_before_its_first_new_line_whatever_the_interleaving() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        fs::write(&path, "").unwrap();
        let options = FollowOptions::default()
            .poll(true)
            .poll_interval(Duration::from_millis(10));
        let mut follower = Follower::new(&path, options).unwrap();
        let mut old = fs::OpenOptions::new().append(true).open(&path).unwrap();
        fs::rename(&path, dir.path().join("app.log.1")).unwrap();
        fs::write(&path, "").unwrap();
        let wait = Some(Duration::from_secs(10));
        assert_eq!(
            follower.next_item(wait).unwrap(),
            Some(Followed::Event(FollowEvent::Rotated))
        );
        assert_eq!(
            follower.next_item(Some(Duration::from_millis(50))).unwrap(),
            None
        );

        let new_path = path.clone();
        let mut acted = false;
        follower.between_reads = Some(Box::new(move || {
            if !std::mem::replace(&mut acted, true) {
                old.write_all(b"last old line\n").unwrap();
                let mut new = fs::OpenOptions::new().append(true).open(&new_path).unwrap();
                new.write_all(b"first new line\n").unwrap();
            }
        }));
        let first = follower.next_line(wait).unwrap().expect("a line");
        let second = follower.next_line(wait).unwrap().expect("a line");
        assert_eq!(
            [first.bytes, second.bytes],
            [b"last old line".to_vec(), b"first new line".to_vec()]
        );
        assert_eq!(follower.current_file(), Some(second.file));
        assert_ne!(first.file, second.file);
    }

    /// The hook between the reads runs at every look; once the current file's lines are held,
    /// they are released when the old files are at their end, even if nothing else happens.
    #[test]
    fn held_lines_of_the_new_file_are_delivered_once_the_old_file_is_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        fs::write(&path, "").unwrap();
        let mut follower = Follower::new(&path, FollowOptions::default()).unwrap();
        let mut old = fs::OpenOptions::new().append(true).open(&path).unwrap();
        fs::rename(&path, dir.path().join("app.log.1")).unwrap();
        fs::write(&path, "").unwrap();
        let wait = Some(Duration::from_secs(10));
        assert_eq!(
            follower.next_item(wait).unwrap(),
            Some(Followed::Event(FollowEvent::Rotated))
        );
        // New lines and old lines already on disk: the old come first, then the new, each once.
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"new 0\nnew 1\n")
            .unwrap();
        old.write_all(b"old 0\nold 1\n").unwrap();
        let mut lines = Vec::new();
        while lines.len() < 4 {
            let line = follower.next_line(wait).unwrap().expect("a line");
            lines.push(String::from_utf8(line.bytes).unwrap());
        }
        assert_eq!(lines, ["old 0", "old 1", "new 0", "new 1"]);
        assert_eq!(
            follower
                .next_item(Some(Duration::from_millis(100)))
                .unwrap(),
            None
        );
    }
}
