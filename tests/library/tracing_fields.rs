//! Sealed fields from `tracing` (`enclog::tracing::fields`): lines that keep their clear fields
//! and seal the chosen values, tested the way the whole-line writer is — round trips, threads,
//! fork, leaks, one write per event — plus what is particular to them: the redacted line a
//! writer that is not enclog's gets, the `sealed()` wrapper, and lines sealed whole.

use std::collections::{HashMap, HashSet};
use std::error::Error;
use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex};

use enclog::fields::{IndexKey, Syntax};
use enclog::read::{Decryptor, MetaStatus, Outcome};
use enclog::tracing::fields::{REDACTED, SealedFields};
use enclog::{EncryptedWriter, Identity, Key, Keyring, Opener, sealed};
use tracing::Dispatch;
use tracing_subscriber::fmt::MakeWriter;

/// An in-memory file; counts the writes it is given.
#[derive(Clone, Default)]
struct Memory {
    bytes: Arc<Mutex<Vec<u8>>>,
    writes: Arc<Mutex<usize>>,
}

impl Memory {
    fn bytes(&self) -> Vec<u8> {
        self.bytes.lock().unwrap().clone()
    }
    fn text(&self) -> String {
        String::from_utf8(self.bytes()).unwrap()
    }
    fn writes(&self) -> usize {
        *self.writes.lock().unwrap()
    }
}

impl Write for Memory {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.lock().unwrap().extend_from_slice(buf);
        *self.writes.lock().unwrap() += 1;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Memory {
    type Writer = Memory;
    fn make_writer(&'a self) -> Memory {
        self.clone()
    }
}

/// A subscriber formatting with `format` into `writer`.
fn dispatch<W>(format: &SealedFields, writer: W) -> Dispatch
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    Dispatch::new(
        tracing_subscriber::fmt()
            .event_format(format.clone())
            .fmt_fields(format.clone())
            .with_writer(writer)
            .with_max_level(tracing::Level::TRACE)
            .finish(),
    )
}

/// Opens every line of `log`: the restored lines, and what each says of its sealed fields.
fn open_all(key: impl Into<Keyring>, log: &[u8]) -> Vec<(String, Vec<String>)> {
    let mut opener = Opener::new(key.into());
    log.split_inclusive(|&b| b == b'\n')
        .map(|line| {
            let opened = opener.open(line).expect("an enclog line").expect("opens");
            if opened.fields.is_some() {
                assert_eq!(
                    opened.meta_status,
                    MetaStatus::Matches,
                    "clear fields as written"
                );
            }
            let text = [opened.before, opened.plaintext, opened.after].concat();
            let sealed = opened
                .fields
                .as_ref()
                .map(|f| f.sealed.clone())
                .unwrap_or_default();
            (String::from_utf8(text).unwrap(), sealed)
        })
        .collect()
}

#[derive(Debug)]
struct Outer(Inner);
#[derive(Debug)]
struct Inner(&'static str);
impl fmt::Display for Outer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request failed")
    }
}
impl Error for Outer {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}
impl fmt::Display for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "upstream said {}", self.0)
    }
}
impl Error for Inner {}

/// A struct whose `Debug` holds a sealed member.
#[derive(Debug)]
#[allow(dead_code)] // read by `Debug`
struct Login {
    name: &'static str,
    password: enclog::tracing::fields::Sealed<&'static str>,
}

/// The same struct with nothing sealed: its `Debug` is the restored value.
mod plain {
    #[derive(Debug)]
    #[allow(dead_code)] // read by `Debug`
    pub(super) struct Login {
        pub(super) name: &'static str,
        pub(super) password: &'static str,
    }
}

/// The events of the round trips: every kind of value, in and out of spans, sealed by name
/// and by value (`wrap`: with `sealed()`, else the same values bare), a message with a newline
/// and quotes, an error with its chain.
fn log_events(wrap: bool) {
    tracing::info!(user = "alice@example.com", n = 1, "signed in");
    let span = tracing::info_span!("checkout", order = 1042, card = "4111 1111 1111 1111");
    let _e = span.enter();
    macro_rules! warn_with {
        ($token:expr, $login:expr) => {
            tracing::warn!(
                user = "bob@example.com",
                card_pan = "5500 0000 0000 0004",
                amount = 42.5,
                ok = true,
                big = 18_446_744_073_709_551_615u64,
                neg = -7i64,
                token = ?$token,
                login = ?$login,
                "quote \" and\nnewline"
            )
        };
    }
    if wrap {
        warn_with!(
            sealed("tok_4f9a8b7c"),
            Login {
                name: "carol",
                password: sealed("hunter2")
            }
        );
    } else {
        warn_with!(
            "tok_4f9a8b7c",
            plain::Login {
                name: "carol",
                password: "hunter2"
            }
        );
    }
    let inner = tracing::info_span!("charge", user = "dave@example.com", attempt = 2);
    inner.in_scope(|| {
        let err = Outer(Inner("card declined for 4111"));
        tracing::error!(error = &err as &dyn Error, "payment failed");
        tracing::debug!(plain = "nothing sealed here");
    });
}

const SECRETS: [&str; 8] = [
    "alice@example.com",
    "4111 1111 1111 1111",
    "bob@example.com",
    "5500 0000 0000 0004",
    "tok_4f9a8b7c",
    "hunter2",
    "dave@example.com",
    "card declined",
];

/// Each formatter, sealing by name and indexing `user`; the same with nothing sealed, into a
/// plain writer, gives the lines the restored ones must equal.
fn formats() -> Vec<(SealedFields, SealedFields)> {
    let sealing = |f: SealedFields| {
        (
            f.clone().seal(["user", "card*", "error"]).index(["user"]),
            f,
        )
    };
    vec![
        sealing(SealedFields::json().without_time()),
        sealing(SealedFields::json().without_time().flatten_event(true)),
        sealing(SealedFields::full().without_time()),
        sealing(SealedFields::compact().without_time()),
    ]
}

/// Every line opens and restores to what the same formatter writes with nothing sealed (byte
/// for byte), with no sealed value in the file; JSON lines stay one JSON object each.
#[test]
fn lines_round_trip_to_what_the_formatter_writes_with_nothing_sealed() {
    for (sealing, plain) in formats() {
        let key = Key::generate().unwrap();
        let file = Memory::default();
        tracing::dispatcher::with_default(
            &dispatch(&sealing, EncryptedWriter::new(key.clone(), file.clone())),
            || log_events(true),
        );
        let expected = Memory::default();
        let plain_dispatch = dispatch(&plain, expected.clone());
        tracing::dispatcher::with_default(&plain_dispatch, || log_events(false));
        let expected = expected.text();

        let text = file.text();
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} in clear: {text}");
        }
        assert!(
            text.contains("signed in") && text.contains("checkout"),
            "{text}"
        );
        let opened = open_all(key.clone(), text.as_bytes());
        let restored: Vec<&str> = opened.iter().map(|(l, _)| l.as_str()).collect();
        let expected_lines: Vec<&str> = expected.lines().collect();
        assert_eq!(restored.len(), 4);
        for (restored, expected) in restored.iter().zip(&expected_lines) {
            assert_eq!(restored, expected, "{:?}", sealing.syntax());
        }
        if sealing.syntax() == Syntax::Json {
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).expect("one JSON object");
                assert!(v["enclog"].as_str().unwrap().starts_with("enclog:"));
            }
        }
        // What each line says it sealed: JSON Pointers, or a text line's names.
        let path = |object: &str, name: &str| match sealing.syntax() {
            Syntax::Json => format!("{object}/{name}"),
            _ => name.to_string(),
        };
        let fields = if text.contains("\"fields\":{") {
            "/fields"
        } else {
            ""
        };
        let sealed: Vec<Vec<String>> = opened.iter().map(|(_, s)| s.clone()).collect();
        let json = sealing.syntax() == Syntax::Json;
        assert_eq!(sealed[0], [path(fields, "user")]);
        let mut warn = vec![
            path(fields, "user"),
            path(fields, "card_pan"),
            path(fields, "token"),
            path(fields, "login"),
        ];
        let mut error = vec![path(fields, "error")];
        let mut debug = vec![];
        if json {
            warn.extend([path("/span", "card"), path("/spans/0", "card")]);
            for line in [&mut error, &mut debug] {
                line.extend([
                    path("/span", "user"),
                    path("/spans/0", "card"),
                    path("/spans/1", "user"),
                ]);
            }
        } else if sealing.syntax() == Syntax::Text && expected.contains("checkout{") {
            // full: the spans come first
            warn.insert(0, "card".into());
            for line in [&mut error, &mut debug] {
                line.splice(0..0, ["card".to_string(), "user".to_string()]);
            }
        } else {
            // compact: the spans' fields come last
            warn.push("card".into());
            for line in [&mut error, &mut debug] {
                line.extend(["card".to_string(), "user".to_string()]);
            }
        }
        assert_eq!(sealed[1], warn, "{}", restored[1]);
        assert_eq!(sealed[2], error, "{}", restored[2]);
        assert_eq!(sealed[3], debug, "{}", restored[3]);
    }
}

/// One event through `format` into an enclog writer over memory; the file's text.
fn log_one<M>(format: &SealedFields, writer: EncryptedWriter<M>, log: impl FnOnce())
where
    M: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing::dispatcher::with_default(&dispatch(format, writer), log);
}

/// An index value is what `IndexKey::value` (and so `enclog index`) computes for the field's
/// name and its value's text: the same for one user in JSON and text lines, in events and
/// spans, and different for another user or another key.
#[test]
fn index_values_are_what_enclog_index_computes() {
    let key = Key::generate().unwrap();
    let index = IndexKey::from_key(&key);
    let alice = index.value("user", b"alice@example.com");
    let bob = index.value("user", b"bob@example.com");
    assert_ne!(alice, bob);
    for format in [
        SealedFields::json(),
        SealedFields::full(),
        SealedFields::compact(),
    ] {
        let format = format.seal(["user"]).index(["user"]);
        let file = Memory::default();
        log_one(
            &format,
            EncryptedWriter::new(key.clone(), file.clone()),
            || {
                tracing::info!(user = "alice@example.com", "one");
                tracing::info!(user = ?sealed("bob@example.com"), "two");
                tracing::info_span!("session", user = "alice@example.com")
                    .in_scope(|| tracing::info!("three"));
            },
        );
        let text = file.text();
        let lines: Vec<&str> = text.lines().collect();
        let json = format.syntax() == Syntax::Json;
        let idx = |v: &str| {
            if json {
                format!("\"user_idx\":\"{v}\"")
            } else {
                format!(" user_idx={v}")
            }
        };
        assert!(lines[0].contains(&idx(&alice)), "{}", lines[0]);
        assert!(lines[2].contains(&idx(&alice)), "{}", lines[2]);
        // `?sealed("…")` is the value's Debug text, quotes included.
        assert!(lines[1].contains(&idx(&index.value("user", b"\"bob@example.com\""))));
        let other =
            IndexKey::from_key(&Key::generate().unwrap()).value("user", b"alice@example.com");
        assert!(!text.contains(&other));
        assert_eq!(open_all(key.clone(), text.as_bytes()).len(), 3);
    }
}

/// A writer that seals to a recipient cannot derive an index key: given one
/// (`EncryptedWriter::index_key`, `NonBlockingBuilder::index_key`), it indexes with it; without one, a line with an indexed
/// field is sealed whole (never in clear). Both open with the identity only.
#[test]
fn a_recipient_writer_indexes_with_the_index_key_it_is_given() {
    let identity = Identity::generate().unwrap();
    let index_key = IndexKey::from_key(&Key::generate().unwrap());
    let format = SealedFields::json().seal(["user"]).index(["user"]);
    let with = Memory::default();
    log_one(
        &format,
        EncryptedWriter::new(identity.recipient(), with.clone()).index_key(index_key.clone()),
        || tracing::info!(user = "alice@example.com", "signed in"),
    );
    let without = Memory::default();
    log_one(
        &format,
        EncryptedWriter::new(identity.recipient(), without.clone()),
        || tracing::info!(user = "alice@example.com", "signed in"),
    );
    let queued = Memory::default();
    let (writer, guard) = enclog::non_blocking::NonBlockingBuilder::default()
        .index_key(index_key.clone())
        .finish(identity.recipient(), queued.clone())
        .unwrap();
    tracing::dispatcher::with_default(&dispatch(&format, writer), || {
        tracing::info!(user = "alice@example.com", "signed in")
    });
    drop(guard);
    let queued = queued.text();
    let with = with.text();
    for text in [&with, &queued] {
        assert!(
            text.contains(&index_key.value("user", b"alice@example.com")),
            "{text}"
        );
    }
    assert!(with.starts_with("{\"timestamp\""), "field by field: {with}");
    let without = without.text();
    assert!(without.starts_with("enclog:"), "sealed whole: {without}");
    for text in [&with, &without, &queued] {
        assert!(!text.contains("alice@"));
        let mut opener = Opener::new(identity.clone().into());
        let first = text.lines().next().unwrap();
        let opened = opener.open(first.as_bytes()).unwrap().unwrap();
        assert_eq!(opened.mode, enclog::format::Mode::Recipient);
        assert!(String::from_utf8_lossy(opened.plaintext).contains("alice@example.com"));
    }
}

/// Fail closed: a writer that is not enclog's gets the redacted line — every sealed value
/// replaced by the marker, every clear field kept — and never a sealed value.
#[test]
fn a_writer_that_is_not_enclogs_gets_the_redacted_line() {
    for format in [
        SealedFields::json(),
        SealedFields::full(),
        SealedFields::compact(),
    ] {
        let format = format
            .seal(["user", "card*", "error"])
            .index(["user"])
            .without_time();
        let out = Memory::default();
        tracing::dispatcher::with_default(&dispatch(&format, out.clone()), || log_events(true));
        let text = out.text();
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(text.lines().count(), 4);
        assert!(text.contains(REDACTED) && text.contains("42.5") && text.contains("signed in"));
        assert!(
            !text.contains("enclog:") && !text.contains("_idx"),
            "{text}"
        );
    }
}

/// `sealed(x)` anywhere but in a field enclog's formatter writes: the marker, never the value —
/// with `tracing_subscriber`'s own formatters (full and JSON), in `format!`, and in the text of
/// a message (also with enclog's formatter, and after decrypting).
#[test]
fn sealed_values_show_the_marker_everywhere_else() {
    let log = || {
        let _s = tracing::info_span!("req", card = ?sealed("4111 1111 1111 1111")).entered();
        tracing::info!(token = ?sealed("tok_4f9a8b7c"), pin = %sealed(1234), "user {}", sealed("alice@example.com"));
    };
    let full = Memory::default();
    let builder = tracing_subscriber::fmt()
        .with_writer(full.clone())
        .with_ansi(false);
    tracing::subscriber::with_default(builder.finish(), log);
    let json = Memory::default();
    let builder = tracing_subscriber::fmt().json().with_writer(json.clone());
    tracing::subscriber::with_default(builder.finish(), log);
    for text in [
        full.text(),
        json.text(),
        format!("{:?} {}", sealed("alice@example.com"), sealed(1234)),
    ] {
        for secret in ["4111", "tok_4f9a8b7c", "1234", "alice@"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains(REDACTED), "{text}");
    }
    assert!(
        full.text()
            .contains("user [sealed] token=[sealed] pin=[sealed]"),
        "{}",
        full.text()
    );

    let key = Key::generate().unwrap();
    let file = Memory::default();
    log_one(
        &SealedFields::json(),
        EncryptedWriter::new(key.clone(), file.clone()),
        log,
    );
    let opened = open_all(key, &file.bytes());
    let (line, sealed) = &opened[0];
    assert!(
        line.contains("\"message\":\"user [sealed]\"") && !line.contains("alice@"),
        "{line}"
    );
    assert_eq!(
        sealed,
        &[
            "/fields/token",
            "/fields/pin",
            "/span/card",
            "/spans/0/card"
        ]
    );
    assert!(
        line.contains("\"pin\":\"1234\"")
            && line.contains("\"card\":\"\\\"4111 1111 1111 1111\\\"\"")
    );
}

/// A line that cannot be sealed field by field is sealed whole, as any event: it opens to the
/// real line (sealed values in it), and none of its values is in the file.
#[test]
fn a_line_that_cannot_be_sealed_field_by_field_is_sealed_whole() {
    let key = Key::generate().unwrap();
    let json = SealedFields::json().seal(["user"]).index(["user"]);
    let flat = json.clone().flatten_event(true);
    let text = SealedFields::full().seal(["user"]);
    type Case = (&'static str, SealedFields, Box<dyn Fn()>);
    let cases: Vec<Case> = vec![
        (
            "a field named like the envelope",
            flat.clone(),
            Box::new(|| tracing::info!(user = "alice@example.com", enclog = 1)),
        ),
        (
            "a field named like an index",
            flat,
            Box::new(|| tracing::info!(user = "alice@example.com", user_idx = "x")),
        ),
        (
            "a repeated key",
            SealedFields::json().seal(["user"]).flatten_event(true),
            Box::new(|| tracing::info!(user = "alice@example.com", level = "x")),
        ),
        (
            "the marker in a clear value (JSON)",
            json,
            Box::new(|| tracing::info!(user = "alice@example.com", note = "enclog:x")),
        ),
        (
            "the marker in a clear value (text)",
            text,
            Box::new(|| tracing::info!(user = "alice@example.com", "see enclog:x")),
        ),
    ];
    for (case, format, log) in cases {
        let file = Memory::default();
        log_one(
            &format,
            EncryptedWriter::new(key.clone(), file.clone()),
            log,
        );
        let written = file.text();
        assert!(
            written.starts_with("enclog:") && !written.contains("alice@"),
            "{case}: {written}"
        );
        let mut opener = Opener::new(key.clone().into());
        let opened = opener.open(written.as_bytes()).unwrap().unwrap();
        assert!(opened.fields.is_none(), "{case}: sealed whole");
        assert!(
            String::from_utf8_lossy(opened.plaintext).contains("alice@example.com"),
            "{case}"
        );
    }

    // A zato-enclog (Fernet) key seals whole lines only.
    let fernet = enclog::fernet::FernetKey::generate().unwrap();
    let file = Memory::default();
    log_one(
        &SealedFields::json().seal(["user"]),
        EncryptedWriter::new(fernet.clone(), file.clone()),
        || tracing::info!(user = "alice@example.com"),
    );
    let written = file.text();
    assert!(!written.contains("alice@"));
    let mut opener = Opener::new(fernet.into());
    let opened = opener.open(written.as_bytes()).unwrap().unwrap();
    assert!(String::from_utf8_lossy(opened.plaintext).contains("\"user\":\"alice@example.com\""));
}

const LEAKS: [&str; 6] = [
    "field-secret-tok_4f9a8b7c",
    "span-secret-card-4111111111111111",
    "span-wrapped-secret-pin-9876",
    "cause-secret-password-hunter2",
    "wrapped-secret-alice@example.com",
    // In the text of a message: never written anywhere, not even sealed.
    "message-secret-bob@example.com",
];

/// Threat: a sealed value escaping in clear through any path of an event: a sealed field, a
/// span's field (by name and by `sealed()`), an error's source chain, a `sealed()` value in a
/// field and in the message's text. Through `EncryptedWriter` and `enclog::non_blocking`, in
/// JSON and text: none in the file; all but the message's inside the sealed values.
#[test]
fn sealed_values_never_reach_the_file_from_messages_spans_or_error_chains() {
    let log = || {
        let span = tracing::info_span!("checkout", card = LEAKS[1], pin = ?sealed(LEAKS[2]));
        let _e = span.enter();
        let err = Outer(Inner(LEAKS[3]));
        tracing::error!(
            token = LEAKS[0],
            error = &err as &dyn Error,
            who = %sealed(LEAKS[4]),
            "failed for {}",
            sealed(LEAKS[5])
        );
    };
    for format in [
        SealedFields::json(),
        SealedFields::full(),
        SealedFields::compact(),
    ] {
        let format = format.seal(["token", "card", "error"]);
        let key = Key::generate().unwrap();
        let direct = Memory::default();
        log_one(
            &format,
            EncryptedWriter::new(key.clone(), direct.clone()),
            log,
        );
        let queued = Memory::default();
        let (writer, guard) = enclog::non_blocking(key.clone(), queued.clone()).unwrap();
        tracing::dispatcher::with_default(&dispatch(&format, writer), log);
        drop(guard);
        for file in [direct, queued] {
            let text = file.text();
            for secret in LEAKS {
                assert!(!text.contains(secret), "{secret} in clear: {text}");
            }
            let opened: String = open_all(key.clone(), &file.bytes())
                .into_iter()
                .map(|(line, _)| line)
                .collect();
            for secret in &LEAKS[..5] {
                assert!(opened.contains(secret), "{secret} not sealed: {opened}");
            }
            assert!(!opened.contains(LEAKS[5]) && opened.contains("failed for [sealed]"));
        }
    }
}

/// Threat: threads sharing a writer tearing lines or reusing a nonce, and lines reaching the
/// file out of sequence order (the sequence number is drawn in the writer, under its order).
/// Four threads through `EncryptedWriter::new` and `locked`: every line opens, each event
/// once, one session numbered 0, 1, 2… in file order, and `verify` finds nothing.
#[test]
fn threads_sharing_a_writer_give_whole_lines_in_sequence_order() {
    const THREADS: usize = 4;
    const EVENTS: usize = 1_000;
    let format = SealedFields::json().seal(["user"]).index(["user"]);
    for locked in [false, true] {
        let key = Key::generate().unwrap();
        let file = Memory::default();
        let dispatch = Arc::new(if locked {
            dispatch(&format, EncryptedWriter::locked(key.clone(), file.clone()))
        } else {
            dispatch(&format, EncryptedWriter::new(key.clone(), file.clone()))
        });
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let dispatch = Arc::clone(&dispatch);
                std::thread::spawn(move || {
                    tracing::dispatcher::with_default(&dispatch, || {
                        let _s = tracing::info_span!("worker", t, user = "span-user").entered();
                        for i in 0..EVENTS {
                            tracing::info!(
                                user = format!("user-{t}-{i}"),
                                i,
                                "event\nwith a newline"
                            );
                        }
                    })
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        drop(dispatch);
        let log = file.bytes();
        let mut reader = Decryptor::new(&log[..], Keyring::from(key.clone()));
        let mut seqs: HashMap<_, Vec<u64>> = HashMap::new();
        let mut users = HashSet::new();
        while let Some(entry) = reader.next_entry().unwrap() {
            let Outcome::Opened(opened) = entry.outcome else {
                panic!("line {} did not open", entry.line_no);
            };
            let seq = opened.sequence.unwrap();
            seqs.entry(seq.session).or_default().push(seq.seq);
            let v: serde_json::Value = serde_json::from_slice(opened.plaintext).unwrap();
            assert_eq!(v["fields"]["message"], "event\nwith a newline");
            assert_eq!(v["span"]["user"], "span-user");
            assert!(users.insert(v["fields"]["user"].as_str().unwrap().to_string()));
        }
        assert_eq!(users.len(), THREADS * EVENTS);
        assert_eq!(seqs.len(), 1, "one session");
        let seqs = seqs.into_values().next().unwrap();
        assert_eq!(
            seqs,
            (0..(THREADS * EVENTS) as u64).collect::<Vec<_>>(),
            "in file order"
        );
        let options = enclog::verify::VerifyOptions::default().allow_open_sessions(true);
        let mut verifier = enclog::verify::Verifier::with_options(options);
        verifier
            .observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))
            .unwrap();
        let report = verifier.finish();
        assert!(report.is_clean(), "{:?}", report.findings);
    }
}

/// Threat: `fork()` copying the writer's session into two processes (a nonce used twice), and
/// a forked child unable to read the span values its parent vaulted. Parent and child log
/// field-sealed lines into one O_APPEND file, the child inside a span created before the fork:
/// two sessions, no (session, seq) twice, every line opens with its span's sealed value.
#[test]
fn a_forked_child_seals_fields_in_a_session_of_its_own() {
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fork.log");
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap()
    };
    let format = SealedFields::compact().seal(["card"]);
    let dispatch = dispatch(&format, EncryptedWriter::new(key.clone(), open()));
    tracing::dispatcher::with_default(&dispatch, || {
        let span = tracing::info_span!("checkout", card = "4111 1111 1111 1111");
        let _e = span.enter();
        for i in 0..20 {
            tracing::info!(who = "parent-before", i);
        }
        let pid = crate::fork::fork();
        let who = if pid == 0 { "child" } else { "parent-after" };
        for i in 0..200 {
            tracing::info!(who, i);
        }
        if pid == 0 {
            crate::fork::exit_child(0);
        }
        crate::fork::wait(pid);
    });
    let log = std::fs::read(&path).unwrap();
    // "4111" alone may occur in base64 by chance; with its space it cannot.
    assert!(!String::from_utf8_lossy(&log).contains("4111 1111"));
    let mut reader = Decryptor::new(&log[..], Keyring::from(key));
    let mut nonces = HashSet::new();
    let mut sessions: HashMap<_, Vec<String>> = HashMap::new();
    while let Some(entry) = reader.next_entry().unwrap() {
        let Outcome::Opened(opened) = entry.outcome else {
            panic!("line {} did not open", entry.line_no);
        };
        let seq = opened.sequence.unwrap();
        assert!(nonces.insert((seq.session, seq.seq)), "nonce reused");
        let text = String::from_utf8_lossy(opened.plaintext).into_owned();
        assert!(text.contains("card=\"4111 1111 1111 1111\""), "{text}");
        sessions.entry(seq.session).or_default().push(text);
    }
    assert_eq!(sessions.len(), 2, "the child seals in a session of its own");
    let child = sessions.values().find(|l| l[0].contains("child")).unwrap();
    assert_eq!(child.len(), 200);
    assert!(child.iter().all(|l| l.contains("who=\"child\"")));
}

/// Threat: a line written in several writes (another writer's bytes between them). Each event
/// reaches the writer below as one write, through `EncryptedWriter` and `non_blocking`.
#[test]
fn each_event_is_one_write() {
    let key = Key::generate().unwrap();
    let format = SealedFields::full().seal(["user"]).index(["user"]);
    let direct = Memory::default();
    let events = || {
        for i in 0..50 {
            let _s = tracing::info_span!("req", user = "span-user").entered();
            tracing::info!(user = "alice@example.com", i, "multi\nline\r\nmessage");
        }
    };
    log_one(
        &format,
        EncryptedWriter::new(key.clone(), direct.clone()),
        events,
    );
    assert_eq!((direct.writes(), direct.text().lines().count()), (50, 50));
    let queued = Memory::default();
    let (writer, guard) = enclog::non_blocking(key.clone(), queued.clone()).unwrap();
    tracing::dispatcher::with_default(&dispatch(&format, writer), events);
    drop(guard);
    assert_eq!(
        (queued.writes(), queued.text().lines().count()),
        (51, 51),
        "and the close record"
    );
    for file in [direct, queued] {
        for (line, sealed) in open_all(key.clone(), &file.bytes()).iter().take(50) {
            assert!(
                line.contains("multi\\nline\\r\\nmessage") && line.contains("alice@"),
                "{line}"
            );
            assert_eq!(sealed, &["user", "user"]);
        }
    }
}

/// `enclog::non_blocking`: the logging thread queues the real line and its values, the worker
/// seals them; lines restore to what the formatter writes with nothing sealed, in order, and a
/// line that cannot be sealed field by field is sealed whole there too.
#[test]
fn non_blocking_seals_fields_on_its_worker() {
    let key = Key::generate().unwrap();
    for (sealing, plain) in formats() {
        let queued = Memory::default();
        let (writer, guard) = enclog::non_blocking(key.clone(), queued.clone()).unwrap();
        tracing::dispatcher::with_default(&dispatch(&sealing, writer.clone()), || {
            log_events(true);
            tracing::info!(user = "alice@example.com", note = "enclog: in clear text");
        });
        drop(guard);
        assert_eq!(writer.lost_lines(), 0);
        let expected = Memory::default();
        tracing::dispatcher::with_default(&dispatch(&plain, expected.clone()), || {
            log_events(false)
        });
        let text = queued.text();
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} in clear");
        }
        let opened = open_all(key.clone(), text.as_bytes());
        assert_eq!(
            opened.len(),
            6,
            "4 events, a line sealed whole, the close record"
        );
        for ((line, _), expected) in opened.iter().zip(expected.text().lines()) {
            assert_eq!(line, expected);
        }
        assert!(text.lines().nth(4).unwrap().starts_with("enclog:"));
        assert!(opened[4].0.contains("alice@example.com"));
    }
}

/// A span field recorded after the span was created (`Span::record`) is sealed like the
/// others; in a JSON line a field recorded twice keeps its last value (one member).
#[test]
fn span_fields_recorded_later_are_sealed() {
    let key = Key::generate().unwrap();
    for format in [SealedFields::json(), SealedFields::full()] {
        let format = format.seal(["user"]).without_time();
        let file = Memory::default();
        log_one(
            &format,
            EncryptedWriter::new(key.clone(), file.clone()),
            || {
                let span = tracing::info_span!("req", n = 1, user = tracing::field::Empty, m = 2);
                span.record("user", "first@example.com");
                span.record("user", "second@example.com");
                span.in_scope(|| tracing::info!("inside"));
            },
        );
        let text = file.text();
        assert!(!text.contains("@example.com"), "{text}");
        let (line, _) = &open_all(key.clone(), text.as_bytes())[0];
        if format.syntax() == Syntax::Json {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["span"]["user"], "second@example.com");
            assert_eq!(
                line.matches("\"user\"").count(),
                2,
                "once in span, once in spans"
            );
        } else {
            assert!(
                line.contains(
                    "req{n=1 m=2 user=\"first@example.com\" user=\"second@example.com\"}"
                ),
                "{line}"
            );
        }
    }
}

/// Mixed with `tracing_subscriber`'s own formatters, nothing sealed is shown: its event format
/// over `SealedFields`' field formatter prints vaulted ciphertext for every value (the field
/// formatter vaults them all: which to seal is the event formatter's to say); `SealedFields`
/// over another field formatter does not show that formatter's span fields.
#[test]
fn mixed_with_other_formatters_nothing_sealed_is_shown() {
    let format = SealedFields::full().seal(["card"]);
    let theirs = Memory::default();
    let subscriber = tracing_subscriber::fmt()
        .fmt_fields(format.clone())
        .with_writer(theirs.clone())
        .with_ansi(false)
        .finish();
    let log = || {
        let _s = tracing::info_span!("checkout", card = "4111 1111 1111 1111", order = 7).entered();
        tracing::info!(card = "5500 0000 0000 0004", "paid");
    };
    tracing::subscriber::with_default(subscriber, log);
    let text = theirs.text();
    assert!(
        !text.contains("4111 1111") && !text.contains("5500 0000") && text.contains("order="),
        "{text}"
    );

    let ours = Memory::default();
    let subscriber = tracing_subscriber::fmt()
        .event_format(format)
        .with_writer(ours.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, log);
    let text = ours.text();
    assert!(
        text.contains("checkout{[sealed]}:")
            && !text.contains("4111 1111")
            && !text.contains("5500 0000"),
        "{text}"
    );
}

const SETUP_CHILD: &str = "ENCLOG_FIELDS_SETUP_LOG";
const SETUP_KEY: &str = "ENCLOG_FIELDS_SETUP_KEY";

/// `InitFile::fields`: `init_file`'s setup with sealed fields (run in a child process: it
/// installs the global subscriber). `log` records come through too, with their own target;
/// the close record ends the file.
#[test]
fn init_file_can_seal_fields() {
    if let (Some(log), Ok(key)) = (std::env::var_os(SETUP_CHILD), std::env::var(SETUP_KEY)) {
        let key: Key = key.parse().unwrap();
        let format = SealedFields::json().seal(["email"]).index(["email"]);
        let guard = enclog::tracing::InitFile::new(log, key)
            .fields(format)
            .init()
            .unwrap();
        tracing::info!(email = "dora@example.com", "signed up");
        log::warn!(target: "app::db", "from the log crate: {}", "disk almost full");
        drop(guard);
        return;
    }
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("service.log");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "tracing_fields::init_file_can_seal_fields",
            "--exact",
            "--test-threads=1",
        ])
        .env(SETUP_CHILD, &path)
        .env(SETUP_KEY, &*key.to_text())
        .env("ENCLOG_STATE_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(!text.contains("dora@"));
    let index = IndexKey::from_key(&key).value("email", b"dora@example.com");
    assert!(
        lines[0].contains("\"level\":\"INFO\"") && lines[0].contains(&index),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("\"level\":\"WARN\"") && lines[1].contains("\"target\":\"app::db\""));
    let opened = open_all(key, text.as_bytes());
    assert!(opened[0].0.contains("\"email\":\"dora@example.com\""));
    assert!(opened[1].0.contains("from the log crate: disk almost full"));
    assert_eq!(opened[0].1, ["/fields/email"]);
}

/// `seal(["message"])`: the message is a sealed value (a text line writes it after
/// `message=`), and a `sealed()` value in its text is written into it, sealed with it.
#[test]
fn the_message_can_be_sealed() {
    let key = Key::generate().unwrap();
    for format in [
        SealedFields::json(),
        SealedFields::full(),
        SealedFields::compact(),
    ] {
        let format = format.seal(["message"]).without_time();
        let file = Memory::default();
        log_one(
            &format,
            EncryptedWriter::new(key.clone(), file.clone()),
            || {
                tracing::info!(
                    n = 1,
                    "paid by {} with {}",
                    "alice@example.com",
                    sealed("4111 1111")
                );
            },
        );
        let text = file.text();
        assert!(
            !text.contains("alice@") && !text.contains("4111 1111"),
            "{text}"
        );
        let (line, sealed) = &open_all(key.clone(), text.as_bytes())[0];
        assert!(
            line.contains("paid by alice@example.com with 4111 1111"),
            "{line}"
        );
        match format.syntax() {
            Syntax::Json => assert_eq!(sealed, &["/fields/message"]),
            _ => {
                assert_eq!(sealed, &["message"]);
                assert!(
                    line.contains(": message=paid by alice@example.com with 4111 1111 n=1"),
                    "{line}"
                );
            }
        }
    }
}

/// Threat: two layers whose field formatter is `SealedFields` share a span's fields (tracing
/// keeps one text per field formatter type): a console layer that seals nothing must not decide
/// that an enclog file layer writes a span's `user` in clear (found in review). Every span
/// value is vaulted; each event formatter seals by its own names.
#[test]
fn a_layer_sealing_nothing_does_not_unseal_another_layers_span_fields() {
    use tracing_subscriber::layer::SubscriberExt;
    let key = Key::generate().unwrap();
    let (console, file) = (Memory::default(), Memory::default());
    let plain = SealedFields::json().without_time();
    let sealing = SealedFields::json().without_time().seal(["user"]);
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(plain.clone())
                .fmt_fields(plain)
                .with_writer(console.clone()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(sealing.clone())
                .fmt_fields(sealing)
                .with_writer(EncryptedWriter::new(key.clone(), file.clone())),
        );
    tracing::subscriber::with_default(subscriber, || {
        let _s = tracing::info_span!("req", user = "alice@example.com", n = 1).entered();
        tracing::info!(user = "bob@example.com", "hello");
    });
    let written = file.text();
    assert!(
        !written.contains("alice@") && !written.contains("bob@"),
        "{written}"
    );
    // The console layer seals nothing: it shows the values (its writer is not enclog's).
    let shown = console.text();
    assert!(
        shown.contains("alice@example.com") && shown.contains("bob@example.com"),
        "{shown}"
    );
    let (line, _) = &open_all(key, written.as_bytes())[0];
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["span"]["user"], "alice@example.com");
    assert_eq!(v["span"]["n"], 1);
}

/// Review: configured exact names whose lookup keys collide with decoys (same length, same
/// first and last eight bytes), prefixes of one another, dotted, non-ASCII, with `/` and `~`,
/// globs mixed in, span fields and `sealed()`: each configured value sealed, each decoy clear,
/// in symmetric and recipient mode, and every line opens to what was logged.
#[test]
fn exact_names_with_colliding_keys_seal_exactly_the_configured_fields() {
    let configured = [
        "a_rather_long_field_name",
        "user",
        "us",
        "u",
        "user.email",
        "é_name",
        "a/b",
        "x~y",
        "sixteen_bytes_16",
        "card*",
    ];
    let log = || {
        let span = tracing::info_span!(
            "s",
            "a_rather_long_field_name" = "SECRET-span-long",
            "a_rather_XXXX_field_name" = "CLEAR-span-decoy"
        );
        let _e = span.enter();
        tracing::info!(
            "a_rather_long_field_name" = "SECRET-long",
            "a_rather_XXXX_field_name" = "CLEAR-long-decoy",
            user = "SECRET-user",
            usex = "CLEAR-usex",
            users = "CLEAR-users",
            us = "SECRET-us",
            u = "SECRET-u",
            "user.email" = "SECRET-dotted",
            "user.emaiL" = "CLEAR-dotted-decoy",
            "é_name" = "SECRET-nonascii",
            "è_name" = "CLEAR-nonascii-decoy",
            "a/b" = "SECRET-slash",
            "a~b" = "CLEAR-tilde-decoy",
            "x~y" = "SECRET-tilde",
            "sixteen_bytes_16" = "SECRET-sixteen",
            "sixteen_bytes_1X" = "CLEAR-sixteen-decoy",
            card_pan = "SECRET-glob",
            cardx = "SECRET-glob2",
            other = ?sealed("SECRET-wrapped"),
            plain = "CLEAR-plain",
            "the message"
        );
    };
    let secrets = [
        "SECRET-span-long",
        "SECRET-long",
        "SECRET-user",
        "SECRET-us",
        "SECRET-u\"",
        "SECRET-dotted",
        "SECRET-nonascii",
        "SECRET-slash",
        "SECRET-tilde",
        "SECRET-sixteen",
        "SECRET-glob",
        "SECRET-glob2",
        "SECRET-wrapped",
    ];
    let clears = [
        "CLEAR-span-decoy",
        "CLEAR-long-decoy",
        "CLEAR-usex",
        "CLEAR-users",
        "CLEAR-dotted-decoy",
        "CLEAR-nonascii-decoy",
        "CLEAR-tilde-decoy",
        "CLEAR-sixteen-decoy",
        "CLEAR-plain",
    ];
    let key = Key::generate().unwrap();
    let identity = Identity::generate().unwrap();
    let index_key = IndexKey::from_key(&key);
    for format in [
        SealedFields::json(),
        SealedFields::full(),
        SealedFields::compact(),
    ] {
        let format = format
            .seal(configured)
            .index(["a/b", "x~y", "user", "é_name"]);
        for recipient in [false, true] {
            let file = Memory::default();
            if recipient {
                log_one(
                    &format,
                    EncryptedWriter::new(identity.recipient(), file.clone())
                        .index_key(index_key.clone()),
                    log,
                );
            } else {
                log_one(
                    &format,
                    EncryptedWriter::new(key.clone(), file.clone()),
                    log,
                );
            }
            let text = file.text();
            assert!(!text.starts_with("enclog:"), "field by field: {text}");
            for s in secrets {
                assert!(!text.contains(s), "{s} in clear: {text}");
            }
            for c in clears {
                assert!(text.contains(c), "{c} sealed: {text}");
            }
            let keyring: Keyring = if recipient {
                identity.clone().into()
            } else {
                key.clone().into()
            };
            let opened: String = open_all(keyring, text.as_bytes())
                .into_iter()
                .map(|(l, _)| l)
                .collect();
            for s in secrets {
                assert!(opened.contains(s.trim_end_matches('"')), "{s}: {opened}");
            }
            // the indexes, names escaped or not
            let json = format.syntax() == Syntax::Json;
            for (name, value) in [
                ("a/b", "SECRET-slash"),
                ("x~y", "SECRET-tilde"),
                ("é_name", "SECRET-nonascii"),
            ] {
                let _ = json;
                let idx = index_key.value(name, value.as_bytes());
                assert!(text.contains(&idx), "{name} index {idx}: {text}");
            }
        }
    }
}

/// Review: many lines with many values from several threads through one writer, recipient
/// mode (the key built once per line): all open, and no two (seq, part) pairs of a session
/// repeat (each line's seq is unique, checked by opening every line).
#[test]
fn many_values_many_threads_recipient_all_open() {
    let identity = Identity::generate().unwrap();
    let names: Vec<String> = (0..40).map(|i| format!("f{i}")).collect();
    let format = SealedFields::json().seal(names);
    let file = Memory::default();
    let writer = EncryptedWriter::new(identity.recipient(), file.clone());
    let dispatch = dispatch(&format, writer);
    std::thread::scope(|s| {
        for t in 0..4 {
            let d = dispatch.clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&d, || {
                    for i in 0..50 {
                        tracing::info!(
                            f0 = t,
                            f1 = i,
                            f2 = "a",
                            f3 = "b",
                            f4 = "c",
                            f5 = "d",
                            f6 = "e",
                            f7 = "f",
                            f8 = "g",
                            f9 = "h",
                            f10 = "i",
                            f11 = "j",
                            f12 = "k",
                            f13 = "l",
                            f14 = "m",
                            f15 = "n",
                            f16 = "o",
                            f17 = "p",
                            f18 = "q",
                            f19 = "r",
                            f20 = "s",
                            f21 = "t",
                            f22 = "u",
                            f23 = "v",
                            f24 = "w",
                            f25 = "x",
                            f26 = "y",
                            f27 = "z",
                            f28 = "A",
                            f29 = "B",
                            f30 = "C",
                            "m"
                        );
                    }
                });
            });
        }
    });
    let text = file.text();
    let lines = open_all(identity, text.as_bytes());
    assert_eq!(lines.len(), 200);
    for (_, sealed) in &lines {
        assert_eq!(sealed.len(), 31);
    }
    // every token distinct
    let mut tokens = HashSet::new();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for i in 0..31 {
            let t = v["fields"][format!("f{i}")]
                .as_str()
                .unwrap_or_else(|| panic!("{l}"))
                .to_string();
            assert!(tokens.insert(t));
        }
    }
}

/// Review: the marker in clear text anywhere (before the first sealed value, between two,
/// after the last, in a span field, in a field's name) seals the line whole; inside a sealed
/// value it does not.
#[test]
fn the_marker_in_clear_text_anywhere_seals_the_line_whole() {
    let key = Key::generate().unwrap();
    type Log = Box<dyn Fn()>;
    let whole: Vec<Log> = vec![
        Box::new(|| tracing::info!(a = "enclog:x", user = "SECRET1", card = "SECRET2", z = 1)),
        Box::new(|| tracing::info!(a = 1, user = "SECRET1", b = "xenclog:", card = "SECRET2")),
        Box::new(|| tracing::info!(user = "SECRET1", card = "SECRET2", z = "enclog:")),
        Box::new(|| tracing::info!(user = "SECRET1", "enclog:" = 1, card = "SECRET2")),
        Box::new(|| {
            tracing::info_span!("s", note = "enclog:q")
                .in_scope(|| tracing::info!(user = "SECRET1", card = "SECRET2"))
        }),
    ];
    for format in [
        SealedFields::json(),
        SealedFields::full(),
        SealedFields::compact(),
    ] {
        let format = format.seal(["user", "card"]);
        for log in &whole {
            let file = Memory::default();
            log_one(
                &format,
                EncryptedWriter::new(key.clone(), file.clone()),
                log,
            );
            let text = file.text();
            assert!(
                text.starts_with("enclog:") && !text.contains("SECRET"),
                "{text}"
            );
            let opened = open_all(key.clone(), text.as_bytes());
            assert!(opened[0].0.contains("SECRET1") && opened[0].0.contains("SECRET2"));
        }
        let file = Memory::default();
        log_one(
            &format,
            EncryptedWriter::new(key.clone(), file.clone()),
            || tracing::info!(user = "enclog:SECRET1", card = "x enclog: SECRET2", z = 1),
        );
        let text = file.text();
        assert!(
            !text.starts_with("enclog:") && !text.contains("SECRET"),
            "{text}"
        );
        assert!(
            open_all(key.clone(), text.as_bytes())[0]
                .0
                .contains("x enclog: SECRET2")
        );
    }
}
