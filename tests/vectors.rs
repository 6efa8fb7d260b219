//! The `FORMAT.md` test vectors (`tests/vectors/v1.txt`), checked two ways:
//! 1. each line opens through the public API to the stated plaintext, session and sequence;
//! 2. each line is re-derived from the spec's description alone with an independent
//!    XChaCha20-Poly1305 implementation (RustCrypto `chacha20poly1305`), so enclog's
//!    HChaCha20 + ring construction is held byte-identical to XChaCha20-Poly1305.
//!
//! (The library's unit tests seal the same vectors with a fixed session: spec → code.)

#[path = "python_env.rs"]
mod python_env;
#[path = "../enclog/src/vectors.rs"]
mod vectors;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use enclog::format::{Mode, RecordKind};
use enclog::read::MetaStatus;
use enclog::{Key, Keyring, Opener};

fn all() -> Vec<vectors::Vector> {
    let v = vectors::parse(include_str!("vectors/v1.txt"));
    assert!(v.len() >= 10, "the vectors file lost entries");
    v
}

fn leb128(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[test]
fn every_vector_opens_to_its_stated_contents() {
    for v in all() {
        let mut ring = Keyring::new();
        let key_id = ring.add_text(&v.key).unwrap();
        let mut opener = Opener::new(ring);
        let opened = opener.open(v.line.as_bytes()).expect("a token").unwrap();
        assert_eq!(opened.plaintext, &v.plaintext[..], "{}", v.name);
        let seq = opened.sequence.unwrap();
        assert_eq!(seq.session.to_bytes(), v.session, "{}", v.name);
        assert_eq!(seq.seq, v.seq, "{}", v.name);
        assert_eq!(opened.key_id, key_id, "{}", v.name);
        let mode = if v.ephemeral_secret.is_some() {
            Mode::Recipient
        } else {
            Mode::Symmetric
        };
        assert_eq!(opened.mode, mode, "{}", v.name);
        let record = if v.record == "close" {
            RecordKind::Close
        } else {
            RecordKind::Event
        };
        assert_eq!(opened.record, record, "{}", v.name);
        match &v.meta {
            Some(meta) => {
                assert_eq!(opened.meta, Some(meta.as_bytes()), "{}", v.name);
                assert_eq!(opened.meta_status, MetaStatus::Matches, "{}", v.name);
                assert!(opened.before.is_empty(), "{}", v.name);
            }
            None => assert_eq!(opened.meta_status, MetaStatus::None, "{}", v.name),
        }
    }
}

/// FORMAT.md §4, step by step, with nothing from enclog but the key's id.
#[test]
fn every_symmetric_vector_is_xchacha20_poly1305_as_specified() {
    for v in all().into_iter().filter(|v| v.ephemeral_secret.is_none()) {
        let key: Key = v.key.parse().unwrap();
        let raw_key =
            vectors::hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let mut kind = 0x10 | 0x01;
        if v.record == "close" {
            kind |= 0x04;
        }
        if v.meta.is_some() {
            kind |= 0x08;
        }
        let mut header = vec![kind];
        header.extend_from_slice(&key.id().to_bytes());
        header.extend_from_slice(&v.session);
        leb128(v.seq, &mut header);

        let mut plaintext = Vec::new();
        if let Some(meta) = &v.meta {
            leb128(meta.len() as u64, &mut plaintext);
            plaintext.extend_from_slice(meta.as_bytes());
        }
        plaintext.extend_from_slice(&v.plaintext);

        let mut nonce = v.session.to_vec();
        nonce.extend_from_slice(&v.seq.to_be_bytes());
        let cipher = XChaCha20Poly1305::new_from_slice(&raw_key).unwrap();
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: &header,
                },
            )
            .unwrap();

        let mut token = header.clone();
        token.extend_from_slice(&sealed);
        let mut line = String::new();
        if let Some(meta) = &v.meta {
            line.push_str(meta);
            line.push(' ');
        }
        line.push_str("enclog:");
        line.push_str(&URL_SAFE_NO_PAD.encode(&token));
        assert_eq!(line, v.line, "vector {}", v.name);
    }
}

#[test]
fn the_vector_key_has_the_documented_id() {
    let key: Key = all()[0].key.parse().unwrap();
    assert_eq!(key.id().to_string(), "86e12f11");
    let text = include_str!("../FORMAT.md");
    assert!(
        text.contains("86e12f11"),
        "FORMAT.md must state the vector key's id"
    );
    let vectors = include_str!("vectors/v1.txt");
    let quoted: Vec<&str> = text.lines().filter(|l| l.starts_with("enclog:")).collect();
    assert!(!quoted.is_empty(), "FORMAT.md quotes no example line");
    for line in quoted {
        assert!(
            vectors.contains(line),
            "FORMAT.md quotes a line that is not a vector: {line}"
        );
    }
}

/// FORMAT.md §7 re-derived by an independent implementation (Python `cryptography` plus a
/// plain-Python HChaCha20): `tests/vectors/recipient_reference.py`.
#[test]
fn recipient_vectors_match_the_python_reference() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(python_env::zato_python())
        .arg(root.join("tests/vectors/recipient_reference.py"))
        .arg("--check")
        .arg(root.join("tests/vectors/v1.txt"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let recipient = String::from_utf8(out.stdout).unwrap();
    let recipient = recipient.trim().rsplit(' ').next().unwrap();
    let identity: enclog::Identity = all()
        .iter()
        .find(|v| v.ephemeral_secret.is_some())
        .unwrap()
        .key
        .parse()
        .unwrap();
    assert_eq!(identity.recipient().to_string(), recipient);
    assert!(
        include_str!("../FORMAT.md").contains(recipient),
        "FORMAT.md states the recipient"
    );
}
