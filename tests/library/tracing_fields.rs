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
            assert_eq!(opened.meta_status, MetaStatus::Matches, "clear fields as written");
            let text = [opened.before, opened.plaintext, opened.after].concat();
            let sealed = opened.fields.as_ref().map(|f| f.sealed.clone()).unwrap_or_default();
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
        warn_with!(sealed("tok_4f9a8b7c"), Login { name: "carol", password: sealed("hunter2") });
    } else {
        warn_with!("tok_4f9a8b7c", plain::Login { name: "carol", password: "hunter2" });
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
        assert!(text.contains("signed in") && text.contains("checkout"), "{text}");
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
        let fields = if text.contains("\"fields\":{") { "/fields" } else { "" };
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
                line.extend([path("/span", "user"), path("/spans/0", "card"), path("/spans/1", "user")]);
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

