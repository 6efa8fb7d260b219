//! Threat: hostile or damaged key text and tokens crashing a reader or writer (a panic is a
//! denial of service for a log pipeline) or being accepted when they are not valid. The
//! property tests here run in every `cargo test` over the same inputs as the cargo-fuzz
//! targets in `fuzz/` (which need a nightly toolchain): key, identity, recipient and Fernet key
//! parsing, the Fernet token parser, and `Opener::open` with every kind of key in its keyring.
//! (`tests/library/properties.rs` covers sealing/opening round trips and single bit flips.)

use base64_simd::URL_SAFE;
use enclog::fernet::FernetKey;
use enclog::{Identity, Key, Keyring, Opener, SealingKey};
use proptest::prelude::*;

fn fernet_key() -> FernetKey {
    FernetKey::from_bytes([9u8; 32].into())
}

fn keyring() -> Keyring {
    let mut ring = Keyring::from(Key::from_bytes([7u8; 32].into()));
    ring.add_identity(
        "ENCLOG-IDENTITY-1-QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl-osCdc"
            .parse::<Identity>()
            .unwrap(),
    );
    ring.add_fernet(fernet_key());
    ring
}

/// Text that looks like key text of every kind, then damaged.
fn key_like() -> impl Strategy<Value = String> {
    let prefix = prop_oneof![
        Just("ENCLOG-KEY-1-"),
        Just("ENCLOG-IDENTITY-1-"),
        Just("ENCLOG-RECIPIENT-1-"),
        Just("b'"),
        Just(""),
    ];
    (prefix, "[A-Za-z0-9_=\\-']{0,80}").prop_map(|(p, body)| format!("{p}{body}"))
}

/// A real key's text with one character replaced, one removed or a suffix cut.
fn damaged_real_key() -> impl Strategy<Value = (String, String)> {
    let texts = vec![
        Key::from_bytes([3u8; 32].into()).to_text().to_string(),
        "ENCLOG-IDENTITY-1-QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl-osCdc".to_owned(),
        "ENCLOG-RECIPIENT-1-eaYx7t4b-cmPEgMs3q3Q56B5OY_HhriMyEbsia-FpRpw37fw".to_owned(),
        fernet_key().to_text().to_string(),
    ];
    (
        proptest::sample::select(texts),
        any::<proptest::sample::Index>(),
        any::<u8>(),
        0..3u8,
    )
        .prop_map(|(text, at, c, how)| {
            let mut damaged = text.clone().into_bytes();
            let i = at.index(damaged.len());
            match how {
                0 => damaged[i] = b"ABCxyz019-_"[c as usize % 11],
                1 => {
                    damaged.remove(i);
                }
                _ => damaged.truncate(i),
            }
            (text, String::from_utf8(damaged).unwrap())
        })
}

/// A Fernet token: version byte, timestamp, IV, ciphertext and HMAC, of any sizes, base64.
fn fernet_like() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(0x80u8), any::<u8>()],
        proptest::collection::vec(any::<u8>(), 0..120),
        any::<bool>(),
    )
        .prop_map(|(version, rest, pad)| {
            let mut raw = vec![version];
            raw.extend(rest);
            let text = URL_SAFE.encode_to_string(raw);
            let text = if pad {
                text
            } else {
                text.trim_end_matches('=').to_owned()
            };
            text.into_bytes()
        })
}

/// 512 cases in CI; `PROPTEST_CASES` for a soak run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Any text: parsing as each kind, as a writer's key and into a keyring never panics, and
    /// errors never echo the text.
    #[test]
    fn key_parsing_never_panics_nor_echoes(text in prop_oneof![key_like(), any::<String>()]) {
        let errors = [
            text.parse::<Key>().err().map(|e| e.to_string()),
            text.parse::<Identity>().err().map(|e| e.to_string()),
            text.parse::<enclog::Recipient>().err().map(|e| e.to_string()),
            text.parse::<FernetKey>().err().map(|e| e.to_string()),
            SealingKey::from_text(&text).err().map(|e| e.to_string()),
            Keyring::new().add_text(&text).err().map(|e| e.to_string()),
        ];
        let body = text.split("-1-").last().unwrap_or("").trim();
        for err in errors.into_iter().flatten() {
            prop_assert!(body.len() < 12 || !err.contains(body), "{err}");
        }
    }

    /// A real key damaged in one place is refused (the checksum catches it) or, if the
    /// damage happens to leave valid text, parses to a key with another id: never to a
    /// different key under the same id.
    #[test]
    fn a_damaged_key_is_refused((original, damaged) in damaged_real_key()) {
        let mut ring = Keyring::new();
        let original_id = ring.add_text(&original).ok();
        let mut ring2 = Keyring::new();
        match ring2.add_text(&damaged) {
            Err(_) => {}
            Ok(id) => prop_assert!(damaged.trim() == original.trim() || Some(id) != original_id
                || damaged.trim_start_matches("b'").trim_end_matches('\'') == original),
        }
        let _ = SealingKey::from_text(&damaged);
    }

    /// The Fernet parser, on token-shaped text and on any bytes: never panics; a token not
    /// sealed with the key never opens.
    #[test]
    fn fernet_parsing_never_panics(token in prop_oneof![fernet_like(), proptest::collection::vec(any::<u8>(), 0..200)]) {
        let mut out = Vec::new();
        prop_assert!(fernet_key().open(&token, &mut out).is_err());
        let mut line = b"2026 - INFO - enclogdata:".to_vec();
        line.extend_from_slice(&token);
        let mut opener = Opener::new(keyring());
        if let Some(Ok(opened)) = opener.open(&line) {
            prop_assert!(false, "a forged Fernet token opened: {opened:?}");
        }
    }

    /// `Opener::open` on any bytes around the v1 marker, with a keyring holding a key, an
    /// identity and a Fernet key: never panics, never opens a forgery.
    #[test]
    fn opener_on_any_bytes(prefix in proptest::collection::vec(any::<u8>(), 0..20),
                           marker in prop_oneof![Just(&b"enclog:"[..]), Just(&b"enclogdata:"[..]), Just(&b""[..])],
                           token in prop_oneof![
                               "[A-Za-z0-9_\\-]{0,200}".prop_map(String::into_bytes),
                               proptest::collection::vec(any::<u8>(), 0..200)
                           ]) {
        let line = [&prefix[..], marker, &token[..]].concat();
        let mut opener = Opener::new(keyring());
        if let Some(Ok(opened)) = opener.open(&line) {
            prop_assert!(false, "random bytes opened: {opened:?}");
        }
    }
}

/// The real lines of the committed fixtures open, so the fuzz seeds are meaningful inputs.
#[test]
fn the_fuzz_seed_corpus_holds_real_lines() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/opener");
    let mut opener = Opener::new(keyring_for_seeds());
    let mut opened = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/seeds/opener") {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        if matches!(opener.open(&bytes), Some(Ok(_))) {
            opened += 1;
        }
    }
    assert!(
        opened >= 5,
        "only {opened} seeds open with the vectors' keys"
    );
}

/// The keys of `tests/vectors/v1.txt` and the zato fixtures' Fernet key.
fn keyring_for_seeds() -> Keyring {
    let mut ring = Keyring::new();
    ring.add_text("ENCLOG-KEY-1-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-aSBtd")
        .unwrap();
    ring.add_text("ENCLOG-IDENTITY-1-QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl-osCdc")
        .unwrap();
    let fernet = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/zato/fixtures/fernet.key"),
    )
    .unwrap();
    let fernet = fernet
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .expect("the fixture key");
    ring.add_text(fernet).unwrap();
    ring
}
