//! Threat: secrets escaping in clear, into the log file or through enclog's own output.

use std::error::Error;
use std::fmt;

use enclog::{EncryptedWriter, Key, Keyring, Opener};

const SECRETS: [&str; 4] = [
    "msg-secret-alice@example.com",
    "field-secret-tok_4f9a8b7c",
    "span-secret-card-4111111111111111",
    "cause-secret-password-hunter2",
];

#[derive(Debug)]
struct Outer(Inner);
#[derive(Debug)]
struct Inner;
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
        write!(f, "upstream said {}", SECRETS[3])
    }
}
impl Error for Inner {}

#[test]
fn secrets_in_message_fields_spans_and_error_chains_never_reach_the_file() {
    let key = Key::generate().unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    for json in [false, true] {
        let append = std::fs::OpenOptions::new()
            .append(true)
            .open(file.path())
            .unwrap();
        let writer = EncryptedWriter::new(key.clone(), append)
            .clear_level(true)
            .clear_timestamp(true);
        let builder = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false);
        let dispatch = if json {
            tracing::Dispatch::new(builder.json().finish())
        } else {
            tracing::Dispatch::new(builder.finish())
        };
        tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::info_span!("checkout", card = SECRETS[2]);
            let _e = span.enter();
            let err = Outer(Inner);
            tracing::error!(
                token = SECRETS[1],
                error = &err as &dyn Error,
                "user {}",
                SECRETS[0]
            );
        });
    }
    let bytes = std::fs::read(file.path()).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} is in the file in clear");
    }
    // ...and they are all inside: the test would pass vacuously if nothing was logged.
    let mut opener = Opener::new(Keyring::from(key));
    let mut opened = String::new();
    assert_eq!(
        bytes.split_inclusive(|&b| b == b'\n').count(),
        2,
        "one line per formatter"
    );
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let o = opener.open(line).unwrap().unwrap();
        opened.push_str(&String::from_utf8_lossy(o.plaintext));
    }
    for secret in SECRETS {
        assert!(
            opened.contains(secret),
            "{secret} missing from the decrypted events: {opened}"
        );
    }
}

#[test]
fn key_material_is_absent_from_debug_and_errors() {
    let key = Key::generate().unwrap();
    let text = key.to_text();
    let body = &text["ENCLOG-KEY-1-".len()..];
    let sealer = enclog::Sealer::new(key.clone());
    sealer.seal_line(b"x").unwrap();
    let ring = Keyring::from(key.clone());
    let writer = EncryptedWriter::new(key.clone(), std::io::sink);
    for shown in [
        format!("{key:?}"),
        format!("{sealer:?}"),
        format!("{ring:?}"),
        format!("{writer:?}"),
        format!("{:?}", Opener::new(ring.clone())),
    ] {
        assert!(!shown.contains(body), "key text in {shown}");
        assert!(!shown.contains(&body[..16]), "key text in {shown}");
    }
    // A mistyped key: the error describes the problem without echoing the text.
    let mut typo = text.to_string();
    typo.replace_range(20..21, if &typo[20..21] == "A" { "B" } else { "A" });
    let err = typo.parse::<Key>().unwrap_err().to_string();
    assert!(
        !err.contains(&typo[13..]) && !err.contains(&typo[13..30]),
        "{err}"
    );
}
