//! [`NonBlocking`]: a `tracing` writer that seals and writes on a worker thread, so that the
//! logging thread pays for formatting, a lock and a copy — not for encryption or I/O.
//!
//! How it hands events over: the logging threads append each formatted event to one shared
//! batch under a mutex (as `Mutex<BufWriter<W>>` would: one lock, one copy, no allocation once
//! warm); the worker swaps the whole batch for an empty one, then seals and writes its events
//! in order. The worker is the only thread that seals, so lines reach the writer in sequence
//! order without any further lock. It is woken only when it sleeps on an empty batch, and it
//! lets a short batch fill a little before taking it, so a busy logging thread is not
//! interrupted by a wake-up per event (`tracing_appender::non_blocking` allocates each event
//! and sends it through a channel; see `BENCHMARKS.md`).
//!
//! With enclog's field formatter ([`SealedFields`](crate::tracing::fields::SealedFields)), the
//! logging thread queues the event's real line and where its values to seal are (instead of the
//! redacted line the formatter wrote), and the worker seals them: no sealed value is sealed or
//! written on the logging thread, and none is written in clear.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use tracing_subscriber::fmt::MakeWriter;

use std::path::Path;

use crate::error::SealError;
use crate::fields::IndexKey;
use crate::file::LogFile;
use crate::seal::failure::{FailureState, WriteErrorPolicy};
use crate::seal::{Sealer, SealingKey};
use crate::tracing::SetupError;

mod worker;

use worker::{Batch, Dropped, Output, Plain, Queued, Shared, State, Worker, queue_fields};

use crate::tracing::fields::handover;

/// Builds a [`NonBlocking`] writer: how many events may wait, and what happens when that many
/// do.
///
/// ```
/// let key = enclog::Key::generate()?;
/// let (writer, guard) = enclog::non_blocking::NonBlockingBuilder::default()
///     .buffered_lines_limit(10_000)
///     .lossy(true) // drop (and count) events rather than block when 10,000 are waiting
///     .clear_level(true)
///     .finish(key, std::io::sink())?;
/// assert_eq!(guard.lost_lines(), 0);
/// # drop(writer);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct NonBlockingBuilder {
    lines_limit: usize,
    lossy: bool,
    clear_level: bool,
    clear_timestamp: bool,
    error_policy: WriteErrorPolicy,
    thread_name: String,
    shutdown_timeout: Option<Duration>,
    index_key: Option<IndexKey>,
}

impl Default for NonBlockingBuilder {
    /// 128,000 waiting events (as `tracing_appender`), blocking (not lossy) when full, no clear
    /// metadata, write errors reported once on stderr, the guard waiting until everything is
    /// written.
    fn default() -> NonBlockingBuilder {
        NonBlockingBuilder {
            lines_limit: 128_000,
            lossy: false,
            clear_level: false,
            clear_timestamp: false,
            error_policy: WriteErrorPolicy::ReportOnce,
            thread_name: "enclog-writer".into(),
            shutdown_timeout: None,
            index_key: None,
        }
    }
}

impl NonBlockingBuilder {
    /// At most this many events wait for the worker (at least 1), besides the batch it is
    /// writing. Events that the worker's own writer logs through this writer are never held
    /// back (the worker cannot wait for room that only it makes).
    ///
    /// ```
    /// let builder = enclog::non_blocking::NonBlockingBuilder::default().buffered_lines_limit(1_000);
    /// # let _ = builder;
    /// ```
    pub fn buffered_lines_limit(mut self, limit: usize) -> Self {
        self.lines_limit = limit.max(1);
        self
    }

    /// When the limit is reached: `false` (the default) makes logging threads wait for the
    /// worker, so no event is lost; `true` drops the event instead, counts it in
    /// [`NonBlockingGuard::lost_lines`] and reports it (once until writing catches up) as the
    /// error policy says.
    ///
    /// ```
    /// let builder = enclog::non_blocking::NonBlockingBuilder::default().lossy(true);
    /// # let _ = builder;
    /// ```
    pub fn lossy(mut self, lossy: bool) -> Self {
        self.lossy = lossy;
        self
    }

    /// Writes each event's level in clear before the token, as
    /// [`EncryptedWriter::clear_level`](crate::EncryptedWriter::clear_level).
    ///
    /// ```
    /// let builder = enclog::non_blocking::NonBlockingBuilder::default().clear_level(true);
    /// # let _ = builder;
    /// ```
    pub fn clear_level(mut self, on: bool) -> Self {
        self.clear_level = on;
        self
    }

    /// Writes each event's time (taken on the logging thread) in clear before the token, as
    /// [`EncryptedWriter::clear_timestamp`](crate::EncryptedWriter::clear_timestamp).
    ///
    /// ```
    /// let builder = enclog::non_blocking::NonBlockingBuilder::default().clear_timestamp(true);
    /// # let _ = builder;
    /// ```
    pub fn clear_timestamp(mut self, on: bool) -> Self {
        self.clear_timestamp = on;
        self
    }

    /// What happens when the writer fails ([`WriteErrorPolicy`]).
    ///
    /// ```
    /// let builder = enclog::non_blocking::NonBlockingBuilder::default()
    ///     .error_policy(enclog::seal::WriteErrorPolicy::Silent);
    /// # let _ = builder;
    /// ```
    pub fn error_policy(mut self, policy: WriteErrorPolicy) -> Self {
        self.error_policy = policy;
        self
    }

    /// How long dropping the guard waits for the worker to write what is queued (default: until
    /// it is done). A writer stuck on a hung network file system would otherwise hold the
    /// program's exit; after the timeout the guard reports it and returns, and what was still
    /// queued may be lost.
    ///
    /// ```
    /// let builder = enclog::non_blocking::NonBlockingBuilder::default()
    ///     .shutdown_timeout(std::time::Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// The key of the blind indexes that [sealed fields](crate::tracing::fields) write, as
    /// [`EncryptedWriter::index_key`](crate::EncryptedWriter::index_key): needed to index
    /// fields when the key is a recipient.
    ///
    /// ```
    /// let index_key = enclog::fields::IndexKey::from_key(&enclog::Key::generate()?);
    /// let builder = enclog::non_blocking::NonBlockingBuilder::default().index_key(index_key);
    /// # let _ = builder;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn index_key(mut self, key: IndexKey) -> Self {
        self.index_key = Some(key);
        self
    }

    /// The worker thread's name (default `enclog-writer`).
    ///
    /// ```
    /// let builder = enclog::non_blocking::NonBlockingBuilder::default().thread_name("audit-log");
    /// # let _ = builder;
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Starts the worker, which seals under `key` (a symmetric key, a recipient, or a
    /// zato-enclog Fernet key) and writes to `writer`. The session starts here, so an unusable
    /// random number generator is an error now rather than lost lines later (fail closed).
    /// Keep the guard: dropping it writes what is waiting, the session's close record, and
    /// flushes.
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let (writer, _guard) = enclog::non_blocking::NonBlockingBuilder::default().finish(key, std::io::sink())?;
    /// let subscriber = tracing_subscriber::fmt().with_writer(writer).finish();
    /// tracing::subscriber::with_default(subscriber, || tracing::info!("sealed on the worker"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish<W>(
        self,
        key: impl Into<SealingKey>,
        writer: W,
    ) -> Result<(NonBlocking, NonBlockingGuard), SealError>
    where
        W: Write + Send + 'static,
    {
        self.start(key.into(), Plain(writer), None)
    }

    /// Starts the worker like [`NonBlockingBuilder::finish`], writing to the file at `path`
    /// (created, mode 0640, if missing; appended to otherwise), which it follows across log
    /// rotations ([`LogFile`]): when logrotate renames the file and creates a new one, the
    /// worker notices within 100 ms (a deletion: after a second), writes the session's close
    /// record into the old file and goes on in the new one, where the next session links to
    /// the closed one. [`NonBlockingGuard::reopen`] asks for a reopen right away
    /// (`postrotate`).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let (writer, guard) = enclog::non_blocking::NonBlockingBuilder::default()
    ///     .clear_level(true)
    ///     .finish_file(dir.path().join("app.log"), enclog::Key::generate()?)?;
    /// let subscriber = tracing_subscriber::fmt().with_writer(writer).finish();
    /// tracing::subscriber::with_default(subscriber, || tracing::info!("into app.log"));
    /// drop(guard);
    /// assert_eq!(std::fs::read_to_string(dir.path().join("app.log"))?.lines().count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish_file(
        self,
        path: impl AsRef<Path>,
        key: impl Into<SealingKey>,
    ) -> Result<(NonBlocking, NonBlockingGuard), SetupError> {
        let path = path.as_ref();
        let file = LogFile::open(path).map_err(|source| SetupError::Open {
            path: path.to_owned(),
            source,
        })?;
        let reopen = file.reopen_flag();
        self.start(key.into(), file, Some(reopen))
            .map_err(SetupError::Seal)
    }

    fn start<W: Output + Send + 'static>(
        self,
        key: SealingKey,
        writer: W,
        reopen: Option<Arc<AtomicBool>>,
    ) -> Result<(NonBlocking, NonBlockingGuard), SealError> {
        let sealer = Sealer::new(key);
        if self.index_key.is_some() {
            sealer.set_index_key(self.index_key);
        }
        sealer.start()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            space: Condvar::new(),
            failures: FailureState::new(self.error_policy),
            lines_limit: self.lines_limit,
            lossy: self.lossy,
            in_flight: AtomicUsize::new(0),
            worker: OnceLock::new(),
            fork_generation: enclog_fork::generation(),
            dropped: AtomicU64::new(0),
            dropped_reported: AtomicBool::new(false),
            sealer: sealer.clone(),
            reopen,
        });
        let worker = Worker {
            shared: Arc::clone(&shared),
            sealer,
            writer,
            spare: Batch::default(),
            event: Vec::new(),
            line: Vec::new(),
            values: Vec::new(),
        };
        let handle = std::thread::Builder::new()
            .name(self.thread_name)
            .spawn(move || worker.run())
            .map_err(SealError::Worker)?;
        let writer = NonBlocking {
            shared: Arc::clone(&shared),
            clear_level: self.clear_level,
            clear_timestamp: self.clear_timestamp,
        };
        let guard = NonBlockingGuard {
            shared,
            handle: Some(handle),
            shutdown_timeout: self.shutdown_timeout,
        };
        Ok((writer, guard))
    }
}

/// Seals events on a worker thread, with the defaults of [`NonBlockingBuilder`].
///
/// ```
/// use tracing_subscriber::fmt;
/// let key = enclog::Key::generate()?;
/// let file = tempfile::NamedTempFile::new()?;
/// let (writer, guard) = enclog::non_blocking(key.clone(), file.reopen()?)?;
/// let subscriber = fmt().with_writer(writer).with_ansi(false).finish();
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!(card = "4111 1111 1111 1111", "payment accepted");
/// });
/// drop(guard); // waits for the worker: every event written, then the close record
///
/// let log = std::fs::read(file.path())?;
/// let mut opener = enclog::Opener::new(key.into());
/// let first = log.split_inclusive(|&b| b == b'\n').next().unwrap();
/// let event = String::from_utf8(opener.open(first).unwrap()?.plaintext.to_vec())?;
/// assert!(event.contains("payment accepted") && event.contains("4111"));
/// assert!(!String::from_utf8_lossy(&log).contains("4111")); // on disk: ciphertext only
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn non_blocking<W>(
    key: impl Into<SealingKey>,
    writer: W,
) -> Result<(NonBlocking, NonBlockingGuard), SealError>
where
    W: Write + Send + 'static,
{
    NonBlockingBuilder::default().finish(key, writer)
}

/// Seals events on a worker thread into the file at `path`, which it follows across log
/// rotations, with the defaults of [`NonBlockingBuilder`] (see
/// [`NonBlockingBuilder::finish_file`]).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("app.log");
/// let (writer, guard) = enclog::non_blocking::file(&path, enclog::Key::generate()?)?;
/// let subscriber = tracing_subscriber::fmt().with_writer(writer).finish();
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!("before the rotation");
///     std::thread::sleep(std::time::Duration::from_millis(50)); // the worker writes it
///     std::fs::rename(&path, dir.path().join("app.log.1")).unwrap(); // logrotate
///     guard.reopen(); // or let the worker notice (within 100 ms)
///     tracing::info!("after the rotation");
/// });
/// drop(guard);
/// let lines = |p| std::fs::read_to_string(p).unwrap().lines().count();
/// assert_eq!(lines(dir.path().join("app.log.1")), 2); // the event and the close record
/// assert_eq!(lines(path), 2); // the next session's event and its close record
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn file(
    path: impl AsRef<Path>,
    key: impl Into<SealingKey>,
) -> Result<(NonBlocking, NonBlockingGuard), SetupError> {
    NonBlockingBuilder::default().finish_file(path, key)
}

/// A `tracing_subscriber::fmt` writer whose events are sealed and written by a worker thread
/// (see [`non_blocking`]). Cheap to clone: clones feed the same worker.
///
/// Events are queued in the order their writers are created (each holds the queue's lock from
/// `make_writer` until it is dropped, as `Mutex<W>` does: holding two on one thread deadlocks)
/// and written in that order. After a `fork()` the child has no worker: its events are dropped
/// and counted; set up a new writer there.
///
/// ```
/// let key = enclog::Key::generate()?;
/// let file = tempfile::NamedTempFile::new()?;
/// let (writer, guard) = enclog::non_blocking(key, file.reopen()?)?;
/// let subscriber = tracing_subscriber::fmt().with_writer(writer.clone()).finish();
/// tracing::subscriber::with_default(subscriber, || tracing::info!("queued, then sealed"));
/// drop(guard); // the worker writes what is queued and the close record
/// assert_eq!(writer.lost_lines(), 0);
/// assert_eq!(std::fs::read_to_string(file.path())?.lines().count(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct NonBlocking {
    shared: Arc<Shared>,
    clear_level: bool,
    clear_timestamp: bool,
}

impl std::fmt::Debug for NonBlocking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonBlocking")
            .field("clear_level", &self.clear_level)
            .field("clear_timestamp", &self.clear_timestamp)
            .field("lost_lines", &self.shared.failures.lost())
            .finish_non_exhaustive()
    }
}

impl NonBlocking {
    /// Events lost so far: dropped because the queue was full (lossy mode) or the worker had
    /// stopped, or because the writer failed.
    ///
    /// ```
    /// let (writer, _guard) = enclog::non_blocking(enclog::Key::generate()?, std::io::sink())?;
    /// assert_eq!(writer.lost_lines(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lost_lines(&self) -> u64 {
        self.shared.failures.lost()
    }

    /// The sealer the worker seals with: [`Sealer::set_key`] (or a `KeyReloader`) changes the
    /// key from the worker's next line on.
    ///
    /// ```
    /// let (old, new) = (enclog::Key::generate()?, enclog::Key::generate()?);
    /// let (writer, _guard) = enclog::non_blocking(old.clone(), std::io::sink())?;
    /// assert_eq!(writer.sealer().key_id(), old.id());
    /// writer.sealer().set_key(new.clone());
    /// assert_eq!(writer.sealer().key_id(), new.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sealer(&self) -> &Sealer {
        &self.shared.sealer
    }

    /// Whether this is the worker thread (its writer logging through this writer).
    fn is_worker(&self) -> bool {
        self.shared.worker.get() == Some(&std::thread::current().id())
    }

    fn pending(&self, level: Option<tracing_core::Level>) -> PendingEvent<'_> {
        if self.shared.forked() {
            // The worker, and maybe the queue's lock, belong to the parent.
            return PendingEvent::dropped(&self.shared, Dropped::Forked);
        }
        let mut state = self.shared.lock();
        loop {
            if state.shutdown || state.worker_gone {
                let why = if self.is_worker() {
                    Dropped::WorkerShuttingDown
                } else {
                    Dropped::Stopped
                };
                return PendingEvent::dropped(&self.shared, why);
            }
            if state.batch.events.len() < self.shared.lines_limit {
                break;
            }
            if self.is_worker() {
                break; // the worker's writer logs: waiting for room would wait for itself
            }
            if self.shared.lossy {
                return PendingEvent::dropped(&self.shared, Dropped::Full);
            }
            state.callers_waiting += 1;
            state = self
                .shared
                .space
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.callers_waiting -= 1;
        }
        let start = state.batch.data.len();
        PendingEvent {
            shared: &self.shared,
            state: Some(state),
            start,
            level: level.filter(|_| self.clear_level),
            time: self.clear_timestamp.then(SystemTime::now),
            dropped: None,
            wrote: false,
        }
    }
}

impl<'a> MakeWriter<'a> for NonBlocking {
    type Writer = PendingEvent<'a>;

    fn make_writer(&'a self) -> PendingEvent<'a> {
        self.pending(None)
    }

    fn make_writer_for(&'a self, meta: &tracing_core::Metadata<'_>) -> PendingEvent<'a> {
        self.pending(Some(*meta.level()))
    }
}

/// One event on its way to the worker, returned by [`NonBlocking`]'s `make_writer`: what is
/// written to it is appended to the worker's queue (under its lock, held until the writer is
/// dropped) and becomes one line.
///
/// ```
/// use std::io::Write;
/// use tracing_subscriber::fmt::MakeWriter;
/// let key = enclog::Key::generate()?;
/// let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
/// # #[derive(Clone)] struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
/// # impl Write for Shared {
/// #     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(b) }
/// #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// # }
/// let (writer, guard) = enclog::non_blocking(key.clone(), Shared(out.clone()))?;
/// let mut event: enclog::non_blocking::PendingEvent<'_> = writer.make_writer();
/// event.write_all(b"part one, ")?;
/// event.write_all(b"part two\n")?;
/// drop(event); // queued as one event
/// drop(guard);
/// let log = out.lock().unwrap().clone();
/// let mut opener = enclog::Opener::new(key.into());
/// assert_eq!(opener.open(&log).unwrap()?.plaintext, b"part one, part two");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PendingEvent<'a> {
    shared: &'a Shared,
    /// The queue, locked while the event is written into it; `None` if the event is dropped.
    state: Option<MutexGuard<'a, State>>,
    /// Where the event starts in the batch.
    start: usize,
    level: Option<tracing_core::Level>,
    time: Option<SystemTime>,
    /// Why the event is dropped, if it is.
    dropped: Option<Dropped>,
    /// Whether anything was written (an empty event is no event, dropped or not).
    wrote: bool,
}

impl<'a> PendingEvent<'a> {
    fn dropped(shared: &'a Shared, why: Dropped) -> PendingEvent<'a> {
        PendingEvent {
            shared,
            state: None,
            start: 0,
            level: None,
            time: None,
            dropped: Some(why),
            wrote: false,
        }
    }
}

impl std::fmt::Debug for PendingEvent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the event: it is plaintext.
        f.debug_struct("PendingEvent")
            .field("dropped", &self.dropped.is_some())
            .finish_non_exhaustive()
    }
}

impl Write for PendingEvent<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.wrote |= !buf.is_empty();
        if let Some(state) = &mut self.state {
            state.batch.data.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    /// Does nothing: the worker flushes the writer after each batch.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for PendingEvent<'_> {
    fn drop(&mut self) {
        let Some(mut state) = self.state.take() else {
            if let (Some(why), true) = (self.dropped, self.wrote) {
                self.shared.drop_event(why);
            }
            return;
        };
        if state.batch.data.len() == self.start {
            return; // nothing was written
        }
        // The redacted line of enclog's field formatter: the real line is queued instead,
        // with the values the worker is to seal in it.
        let batch = &mut state.batch;
        let fields = handover::claim(&mut batch.data, self.start, |pending, data| {
            queue_fields(
                pending,
                data,
                self.start,
                &mut batch.specs,
                &mut batch.names,
            )
        });
        let end = state.batch.data.len();
        state.batch.events.push(Queued {
            end,
            level: self.level,
            time: self.time,
            fields,
        });
        if state.worker_waiting {
            state.worker_waiting = false;
            self.shared.work.notify_one();
        }
    }
}

/// Returned with a [`NonBlocking`] writer: keep it while logging (in `main`). Dropping it lets
/// the worker write what is waiting and the session's close record, flush, and stop; the drop
/// returns when that is done (or after [`NonBlockingBuilder::shutdown_timeout`]). Events logged
/// afterwards are dropped (and counted).
///
/// ```
/// let key = enclog::Key::generate()?;
/// let file = tempfile::NamedTempFile::new()?;
/// let (writer, guard) = enclog::non_blocking(key, file.reopen()?)?;
/// # let _ = writer;
/// // … install `writer` in a subscriber, log …
/// assert_eq!(guard.lost_lines(), 0);
/// drop(guard); // at the end of `main`: drains the queue, writes the close record, flushes
/// assert!(std::fs::read_to_string(file.path())?.starts_with("enclog:")); // the close record
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping the guard stops the worker: keep it in main"]
pub struct NonBlockingGuard {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
    shutdown_timeout: Option<Duration>,
}

impl std::fmt::Debug for NonBlockingGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonBlockingGuard")
            .field("lost_lines", &self.lost_lines())
            .finish_non_exhaustive()
    }
}

impl NonBlockingGuard {
    /// Events lost so far (see [`NonBlocking::lost_lines`]).
    ///
    /// ```
    /// let (_writer, guard) = enclog::non_blocking(enclog::Key::generate()?, std::io::sink())?;
    /// assert_eq!(guard.lost_lines(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lost_lines(&self) -> u64 {
        self.shared.failures.lost()
    }

    /// For a writer made by [`file()`] (or [`NonBlockingBuilder::finish_file`]): asks the
    /// worker to reopen the path now, for logrotate's `postrotate` (wire it to SIGHUP). If the
    /// path names another file than the one being written (or none), the worker writes the
    /// session's close record into the old file before its next line, and goes on in the file
    /// the path names (created if missing); otherwise nothing changes. It returns at once: the
    /// worker does it (right away if it is idle). Does nothing for any other writer.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let (_writer, guard) = enclog::non_blocking::file(dir.path().join("app.log"), enclog::Key::generate()?)?;
    /// guard.reopen(); // the path still names the same file: nothing changes
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reopen(&self) {
        let Some(flag) = &self.shared.reopen else {
            return;
        };
        flag.store(true, Ordering::Relaxed);
        let mut state = self.shared.lock();
        if state.worker_waiting {
            state.worker_waiting = false;
            self.shared.work.notify_one();
        }
    }
}

impl Drop for NonBlockingGuard {
    fn drop(&mut self) {
        let shared = &*self.shared;
        if shared.forked() {
            return; // the worker and the queue's lock belong to the parent
        }
        let mut state = shared.lock();
        state.shutdown = true;
        shared.work.notify_one();
        // Logging threads waiting for room give up: their events are counted as lost.
        shared.space.notify_all();
        let deadline = self.shutdown_timeout.map(|t| Instant::now() + t);
        while !state.worker_gone {
            let Some(deadline) = deadline else {
                state = shared
                    .space
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let queued = state.batch.events.len() + shared.in_flight.load(Ordering::Relaxed);
                if shared.failures.reports() {
                    eprintln!(
                        "enclog: the log writer thread did not finish within {:?}; {queued} \
                         queued events may not have been written",
                        self.shutdown_timeout.unwrap_or_default()
                    );
                }
                return; // the worker goes on writing if it can; it is not waited for
            }
            state = shared
                .space
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(state);
        if let Some(handle) = self.handle.take() {
            // A worker that panicked (in the writer) has already marked itself gone.
            let _ = handle.join();
        }
        let dropped = shared.dropped.load(Ordering::Relaxed);
        if dropped > 0 && shared.failures.reports() {
            eprintln!(
                "enclog: {dropped} log events were dropped before reaching the writer thread"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::worker::{KEPT_BYTES, KEPT_EVENTS};
    use super::*;

    /// Threat: one burst of large events leaving the process holding its peak memory for good.
    fn fill(batch: &mut Batch, events: usize) {
        for i in 0..events {
            batch.data.extend_from_slice(&[b'x'; 100]);
            batch.events.push(Queued {
                end: (i + 1) * 100,
                level: None,
                time: None,
                fields: None,
            });
        }
    }

    #[test]
    fn a_batch_gives_back_what_a_burst_grew_it_to_once_the_burst_is_over() {
        let mut batch = Batch::default();
        fill(&mut batch, 100_000); // a burst: 10 MB
        let grown = (batch.data.capacity(), batch.events.capacity());
        batch.clear();
        assert!(batch.data.is_empty() && batch.events.is_empty());
        // While the burst lasts, the room stays (no shrink and regrow per batch).
        assert_eq!((batch.data.capacity(), batch.events.capacity()), grown);

        fill(&mut batch, 10); // the burst is over
        batch.clear();
        assert!(batch.data.capacity() <= KEPT_BYTES);
        assert!(batch.events.capacity() <= KEPT_EVENTS);

        // The usual batch keeps its room: no allocation per batch once warm.
        fill(&mut batch, 40);
        let capacity = (batch.data.capacity(), batch.events.capacity());
        batch.clear();
        assert_eq!((batch.data.capacity(), batch.events.capacity()), capacity);
    }
}
