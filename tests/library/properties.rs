//! Property tests of sealing and opening.

use enclog::read::{MetaStatus, OpenError};
use enclog::{Key, Keyring, Opener, Sealer};
use proptest::prelude::*;
use std::sync::OnceLock;

fn key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| Key::generate().unwrap())
}

fn meta_strategy() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any bytes (newlines, NUL, invalid UTF-8) come back exactly, as one line.
    #[test]
    fn round_trip_any_bytes(plaintext in proptest::collection::vec(any::<u8>(), 0..2048),
                            meta in meta_strategy()) {
        let sealer = Sealer::new(key().clone());
        let mut line = Vec::new();
        sealer.seal_to(meta.as_deref(), &plaintext, &mut line).unwrap();
        prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        prop_assert!(line.ends_with(b"\n"));
        prop_assert!(line[..line.len() - 1].iter().all(|b| (0x20..0x7f).contains(b)));
        let mut opener = Opener::new(Keyring::from(key().clone()));
        let opened = opener.open(&line).unwrap().unwrap();
        prop_assert_eq!(opened.plaintext, &plaintext[..]);
        prop_assert_eq!(opened.meta_status,
            if meta.is_some() { MetaStatus::Matches } else { MetaStatus::None });
    }

    /// Threat: undetected modification of a stored line. Flipping any single bit of a line
    /// (marker, token or clear metadata) never yields an authentic-looking record: the line
    /// fails to open, stops being a token, or is flagged as having edited metadata.
    #[test]
    fn any_single_bit_flip_is_detected(plaintext in proptest::collection::vec(any::<u8>(), 0..300),
                                       with_meta in any::<bool>(),
                                       bit in any::<proptest::sample::Index>()) {
        let sealer = Sealer::new(key().clone());
        let mut line = Vec::new();
        sealer.seal_to(with_meta.then_some(&b"INFO"[..]), &plaintext, &mut line).unwrap();
        line.pop();
        let i = bit.index(line.len() * 8);
        line[i / 8] ^= 1 << (i % 8);
        let mut opener = Opener::new(Keyring::from(key().clone()));
        match opener.open(&line) {
            None => {}
            Some(Err(_)) => {}
            Some(Ok(o)) => prop_assert_eq!(o.meta_status, MetaStatus::Differs,
                "bit {} flipped, line still opened as authentic", i),
        }
    }

    /// A line under another key is "wrong key"; an altered line is "corrupted": distinct.
    #[test]
    fn wrong_key_and_corruption_are_distinct(plaintext in proptest::collection::vec(any::<u8>(), 1..200),
                                             at in any::<proptest::sample::Index>()) {
        let sealer = Sealer::new(key().clone());
        let line = sealer.seal_line(&plaintext).unwrap();
        let other = Key::generate().unwrap();
        let mut wrong = Opener::new(Keyring::from(other));
        let is_unknown_key = matches!(wrong.open(&line), Some(Err(OpenError::UnknownKey { .. })));
        prop_assert!(is_unknown_key);

        // Change one base64 character after the 39-byte header (52 characters): the session's
        // link and the event, all ciphertext.
        let mut bad = line.clone();
        let start = "enclog:".len() + 53;
        let end = bad.len() - 2;
        let j = start + at.index(end - start);
        bad[j] = if bad[j] == b'A' { b'B' } else { b'A' };
        let mut opener = Opener::new(Keyring::from(key().clone()));
        let result = opener.open(&bad);
        let corrupted = matches!(result, Some(Err(OpenError::Corrupted { .. })));
        prop_assert!(corrupted, "got {:?}", result.map(|r| r.map(|o| o.plaintext.to_vec())));
    }

    /// Threat: a reader crashing or looping on hostile input. Arbitrary text never panics.
    #[test]
    fn arbitrary_lines_never_panic(prefix in proptest::collection::vec(any::<u8>(), 0..50),
                                   token in "[A-Za-z0-9_-]{0,200}",
                                   suffix in proptest::collection::vec(any::<u8>(), 0..50)) {
        let mut line = prefix;
        line.extend_from_slice(b"enclog:");
        line.extend_from_slice(token.as_bytes());
        line.extend_from_slice(&suffix);
        let mut opener = Opener::new(Keyring::from(key().clone()));
        let _ = opener.open(&line);
    }
}

#[test]
fn altered_key_id_is_reported_as_corruption_not_as_wrong_key() {
    let sealer = Sealer::new(key().clone());
    let line = sealer.seal_line(b"payload").unwrap();
    let mut raw = base64_decode(&line[7..line.len() - 1]);
    raw[2] ^= 0x40;
    let mut bad = b"enclog:".to_vec();
    bad.extend(base64_encode(&raw));
    let mut opener = Opener::new(Keyring::from(key().clone()));
    assert!(matches!(
        opener.open(&bad),
        Some(Err(OpenError::Corrupted { .. }))
    ));
}

fn base64_decode(s: &[u8]) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

fn base64_encode(b: &[u8]) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(b)
        .into_bytes()
}
