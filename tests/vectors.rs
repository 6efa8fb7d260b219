//! The `FORMAT.md` test vectors (`tests/vectors/v2.txt`, version 2, and `tests/vectors/v1.txt`,
//! version 1), checked three ways:
//! 1. each line opens through the public API to the stated body, clear metadata, record kind,
//!    session and sequence; a v2 session's first record also to the stated link, whose MAC
//!    verifies with the stated chain key and with no other;
//! 2. each symmetric line is re-derived from the spec's description alone with independent
//!    primitives: RustCrypto's XChaCha20-Poly1305 (`chacha20poly1305`), so enclog's
//!    HChaCha20 + ring construction is held byte-identical to XChaCha20-Poly1305, and for v2
//!    RustCrypto's HMAC-SHA256 (`hmac` + `sha2`, where enclog uses ring's) for the key id, the
//!    key commitment and the link's MAC;
//! 3. an independent implementation in Python (`tests/vectors/recipient_reference.py`)
//!    recomputes v1's recipient vectors and every v2 vector.
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
use enclog::format::{ChainKey, LineageId, Link, LinkFrom, Mode, RecordKind, SessionId};
use enclog::key::KeyId;
use enclog::read::MetaStatus;
use enclog::{Identity, Key, Keyring, Opener};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use vectors::{Vector, hex};

const FORMAT: &str = include_str!("../FORMAT.md");
/// The symmetric vectors' key: the bytes 00 01 … 1f.
const VECTOR_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn v1() -> Vec<Vector> {
    let v = vectors::parse(include_str!("vectors/v1.txt"));
    assert!(v.len() >= 10, "the v1 vectors file lost entries");
    v
}

fn v2() -> Vec<Vector> {
    let v = vectors::parse(include_str!("vectors/v2.txt"));
    assert!(v.len() >= 11, "the v2 vectors file lost entries");
    v
}

/// Both files, each vector with its format version.
fn all() -> Vec<(u8, Vector)> {
    let v1 = v1().into_iter().map(|v| (1, v));
    v1.chain(v2().into_iter().map(|v| (2, v))).collect()
}

/// A field of a v2 vector's block (`lineage`, `from`, `chain-key`, …).
fn field<'a>(v: &'a Vector, name: &str) -> &'a str {
    v.fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, value)| value.as_str())
        .unwrap_or_else(|| panic!("vector {}: no `{name}` field", v.name))
}

fn hex_field<const N: usize>(v: &Vector, name: &str) -> [u8; N] {
    hex(field(v, name))
        .try_into()
        .unwrap_or_else(|_| panic!("vector {}: `{name}` is not {N} bytes", v.name))
}

fn number(v: &Vector, name: &str) -> u64 {
    field(v, name).parse().expect("a decimal number")
}

/// A v2 link's `prev: <vm> <key-id> <session>` field: the named session's vm byte, key id and
/// whole session field (16 bytes, or the recipient mode's 32-byte `E`).
fn prev_field(v: &Vector) -> (u8, [u8; 4], Vec<u8>) {
    let parts: Vec<&str> = field(v, "prev").split(' ').collect();
    let [vm, key_id, session] = parts[..] else {
        panic!("vector {}: `prev` is not `<vm> <key-id> <session>`", v.name)
    };
    let session = hex(session);
    (hex(vm)[0], hex(key_id).try_into().unwrap(), session)
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

/// HMAC-SHA256 over the concatenation of `parts`, with RustCrypto's implementation.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn mode_of_vm(vm: u8) -> Mode {
    match vm & 0x03 {
        1 => Mode::Symmetric,
        2 => Mode::Recipient,
        _ => panic!("vm {vm:02x} names no mode"),
    }
}

/// What a vector's line opened to that the link checks need.
struct Opened {
    tag: [u8; 16],
    link: Option<Link>,
}

/// Opens `v` through the public API (a keyring holding only the vector's key or identity) and
/// checks everything every vector states.
fn open_and_check(version: u8, v: &Vector) -> Opened {
    let mut ring = Keyring::new();
    let key_id = ring.add_text(&v.key).unwrap();
    let mut opener = Opener::new(ring);
    let opened = opener
        .open(v.line.as_bytes())
        .expect("a token")
        .unwrap_or_else(|e| panic!("vector {}: {e}", v.name));
    assert_eq!(opened.version, version, "{}", v.name);
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
    let record = match v.record.as_str() {
        "close" => RecordKind::Close,
        "event" => RecordKind::Event,
        other => panic!("vector {}: record {other}", v.name),
    };
    assert_eq!(opened.record, record, "{}", v.name);
    match &v.meta {
        Some(meta) => {
            assert_eq!(opened.meta, Some(meta.as_bytes()), "{}", v.name);
            assert_eq!(opened.meta_status, MetaStatus::Matches, "{}", v.name);
            assert!(opened.before.is_empty(), "{}", v.name);
        }
        None => {
            assert_eq!(opened.meta, None, "{}", v.name);
            assert_eq!(opened.meta_status, MetaStatus::None, "{}", v.name);
        }
    }
    assert!(opened.after.is_empty(), "{}", v.name);
    // FORMAT.md §3: a v2 session's first record, and only it, carries the link; v1 has none.
    let first_of_v2_session = version == 2 && v.seq == 0;
    assert_eq!(opened.link.is_some(), first_of_v2_session, "{}", v.name);
    assert_eq!(v.link.is_some(), first_of_v2_session, "{}", v.name);
    // The record's tag is the token's last 16 bytes.
    let token = v.line.rsplit("enclog:").next().unwrap();
    let token = URL_SAFE_NO_PAD.decode(token).unwrap();
    assert_eq!(opened.tag[..], token[token.len() - 16..], "{}", v.name);
    Opened {
        tag: opened.tag,
        link: opened.link.as_deref().cloned(),
    }
}

#[test]
fn every_vector_opens_to_its_stated_contents() {
    for (version, v) in all() {
        open_and_check(version, &v);
    }
}

/// FORMAT.md §5.3, field by field: what the public API reads from each v2 session's first
/// record is what the vector states, and its MAC verifies with the stated chain key only.
#[test]
fn every_v2_link_opens_to_its_stated_fields_and_verifies_with_its_chain_key_only() {
    let mut links = 0;
    for v in v2().into_iter().filter(|v| v.seq == 0) {
        let link = open_and_check(2, &v).link.unwrap();
        links += 1;
        assert_eq!(
            link.lineage,
            LineageId::from_bytes(hex_field(&v, "lineage")),
            "{}",
            v.name
        );
        assert_eq!(link.index, number(&v, "index"), "{}", v.name);
        assert!(
            *link.next_chain_key() == ChainKey::from_bytes(hex_field(&v, "next-chain-key")),
            "{}: next-chain-key",
            v.name
        );
        let check_prev = |prev: &enclog::format::SessionRef| {
            let (vm, key_id, session) = prev_field(&v);
            assert_eq!(prev.mode, mode_of_vm(vm), "{}: prev vm", v.name);
            assert_eq!(prev.key_id, KeyId::from_bytes(key_id), "{}", v.name);
            let id: [u8; 16] = session[..16].try_into().unwrap();
            assert_eq!(prev.session, SessionId::from_bytes(id), "{}", v.name);
        };
        match (field(&v, "from"), link.from) {
            ("root", LinkFrom::Root) => {}
            (
                "successor",
                LinkFrom::Successor {
                    prev,
                    count,
                    end_tag,
                },
            ) => {
                check_prev(&prev);
                assert_eq!(count, number(&v, "count"), "{}", v.name);
                assert_eq!(end_tag, hex_field(&v, "end-tag"), "{}", v.name);
            }
            ("after-crash", LinkFrom::AfterCrash { prev }) => check_prev(&prev),
            ("branch", LinkFrom::Branch { prev, fork_point }) => {
                check_prev(&prev);
                assert_eq!(fork_point, number(&v, "fork-point"), "{}", v.name);
            }
            (stated, opened) => panic!("vector {}: from {stated}, opened {opened:?}", v.name),
        }

        // Keys the MAC must not verify with: the link's own next chain key, zeros, and the
        // stated chain key with one bit flipped.
        let mut others = vec![link.next_chain_key().clone(), ChainKey::from_bytes([0; 32])];
        if matches!(link.from, LinkFrom::Root) {
            // A root has no MAC: no key authenticates it.
            assert!(v.fields.iter().all(|(k, _)| k != "chain-key"), "{}", v.name);
        } else {
            let chain_key: [u8; 32] = hex_field(&v, "chain-key");
            assert!(
                link.authenticated_by(&ChainKey::from_bytes(chain_key)),
                "{}: the MAC does not verify with the stated chain key",
                v.name
            );
            let mut flipped = chain_key;
            flipped[31] ^= 1;
            others.push(ChainKey::from_bytes(flipped));
        }
        for other in &others {
            assert!(!link.authenticated_by(other), "{}: another key", v.name);
        }
    }
    assert_eq!(links, 6, "A, B, C, D, R1 and R2 each have one first record");
}

/// FORMAT.md §12's sessions, as opened: each link names a session of the vectors, verifies
/// with the next chain key that session's own first record carries, and (a successor of a
/// closed session) states that session's record count and close record's tag; lineages and
/// indexes follow §5.2.
#[test]
fn the_v2_vectors_form_the_chains_format_md_describes() {
    let opened: Vec<(Vector, Opened)> = v2()
        .into_iter()
        .map(|v| {
            let o = open_and_check(2, &v);
            (v, o)
        })
        .collect();
    let first_of = |session: &[u8]| {
        opened
            .iter()
            .find(|(v, o)| v.session[..] == session[..16] && o.link.is_some())
            .unwrap_or_else(|| panic!("no vector opens session {}", hex_text(session)))
    };
    let mut named = 0;
    for (v, o) in &opened {
        let Some(link) = &o.link else { continue };
        let Some(prev) = link.from.prev() else {
            assert_eq!(link.index, 0, "{}: a root starts its lineage", v.name);
            continue;
        };
        named += 1;
        let (_, _, prev_session) = prev_field(v);
        let (prev_vector, prev_opened) = first_of(&prev_session);
        let prev_link = prev_opened.link.as_ref().unwrap();
        assert_eq!(prev.session.to_bytes(), prev_vector.session, "{}", v.name);
        let mut ring = Keyring::new();
        assert_eq!(ring.add_text(&prev_vector.key).unwrap(), prev.key_id);
        assert!(
            link.authenticated_by(prev_link.next_chain_key()),
            "{}: the MAC does not verify with {}'s next chain key",
            v.name,
            prev_vector.name
        );
        match link.from {
            LinkFrom::Branch { .. } => {
                assert_ne!(link.lineage, prev_link.lineage, "{}: a branch", v.name);
                assert_eq!(link.index, 0, "{}: a branch", v.name);
            }
            _ => {
                assert_eq!(link.lineage, prev_link.lineage, "{}: a successor", v.name);
                assert_eq!(link.index, prev_link.index + 1, "{}: a successor", v.name);
            }
        }
        if let LinkFrom::Successor { count, end_tag, .. } = link.from {
            let (close, closed) = opened
                .iter()
                .find(|(c, _)| c.session == prev_vector.session && c.record == "close")
                .unwrap_or_else(|| panic!("{}: its predecessor has no close vector", v.name));
            assert_eq!(count, close.seq + 1, "{}: count", v.name);
            assert_eq!(
                end_tag, closed.tag,
                "{}: end-tag is {}'s tag",
                v.name, close.name
            );
        }
    }
    assert_eq!(named, 4, "B, C, D and R2 name a session before them");
}

fn hex_text(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// FORMAT.md Appendix A.2, step by step, with nothing from enclog but the key's id.
#[test]
fn every_symmetric_vector_is_xchacha20_poly1305_as_specified() {
    let raw_key = hex(VECTOR_KEY);
    for v in v1().into_iter().filter(|v| v.ephemeral_secret.is_none()) {
        let key: Key = v.key.parse().unwrap();
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
        assert_eq!(
            line_of(&raw_key, &header, &v, &plaintext),
            v.line,
            "vector {}",
            v.name
        );
    }
}

/// `[meta SP] "enclog:" base64url(header ‖ XChaCha20-Poly1305(key, session ‖ u64be(seq)))`.
fn line_of(key: &[u8], header: &[u8], v: &Vector, plaintext: &[u8]) -> String {
    let mut nonce = v.session.to_vec();
    nonce.extend_from_slice(&v.seq.to_be_bytes());
    let cipher = XChaCha20Poly1305::new_from_slice(key).unwrap();
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: header,
            },
        )
        .unwrap();
    let mut token = header.to_vec();
    token.extend_from_slice(&sealed);
    let mut line = String::new();
    if let Some(meta) = &v.meta {
        line.push_str(meta);
        line.push(' ');
    }
    line.push_str("enclog:");
    line.push_str(&URL_SAFE_NO_PAD.encode(&token));
    line
}

/// FORMAT.md §2.2, §3, §4 and §5.3, step by step, with nothing from enclog: the key id, the
/// key commitment, the header, the link and its MAC, the plaintext's parts and the AEAD.
/// (§4 states that with `part` = 0 its ChaCha20-Poly1305 under `HChaCha20(K, session)` is
/// exactly XChaCha20-Poly1305 with the nonce `session ‖ u64be(seq)`.)
#[test]
fn every_symmetric_v2_vector_is_derived_as_specified_with_independent_primitives() {
    let raw_key = hex(VECTOR_KEY);
    let mut derived = 0;
    for v in v2().into_iter().filter(|v| v.ephemeral_secret.is_none()) {
        // §2.1, §2.2: the text form and the key id.
        let prefix = b"ENCLOG-KEY-1-";
        let checksum = &Sha256::digest([&prefix[..], &raw_key].concat())[..4];
        let text = [&raw_key[..], checksum].concat();
        assert_eq!(
            v.key,
            format!("ENCLOG-KEY-1-{}", URL_SAFE_NO_PAD.encode(text))
        );
        let key_id = &Sha256::digest([&b"enclog-key-id-1"[..], prefix, &raw_key].concat())[..4];

        // §4.1: the commitment to the key.
        let commit = &hmac_sha256(&raw_key, &[b"enclog-v2 commit", &v.session])[..16];
        assert_eq!(commit, hex_field::<16>(&v, "commit"), "{}: commit", v.name);

        // §3: the header. Type bit 6 on the session's first record, bit 7 with clear metadata.
        let mut record_type = match v.record.as_str() {
            "close" => 0x01,
            _ => 0x00,
        };
        if v.seq == 0 {
            record_type |= 0x40;
        }
        if v.meta.is_some() {
            record_type |= 0x80;
        }
        let mut header = vec![0x21, record_type];
        header.extend_from_slice(key_id);
        header.extend_from_slice(commit);
        header.extend_from_slice(&v.session);
        leb128(v.seq, &mut header);

        // §4: the plaintext's parts, link first.
        let mut plaintext = Vec::new();
        if v.seq == 0 {
            let own = [&[0x21][..], key_id, &v.session].concat();
            let link = link_of(&v, &own);
            assert_eq!(Some(&link), v.link.as_ref(), "{}: link", v.name);
            leb128(link.len() as u64, &mut plaintext);
            plaintext.extend_from_slice(&link);
        }
        if let Some(meta) = &v.meta {
            leb128(meta.len() as u64, &mut plaintext);
            plaintext.extend_from_slice(meta.as_bytes());
        }
        plaintext.extend_from_slice(&v.plaintext);
        assert_eq!(
            line_of(&raw_key, &header, &v, &plaintext),
            v.line,
            "vector {}",
            v.name
        );
        derived += 1;
    }
    assert_eq!(derived, 7, "FORMAT.md §12 has 7 symmetric vectors");
}

/// FORMAT.md §5.3: a link from the vector's stated fields; `own` is the record's own
/// `vm ‖ key-id ‖ session`, which the MAC covers.
fn link_of(v: &Vector, own: &[u8]) -> Vec<u8> {
    let mut link = hex_field::<16>(v, "lineage").to_vec();
    leb128(number(v, "index"), &mut link);
    link.extend_from_slice(&hex_field::<32>(v, "next-chain-key"));
    let from = field(v, "from");
    let code = match from {
        "root" => {
            link.push(0x00);
            return link;
        }
        "successor" => 0x01,
        "after-crash" => 0x02,
        "branch" => 0x03,
        other => panic!("vector {}: from {other}", v.name),
    };
    link.push(code);
    let (vm, key_id, session) = prev_field(v);
    link.push(vm);
    link.extend_from_slice(&key_id);
    link.extend_from_slice(&session);
    match from {
        "successor" => {
            leb128(number(v, "count"), &mut link);
            link.extend_from_slice(&hex_field::<16>(v, "end-tag"));
        }
        "branch" => leb128(number(v, "fork-point"), &mut link),
        _ => {}
    }
    let chain_key = hex_field::<32>(v, "chain-key");
    let mac = hmac_sha256(&chain_key, &[b"enclog-v2 link", own, &link]);
    link.extend_from_slice(&mac[..16]);
    link
}

/// FORMAT.md §9 and A.4: the size of a line without clear metadata, `7 + ceil(4·(h + s + n +
/// 16)/3) + 1` with the header's fixed part `h` (21 in v1; 38 symmetric or 54 recipient in
/// v2), plus, in a v2 session's first record, its link and the link's length (51 bytes for a
/// root).
#[test]
fn every_vector_line_has_the_size_format_md_states() {
    for (version, v) in all().into_iter().filter(|(_, v)| v.meta.is_none()) {
        let recipient = v.ephemeral_secret.is_some();
        let fixed = match (version, recipient) {
            (1, false) => 21,
            (1, true) => 37,
            (_, false) => 38,
            (_, true) => 54,
        };
        let mut seq = Vec::new();
        leb128(v.seq, &mut seq);
        let mut link = 0;
        if let Some(bytes) = &v.link {
            let mut len = Vec::new();
            leb128(bytes.len() as u64, &mut len);
            link = len.len() + bytes.len();
            if field(&v, "from") == "root" {
                assert_eq!(link, 51, "{}: a root link and its length", v.name);
            }
        }
        let decoded = fixed + seq.len() + v.plaintext.len() + 16 + link;
        let size = 7 + (4 * decoded).div_ceil(3) + 1;
        assert_eq!(v.line.len() + 1, size, "{} (with its LF)", v.name);
    }
}

#[test]
fn the_vector_keys_have_the_documented_ids() {
    for (_, v) in all() {
        if v.ephemeral_secret.is_some() {
            let identity: Identity = v.key.parse().unwrap();
            assert!(
                FORMAT.contains(&identity.recipient().to_string()),
                "{}",
                v.name
            );
        } else {
            let key: Key = v.key.parse().unwrap();
            assert_eq!(key.id().to_string(), "86e12f11", "{}", v.name);
        }
        assert!(
            FORMAT.contains(&v.key),
            "FORMAT.md states the key of {}",
            v.name
        );
    }
    assert!(
        FORMAT.contains("86e12f11"),
        "FORMAT.md must state the vector key's id"
    );
}

/// The tables of FORMAT.md §12 and A.6 name exactly the vectors of the files, and every line
/// FORMAT.md quotes (a marker followed by a token of 8 or more base64url characters, §3) is a
/// vector's line, whole.
#[test]
fn format_md_names_and_quotes_only_vectors() {
    let all = all();
    for (_, v) in &all {
        assert!(
            FORMAT.contains(&format!("| {} |", v.name)),
            "FORMAT.md's tables lack vector {}",
            v.name
        );
    }
    for row in FORMAT.lines().filter(|l| l.starts_with("| v2-")) {
        let name = row.split('|').nth(1).unwrap().trim();
        assert!(
            all.iter().any(|(_, v)| v.name == name),
            "FORMAT.md §12 names {name}, which is not in v2.txt"
        );
    }
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let quoted: Vec<&str> = FORMAT
        .lines()
        .filter(|l| {
            l.split_once("enclog:")
                .is_some_and(|(_, token)| token.chars().take_while(|&c| is_b64(c)).count() >= 8)
        })
        .collect();
    assert!(!quoted.is_empty(), "FORMAT.md quotes no example line");
    for line in quoted {
        assert!(
            all.iter().any(|(_, v)| v.line == line.trim()),
            "FORMAT.md quotes a line that is not a vector: {line}"
        );
    }
}

/// Runs `recipient_reference.py FLAG FILE` in the tests' Python environment; returns its output.
fn python_reference(flag: &str, file: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(python_env::zato_python())
        .arg(root.join("tests/vectors/recipient_reference.py"))
        .arg(flag)
        .arg(root.join(file))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The recipient the reference prints (its output's last word) is the vectors' identity's.
fn assert_same_recipient(output: &str, vectors: &[Vector]) {
    let recipient = output.trim().rsplit(' ').next().unwrap();
    let identity: Identity = vectors
        .iter()
        .find(|v| v.ephemeral_secret.is_some())
        .unwrap()
        .key
        .parse()
        .unwrap();
    assert_eq!(identity.recipient().to_string(), recipient);
    assert!(FORMAT.contains(recipient), "FORMAT.md states the recipient");
}

/// FORMAT.md A.5 re-derived by an independent implementation (Python `cryptography` plus a
/// plain-Python HChaCha20): `tests/vectors/recipient_reference.py`.
#[test]
fn recipient_vectors_match_the_python_reference() {
    let output = python_reference("--check", "tests/vectors/v1.txt");
    assert_same_recipient(&output, &v1());
}

/// FORMAT.md §2–§7 re-derived by the same independent implementation: every v2 vector, both
/// modes, links included, block for block.
#[test]
fn every_v2_vector_matches_the_python_reference() {
    let output = python_reference("--check-v2", "tests/vectors/v2.txt");
    let vectors = v2();
    assert!(
        output.contains(&format!("v2 vectors match ({})", vectors.len())),
        "{output}"
    );
    assert_same_recipient(&output, &vectors);
}

/// FORMAT.md §11 and §12.1: the sealed-field vectors, as `field: value` blocks.
fn field_vectors() -> Vec<Vec<(String, String)>> {
    let text = include_str!("vectors/fields.txt");
    let blocks: Vec<Vec<(String, String)>> = text
        .split("\n\n")
        .map(|block| {
            block
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .filter_map(|l| l.split_once(": "))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<Vec<_>>()
        })
        .filter(|b: &Vec<_>| !b.is_empty())
        .collect();
    assert!(
        blocks.len() >= 5,
        "the sealed-field vectors file lost entries"
    );
    blocks
}

/// Each sealed-field vector opens through the public API back to its input line, with its
/// session, sequence number and sealed paths, its clear fields authentic; and its envelope's
/// body and each value's token are re-derived with RustCrypto's ChaCha20-Poly1305 and SHA-256
/// from the spec's description (enclog uses ring's).
#[test]
fn every_sealed_field_vector_opens_to_its_input() {
    for block in field_vectors() {
        let get = |k: &str| block.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
        let name = get("name").unwrap();
        let keyring: Keyring = match get("ephemeral-secret") {
            None => Keyring::from(get("key").unwrap().parse::<Key>().unwrap()),
            Some(_) => Keyring::from(get("key").unwrap().parse::<Identity>().unwrap()),
        };
        let line = get("line").unwrap();
        let mut opener = Opener::new(keyring);
        let opened = opener.open(line.as_bytes()).unwrap().unwrap();
        assert_eq!(
            std::str::from_utf8(opened.plaintext).unwrap(),
            get("input").unwrap(),
            "{name}"
        );
        assert_eq!(opened.meta_status, MetaStatus::Matches, "{name}");
        assert_eq!(
            opened.sequence.unwrap().seq.to_string(),
            get("seq").unwrap()
        );
        assert_eq!(
            opened.sequence.unwrap().session.to_bytes().to_vec(),
            hex(get("session").unwrap())
        );
        let paths: Vec<&str> = block
            .iter()
            .filter(|(k, _)| k == "value")
            .map(|(_, v)| v.split(' ').next().unwrap())
            .collect();
        assert_eq!(opened.fields.as_ref().unwrap().sealed, paths, "{name}");

        // Independently, for the symmetric vectors: the envelope's plaintext is the stated body.
        if get("ephemeral-secret").is_none() {
            let env = line.rsplit("enclog:").next().unwrap();
            let env = env.trim_end_matches(['"', '}']);
            let raw = URL_SAFE_NO_PAD.decode(env).unwrap();
            let seq: u64 = get("seq").unwrap().parse().unwrap();
            let header_len = 2 + 4 + 16 + 16 + 1;
            assert_eq!(raw[1], 0x02, "{name}: record type 2");
            let session: [u8; 16] = hex(get("session").unwrap()).try_into().unwrap();
            let mut nonce = [0u8; 24];
            nonce[..16].copy_from_slice(&session);
            nonce[16..].copy_from_slice(&seq.to_be_bytes());
            let cipher = XChaCha20Poly1305::new_from_slice(&hex(VECTOR_KEY)).unwrap();
            let body = cipher
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &raw[header_len..],
                        aad: &raw[..header_len],
                    },
                )
                .unwrap();
            assert_eq!(body, hex(get("envelope-hex").unwrap()), "{name}");
            let digest = &body[body.len() - 32..];
            assert_eq!(digest, &hex(get("digest").unwrap())[..]);
        }
    }
}

/// FORMAT.md §11 re-derived by the independent Python reference: every sealed-field vector,
/// block for block (canonical JSON, blind indexes, envelopes, sealed values).
#[test]
fn every_sealed_field_vector_matches_the_python_reference() {
    let output = python_reference("--check-fields", "tests/vectors/fields.txt");
    assert!(
        output.contains(&format!(
            "sealed-field vectors match ({})",
            field_vectors().len()
        )),
        "{output}"
    );
}
