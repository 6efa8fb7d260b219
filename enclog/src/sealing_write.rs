//! [`SealingWrite`]: an `io::Write` that seals each `write` call as one line, for writers whose
//! every write is one whole event (the worker thread of `tracing_appender::non_blocking`).

use std::io::{self, Write};
use std::sync::Arc;

use crate::failure::{FailureState, WriteErrorPolicy};
use crate::sealer::{Sealer, reset_with_room, room_before};

/// Where an event starts in [`SealingWrite`]'s buffer: room for the header (no clear metadata).
const EVENT_START: usize = room_before(0);

/// Seals every `write` call as one line and writes it to the inner writer; on drop, writes the
/// session's close record. Made to sit *inside* `tracing_appender::non_blocking`, so that the
/// encryption runs on the worker thread and not on the thread that logs.
///
/// # Which arrangement to choose
///
/// | | `EncryptedWriter::new(key, non_blocking(file))` | `non_blocking(SealingWrite::new(sealer, file))` | [`enclog::non_blocking(key, file)`](crate::non_blocking()) |
/// |---|---|---|---|
/// | who seals | the thread that logs (≈ 0.3 µs per event) | tracing-appender's worker | enclog's worker |
/// | cost on the logging thread | format + seal + queue | format + queue (an allocation, a channel send) | format + a lock and a copy, no allocation |
/// | clear level / timestamp | yes ([`EncryptedWriter::with_clear_level`]) | no (the worker does not know the level) | yes |
/// | a lossy queue drops a line | after it was numbered: `enclog verify` reports the gap | before it was numbered: the gap is invisible | before it was numbered (counted in `lost_lines`); lossless by default |
/// | dropping the guard | waits up to 1 s for the worker | waits up to 1 s for the worker | waits until everything is written |
///
/// `enclog::non_blocking` is the simplest; `SealingWrite` is for programs already built around
/// tracing-appender's `non_blocking`. Keep that queue **`.lossy(false)`** if `enclog verify`
/// must account for every event: a lossy queue that drops an event before the worker sealed it
/// leaves no trace in the sequence numbers.
///
/// Each `write` call becomes one line (a trailing `\n` is dropped first), so the writer in
/// front of it must write each event with one call: `non_blocking`'s worker does (one
/// `write_all` per event, which `SealingWrite` takes whole). Do not put a `BufWriter` in front
/// of it. Lines are numbered and written under the session's order lock
/// ([`Sealer::seal_ordered`]), so even a sealer shared with other writers keeps each
/// destination in sequence order.
///
/// Write errors are returned and also counted in [`SealingWrite::lost_lines`] and reported on
/// stderr as [`WriteErrorPolicy`] says (`non_blocking`'s worker ignores the errors it gets).
///
/// [`EncryptedWriter::with_clear_level`]: crate::EncryptedWriter::with_clear_level
///
/// ```
/// use tracing_subscriber::fmt;
/// let key = enclog::Key::generate()?;
/// let file = tempfile::NamedTempFile::new()?;
/// let sealing = enclog::SealingWrite::new(enclog::Sealer::new(key.clone()), file.reopen()?);
/// let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
///     .lossy(false)
///     .finish(sealing);
/// let subscriber = fmt().with_writer(writer).with_ansi(false).finish();
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!(user = "alice@example.com", "signed in");
/// });
/// // Returns once the worker has written what was queued (tracing-appender waits at most 1 s).
/// // The session's close record follows when the worker thread drops the SealingWrite, just
/// // after: `enclog::non_blocking`'s guard waits for that too.
/// drop(guard);
///
/// let log = std::fs::read(file.path())?;
/// let mut opener = enclog::Opener::new(key.into());
/// let first = log.split_inclusive(|&b| b == b'\n').next().unwrap();
/// let event = opener.open(first).unwrap()?;
/// assert!(String::from_utf8_lossy(event.plaintext).contains("alice@example.com"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SealingWrite<W: Write> {
    inner: W,
    sealer: Sealer,
    /// Room for the header, then the event being sealed (in place).
    event: Vec<u8>,
    line: Vec<u8>,
    close_on_drop: bool,
    failures: Arc<FailureState>,
}

impl<W: Write> std::fmt::Debug for SealingWrite<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingWrite")
            .field("sealer", &self.sealer)
            .field("close_on_drop", &self.close_on_drop)
            .field("lost_lines", &self.lost_lines())
            .finish_non_exhaustive()
    }
}

impl<W: Write> SealingWrite<W> {
    /// Seals what is written with `sealer` (cheap to clone: clones share the session) and
    /// writes the lines to `inner`.
    ///
    /// ```
    /// use std::io::Write;
    /// let key = enclog::Key::generate()?;
    /// let mut log = Vec::new();
    /// let mut sealing = enclog::SealingWrite::new(enclog::Sealer::new(key.clone()), &mut log);
    /// sealing.write_all(b"one whole event\n")?;
    /// drop(sealing); // writes the close record
    /// let mut opener = enclog::Opener::new(key.into());
    /// assert_eq!(opener.open(&log).unwrap()?.plaintext, b"one whole event");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(sealer: Sealer, inner: W) -> SealingWrite<W> {
        SealingWrite {
            inner,
            sealer,
            event: Vec::new(),
            line: Vec::new(),
            close_on_drop: true,
            failures: Arc::new(FailureState::new(WriteErrorPolicy::ReportOnce)),
        }
    }

    /// Whether dropping the writer writes the session's close record (default: yes). Turn it
    /// off when the sealer's session goes on elsewhere after this writer is gone.
    ///
    /// ```
    /// use std::io::Write;
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// let mut log = Vec::new();
    /// let mut sealing = enclog::SealingWrite::new(sealer.clone(), &mut log).close_on_drop(false);
    /// sealing.write_all(b"event")?;
    /// drop(sealing);
    /// assert_eq!(log.iter().filter(|&&b| b == b'\n').count(), 1); // no close record
    /// assert!(sealer.seal_line(b"the session goes on")?.starts_with(enclog::MARKER));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_on_drop(mut self, on: bool) -> Self {
        self.close_on_drop = on;
        self
    }

    /// Sets what happens when the inner writer fails.
    ///
    /// ```
    /// use std::io::Write;
    /// let full_disk = std::io::Cursor::new([0u8; 0]); // every write fails
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// let mut sealing = enclog::SealingWrite::new(sealer, full_disk)
    ///     .with_error_policy(enclog::WriteErrorPolicy::Silent); // nothing on stderr
    /// assert!(sealing.write_all(b"event").is_err());
    /// assert_eq!(sealing.lost_lines(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_error_policy(mut self, policy: WriteErrorPolicy) -> Self {
        self.failures = Arc::new(FailureState::new(policy));
        self
    }

    /// Lines dropped because the inner writer failed (or the random number generator did).
    ///
    /// ```
    /// use std::io::Write;
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// let mut sealing = enclog::SealingWrite::new(sealer, std::io::Cursor::new([0u8; 0]))
    ///     .with_error_policy(enclog::WriteErrorPolicy::Silent);
    /// assert_eq!(sealing.lost_lines(), 0);
    /// let _ = sealing.write_all(b"one");
    /// let _ = sealing.write_all(b"two");
    /// assert_eq!(sealing.lost_lines(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lost_lines(&self) -> u64 {
        self.failures.lost()
    }

    /// The sealer (its key id and session).
    ///
    /// ```
    /// use std::io::Write;
    /// let key = enclog::Key::generate()?;
    /// let sealer = enclog::Sealer::new(key.clone());
    /// let mut sealing = enclog::SealingWrite::new(sealer, std::io::sink());
    /// assert_eq!(sealing.sealer().key_id(), key.id());
    /// sealing.write_all(b"event")?;
    /// assert!(sealing.sealer().session_id().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// Writes the session's close record and flushes (what dropping the writer does).
    ///
    /// ```
    /// use std::io::Write;
    /// let key = enclog::Key::generate()?;
    /// let mut log = Vec::new();
    /// let mut sealing = enclog::SealingWrite::new(enclog::Sealer::new(key.clone()), &mut log);
    /// sealing.write_all(b"event")?;
    /// sealing.close_session()?;
    /// drop(sealing); // the session is closed already: nothing more is written
    /// let last = log.split_inclusive(|&b| b == b'\n').last().unwrap();
    /// let mut opener = enclog::Opener::new(key.into());
    /// assert_eq!(opener.open(last).unwrap()?.record, enclog::RecordKind::Close);
    /// assert_eq!(log.iter().filter(|&&b| b == b'\n').count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_session(&mut self) -> io::Result<()> {
        self.line.clear();
        let inner = &mut self.inner;
        let written = self.sealer.close_ordered(&mut self.line, |line| {
            inner.write_all(line).and_then(|()| inner.flush())
        });
        match written {
            Ok(None) => Ok(()),
            Ok(Some(result)) => self.failures.record(result),
            Err(e) => {
                self.failures.failed("close the encryption session", &e);
                Err(io::Error::other(e))
            }
        }
    }
}

impl<W: Write> Write for SealingWrite<W> {
    /// Seals all of `buf` as one line (without its trailing `\n`) and writes the line.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let event = buf.strip_suffix(b"\n").unwrap_or(buf);
        reset_with_room(&mut self.event, EVENT_START);
        self.event.extend_from_slice(event);
        self.line.clear();
        let inner = &mut self.inner;
        match self.sealer.seal_ordered_in_place(
            None,
            &mut self.event,
            EVENT_START,
            &mut self.line,
            |line| inner.write_all(line),
        ) {
            Ok(result) => self.failures.record(result).map(|()| buf.len()),
            Err(e) => {
                self.failures.failed("seal a log line", &e);
                Err(io::Error::other(e))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for SealingWrite<W> {
    fn drop(&mut self) {
        if self.close_on_drop {
            let _ = self.close_session();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decryptor, Key, Keyring, Outcome, RecordKind, Verifier};
    use std::sync::Mutex;

    /// A file stand-in that records each `write_all` as one call.
    #[derive(Clone, Default)]
    struct Calls(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Calls {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Many threads log through `non_blocking(SealingWrite)`: every event becomes one whole
    /// line, in sequence order, and the session ends with its close record, so `verify` finds
    /// nothing to report.
    #[test]
    fn inside_non_blocking_every_event_is_one_line_in_order_and_closed() {
        let key = Key::generate().unwrap();
        let calls = Calls::default();
        let sealing = SealingWrite::new(Sealer::new(key.clone()), calls.clone());
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .finish(sealing);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish();
        let dispatch = tracing::Dispatch::new(subscriber);
        std::thread::scope(|s| {
            for t in 0..4 {
                let dispatch = dispatch.clone();
                s.spawn(move || {
                    tracing::dispatcher::with_default(&dispatch, || {
                        for i in 0..250 {
                            tracing::info!(thread = t, i, "multi\nline event");
                        }
                    })
                });
            }
        });
        drop(guard);
        // tracing_appender's guard waits at most a second for its worker: on a loaded machine
        // the worker (and the SealingWrite it drops, which writes the close record) may finish
        // later.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while calls.0.lock().unwrap().len() < 1001 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }

        let calls = calls.0.lock().unwrap();
        assert_eq!(
            calls.len(),
            1001,
            "one write per line: 1000 events and a close"
        );
        let log = calls.concat();
        let mut reader = Decryptor::new(&log[..], Keyring::from(key));
        let mut verifier = Verifier::new();
        let mut last = None;
        while let Some(entry) = reader.next_entry().unwrap() {
            verifier.observe("app.log", &entry);
            let Outcome::Opened(opened) = entry.outcome else {
                panic!("line {} did not open", entry.line_no)
            };
            if opened.record == RecordKind::Event {
                let text = String::from_utf8_lossy(opened.plaintext);
                assert!(text.contains("multi\nline event"), "{text}");
            }
            last = Some(opened.record);
        }
        assert_eq!(last, Some(RecordKind::Close));
        let report = verifier.finish();
        assert!(report.is_clean(), "{:?}", report.findings);
    }

    #[test]
    fn write_errors_are_returned_and_counted() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = SealingWrite::new(Sealer::new(Key::generate().unwrap()), Full)
            .with_error_policy(WriteErrorPolicy::Silent)
            .close_on_drop(false);
        assert!(w.write_all(b"event\n").is_err());
        assert_eq!(w.lost_lines(), 1);
        assert_eq!(w.write(b"").unwrap(), 0);
    }
}
