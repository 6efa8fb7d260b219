//! Threat: torn or interleaved lines, and a nonce reused by two threads sharing one writer.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;

use tracing_subscriber::fmt::MakeWriter;

use enclog::read::{Decryptor, Outcome};
use enclog::{EncryptedWriter, Key, Keyring};

const THREADS: usize = 8;
const EVENTS: usize = 10_000;

#[test]
fn eight_threads_through_the_tracing_layer_into_one_file() {
    eight_threads_into_one_file(EncryptedWriter::new);
}

/// `locked` orders lines with the writer's mutex instead of the session's order lock.
#[test]
fn eight_threads_through_a_locked_writer_into_one_buffered_file() {
    eight_threads_into_one_file(|key, file| {
        EncryptedWriter::locked(key, std::io::BufWriter::new(file))
    });
}

fn eight_threads_into_one_file<M>(make: impl FnOnce(Key, std::fs::File) -> EncryptedWriter<M>)
where
    M: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    let writer = make(key.clone(), file);
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .with_thread_names(true)
            .finish(),
    );
    let dispatch = Arc::new(dispatch);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let dispatch = Arc::clone(&dispatch);
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    let span = tracing::info_span!("worker", t);
                    let _e = span.enter();
                    for i in 0..EVENTS {
                        tracing::info!(thread = t, i, "event {t}/{i}\nsecond line");
                    }
                })
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    drop(dispatch); // the last reference to the writer: a buffered file is flushed

    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    let mut reader = Decryptor::new(file, Keyring::from(key.clone()));
    let mut nonces = HashSet::new();
    let mut events = HashSet::new();
    let mut lines = 0;
    while let Some(entry) = reader.next_entry().unwrap() {
        lines += 1;
        let Outcome::Opened(opened) = entry.outcome else {
            panic!("line {} did not open: {:?}", entry.line_no, entry.outcome);
        };
        let seq = opened.sequence.unwrap();
        assert!(
            nonces.insert((seq.session, seq.seq)),
            "nonce reused at line {}",
            entry.line_no
        );
        let text = String::from_utf8(opened.plaintext.to_vec()).unwrap();
        let marker = text
            .split_whitespace()
            .find(|w| w.starts_with("event"))
            .unwrap_or("");
        let id = text[text.find("event ").unwrap() + 6..]
            .split('\n')
            .next()
            .unwrap()
            .to_owned();
        assert!(
            text.contains("\nsecond line"),
            "line {} torn: {text}",
            entry.line_no
        );
        assert!(!marker.is_empty());
        assert!(events.insert(id), "event logged twice");
    }
    assert_eq!(lines, THREADS * EVENTS);
    assert_eq!(events.len(), THREADS * EVENTS);
    let sessions: HashSet<_> = nonces.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        sessions.len(),
        1,
        "threads sharing a writer share one session"
    );

    // Lines reach the file in sequence order (the writer holds the session's order lock, or
    // its mutex, from numbering to writing), so verify finds nothing to report but the session
    // left open.
    let options = enclog::verify::VerifyOptions::default().allow_open_sessions(true);
    let mut verifier = enclog::verify::Verifier::with_options(options);
    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    verifier
        .observe_all("app.log", &mut Decryptor::new(file, Keyring::from(key)))
        .unwrap();
    let report = verifier.finish();
    assert!(report.is_clean(), "{:?}", report.findings);
}

/// An in-memory file that `Mutex<SharedVec>` (the generic case) or `locked` writes into.
#[derive(Clone, Default)]
struct SharedVec(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedVec {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Threat: a deadlock between an event (which takes the writer's mutex, then the session's
/// order lock) and `close_session` (which once took them the other way round), or a close
/// record written after the next session's first event.
#[test]
fn closing_sessions_while_two_threads_log_neither_deadlocks_nor_misorders() {
    const EVENTS: usize = 100_000;
    for locked in [false, true] {
        let key = Key::generate().unwrap();
        let file = SharedVec::default();
        // The same type either way: `locked` skips the order lock, `new` takes it too.
        let writer = if locked {
            EncryptedWriter::locked(key.clone(), file.clone())
        } else {
            EncryptedWriter::new(key.clone(), std::sync::Mutex::new(file.clone()))
        };
        let writer = Arc::new(writer);
        let (done, finished) = std::sync::mpsc::channel();
        let logging = Arc::new(std::sync::atomic::AtomicUsize::new(2));
        for t in 0..2 {
            let (writer, done, logging) = (Arc::clone(&writer), done.clone(), logging.clone());
            std::thread::spawn(move || {
                for i in 0..EVENTS {
                    writeln!(writer.make_writer(), "event {t}/{i}").unwrap();
                }
                logging.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                done.send(()).unwrap();
            });
        }
        {
            // Closes for as long as the others log.
            let (writer, done) = (Arc::clone(&writer), done.clone());
            std::thread::spawn(move || {
                while logging.load(std::sync::atomic::Ordering::Relaxed) > 0 {
                    writer.close_session();
                }
                done.send(()).unwrap();
            });
        }
        for _ in 0..3 {
            finished
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("deadlocked (locked: {locked})"));
        }
        writer.close_session();

        let log = file.0.lock().unwrap().clone();
        let mut reader = Decryptor::new(&log[..], Keyring::from(key.clone()));
        let (mut events, mut previous) = (0, None);
        while let Some(entry) = reader.next_entry().unwrap() {
            let Outcome::Opened(opened) = entry.outcome else {
                panic!("line {} did not open", entry.line_no);
            };
            let session = opened.sequence.unwrap().session;
            if opened.record == enclog::format::RecordKind::Close {
                // `verify` checks each session on its own; the file order across sessions is
                // checked here: a close record right after its own session's lines.
                assert!(
                    previous.is_none_or(|p| p == session),
                    "locked: {locked}: line {}: a close record after another session's line",
                    entry.line_no
                );
            }
            events += usize::from(opened.record == enclog::format::RecordKind::Event);
            previous = Some(session);
        }
        assert_eq!(events, 2 * EVENTS);
        let mut verifier = enclog::verify::Verifier::new();
        verifier
            .observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))
            .unwrap();
        let report = verifier.finish();
        assert!(report.is_clean(), "locked: {locked}: {:?}", report.findings);
    }
}
