//! [`EventWriter`]: what [`EncryptedWriter`](super::EncryptedWriter) hands `tracing` for one
//! event — it collects the formatted bytes in the thread's buffers and seals them as one line
//! when the event ends.

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::SystemTime;

use crate::seal::Sealer;
use crate::seal::failure::FailureState;
use crate::timestamp::write_rfc3339;

use super::fields::handover::{self, HandOver};

thread_local! {
    /// The event being formatted, and the sealed line: reused, so a warm thread logs without
    /// allocating.
    pub(super) static BUFFERS: RefCell<Buffers> = const {
        RefCell::new(Buffers { event: Vec::new(), line: Vec::new() })
    };
}

/// The longest clear metadata: an RFC 3339 timestamp with microseconds, a space, a level.
pub(crate) const MAX_CLEAR: usize = 48;

/// Where an event's bytes start in [`Buffers::event`]: before them, room for the header, so
/// that the event is sealed where it was written (`Sealer::seal_ordered_in_place`).
const EVENT_START: usize = crate::seal::line::room_before(MAX_CLEAR);

/// One event's buffers, taken from [`BUFFERS`] by `make_writer` and put back when the event
/// is written. They travel with the event writer (which may be sent to another thread).
#[derive(Default)]
pub(super) struct Buffers {
    /// [`EVENT_START`] bytes of room, then the event (sealed in place).
    pub(super) event: Vec<u8>,
    /// The sealed line.
    pub(super) line: Vec<u8>,
}

impl Buffers {
    /// This thread's buffers, ready for an event; fresh ones if an event is being written
    /// already (a writer that logs) or the thread's locals are being destroyed (an event
    /// logged by another thread-local's destructor).
    pub(super) fn take() -> Buffers {
        let mut buffers = BUFFERS
            .try_with(|b| b.try_borrow_mut().map(|mut b| std::mem::take(&mut *b)).ok())
            .ok()
            .flatten()
            .unwrap_or_default();
        crate::seal::line::reset_with_room(&mut buffers.event, EVENT_START);
        buffers
    }

    /// Hands the buffers back to this thread for its next event (dropped if it cannot take
    /// them).
    fn put_back(self) {
        let _ = BUFFERS.try_with(|b| b.try_borrow_mut().map(|mut b| *b = self));
    }
}

/// What the event writers of an [`EncryptedWriter`](super::EncryptedWriter) read.
#[derive(Clone)]
pub(super) struct Settings {
    pub(super) sealer: Sealer,
    pub(super) clear_level: bool,
    pub(super) clear_timestamp: bool,
    pub(super) failures: Arc<FailureState>,
    /// Whether `inner`'s writers hold a lock from `make_writer` until they are dropped (only
    /// [`EncryptedWriter::locked`](super::EncryptedWriter::locked) sets it): that lock then keeps lines in sequence order, and
    /// the session's order lock is not needed.
    pub(super) inner_orders: bool,
}

/// The writer for one event, returned by [`EncryptedWriter`](super::EncryptedWriter)'s `make_writer`. It buffers what
/// is written and seals it as one line when dropped (or flushed).
///
/// ```
/// use std::io::Write;
/// use tracing_subscriber::fmt::MakeWriter;
/// let key = enclog::Key::generate()?;
/// let file = tempfile::NamedTempFile::new()?;
/// let writer = enclog::EncryptedWriter::new(key.clone(), file.reopen()?);
/// let mut event: enclog::tracing::EventWriter<'_, _> = writer.make_writer();
/// event.write_all(b"part one, ")?;
/// event.write_all(b"part two\n")?;
/// drop(event); // sealed as one line
/// let log = std::fs::read(file.path())?;
/// assert_eq!(log.iter().filter(|&&b| b == b'\n').count(), 1);
/// let mut opener = enclog::Opener::new(key.into());
/// assert_eq!(opener.open(&log).unwrap()?.plaintext, b"part one, part two");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct EventWriter<'a, W: Write> {
    pub(super) inner: W,
    pub(super) buffers: Buffers,
    pub(super) level: Option<tracing_core::Level>,
    pub(super) settings: &'a Settings,
    /// Set while a line is sealed and written: still set in `drop` only if the inner writer
    /// panicked out of a `flush`.
    pub(super) writing: bool,
}

impl<W: Write> std::fmt::Debug for EventWriter<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the buffered event: it is plaintext.
        f.debug_struct("EventWriter")
            .field("buffered_bytes", &(self.buffers.event.len() - EVENT_START))
            .finish_non_exhaustive()
    }
}

impl<W: Write> EventWriter<'_, W> {
    /// After the inner writer panicked while a line was written (from `flush`, the panic
    /// caught): the buffer holds that line's ciphertext, which must not be sealed again as an
    /// event. The line is counted as lost.
    fn discard_interrupted_line(&mut self) {
        if self.writing {
            self.writing = false;
            self.buffers.event.truncate(EVENT_START);
            (self.settings.failures).failed("write an encrypted log line", &"the writer panicked");
        }
    }

    /// Seals the buffered event (if any) and writes it with one `write_all`.
    fn seal_and_write(&mut self) {
        self.discard_interrupted_line();
        let Buffers { event, line } = &mut self.buffers;
        let settings = self.settings;
        if event.len() == EVENT_START {
            return;
        }
        self.writing = true;
        let mut clear = [0u8; MAX_CLEAR];
        let time = settings.clear_timestamp.then(SystemTime::now);
        let clear_len = clear_meta(time, self.level, &mut clear);
        let clear = (clear_len > 0).then(|| &clear[..clear_len]);
        if event.last() == Some(&b'\n') {
            event.pop();
        }
        line.clear();
        let inner = &mut self.inner;
        // The redacted line of enclog's field formatter: its real line is sealed field by
        // field instead (or, if it cannot be, put here to be sealed whole).
        let claimed = handover::seal_claimed(&settings.sealer, event, EVENT_START, line, |l| {
            inner.write_all(l)
        });
        if let HandOver::Sealed(written) = claimed {
            match written {
                Ok(result) => settings.failures.record(result),
                Err(e) => settings.failures.failed("seal a log line", &e),
            }
            line.clear();
            event.truncate(EVENT_START);
            self.writing = false;
            return;
        }
        let written = if settings.inner_orders {
            // `inner` holds the lock that keeps lines in order (`EncryptedWriter::locked`).
            let sealed = settings
                .sealer
                .seal_in_place(clear, event, EVENT_START, line);
            sealed.map(|()| inner.write_all(line))
        } else {
            let write = |l: &[u8]| inner.write_all(l);
            (settings.sealer).seal_ordered_in_place(clear, event, EVENT_START, line, write)
        };
        match written {
            Ok(result) => {
                // Reported and counted by `record`: a drop cannot return it.
                settings.failures.record(result);
            }
            Err(e) => settings.failures.failed("seal a log line", &e),
        }
        line.clear();
        event.truncate(EVENT_START);
        self.writing = false;
    }
}

impl<W: Write> Write for EventWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.discard_interrupted_line();
        self.buffers.event.extend_from_slice(buf);
        Ok(buf.len())
    }

    /// Seals what was written so far as one line, then flushes the inner writer.
    fn flush(&mut self) -> io::Result<()> {
        self.seal_and_write();
        self.inner.flush()
    }
}

impl<W: Write> Drop for EventWriter<'_, W> {
    fn drop(&mut self) {
        self.seal_and_write();
        std::mem::take(&mut self.buffers).put_back();
    }
}

/// Fills `out` with the clear metadata of an event, `[TIMESTAMP][ ][LEVEL]` (no allocation);
/// returns its length (0: none).
pub(crate) fn clear_meta(
    time: Option<SystemTime>,
    level: Option<tracing_core::Level>,
    out: &mut [u8; MAX_CLEAR],
) -> usize {
    let mut cursor = io::Cursor::new(&mut out[..]);
    if let Some(time) = time {
        write_rfc3339(time, &mut cursor);
    }
    if let Some(level) = level {
        let sep = if cursor.position() > 0 { " " } else { "" };
        let _ = write!(cursor, "{sep}{}", level.as_str());
    }
    cursor.position() as usize
}
