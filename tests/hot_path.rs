//! The hot path, measured rather than claimed: once warm, sealing an event through
//! `EncryptedWriter` allocates nothing and makes exactly one write to the writer below.
//!
//! Threats: a logger whose memory grows with traffic, and torn lines (two writes per event can
//! interleave with another writer's between them).
//!
//! A counting global allocator needs a test binary of its own.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing_subscriber::fmt::MakeWriter;

struct Counting;

thread_local! {
    /// Allocations made by this thread (tests run on parallel threads; each counts its own).
    static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn count() {
    // `try_with`: allocations during thread teardown must not panic.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(|c| c.get())
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A writer that counts its `write` calls and keeps nothing (no allocation of its own).
#[derive(Clone, Default)]
struct CountingSink {
    writes: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_warm_encrypted_writer_allocates_nothing_and_writes_once_per_event() {
    let sink = CountingSink::default();
    let make = {
        let sink = sink.clone();
        move || sink.clone()
    };
    let key = enclog::Key::generate().unwrap();
    let writer = enclog::EncryptedWriter::new(key, make)
        .clear_level(true)
        .clear_timestamp(true);
    let event = b"2026-11-26T20:27:30.123456Z  INFO checkout{order=1042}: app: payment accepted \
                  user=alice@example.com amount=42.00\n";
    let log_one = || {
        let mut w = writer.make_writer();
        w.write_all(event).unwrap();
    };
    for _ in 0..100 {
        log_one(); // warm: session drawn, buffers grown
    }

    let writes_before = sink.writes.load(Ordering::Relaxed);
    let allocations_before = allocations();
    const EVENTS: u64 = 10_000;
    for _ in 0..EVENTS {
        log_one();
    }
    let allocations = allocations() - allocations_before;
    let writes = sink.writes.load(Ordering::Relaxed) - writes_before;
    assert_eq!(
        allocations, 0,
        "{allocations} allocations for {EVENTS} warm events"
    );
    assert_eq!(writes, EVENTS, "one write per event");
    assert!(sink.bytes.load(Ordering::Relaxed) > EVENTS * event.len() as u64);
}

/// `init_file`'s writer (`EncryptedWriter::follow_file`: a `LogFile` that follows logrotate):
/// the rotation check is one relaxed load, so a warm writer allocates nothing either, and every
/// event is one whole line of the file.
#[test]
fn a_warm_writer_following_its_path_allocates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let file = enclog::file::LogFile::open(&path).unwrap();
    let key = enclog::Key::generate().unwrap();
    let writer = enclog::EncryptedWriter::follow_file(file, enclog::Sealer::new(key.clone()))
        .clear_level(true);
    let event = b"2026-11-26T20:27:30.123456Z  INFO app: payment accepted user=alice@example.com\n";
    let log_one = || {
        let mut w = writer.make_writer();
        w.write_all(event).unwrap();
    };
    for _ in 0..100 {
        log_one();
    }
    let before = allocations();
    const EVENTS: usize = 5_000;
    for _ in 0..EVENTS {
        log_one();
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations for {EVENTS} warm events"
    );
    let text = std::fs::read(&path).unwrap();
    let mut opener = enclog::Opener::new(enclog::Keyring::from(key));
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 100 + EVENTS);
    assert!(
        lines.iter().all(|l| opener.open(l).unwrap().is_ok()),
        "whole lines"
    );
}

#[test]
fn a_warm_sealer_allocates_nothing() {
    let sealer = enclog::Sealer::new(enclog::Key::generate().unwrap());
    let mut line = Vec::with_capacity(1024);
    for _ in 0..10 {
        line.clear();
        sealer
            .seal_to(Some(b"INFO"), &[b'x'; 300], &mut line)
            .unwrap();
    }
    let before = allocations();
    for _ in 0..10_000 {
        line.clear();
        sealer
            .seal_to(Some(b"INFO"), &[b'x'; 300], &mut line)
            .unwrap();
    }
    assert_eq!(allocations() - before, 0);
}

/// `enclog::non_blocking`: the logging thread appends each event to a queue that is reused
/// (two batches swapped with the worker), so it allocates only when a batch grows past any
/// before it — a handful of times, not once per event; the worker writes each line with one
/// `write`.
#[test]
fn a_warm_non_blocking_writer_does_not_allocate_per_event_and_writes_once_per_line() {
    let sink = CountingSink::default();
    let (writer, guard) =
        enclog::non_blocking(enclog::Key::generate().unwrap(), sink.clone()).unwrap();
    let event = b"2026-11-26T20:27:30.123456Z  INFO app: payment accepted user=alice@example.com\n";
    const EVENTS: u64 = 20_000;
    for _ in 0..EVENTS {
        writer.make_writer().write_all(event).unwrap(); // warm: both batches grown
    }
    let before = allocations();
    for _ in 0..EVENTS {
        writer.make_writer().write_all(event).unwrap();
    }
    let allocations = allocations() - before;
    // A batch that outgrows every earlier one doubles (a few times, more in a debug build
    // where the worker is slow and batches get long); one allocation per event would be 20,000.
    assert!(
        allocations < EVENTS / 100,
        "{allocations} allocations on the logging thread for {EVENTS} warm events"
    );
    drop(guard);
    assert_eq!(
        sink.writes.load(Ordering::Relaxed),
        2 * EVENTS + 1,
        "one write per line: every event and the close record"
    );
    assert_eq!(writer.lost_lines(), 0);
}

/// Sealed fields (`enclog::tracing::fields::SealedFields`): a warm thread formats the event,
/// hands its real line to the writer and seals two values, an index and the envelope without
/// allocating, and the writer below gets one write per event — through the whole `tracing`
/// path (subscriber, span, formatter), as an application logs.
#[test]
fn a_warm_field_sealing_formatter_allocates_nothing_and_writes_once_per_event() {
    use enclog::tracing::fields::SealedFields;
    for format in [
        SealedFields::json().seal(["user", "card*"]).index(["user"]),
        SealedFields::full().seal(["user", "card*"]).index(["user"]),
        SealedFields::compact()
            .seal(["user", "card*"])
            .index(["user"]),
    ] {
        let sink = CountingSink::default();
        let make = {
            let sink = sink.clone();
            move || sink.clone()
        };
        let key = enclog::Key::generate().unwrap();
        let writer = enclog::EncryptedWriter::new(key, make);
        let subscriber = tracing_subscriber::fmt()
            .event_format(format.clone())
            .fmt_fields(format)
            .with_writer(writer)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("checkout", order = 1042, card = "4111 1111 1111 1111");
            let _entered = span.enter();
            let log_one = |i: u64| {
                tracing::info!(
                    user = "alice@example.com",
                    card_pan = "5500 0000 0000 0004",
                    amount = 42,
                    i,
                    "payment accepted"
                );
            };
            for i in 0..100 {
                log_one(i); // warm
            }
            let writes_before = sink.writes.load(Ordering::Relaxed);
            let allocations_before = allocations();
            const EVENTS: u64 = 5_000;
            for i in 0..EVENTS {
                log_one(i);
            }
            let allocations = allocations() - allocations_before;
            let writes = sink.writes.load(Ordering::Relaxed) - writes_before;
            assert_eq!(
                allocations, 0,
                "{allocations} allocations for {EVENTS} warm events"
            );
            assert_eq!(writes, EVENTS, "one write per event");
        });
    }
}
