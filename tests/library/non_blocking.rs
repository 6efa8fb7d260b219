//! `enclog::non_blocking`: sealing and writing on a worker thread.
//!
//! Threats: lines lost or reordered on the way to the worker (a queue that drops silently, a
//! shutdown that does not drain), logging threads blocked forever by a dead worker, and
//! plaintext reaching the writer.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use enclog::{
    Decryptor, Key, Keyring, MetaStatus, NonBlockingBuilder, Outcome, RecordKind, Verifier,
    WriteErrorPolicy,
};
use tracing_subscriber::fmt::MakeWriter;

/// A writer the test can read back; optionally slow, failing, stuck or panicking.
#[derive(Clone, Default)]
struct Sink {
    bytes: Arc<Mutex<Vec<u8>>>,
    delay: Option<Duration>,
    fail: bool,
    panic: bool,
    /// While held by the test, writes wait for it.
    gate: Option<Arc<Mutex<()>>>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(gate) = &self.gate {
            drop(gate.lock().unwrap());
        }
        if let Some(delay) = self.delay {
            std::thread::sleep(delay);
        }
        if self.panic {
            panic!("the writer under test panics");
        }
        if self.fail {
            return Err(std::io::Error::other("disk full"));
        }
        self.bytes.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn lines(&self) -> Vec<Vec<u8>> {
        let bytes = self.bytes.lock().unwrap();
        bytes
            .split_inclusive(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    }
}

const SECRET: &str = "alice@example.com";

#[test]
fn events_from_four_threads_all_open_in_sequence_order_with_their_clear_metadata() {
    const THREADS: usize = 4;
    const EVENTS: usize = 5_000;
    let key = Key::generate().unwrap();
    let sink = Sink::default();
    let (writer, guard) = NonBlockingBuilder::default()
        .clear_level(true)
        .clear_timestamp(true)
        .finish(key.clone(), sink.clone())
        .unwrap();
    let dispatch = Arc::new(tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish(),
    ));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let dispatch = Arc::clone(&dispatch);
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..EVENTS {
                        tracing::warn!(user = SECRET, t, i, "event {t}/{i}\nsecond line");
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(guard.lost_lines(), 0);
    drop(guard); // drains the queue, writes the close record

    let bytes = sink.bytes.lock().unwrap().clone();
    assert!(
        !String::from_utf8_lossy(&bytes).contains(SECRET),
        "plaintext reached the writer"
    );
    let mut reader = Decryptor::new(&bytes[..], Keyring::from(key.clone()));
    let (mut events, mut closes) = (std::collections::HashSet::new(), 0);
    while let Some(entry) = reader.next_entry().unwrap() {
        let Outcome::Opened(opened) = entry.outcome else {
            panic!("line {} did not open: {:?}", entry.line_no, entry.outcome);
        };
        if opened.record == RecordKind::Close {
            closes += 1;
            continue;
        }
        assert_eq!(opened.meta_status, MetaStatus::Matches);
        let meta = String::from_utf8(opened.meta.unwrap().to_vec()).unwrap();
        assert!(meta.ends_with("Z WARN"), "clear metadata {meta:?}");
        let text = String::from_utf8(opened.plaintext.to_vec()).unwrap();
        assert!(text.contains("\nsecond line") && text.contains(SECRET));
        let id = text[text.find("event ").unwrap() + 6..]
            .split('\n')
            .next()
            .unwrap()
            .to_owned();
        assert!(events.insert(id), "event written twice");
    }
    assert_eq!(events.len(), THREADS * EVENTS);
    assert_eq!(closes, 1);
    // One session, numbered in file order, closed: verify has nothing to report.
    let mut verifier = Verifier::new();
    verifier
        .observe_all(
            "app.log",
            &mut Decryptor::new(&bytes[..], Keyring::from(key)),
        )
        .unwrap();
    let report = verifier.finish();
    assert!(report.is_clean(), "{:?}", report.findings);
}

#[test]
fn a_full_queue_makes_logging_threads_wait_not_drop_by_default() {
    let key = Key::generate().unwrap();
    let sink = Sink {
        delay: Some(Duration::from_micros(300)),
        ..Sink::default()
    };
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(2)
        .finish(key, sink.clone())
        .unwrap();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let writer = writer.clone();
            std::thread::spawn(move || {
                for i in 0..150 {
                    write!(writer.make_writer(), "event {t}/{i}").unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    drop(guard);
    assert_eq!(writer.lost_lines(), 0);
    assert_eq!(
        sink.lines().len(),
        300 + 1,
        "every event and the close record"
    );
}

#[test]
fn lossy_mode_drops_what_does_not_fit_and_counts_every_dropped_event() {
    let key = Key::generate().unwrap();
    let gate = Arc::new(Mutex::new(()));
    let sink = Sink {
        gate: Some(Arc::clone(&gate)),
        ..Sink::default()
    };
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(1)
        .lossy(true)
        .error_policy(WriteErrorPolicy::Silent)
        .finish(key.clone(), sink.clone())
        .unwrap();
    const EVENTS: u64 = 50;
    {
        let _stuck = gate.lock().unwrap(); // the writer blocks: the queue cannot drain
        for i in 0..EVENTS {
            write!(writer.make_writer(), "event {i}").unwrap();
            std::thread::sleep(Duration::from_micros(50));
        }
    }
    drop(guard);
    let written = sink.lines().len() as u64 - 1; // without the close record
    assert!(writer.lost_lines() > 0, "nothing was dropped");
    assert_eq!(
        written + writer.lost_lines(),
        EVENTS,
        "every event is either written or counted as lost"
    );
    let bytes = sink.bytes.lock().unwrap().clone();
    let mut reader = Decryptor::new(&bytes[..], Keyring::from(key));
    while let Some(entry) = reader.next_entry().unwrap() {
        assert!(matches!(entry.outcome, Outcome::Opened(_)));
    }
}

#[test]
fn write_failures_are_counted_per_line() {
    let sink = Sink {
        fail: true,
        ..Sink::default()
    };
    let (writer, guard) = NonBlockingBuilder::default()
        .error_policy(WriteErrorPolicy::Silent)
        .finish(Key::generate().unwrap(), sink)
        .unwrap();
    for i in 0..20 {
        write!(writer.make_writer(), "event {i}").unwrap();
    }
    drop(guard);
    assert_eq!(
        writer.lost_lines(),
        20 + 1,
        "20 events and the close record"
    );
}

#[test]
fn events_after_the_guard_is_dropped_are_counted_as_lost() {
    let sink = Sink::default();
    let (writer, guard) = NonBlockingBuilder::default()
        .error_policy(WriteErrorPolicy::Silent)
        .finish(Key::generate().unwrap(), sink.clone())
        .unwrap();
    write!(writer.make_writer(), "before").unwrap();
    drop(guard);
    let lines = sink.lines().len();
    write!(writer.make_writer(), "after").unwrap();
    assert_eq!(writer.lost_lines(), 1);
    assert_eq!(
        sink.lines().len(),
        lines,
        "nothing written after the shutdown"
    );
}

#[test]
fn a_writer_that_panics_does_not_leave_logging_threads_blocked() {
    let sink = Sink {
        panic: true,
        ..Sink::default()
    };
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(1) // lossless: a dead worker would block the second event
        .error_policy(WriteErrorPolicy::Silent)
        .finish(Key::generate().unwrap(), sink)
        .unwrap();
    let logging = std::thread::spawn(move || {
        for i in 0..10 {
            write!(writer.make_writer(), "event {i}").unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        writer.lost_lines()
    });
    let lost = logging.join().unwrap();
    assert_eq!(lost, 10, "every event is counted as lost, none blocks");
    drop(guard);
}
