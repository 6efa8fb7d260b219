//! One line: the header and the clear metadata's authenticated copy written before the
//! plaintext, the plaintext encrypted where it is, and the whole base64-encoded after the
//! marker.

use std::cell::RefCell;

use crate::error::SealError;
use crate::fernet::FernetKey;
use crate::format::link::MAX_LINK_LEN;
use crate::format::{Header, MAX_HEADER_LEN, MAX_VARINT_LEN, RecordKind, TAG_LEN, varint_into};

use super::Sealer;
use super::session::Session;

/// What one sealing call asks for, handed down the attempts of [`Sealer::seal_inner`].
pub(super) struct Line<'a> {
    pub(super) key_generation: u64,
    pub(super) ordered: bool,
    pub(super) clear: Option<&'a [u8]>,
    pub(super) plaintext: Plaintext<'a>,
}

/// Where a line's plaintext is.
pub(super) enum Plaintext<'a> {
    /// Borrowed: copied into the thread's scratch buffer, after room for the header.
    Borrowed(&'a [u8]),
    /// In `buf` from `start` on, with room for the header before it: sealed where it is.
    #[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
    InPlace { buf: &'a mut Vec<u8>, start: usize },
    /// A line whose chosen values are sealed field by field (FORMAT.md §11).
    Fields(&'a mut super::fields::Prepared),
}

impl Plaintext<'_> {
    /// The whole-line plaintext; `None` for a field-sealed line, which has none.
    pub(super) fn bytes(&self) -> Option<&[u8]> {
        match self {
            Plaintext::Borrowed(plaintext) => Some(plaintext),
            Plaintext::InPlace { buf, start } => Some(&buf[*start..]),
            Plaintext::Fields(_) => None,
        }
    }

    /// Overwrites an in-place plaintext that was not encrypted where it is (a Fernet line is
    /// sealed from a copy; a line that failed was not sealed): the writer reuses its buffer, and
    /// the event must not stay in it (threat: plaintext in memory a later dump or bug exposes).
    pub(super) fn wipe(&mut self) {
        match self {
            Plaintext::InPlace { buf, start } => zeroize::Zeroize::zeroize(&mut buf[*start..]),
            Plaintext::Fields(prep) => prep.wipe(),
            Plaintext::Borrowed(_) => {}
        }
    }
}

/// The room [`encode`] needs before a plaintext: the longest header, the longest link with its
/// length, and the clear metadata's authenticated copy with its length.
pub(crate) const fn room_before(clear_len: usize) -> usize {
    MAX_HEADER_LEN + MAX_VARINT_LEN + MAX_LINK_LEN + MAX_VARINT_LEN + clear_len
}

/// Readies a buffer for the next plaintext to seal in place: `room` bytes, then nothing. What
/// the room holds may stay (zeros, earlier headers and ciphertext: never plaintext, which
/// starts after it and is encrypted where it is).
#[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
pub(crate) fn reset_with_room(buf: &mut Vec<u8>, room: usize) {
    if buf.len() < room {
        buf.resize(room, 0);
    }
    buf.truncate(room);
}

thread_local! {
    /// Scratch for header ‖ plaintext ‖ tag before base64: reused, so a warm thread seals
    /// without allocating.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Sealer {
    /// Seals an event from a borrowed plaintext, copied into the thread's scratch buffer.
    pub(super) fn write_line(
        &self,
        session: &Session,
        seq: u64,
        clear: Option<&[u8]>,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) {
        let mut copy = |scratch: &mut Vec<u8>| {
            let start = room_before(clear.map_or(0, <[u8]>::len));
            scratch.clear();
            scratch.resize(start, 0);
            scratch.extend_from_slice(plaintext);
            encode(session, seq, RecordKind::Event, clear, scratch, start, out);
        };
        let copied = SCRATCH.try_with(|cell| {
            let scratch = cell.try_borrow_mut();
            scratch.map(|mut scratch| copy(&mut scratch)).is_ok()
        });
        if copied != Ok(true) {
            // Re-entered (sealing from inside a sealing call), or sealing while the thread's
            // locals are destroyed: a fresh buffer.
            copy(&mut Vec::new());
        }
    }
}

/// zato-enclog's line shape: `[clear SP]enclogdata:<fernet token>`, nothing after the token
/// (zato-enclog's `open` drops text after a padded token).
pub(super) fn seal_fernet(
    key: &FernetKey,
    clear: Option<&[u8]>,
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), SealError> {
    let start = out.len();
    if let Some(clear) = clear {
        crate::format::push_clear_meta(clear, out);
        out.push(b' ');
    }
    if let Err(e) = key.seal(plaintext, out) {
        out.truncate(start);
        return Err(e);
    }
    out.push(b'\n');
    Ok(())
}

/// Seals the plaintext that `buf` holds from `start` on into one line appended to `out`:
/// the header, the session's link (on its first record) and the clear metadata's authenticated
/// copy are written just before `start` (in the room the caller left), the rest is encrypted in
/// place and the tag appended, and header ‖ ciphertext ‖ tag is base64-encoded after the clear
/// metadata and the marker. Returns the tag.
pub(super) fn encode(
    session: &Session,
    seq: u64,
    record: RecordKind,
    clear: Option<&[u8]>,
    buf: &mut Vec<u8>,
    start: usize,
    out: &mut Vec<u8>,
) -> [u8; TAG_LEN] {
    encode_header(
        session.header_for(seq, record, clear.is_some(), false),
        session,
        clear,
        buf,
        start,
        out,
    )
}

/// [`encode`] with the header given: a field envelope's, or a record's.
pub(super) fn encode_header(
    header: Header,
    session: &Session,
    clear: Option<&[u8]>,
    buf: &mut Vec<u8>,
    start: usize,
    out: &mut Vec<u8>,
) -> [u8; TAG_LEN] {
    let seq = header.seq;
    let link = header.has_link.then_some(&session.link[..]);
    let mut header_bytes = [0u8; MAX_HEADER_LEN];
    let header_len = header.write_into(&mut header_bytes);

    let clear_start = out.len();
    let mut meta_len = [0u8; MAX_VARINT_LEN];
    let mut meta_len_len = 0;
    if let Some(clear) = clear {
        crate::format::push_clear_meta(clear, out);
        meta_len_len = varint_into(clear.len() as u64, &mut meta_len);
    }
    let meta = clear_start..out.len();
    // Written backwards from the plaintext: the metadata copy, its length, the link and its
    // length (a session's first record only), the header.
    let room = header_len + MAX_VARINT_LEN + link.map_or(0, <[u8]>::len) + meta_len_len;
    assert!(
        start >= room + meta.len(),
        "callers leave room_before(clear) bytes before the plaintext"
    );
    let mut at = start - meta.len();
    buf[at..start].copy_from_slice(&out[meta]);
    buf[at - meta_len_len..at].copy_from_slice(&meta_len[..meta_len_len]);
    at -= meta_len_len;
    if let Some(link) = link {
        buf[at - link.len()..at].copy_from_slice(link);
        at -= link.len();
        let mut link_len = [0u8; MAX_VARINT_LEN];
        let len = varint_into(link.len() as u64, &mut link_len);
        buf[at - len..at].copy_from_slice(&link_len[..len]);
        at -= len;
    }
    let begin = at - header_len;
    buf[begin..at].copy_from_slice(&header_bytes[..header_len]);
    if clear.is_some() {
        out.push(b' ');
    }

    let (aad, body) = buf[begin..].split_at_mut(header_len);
    let cipher = (session.cipher.as_ref()).expect("only a usable session seals, and it has a key");
    let tag = cipher.seal(seq, aad, body);
    buf.extend_from_slice(&tag);

    crate::format::push_token(&buf[begin..], out);
    out.push(b'\n');
    tag
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;

    /// The `FORMAT.md` vectors of both versions, sealed with a fixed session: the exact bytes
    /// the spec states. (`tests/vectors.rs` opens them through the public API and re-derives
    /// them with an independent XChaCha20-Poly1305.)
    #[test]
    fn format_vectors_seal_to_the_exact_lines() {
        for (version, file) in [
            (1, include_str!("../../vectors/v1.txt")),
            (2, include_str!("../../vectors/v2.txt")),
        ] {
            let vectors = crate::vectors::parse(file);
            assert!(vectors.len() >= 9, "vectors file lost entries");
            for v in vectors {
                let generation = enclog_fork::generation();
                let mut session = match &v.ephemeral_secret {
                    None => {
                        let key: Key = v.key.parse().unwrap();
                        Session::symmetric(&key, v.session, v.seq, generation, 0)
                    }
                    Some(secret) => {
                        let identity: crate::Identity = v.key.parse().unwrap();
                        let recipient = identity.recipient();
                        let bytes: [u8; 32] = secret.clone().try_into().unwrap();
                        let (ephemeral, key) = recipient.session_from(bytes.into(), version);
                        assert_eq!(ephemeral[..16], v.session, "vector {}: session", v.name);
                        Session::recipient(&recipient, ephemeral, &key, v.seq, None, generation, 0)
                    }
                };
                session.header.version = version;
                if let Some(link) = &v.link {
                    session.link = zeroize::Zeroizing::new(link.clone());
                }
                let record = match v.record.as_str() {
                    "close" => RecordKind::Close,
                    _ => RecordKind::Event,
                };
                let meta = v.meta.as_deref().map(str::as_bytes);
                let mut out = Vec::new();
                session.seal_record(v.seq, record, meta, &v.plaintext, &mut out);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    format!("{}\n", v.line),
                    "vector {}",
                    v.name
                );
            }
        }
    }
}
