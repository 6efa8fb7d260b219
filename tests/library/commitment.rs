//! Key commitment (FORMAT.md §4.1): a version 2 line opens under the key its header commits to,
//! and under no other key, even one with the same key id under which its AEAD opens too.
//!
//! Threat: "invisible salamanders". ChaCha20-Poly1305 is not key-committing, and a key id is
//! 32 bits (§2.2), so someone who can get two keys of one id into readers' keyrings (or holds
//! two keys of one id) can write one line that shows one reader "pay alice" and another
//! "pay mallory". `tests/vectors/salamander.py` builds such lines in both versions: version 1
//! (Appendix A) cannot tell the keys apart; version 2 must.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use enclog::key::KeyId;
use enclog::read::OpenError;
use enclog::{Key, Keyring, Opener, Sealer};

/// What `salamander.py` prints: two keys of one id, and a line of each version that opens
/// under both keys' AEAD to two different texts.
struct Salamander {
    key_a: Key,
    key_b: Key,
    key_id: String,
    v1_line: String,
    v1_text_a: Vec<u8>,
    v1_text_b: Vec<u8>,
    v2_line: String,
    v2_text_a: Vec<u8>,
    v2_text_b: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Runs `tests/vectors/salamander.py` (its birthday search and its tag solving take well under
/// a second; the time is printed).
fn salamander() -> Salamander {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/salamander.py");
    let started = Instant::now();
    let out = std::process::Command::new(crate::python_env::zato_python())
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("salamander.py: {:.2?}", started.elapsed());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = |name: &str| {
        json[name]
            .as_str()
            .unwrap_or_else(|| panic!("salamander.py printed no {name}"))
            .to_owned()
    };
    let s = Salamander {
        key_a: text("key_a").parse().unwrap(),
        key_b: text("key_b").parse().unwrap(),
        key_id: text("key_id"),
        v1_line: text("v1_line"),
        v1_text_a: unhex(&text("v1_text_a_hex")),
        v1_text_b: unhex(&text("v1_text_b_hex")),
        v2_line: text("v2_line"),
        v2_text_a: unhex(&text("v2_text_a_hex")),
        v2_text_b: unhex(&text("v2_text_b_hex")),
    };
    assert_ne!(s.key_a.to_text(), s.key_b.to_text(), "two different keys");
    assert_eq!(s.key_a.id(), s.key_b.id(), "with one key id");
    assert_eq!(s.key_a.id().to_string(), s.key_id);
    assert_ne!(s.v1_text_a, s.v1_text_b);
    assert_ne!(s.v2_text_a, s.v2_text_b);
    s
}

/// Opens `line` with an opener over `keys`, in this order.
fn open(keys: &[&Key], line: &[u8]) -> Result<Vec<u8>, OpenError> {
    let mut ring = Keyring::new();
    for key in keys {
        ring.add((*key).clone());
    }
    assert_eq!(ring.len(), keys.len());
    let mut opener = Opener::new(ring);
    let opened = opener.open(line).expect("a token");
    opened.map(|o| o.plaintext.to_vec())
}

/// The raw bytes of a key's text form (FORMAT.md §2.1: base64url of key ‖ checksum).
fn raw(key: &Key) -> Vec<u8> {
    let text = key.to_text();
    let decoded = URL_SAFE_NO_PAD
        .decode(text.strip_prefix("ENCLOG-KEY-1-").unwrap())
        .unwrap();
    decoded[..32].to_vec()
}

/// Opens a v2 symmetric line's AEAD under `key` directly (FORMAT.md §4 with `part` = 0 is
/// XChaCha20-Poly1305 with the nonce `session ‖ u64be(seq)`), ignoring its commitment.
fn open_aead_ignoring_commitment(key: &Key, line: &str) -> Option<Vec<u8>> {
    let token = URL_SAFE_NO_PAD
        .decode(line.strip_prefix("enclog:").unwrap())
        .unwrap();
    assert_eq!(token[0], 0x21, "a v2 symmetric line");
    let session = &token[22..38];
    let (mut seq, mut shift, mut at) = (0u64, 0, 38);
    loop {
        let byte = token[at];
        seq |= u64::from(byte & 0x7f) << shift;
        at += 1;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let (header, sealed) = token.split_at(at);
    let nonce = [session, &seq.to_be_bytes()].concat();
    XChaCha20Poly1305::new_from_slice(&raw(key))
        .unwrap()
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: sealed,
                aad: header,
            },
        )
        .ok()
}

/// The weakness version 2 fixes, demonstrated: a v1 line is read as whichever text the key the
/// reader tries first gives.
#[test]
fn a_v1_line_opens_under_two_keys_of_one_id_to_two_texts() {
    let s = salamander();
    let line = s.v1_line.as_bytes();
    assert_eq!(open(&[&s.key_a], line).unwrap(), s.v1_text_a);
    assert_eq!(open(&[&s.key_b], line).unwrap(), s.v1_text_b);
    // With both keys, what a reader sees depends on the order of its keyring.
    assert_eq!(open(&[&s.key_a, &s.key_b], line).unwrap(), s.v1_text_a);
    assert_eq!(open(&[&s.key_b, &s.key_a], line).unwrap(), s.v1_text_b);
}

#[test]
fn a_v2_line_whose_aead_opens_under_two_keys_opens_only_under_the_key_it_commits_to() {
    let s = salamander();
    // The line is a real salamander: its AEAD opens under both keys, to two texts, so only
    // the commitment (§4.1) can refuse key B.
    let under_a = open_aead_ignoring_commitment(&s.key_a, &s.v2_line);
    let under_b = open_aead_ignoring_commitment(&s.key_b, &s.v2_line);
    assert_eq!(under_a.as_ref(), Some(&s.v2_text_a));
    assert_eq!(under_b.as_ref(), Some(&s.v2_text_b));

    let line = s.v2_line.as_bytes();
    assert_eq!(open(&[&s.key_a], line).unwrap(), s.v2_text_a);
    // A key of the line's id that does not open it: an altered line (FORMAT.md §6 step 4),
    // never key B's text.
    assert_eq!(
        open(&[&s.key_b], line),
        Err(OpenError::Corrupted {
            key_id: s.key_b.id()
        })
    );
    // Both keys, in either order: key A's text, never key B's.
    assert_eq!(open(&[&s.key_a, &s.key_b], line).unwrap(), s.v2_text_a);
    assert_eq!(open(&[&s.key_b, &s.key_a], line).unwrap(), s.v2_text_a);
}

/// Two generated keys with one id (FORMAT.md §2.2: a birthday search over 32-bit ids; about
/// 80,000 keys on average).
fn two_keys_with_one_id() -> (Key, Key) {
    let started = Instant::now();
    let mut seen: HashMap<KeyId, Key> = HashMap::with_capacity(1 << 18);
    loop {
        let key = Key::generate().unwrap();
        match seen.entry(key.id()) {
            Entry::Occupied(first) => {
                let first = first.remove();
                assert_ne!(first.to_text(), key.to_text(), "the OS drew one key twice");
                eprintln!(
                    "two keys with id {} after {} keys, {:.2?}",
                    key.id(),
                    seen.len() + 2,
                    started.elapsed()
                );
                return (first, key);
            }
            Entry::Vacant(slot) => {
                slot.insert(key);
            }
        }
    }
}

#[test]
fn two_keys_of_one_id_in_a_keyring_each_open_their_own_v2_lines() {
    let (a, b) = two_keys_with_one_id();
    assert_eq!(a.id(), b.id());
    let sealer_a = Sealer::new(a.clone());
    let sealer_b = Sealer::new(b.clone());
    let mut lines_a = sealer_a.seal_line(b"sealed with key A").unwrap();
    sealer_a
        .seal_to(None, b"A's second event", &mut lines_a)
        .unwrap();
    let mut lines_b = sealer_b.seal_line(b"sealed with key B").unwrap();
    sealer_b
        .seal_to(None, b"B's second event", &mut lines_b)
        .unwrap();
    let split = |lines: &[u8]| -> Vec<Vec<u8>> {
        lines
            .split_inclusive(|&c| c == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    };
    let (lines_a, lines_b) = (split(&lines_a), split(&lines_b));

    for keys in [[&a, &b], [&b, &a]] {
        let mut ring = Keyring::new();
        keys.into_iter().for_each(|k| ring.add(k.clone()));
        // One opener for all lines: its session cache must keep the two keys' sessions apart.
        let mut opener = Opener::new(ring);
        for (lines, texts) in [
            (&lines_a, [&b"sealed with key A"[..], b"A's second event"]),
            (&lines_b, [&b"sealed with key B"[..], b"B's second event"]),
        ] {
            for (line, text) in lines.iter().zip(texts) {
                let opened = opener.open(line).unwrap().unwrap();
                assert_eq!(opened.plaintext, text);
            }
        }
    }
    for (lines, other) in [(&lines_a, &b), (&lines_b, &a)] {
        for line in lines {
            assert_eq!(
                open(&[other], line),
                Err(OpenError::Corrupted { key_id: a.id() }),
                "a line does not open under the other key of its id"
            );
        }
    }
}
