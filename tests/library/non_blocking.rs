//! `enclog::non_blocking`: sealing and writing on a worker thread.
//!
//! Threats: lines lost or reordered on the way to the worker (a queue that drops silently, a
//! shutdown that does not drain), logging threads blocked forever by a dead worker, and
//! plaintext reaching the writer.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use enclog::format::RecordKind;
use enclog::non_blocking::NonBlockingBuilder;
use enclog::read::{Decryptor, MetaStatus, Outcome};
use enclog::seal::WriteErrorPolicy;
use enclog::verify::Verifier;
use enclog::{Key, Keyring};
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
    /// A sink whose writes wait while the test holds the returned lock.
    fn gated() -> (Sink, Arc<Mutex<()>>) {
        let gate = Arc::new(Mutex::new(()));
        let sink = Sink {
            gate: Some(Arc::clone(&gate)),
            ..Sink::default()
        };
        (sink, gate)
    }

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
    let (sink, gate) = Sink::gated();
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(2)
        .finish(key, sink.clone())
        .unwrap();
    let logged = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stuck = gate.lock().unwrap(); // the writer blocks: the queue fills up
    let logging = {
        let (writer, logged) = (writer.clone(), Arc::clone(&logged));
        std::thread::spawn(move || {
            for i in 0..100 {
                write!(writer.make_writer(), "event {i}").unwrap();
                logged.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    // At most: what the worker took before it blocked, plus the 2 the queue holds.
    let while_stuck = logged.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        while_stuck <= 4,
        "{while_stuck} events logged past a full queue"
    );
    assert!(!logging.is_finished(), "the logging thread did not wait");
    drop(stuck);
    logging.join().unwrap();
    drop(guard);
    assert_eq!(writer.lost_lines(), 0);
    assert_eq!(
        sink.lines().len(),
        100 + 1,
        "every event and the close record"
    );
}

/// A writer that logs through the same `NonBlocking` (an HTTP client emitting tracing events,
/// say) while the queue is full must not leave the worker waiting for room only it can make.
#[test]
fn the_workers_own_writer_logging_into_a_full_queue_does_not_deadlock() {
    let key = Key::generate().unwrap();
    let feedback: Arc<std::sync::OnceLock<enclog::non_blocking::NonBlocking>> = Arc::default();
    #[derive(Clone)]
    struct Chatty(
        Sink,
        Arc<std::sync::OnceLock<enclog::non_blocking::NonBlocking>>,
    );
    impl Write for Chatty {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            // Logs from the worker, for each line it writes (up to 200: the feedback must end).
            if let Some(writer) = self.1.get()
                && self.0.lines().len() < 200
            {
                write!(writer.make_writer(), "wrote a line")?;
            }
            self.0.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(1)
        .finish(key.clone(), Chatty(sink.clone(), Arc::clone(&feedback)))
        .unwrap();
    feedback.set(writer.clone()).unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    {
        let writer = writer.clone();
        std::thread::spawn(move || {
            for i in 0..50 {
                write!(writer.make_writer(), "event {i}").unwrap();
            }
            done.send(()).unwrap();
        });
    }
    finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the logging thread is stuck: the worker waited for itself");
    drop(guard);
    assert_eq!(writer.lost_lines(), 0);
    assert!(
        sink.lines().len() > 50,
        "the worker's own events were written too"
    );
}

#[test]
fn the_guard_gives_up_on_a_stuck_writer_after_the_shutdown_timeout() {
    let (sink, gate) = Sink::gated();
    let (writer, guard) = NonBlockingBuilder::default()
        .shutdown_timeout(Duration::from_millis(200))
        .error_policy(WriteErrorPolicy::Silent)
        .finish(Key::generate().unwrap(), sink.clone())
        .unwrap();
    let stuck = gate.lock().unwrap(); // a writer hung on a dead network file system
    write!(writer.make_writer(), "event").unwrap();
    let (dropped, returned) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(guard);
        dropped.send(()).unwrap();
    });
    returned
        .recv_timeout(Duration::from_secs(30))
        .expect("the guard waited for a stuck writer");
    assert!(sink.lines().is_empty());
    drop(stuck); // the worker finishes on its own afterwards
}

/// `NonBlocking::sealer` reaches the worker's sealer: after `set_key` the next lines are
/// sealed under the new key (after a close record under the old one).
#[test]
fn a_key_set_through_the_writers_sealer_takes_effect_on_the_worker() {
    let (old, new) = (Key::generate().unwrap(), Key::generate().unwrap());
    let sink = Sink::default();
    let (writer, guard) = NonBlockingBuilder::default()
        .finish(old.clone(), sink.clone())
        .unwrap();
    write!(writer.make_writer(), "before").unwrap();
    // Written (under the old key) before the key changes.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while sink.lines().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    writer.sealer().set_key(new.clone());
    write!(writer.make_writer(), "after").unwrap();
    drop(guard);
    let keyring: Keyring = [old.clone(), new.clone()].into_iter().collect();
    let mut opener = enclog::Opener::new(keyring);
    let seen: Vec<_> = sink
        .lines()
        .iter()
        .map(|l| {
            let o = opener.open(l).unwrap().unwrap();
            (
                o.key_id,
                o.record,
                String::from_utf8_lossy(o.plaintext).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (old.id(), RecordKind::Event, "before".to_owned()),
            (old.id(), RecordKind::Close, String::new()),
            (new.id(), RecordKind::Event, "after".to_owned()),
            (new.id(), RecordKind::Close, String::new()),
        ]
    );
}

#[test]
fn lossy_mode_drops_what_does_not_fit_and_counts_every_dropped_event() {
    let key = Key::generate().unwrap();
    let (sink, gate) = Sink::gated();
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
