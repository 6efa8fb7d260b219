//! The worker thread of [`NonBlocking`](super::NonBlocking): the queue shared with the logging
//! threads, and the loop that seals each queued event and writes it.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, SystemTime};

use std::ops::Range;

use crate::fields::{FieldsError, Syntax, Value};
use crate::file::LogFile;
use crate::format::Mode;
use crate::seal::Sealer;
use crate::seal::failure::FailureState;
use crate::seal::fields::with_prepared;
use crate::seal::line::{reset_with_room, room_before};
use crate::tracing::event::{MAX_CLEAR, clear_meta};
use crate::tracing::fields::handover::{self, IndexSpec, Pending, Spec};

/// Where an event starts in the worker's sealing buffer: room for the header and clear
/// metadata.
pub(super) const EVENT_START: usize = room_before(MAX_CLEAR);

/// How long the worker lets a short batch fill before taking it (bounds the added latency).
pub(super) const LINGER: Duration = Duration::from_micros(200);

/// A batch shorter than this is left to fill for [`LINGER`] first.
pub(super) const SHORT_BATCH: usize = 64;

/// Why an event did not reach the queue.
#[derive(Clone, Copy, Debug)]
pub(super) enum Dropped {
    /// In lossy mode, the queue was full.
    Full,
    /// The guard was dropped, or the worker died with its writer.
    Stopped,
    /// A forked child: the worker (and perhaps the queue's lock) belong to the parent.
    Forked,
    /// The worker's own writer logged while the worker shuts down: counted, not reported
    /// (every clean shutdown of such a writer would print it) and not queued (a writer that
    /// logs per line would keep the worker from ever finishing).
    WorkerShuttingDown,
}

impl Dropped {
    /// What the report says, if the drop is reported.
    pub(super) fn reason(self) -> Option<&'static str> {
        match self {
            Dropped::Full => Some(
                "the queue is full (lossy mode; raise buffered_lines_limit, or turn lossy off \
                 to make logging threads wait instead)",
            ),
            Dropped::Stopped => Some(
                "the writer thread has stopped (its guard was dropped, or its writer panicked); \
                 keep the guard until the program stops logging",
            ),
            Dropped::Forked => Some(
                "this process was forked from the one that runs the writer thread; \
                 set up a new writer in the child",
            ),
            Dropped::WorkerShuttingDown => None,
        }
    }
}

pub(super) struct Shared {
    pub(super) state: Mutex<State>,
    /// The worker waits here for events (or the shutdown).
    pub(super) work: Condvar,
    /// Logging threads wait here for room (lossless mode).
    pub(super) space: Condvar,
    pub(super) failures: FailureState,
    pub(super) lines_limit: usize,
    pub(super) lossy: bool,
    /// Events taken by the worker and not yet written (counted as lost if it panics).
    pub(super) in_flight: AtomicUsize,
    /// The worker thread, once it runs.
    pub(super) worker: OnceLock<ThreadId>,
    /// The process's fork generation when the worker was started.
    pub(super) fork_generation: u64,
    /// Events dropped before reaching the queue (full in lossy mode, after the shutdown, in a
    /// forked child): counted in `lost_lines`, reported once.
    pub(super) dropped: AtomicU64,
    pub(super) dropped_reported: AtomicBool,
    /// A clone of the worker's sealer, for `NonBlocking::sealer`.
    pub(super) sealer: Sealer,
    /// The [`LogFile`]'s reopen flag, when the worker writes to one (`NonBlockingGuard::reopen`).
    pub(super) reopen: Option<Arc<AtomicBool>>,
}

impl Shared {
    // Both on every logging thread's event: inlined there although they live in this file.
    #[inline]
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether this is a forked child of the process that started the worker.
    #[inline]
    pub(super) fn forked(&self) -> bool {
        enclog_fork::generation() != self.fork_generation
    }

    /// Counts an event dropped before the queue. One message for the first (not one per
    /// event, nor a "recovered" one per batch: an overloaded lossy queue drops thousands a
    /// second); the guard sums them up at the end.
    pub(super) fn drop_event(&self, why: Dropped) {
        let total = self.failures.count_lost(1);
        let Some(why) = why.reason() else {
            return;
        };
        self.dropped.fetch_add(1, Ordering::Relaxed);
        if self.failures.reports() && !self.dropped_reported.swap(true, Ordering::Relaxed) {
            eprintln!(
                "enclog: a log event was dropped: {why}; further drops are counted silently \
                 (lost so far: {total}; see lost_lines())"
            );
        }
    }
}

#[derive(Default)]
pub(super) struct State {
    pub(super) batch: Batch,
    pub(super) worker_waiting: bool,
    pub(super) callers_waiting: usize,
    pub(super) shutdown: bool,
    /// Set by the worker when it stops (after the shutdown, or a panic in the writer).
    pub(super) worker_gone: bool,
}

/// Events waiting for the worker: their bytes end to end, and where each ends; for the lines
/// of enclog's field formatter, the values to seal in them.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) data: Vec<u8>,
    pub(super) events: Vec<Queued>,
    pub(super) specs: Vec<Spec>,
    pub(super) names: String,
}

/// The most event bytes a batch keeps room for between batches: a burst can grow it further
/// (up to the lines limit), and the memory goes back once the burst is written.
pub(super) const KEPT_BYTES: usize = 1 << 20;

/// The most events a batch keeps room for between batches (as [`KEPT_BYTES`]).
pub(super) const KEPT_EVENTS: usize = 16 * 1024;

impl Batch {
    /// Empties the batch for reuse. Once a burst is over (this batch was small again), gives
    /// back what the burst grew it to; during one, keeps the room rather than regrow it.
    pub(super) fn clear(&mut self) {
        let small = self.data.len() <= KEPT_BYTES / 2 && self.events.len() <= KEPT_EVENTS / 2;
        self.data.clear();
        self.events.clear();
        self.specs.clear();
        self.names.clear();
        if small {
            if self.data.capacity() > KEPT_BYTES {
                self.data.shrink_to(KEPT_BYTES);
            }
            if self.events.capacity() > KEPT_EVENTS {
                self.events.shrink_to(KEPT_EVENTS);
            }
        }
    }
}

pub(super) struct Queued {
    pub(super) end: usize,
    pub(super) level: Option<tracing_core::Level>,
    pub(super) time: Option<SystemTime>,
    /// A line of enclog's field formatter, to seal field by field.
    pub(super) fields: Option<QueuedFields>,
}

/// A queued line with values to seal: the event's bytes are the line (its first `line_end`
/// bytes), then the index texts its specs point into.
pub(super) struct QueuedFields {
    pub(super) syntax: Syntax,
    pub(super) line_end: usize,
    /// Its values in [`Batch::specs`] (paths and names in [`Batch::names`]).
    pub(super) specs: Range<usize>,
}

/// Moves the pending line of enclog's field formatter (claimed from the redacted line at
/// `data[start..]`) into the batch: the real line replaces the redacted one.
pub(super) fn queue_fields(
    pending: &mut Pending,
    data: &mut Vec<u8>,
    start: usize,
    specs: &mut Vec<Spec>,
    names: &mut String,
) -> QueuedFields {
    let syntax = pending.syntax.expect("claimed lines are complete");
    let out = &pending.out;
    data.truncate(start);
    data.extend_from_slice(out.real.as_bytes());
    let line_end = data.len() - start;
    data.extend_from_slice(&out.index_text);
    let base = names.len();
    names.push_str(&out.names);
    let first = specs.len();
    let shift = |r: &Range<usize>, by: usize| r.start + by..r.end + by;
    specs.extend(out.specs.iter().map(|s| Spec {
        path: shift(&s.path, base),
        name: shift(&s.name, base),
        range: s.range.clone(),
        index: match &s.index {
            IndexSpec::Given(r) => IndexSpec::Given(shift(r, line_end)),
            other => other.clone(),
        },
        by_value: s.by_value,
    }));
    pending.wipe();
    QueuedFields {
        syntax,
        line_end,
        specs: first..specs.len(),
    }
}

/// Where the worker writes: any `io::Write`, or a [`LogFile`] that follows its path.
pub(super) trait Output: Write {
    /// Called before each event is sealed (and when woken for a reopen): a [`LogFile`] whose
    /// path was rotated closes the session into the old file and reopens here.
    fn before_event(&mut self, _sealer: &Sealer) {}
}

/// Any writer: nothing to follow.
pub(super) struct Plain<W>(pub(super) W);

impl<W: Write> Write for Plain<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write> Output for Plain<W> {}

impl Output for LogFile {
    #[inline]
    fn before_event(&mut self, sealer: &Sealer) {
        // One relaxed load per event.
        if self.rotated() {
            self.reopen_reporting(sealer);
        }
    }
}

pub(super) struct Worker<W> {
    pub(super) shared: Arc<Shared>,
    pub(super) sealer: Sealer,
    pub(super) writer: W,
    /// The batch being written; swapped with the queue's, so both are reused.
    pub(super) spare: Batch,
    /// Room for the header, then one event (sealed in place).
    pub(super) event: Vec<u8>,
    pub(super) line: Vec<u8>,
    /// The allocation of a field-sealed line's values, kept from line to line.
    pub(super) values: Vec<Value<'static>>,
}

/// Marks the worker gone when it stops, also by a panic in the writer: logging threads then
/// stop queueing (and waiting) instead of blocking forever.
pub(super) struct Gone<'a>(&'a Shared);

impl Drop for Gone<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        let lost = state.batch.events.len() + self.0.in_flight.swap(0, Ordering::Relaxed);
        state.batch.events.clear();
        state.batch.data.clear();
        // Counted before the worker is seen gone: whoever sees it gone sees the count.
        if lost > 0 {
            let why = "the writer thread stopped before writing it";
            self.0
                .failures
                .failed_lines(lost as u64, "write a log line", &why);
        }
        state.worker_gone = true;
        self.0.space.notify_all();
    }
}

impl<W: Output> Worker<W> {
    pub(super) fn run(mut self) {
        let shared = Arc::clone(&self.shared);
        let _ = shared.worker.set(std::thread::current().id());
        let gone = Gone(&shared);
        while self.take_batch() {
            self.write_batch();
        }
        let mut close = Vec::new();
        match self.sealer.close_to(&mut close) {
            Ok(()) if !close.is_empty() => {
                shared.failures.record(self.writer.write_all(&close));
            }
            Ok(()) => {}
            Err(e) => shared.failures.failed("close the encryption session", &e),
        }
        let _ = self.writer.flush();
        // The writer is dropped before the guard may see the worker gone: closing a file on a
        // hung network file system is covered by the guard's timeout too.
        drop(self);
        drop(gone);
    }

    /// Waits for events and swaps them into `spare`; `false` once shut down with nothing left.
    pub(super) fn take_batch(&mut self) -> bool {
        let shared = &*self.shared;
        let mut state = shared.lock();
        if state.batch.events.len() < SHORT_BATCH && !state.shutdown {
            // Let a short batch fill a little: one wake-up and one lock hand-over per batch
            // rather than per event.
            drop(state);
            std::thread::sleep(LINGER);
            state = shared.lock();
        }
        while state.batch.events.is_empty() {
            if state.shutdown {
                return false;
            }
            if shared
                .reopen
                .as_ref()
                .is_some_and(|r| r.load(Ordering::Relaxed))
            {
                break; // an empty batch: `write_batch` reopens (NonBlockingGuard::reopen)
            }
            state.worker_waiting = true;
            state = shared
                .work
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.worker_waiting = false;
        }
        std::mem::swap(&mut state.batch, &mut self.spare);
        shared
            .in_flight
            .store(self.spare.events.len(), Ordering::Relaxed);
        if state.callers_waiting > 0 {
            shared.space.notify_all();
        }
        true
    }

    /// Seals and writes the events in `spare`, in order, one `write_all` each; then flushes.
    pub(super) fn write_batch(&mut self) {
        if self.spare.events.is_empty() {
            self.writer.before_event(&self.sealer); // woken for a reopen only
        }
        let mut start = 0;
        for queued in &self.spare.events {
            self.writer.before_event(&self.sealer);
            let mut bytes = &self.spare.data[start..queued.end];
            start = queued.end;
            if let Some(fields) = &queued.fields {
                let sealed = seal_fields(
                    &self.sealer,
                    &self.spare,
                    &mut self.line,
                    &mut self.values,
                    fields,
                    bytes,
                );
                match sealed {
                    Some(Ok(())) => {
                        (self.shared.failures).record(self.writer.write_all(&self.line));
                        self.line.clear();
                        self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                        continue;
                    }
                    Some(Err(e)) => {
                        self.shared.failures.failed("seal a log line", &e);
                        self.line.clear();
                        self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                        continue;
                    }
                    // Sealed whole, as any event (its clear level and time too).
                    None => bytes = &bytes[..fields.line_end],
                }
            }
            if let Some(stripped) = bytes.strip_suffix(b"\n") {
                bytes = stripped;
            }
            reset_with_room(&mut self.event, EVENT_START);
            self.event.extend_from_slice(bytes);
            let mut clear = [0u8; MAX_CLEAR];
            let clear_len = clear_meta(queued.time, queued.level, &mut clear);
            let clear = (clear_len > 0).then(|| &clear[..clear_len]);
            self.line.clear();
            match self
                .sealer
                .seal_in_place(clear, &mut self.event, EVENT_START, &mut self.line)
            {
                Ok(()) => {
                    (self.shared.failures).record(self.writer.write_all(&self.line));
                }
                Err(e) => self.shared.failures.failed("seal a log line", &e),
            }
            self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        self.spare.clear();
        self.line.clear();
        reset_with_room(&mut self.event, EVENT_START);
        if self.event.capacity() > KEPT_BYTES {
            self.event.shrink_to(KEPT_BYTES);
        }
        if let Err(e) = self.writer.flush() {
            self.shared.failures.flush_failed(&e);
        }
    }
}

/// Seals a line of enclog's field formatter field by field into `line`; `None` if it cannot be
/// (then it is sealed whole).
fn seal_fields(
    sealer: &Sealer,
    batch: &Batch,
    line: &mut Vec<u8>,
    values: &mut Vec<Value<'static>>,
    fields: &QueuedFields,
    bytes: &[u8],
) -> Option<Result<(), crate::seal::SealError>> {
    if sealer.mode() == Mode::Fernet {
        return None;
    }
    line.clear();
    with_prepared(|prep| {
        handover::prepare(
            prep,
            sealer,
            fields.syntax,
            &batch.specs[fields.specs.clone()],
            &batch.names,
            &bytes[..fields.line_end],
            bytes,
            values,
        )
        .ok()?;
        Some(
            sealer
                .seal_prepared(prep, line, |_| ())
                .map_err(|e| match e {
                    FieldsError::Seal(e) => e,
                    _ => crate::seal::SealError::FieldsUnderFernet,
                }),
        )
    })
}
