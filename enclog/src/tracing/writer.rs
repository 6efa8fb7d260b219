//! [`EncryptedWriter`]: a `tracing_subscriber::fmt::MakeWriter` that seals every event.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

use crate::fields::IndexKey;
use crate::seal::failure::{FailureState, WriteErrorPolicy};
use crate::seal::{Sealer, SealingKey};

use super::event::{Buffers, EventWriter, Settings};

/// Wraps any [`MakeWriter`](tracing_subscriber::fmt::MakeWriter) (stderr, a `File`, `tracing_appender::non_blocking`, a
/// `RollingFileAppender`…) so that every event becomes one encrypted line.
///
/// `tracing_subscriber::fmt` formats a whole event (message, fields, span context, multi-line
/// error chains) and writes it with one `write_all`; the writer returned here buffers it and,
/// when dropped, seals it and writes the line to the inner writer with exactly one
/// `write_all`. Any formatter works (full, compact, pretty, json). With enclog's own
/// [`SealedFields`](crate::tracing::fields::SealedFields) formatter it seals only the chosen
/// values of each line, which otherwise stays in clear (see [`fields`](crate::tracing::fields)).
///
/// **Write errors** cannot be returned from a drop. They are never lost silently: the line is
/// counted in [`EncryptedWriter::lost_lines`] and, by default, one message goes to stderr when
/// writing starts failing and one when it works again ([`WriteErrorPolicy`]). Nothing is ever
/// written in clear.
///
/// ```
/// use tracing_subscriber::fmt;
/// let key = enclog::Key::generate()?;
/// let file = tempfile::NamedTempFile::new()?;
/// let writer = enclog::EncryptedWriter::new(key.clone(), file.reopen()?).clear_level(true);
/// let subscriber = fmt().with_writer(writer).with_ansi(false).finish();
/// tracing::subscriber::with_default(subscriber, || {
///     let _span = tracing::info_span!("request", id = 7).entered();
///     tracing::warn!(email = "bob@example.com", "quota almost reached");
/// });
/// let log = std::fs::read(file.path())?;
/// assert!(log.starts_with(b"WARN enclog:"));
///
/// let mut opener = enclog::Opener::new(key.into());
/// let event = String::from_utf8(opener.open(&log).unwrap()?.plaintext.to_vec())?;
/// assert!(event.contains("request{id=7}") && event.contains("bob@example.com"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct EncryptedWriter<M> {
    inner: Arc<M>,
    settings: Settings,
}

impl<M> std::fmt::Debug for EncryptedWriter<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedWriter")
            .field("sealer", &self.settings.sealer)
            .field("clear_level", &self.settings.clear_level)
            .field("clear_timestamp", &self.settings.clear_timestamp)
            .field("lost_lines", &self.lost_lines())
            .finish_non_exhaustive()
    }
}

impl<M> Clone for EncryptedWriter<M> {
    fn clone(&self) -> Self {
        EncryptedWriter {
            inner: Arc::clone(&self.inner),
            settings: self.settings.clone(),
        }
    }
}

impl<M> EncryptedWriter<M> {
    /// Seals every event written through `inner` under `key`: a [`Key`](crate::Key), or any
    /// [`SealingKey`] (a recipient for the public-key mode, a zato-enclog Fernet key).
    ///
    /// ```
    /// use tracing_subscriber::fmt;
    /// let key = enclog::Key::generate()?;
    /// let file = tempfile::NamedTempFile::new()?;
    /// let writer = enclog::EncryptedWriter::new(key.clone(), file.reopen()?);
    /// let subscriber = fmt().with_writer(writer).with_ansi(false).finish();
    /// tracing::subscriber::with_default(subscriber, || tracing::info!("hello"));
    /// let line = std::fs::read(file.path())?;
    /// let mut opener = enclog::Opener::new(key.into());
    /// assert!(opener.open(&line).unwrap()?.plaintext.ends_with(b"hello"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(key: impl Into<SealingKey>, inner: M) -> EncryptedWriter<M> {
        let sealer = Sealer::new(key);
        EncryptedWriter::with_sealer(sealer, inner)
    }

    /// Seals with an existing [`Sealer`] (to share its session with other writers).
    ///
    /// ```
    /// use std::io::Write;
    /// use tracing_subscriber::fmt::MakeWriter;
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// let a = enclog::EncryptedWriter::with_sealer(sealer.clone(), std::io::sink);
    /// let b = enclog::EncryptedWriter::with_sealer(sealer.clone(), std::io::sink);
    /// a.make_writer().write_all(b"to a\n")?;
    /// b.make_writer().write_all(b"to b\n")?;
    /// assert!(sealer.session_id().is_some());
    /// assert_eq!(a.sealer().session_id(), b.sealer().session_id()); // one session, one sequence
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_sealer(sealer: Sealer, inner: M) -> EncryptedWriter<M> {
        EncryptedWriter {
            inner: Arc::new(inner),
            settings: Settings {
                sealer,
                clear_level: false,
                clear_timestamp: false,
                failures: Arc::new(FailureState::new(WriteErrorPolicy::ReportOnce)),
                inner_orders: false,
            },
        }
    }

    /// Writes the event's level in clear before the token (`WARN enclog:…`), for grep and log
    /// routers. Editing it is detected by readers (an encrypted copy travels in the token). A
    /// line of sealed fields has its level in clear already (and authenticated): this adds
    /// nothing to it.
    ///
    /// ```
    /// use tracing_subscriber::fmt;
    /// let file = tempfile::NamedTempFile::new()?;
    /// let writer = enclog::EncryptedWriter::new(enclog::Key::generate()?, file.reopen()?)
    ///     .clear_level(true);
    /// let subscriber = fmt().with_writer(writer).with_ansi(false).finish();
    /// tracing::subscriber::with_default(subscriber, || tracing::error!("payment failed"));
    /// assert!(std::fs::read_to_string(file.path())?.starts_with("ERROR enclog:"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clear_level(mut self, on: bool) -> Self {
        self.settings.clear_level = on;
        self
    }

    /// Writes an RFC 3339 UTC timestamp in clear before the token (and before the level, if
    /// that is on too). Editing it is detected like the level.
    ///
    /// ```
    /// use std::io::Write;
    /// use tracing_subscriber::fmt::MakeWriter;
    /// let file = tempfile::NamedTempFile::new()?;
    /// let writer = enclog::EncryptedWriter::new(enclog::Key::generate()?, file.reopen()?)
    ///     .clear_timestamp(true);
    /// writer.make_writer().write_all(b"event\n")?;
    /// let text = std::fs::read_to_string(file.path())?; // 2026-11-26T20:27:30.123456Z enclog:…
    /// assert_eq!((&text[4..5], &text[10..11], &text[26..35]), ("-", "T", "Z enclog:"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clear_timestamp(mut self, on: bool) -> Self {
        self.settings.clear_timestamp = on;
        self
    }

    /// Sets the key of the blind indexes that [sealed fields](crate::tracing::fields) write
    /// ([`Sealer::set_index_key`], on this writer's sealer and the writers sharing it). A
    /// writer that seals to a [`Recipient`](crate::Recipient) needs one to index fields (an
    /// indexed line without one is sealed whole); a symmetric writer uses its own key's
    /// otherwise.
    ///
    /// ```
    /// use tracing_subscriber::fmt;
    /// use enclog::{fields::IndexKey, tracing::fields::SealedFields};
    /// let identity = enclog::Identity::generate()?;
    /// let index_key = IndexKey::from_key(&enclog::Key::generate()?); // kept by the operators
    /// let file = tempfile::NamedTempFile::new()?;
    /// let writer = enclog::EncryptedWriter::new(identity.recipient(), file.reopen()?)
    ///     .index_key(index_key.clone());
    /// let format = SealedFields::json().seal(["user"]).index(["user"]);
    /// let subscriber = fmt().event_format(format.clone()).fmt_fields(format).with_writer(writer).finish();
    /// tracing::subscriber::with_default(subscriber, || tracing::info!(user = "alice", "signed in"));
    /// let line = std::fs::read_to_string(file.path())?;
    /// assert!(line.contains(&format!(r#""user_idx":"{}""#, index_key.value("user", b"alice"))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn index_key(self, key: IndexKey) -> Self {
        self.settings.sealer.set_index_key(Some(key));
        self
    }

    /// Sets what happens when the inner writer fails.
    ///
    /// ```
    /// use std::io::Write;
    /// use tracing_subscriber::fmt::MakeWriter;
    /// let full_disk = || std::io::Cursor::new([0u8; 0]); // every write fails
    /// let writer = enclog::EncryptedWriter::new(enclog::Key::generate()?, full_disk)
    ///     .error_policy(enclog::seal::WriteErrorPolicy::Silent); // nothing on stderr
    /// writer.make_writer().write_all(b"event\n")?; // the line is sealed, then dropped
    /// assert_eq!(writer.lost_lines(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn error_policy(mut self, policy: WriteErrorPolicy) -> Self {
        self.settings.failures = Arc::new(FailureState::new(policy));
        self
    }

    /// Lines dropped because the inner writer failed (or the random number generator did).
    ///
    /// ```
    /// use std::io::Write;
    /// use tracing_subscriber::fmt::MakeWriter;
    /// let full_disk = || std::io::Cursor::new([0u8; 0]);
    /// let writer = enclog::EncryptedWriter::new(enclog::Key::generate()?, full_disk)
    ///     .error_policy(enclog::seal::WriteErrorPolicy::Silent);
    /// assert_eq!(writer.lost_lines(), 0);
    /// for _ in 0..3 {
    ///     writer.make_writer().write_all(b"event\n")?;
    /// }
    /// assert_eq!(writer.lost_lines(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lost_lines(&self) -> u64 {
        self.settings.failures.lost()
    }

    /// The sealer (its key id and session).
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let writer = enclog::EncryptedWriter::new(key.clone(), std::io::sink);
    /// assert_eq!(writer.sealer().key_id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sealer(&self) -> &Sealer {
        &self.settings.sealer
    }

    /// Writes the session's close record through the inner writer, so readers can tell a clean
    /// shutdown from a crash. Call it last (or hold a [`SessionGuard`]); an event logged after it
    /// starts a new session.
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    /// let sink = out.clone();
    /// let writer = enclog::EncryptedWriter::new(key, move || SharedVec(sink.clone()));
    /// # struct SharedVec(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    /// # impl std::io::Write for SharedVec {
    /// #     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(b) }
    /// #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
    /// # }
    /// tracing::subscriber::with_default(
    ///     tracing_subscriber::fmt().with_writer(writer.clone()).finish(),
    ///     || tracing::info!("bye"),
    /// );
    /// writer.close_session();
    /// assert_eq!(out.lock().unwrap().iter().filter(|&&b| b == b'\n').count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_session<'a>(&'a self)
    where
        M: MakeWriter<'a>,
    {
        let mut line = Vec::new();
        // The inner writer first, then the session's order lock: the order an event takes
        // them in (a `Mutex<W>` is locked by `make_writer`), so a close racing events cannot
        // deadlock; with `locked`, the close record is also written before any event of the
        // next session.
        let mut writer = self.inner.make_writer();
        let written = self.settings.sealer.close_ordered(&mut line, |line| {
            writer.write_all(line).and_then(|()| writer.flush())
        });
        match written {
            Ok(None) => {}
            Ok(Some(result)) => {
                // Reported and counted by `record`: a drop cannot return it.
                self.settings.failures.record(result);
            }
            Err(e) => self
                .settings
                .failures
                .failed("close the encryption session", &e),
        }
    }

    /// A guard that writes the close record when dropped (keep it in `main`).
    ///
    /// ```
    /// use std::io::Write;
    /// use tracing_subscriber::fmt::MakeWriter;
    /// let key = enclog::Key::generate()?;
    /// let file = tempfile::NamedTempFile::new()?;
    /// let writer = enclog::EncryptedWriter::new(key.clone(), file.reopen()?);
    /// {
    ///     let _guard = writer.session_guard();
    ///     writer.make_writer().write_all(b"event\n")?;
    /// } // the guard writes the close record here
    /// let log = std::fs::read(file.path())?;
    /// let last = log.split_inclusive(|&b| b == b'\n').last().unwrap();
    /// let mut opener = enclog::Opener::new(key.into());
    /// assert_eq!(opener.open(last).unwrap()?.record, enclog::format::RecordKind::Close);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn session_guard(&self) -> SessionGuard<M>
    where
        M: for<'a> MakeWriter<'a>,
    {
        SessionGuard {
            writer: self.clone(),
        }
    }
}

/// Writes the session's close record when dropped. See [`EncryptedWriter::session_guard`].
///
/// ```
/// let writer = enclog::EncryptedWriter::new(enclog::Key::generate()?, std::io::sink);
/// let _guard = writer.session_guard();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "the close record is written when the guard is dropped"]
pub struct SessionGuard<M: for<'a> MakeWriter<'a>> {
    writer: EncryptedWriter<M>,
}

impl<M: for<'a> MakeWriter<'a>> std::fmt::Debug for SessionGuard<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionGuard")
            .field("writer", &self.writer)
            .finish()
    }
}

impl<M: for<'a> MakeWriter<'a>> Drop for SessionGuard<M> {
    fn drop(&mut self) {
        self.writer.close_session();
    }
}

impl<W: Write> EncryptedWriter<Mutex<W>> {
    /// Seals every event into `writer`, kept behind a `Mutex` (how `tracing_subscriber` shares
    /// a plain `io::Write` between threads): the fastest arrangement for a file or a
    /// `BufWriter`.
    ///
    /// Each event holds the mutex from the moment its line is numbered until it is written,
    /// so lines reach `writer` in sequence order (what `enclog verify` checks) with one lock
    /// per event. [`EncryptedWriter::new`] cannot see into the writer it is given, so it takes
    /// the session's order lock as well (two per event) — including around a `Mutex` of your
    /// own. The writer is the sole user of its session: to share one with other writers use
    /// [`EncryptedWriter::with_sealer`].
    ///
    /// ```
    /// use tracing_subscriber::fmt;
    /// let key = enclog::Key::generate()?;
    /// let file = tempfile::NamedTempFile::new()?;
    /// let writer = enclog::EncryptedWriter::locked(key.clone(), std::io::BufWriter::new(file.reopen()?));
    /// let subscriber = fmt().with_writer(writer.clone()).with_ansi(false).finish();
    /// tracing::subscriber::with_default(subscriber, || tracing::info!(user = "bob", "signed in"));
    /// writer.close_session();
    /// drop(writer); // the BufWriter is flushed when the last clone goes
    /// let log = std::fs::read(file.path())?;
    /// let mut opener = enclog::Opener::new(key.into());
    /// let event = opener.open(&log).unwrap()?;
    /// assert!(String::from_utf8_lossy(event.plaintext).ends_with("signed in user=\"bob\""));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn locked(key: impl Into<SealingKey>, writer: W) -> EncryptedWriter<Mutex<W>> {
        EncryptedWriter::locked_with(Sealer::new(key), writer)
    }

    /// [`EncryptedWriter::locked`] with a sealer of the caller's (one with a chain state).
    pub(crate) fn locked_with(sealer: Sealer, writer: W) -> EncryptedWriter<Mutex<W>> {
        EncryptedWriter::ordered_by(sealer, Mutex::new(writer))
    }
}

impl<M> EncryptedWriter<M> {
    /// A writer over `inner`, whose writers hold a lock from `make_writer` until they are
    /// dropped (as `Mutex<W>`'s do): that lock keeps lines in sequence order, so the session's
    /// order lock is not taken.
    pub(crate) fn ordered_by(sealer: Sealer, inner: M) -> EncryptedWriter<M> {
        let mut writer = EncryptedWriter::with_sealer(sealer, inner);
        writer.settings.inner_orders = true;
        writer
    }

    /// The inner `MakeWriter`.
    pub(crate) fn inner(&self) -> &M {
        &self.inner
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for EncryptedWriter<M> {
    type Writer = EventWriter<'a, M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        self.event_writer(self.inner.make_writer(), None)
    }

    fn make_writer_for(&'a self, meta: &tracing_core::Metadata<'_>) -> Self::Writer {
        self.event_writer(self.inner.make_writer_for(meta), Some(*meta.level()))
    }
}

impl<M> EncryptedWriter<M> {
    fn event_writer<W: Write>(
        &self,
        inner: W,
        level: Option<tracing_core::Level>,
    ) -> EventWriter<'_, W> {
        EventWriter {
            inner,
            buffers: Buffers::take(),
            level: level.filter(|_| self.settings.clear_level),
            settings: &self.settings,
            writing: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;
    use crate::Opener;
    use crate::format::RecordKind;
    use crate::test_support::SharedVec as Shared;
    use std::cell::RefCell;
    use std::io;

    use crate::tracing::event::BUFFERS;

    /// The events of every line in `log`, opened under `key`.
    fn events(key: &Key, log: &[u8]) -> Vec<String> {
        let mut opener = Opener::new(key.clone().into());
        log.split_inclusive(|&b| b == b'\n')
            .map(|line| {
                let opened = opener.open(line).expect("an enclog line").expect("opens");
                assert_eq!(opened.record, RecordKind::Event);
                String::from_utf8(opened.plaintext.to_vec()).unwrap()
            })
            .collect()
    }

    /// `new` takes any sealing key: a recipient gives public-key lines, which the identity
    /// opens and the writer's side could not.
    #[test]
    fn new_takes_a_recipient_for_the_public_key_mode() {
        let identity = crate::Identity::generate().unwrap();
        let out = Shared::default();
        let writer = EncryptedWriter::new(identity.recipient(), out.clone());
        write!(writer.make_writer(), "to the identity").unwrap();
        let log = out.bytes();
        let mut opener = Opener::new(identity.into());
        let opened = opener.open(&log).unwrap().unwrap();
        assert_eq!(opened.mode, crate::format::Mode::Recipient);
        assert_eq!(opened.plaintext, b"to the identity");
    }

    /// The thread's buffers go to the first event writer; a second one alive at the same time
    /// (the public API allows it) must not write into them.
    #[test]
    fn two_event_writers_on_one_thread_keep_their_events_apart() {
        let key = Key::generate().unwrap();
        let out = Shared::default();
        let writer = EncryptedWriter::new(key.clone(), out.clone());
        let mut first = writer.make_writer();
        let mut second = writer.make_writer();
        first.write_all(b"first, ").unwrap();
        second.write_all(b"second").unwrap();
        first.write_all(b"again").unwrap();
        drop(second);
        drop(first);
        let mut third = writer.make_writer(); // the thread's buffers are free again
        third.write_all(b"third").unwrap();
        drop(third);
        let log = out.bytes();
        assert_eq!(events(&key, &log), ["second", "first, again", "third"]);
    }

    /// An event writer is `Send`: one moved to another thread keeps its own event, apart from
    /// the events that thread writes meanwhile.
    #[test]
    fn an_event_writer_moved_to_another_thread_keeps_its_event() {
        let key = Key::generate().unwrap();
        let out = Shared::default();
        let writer = EncryptedWriter::new(key.clone(), out.clone());
        let mut moved = writer.make_writer();
        moved.write_all(b"made here, ").unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut theirs = writer.make_writer();
                theirs.write_all(b"theirs, ").unwrap();
                moved.write_all(b"written there").unwrap();
                drop(moved);
                theirs.write_all(b"again").unwrap();
                write!(writer.make_writer(), "another").unwrap();
                drop(theirs);
            });
        });
        let log = out.bytes();
        let lines = events(&key, &log);
        assert_eq!(
            lines,
            ["made here, written there", "another", "theirs, again"]
        );
    }

    /// A writer that panics while a flushed line is written: the event writer's drop (during
    /// the unwinding) must not seal the sealed line again as a new event; the line is counted.
    #[test]
    fn a_writer_panicking_in_a_flush_loses_that_line_only() {
        struct PanicsOnce {
            out: Shared,
            panicked: Arc<std::sync::atomic::AtomicBool>,
        }
        impl Write for PanicsOnce {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if !self
                    .panicked
                    .swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    panic!("the disk driver panicked");
                }
                self.out.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let key = Key::generate().unwrap();
        let out = Shared::default();
        let panicked = Arc::default();
        let make = {
            let (out, panicked) = (out.clone(), Arc::clone(&panicked));
            move || PanicsOnce {
                out: out.clone(),
                panicked: Arc::clone(&panicked),
            }
        };
        let writer = EncryptedWriter::new(key.clone(), make).error_policy(WriteErrorPolicy::Silent);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut event = writer.make_writer();
            event.write_all(b"lost in the panic").unwrap();
            event.flush().unwrap();
        }));
        assert!(result.is_err(), "the writer's panic reaches the caller");
        write!(writer.make_writer(), "after").unwrap();
        // The same event writer used on after the caught panic.
        let mut event = writer.make_writer();
        event.write_all(b"lost too").unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            panicked.store(false, std::sync::atomic::Ordering::Relaxed);
            event.flush().unwrap();
        }));
        assert!(caught.is_err());
        event.write_all(b"written on").unwrap();
        drop(event);
        let log = out.bytes();
        assert_eq!(events(&key, &log), ["after", "written on"]);
        assert_eq!(writer.lost_lines(), 2);
    }

    /// An inner writer that logs (through another encrypted writer, as a writer reporting its
    /// own trouble would) while the outer line is being written: it gets buffers of its own.
    #[test]
    fn a_writer_that_logs_while_writing_a_line_gets_buffers_of_its_own() {
        struct Chatty {
            diagnostics: EncryptedWriter<Shared>,
            out: Shared,
        }
        impl Write for Chatty {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                write!(self.diagnostics.make_writer(), "wrote {} bytes", buf.len())?;
                self.out.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (key, diagnostics_key) = (Key::generate().unwrap(), Key::generate().unwrap());
        let (out, diagnostics) = (Shared::default(), Shared::default());
        let chatty = {
            let diagnostics = EncryptedWriter::new(diagnostics_key.clone(), diagnostics.clone());
            let out = out.clone();
            move || Chatty {
                diagnostics: diagnostics.clone(),
                out: out.clone(),
            }
        };
        let writer = EncryptedWriter::new(key.clone(), chatty);
        for i in 0..3 {
            write!(writer.make_writer(), "event {i}").unwrap();
        }
        let log = out.bytes();
        assert_eq!(events(&key, &log), ["event 0", "event 1", "event 2"]);
        let diagnostics = diagnostics.bytes();
        let reported = events(&diagnostics_key, &diagnostics);
        assert_eq!(reported.len(), 3);
        assert!(
            reported.iter().all(|r| r.starts_with("wrote ")),
            "{reported:?}"
        );
    }

    /// An event logged by a thread-local's destructor, after this thread's buffers and
    /// session cache were destroyed, is still sealed and written: it used to panic (which
    /// aborts the process).
    #[test]
    fn an_event_logged_while_the_threads_locals_are_destroyed_is_written() {
        static BUFFERS_WERE_GONE: std::sync::atomic::AtomicBool =
            std::sync::atomic::AtomicBool::new(false);
        struct LogsOnExit(Option<EncryptedWriter<Shared>>);
        impl Drop for LogsOnExit {
            fn drop(&mut self) {
                if let Some(writer) = self.0.take() {
                    let gone = BUFFERS.try_with(|_| ()).is_err();
                    BUFFERS_WERE_GONE.store(gone, std::sync::atomic::Ordering::Relaxed);
                    write!(writer.make_writer(), "thread exiting").unwrap();
                }
            }
        }
        thread_local! {
            static ON_EXIT: RefCell<LogsOnExit> = const { RefCell::new(LogsOnExit(None)) };
        }
        let key = Key::generate().unwrap();
        let out = Shared::default();
        let writer = EncryptedWriter::new(key.clone(), out.clone());
        std::thread::spawn(move || {
            // First use of ON_EXIT, then of the buffers: on Linux, thread-locals are destroyed
            // in the reverse order, the buffers first (checked below).
            ON_EXIT.with(|e| e.borrow_mut().0 = Some(writer.clone()));
            write!(writer.make_writer(), "running").unwrap();
        })
        .join()
        .expect("the thread exits without a panic");
        let log = out.bytes();
        assert_eq!(events(&key, &log), ["running", "thread exiting"]);
        assert!(
            BUFFERS_WERE_GONE.load(std::sync::atomic::Ordering::Relaxed),
            "the buffers outlived ON_EXIT here: this test did not log after their destruction"
        );
    }
}
