//! Threat: torn or interleaved lines, and a nonce reused by two threads sharing one writer.

use std::collections::HashSet;
use std::sync::Arc;

use enclog::{Decryptor, EncryptedWriter, Key, Keyring, Outcome};

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
    let mut options = enclog::VerifyOptions::default();
    options.allow_open_sessions = true;
    let mut verifier = enclog::Verifier::with_options(options);
    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    verifier
        .observe_all("app.log", &mut Decryptor::new(file, Keyring::from(key)))
        .unwrap();
    let report = verifier.finish();
    assert!(report.is_clean(), "{:?}", report.findings);
}
