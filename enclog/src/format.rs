//! The v1 token: its binary layout, the marker that introduces it in a line, and its
//! encoding. Pure data handling; the cryptography lives in `cipher`. `FORMAT.md` is the
//! normative description of everything here.
//!
//! ```text
//! line   = [clear-metadata SP] "enclog:" base64url-nopad(header ‖ ciphertext ‖ tag16) LF
//! header = kind(1) ‖ key-id(4) ‖ session(16 | 32) ‖ seq(LEB128, minimal, 1..=10)
//! kind   = 0x10 (version 1) | mode (1 symmetric, 2 recipient) | 0x04 close | 0x08 metadata
//! ```

use std::fmt;
use std::sync::LazyLock;

use memchr::memmem;

use crate::error::OpenError;
use crate::key::KeyId;

/// The marker that sets a token apart from the text around it.
///
/// ```
/// let line = enclog::Sealer::new(enclog::Key::generate()?).seal_line(b"event")?;
/// assert!(line.starts_with(enclog::format::MARKER));
/// assert_eq!(enclog::format::MARKER, b"enclog:");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MARKER: &[u8] = b"enclog:";

/// The format version this library writes (the high nibble of the kind byte).
///
/// ```
/// use base64::Engine;
/// let line = enclog::Sealer::new(enclog::Key::generate()?).seal_line(b"event")?;
/// let token = &line[enclog::format::MARKER.len()..line.len() - 1]; // without the marker and `\n`
/// let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token)?;
/// assert_eq!(bytes[0] >> 4, enclog::format::FORMAT_VERSION); // the kind byte's high nibble
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const FORMAT_VERSION: u8 = 1;

pub(crate) const TAG_LEN: usize = 16;
const KIND_VERSION: u8 = FORMAT_VERSION << 4;
const KIND_MODE_MASK: u8 = 0x03;
const KIND_CLOSE: u8 = 0x04;
const KIND_META: u8 = 0x08;
/// Fewer base64 characters than this after the marker is prose that happens to contain the
/// marker, not a token.
const MIN_TOKEN_CHARS: usize = 8;

/// Which mode sealed a line.
///
/// ```
/// assert_eq!(enclog::format::Mode::Symmetric.to_string(), "symmetric");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// Sealed with a symmetric [`Key`](crate::Key).
    Symmetric,
    /// Sealed to a public recipient; opened with the matching identity.
    Recipient,
    /// A zato-enclog line: a Fernet token behind `enclogdata:` (message only, no sequence).
    Fernet,
}

impl Mode {
    fn bits(self) -> u8 {
        match self {
            Mode::Symmetric => 1,
            Mode::Recipient => 2,
            // Never written: Fernet lines have no enclog header. Were it written, mode 0 is
            // reserved and readers would refuse the line rather than misread it.
            Mode::Fernet => 0,
        }
    }

    /// Length of the session field of this mode's header.
    pub(crate) fn session_len(self) -> usize {
        match self {
            Mode::Symmetric => 16,
            Mode::Recipient | Mode::Fernet => 32,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Symmetric => "symmetric",
            Mode::Recipient => "recipient",
            Mode::Fernet => "fernet",
        })
    }
}

/// What a line records.
///
/// ```
/// assert_eq!(enclog::format::RecordKind::Close.to_string(), "close");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// One log event.
    Event,
    /// The clean end of a session: no event follows under this session.
    Close,
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordKind::Event => "event",
            RecordKind::Close => "close",
        })
    }
}

/// A session's id: 128 random bits drawn once per session (in the recipient mode, the first
/// 16 bytes of the session's ephemeral public key). With the sequence number it forms the nonce.
///
/// ```
/// let id = enclog::format::SessionId::from_bytes([0xab; 16]);
/// assert_eq!(id.to_string(), "ab".repeat(16));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub(crate) [u8; 16]);

impl SessionId {
    /// Builds a session id from its bytes.
    ///
    /// ```
    /// let id = enclog::format::SessionId::from_bytes([7; 16]);
    /// assert_eq!(id.to_bytes(), [7; 16]);
    /// assert_eq!(id.to_string(), "07".repeat(16));
    /// ```
    pub fn from_bytes(bytes: [u8; 16]) -> SessionId {
        SessionId(bytes)
    }

    /// The id's bytes.
    ///
    /// ```
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// let id = sealer.start()?.expect("a symmetric key has sessions");
    /// assert_eq!(enclog::format::SessionId::from_bytes(id.to_bytes()), id);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_bytes(self) -> [u8; 16] {
        self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// A parsed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) mode: Mode,
    pub(crate) record: RecordKind,
    pub(crate) has_meta: bool,
    pub(crate) key_id: KeyId,
    /// 16 bytes used in the symmetric mode, 32 in the recipient mode.
    pub(crate) session: [u8; 32],
    pub(crate) seq: u64,
}

impl Header {
    pub(crate) fn kind_byte(mode: Mode, record: RecordKind, has_meta: bool) -> u8 {
        let mut kind = KIND_VERSION | mode.bits();
        if record == RecordKind::Close {
            kind |= KIND_CLOSE;
        }
        if has_meta {
            kind |= KIND_META;
        }
        kind
    }

    pub(crate) fn session_bytes(&self) -> &[u8] {
        &self.session[..self.mode.session_len()]
    }

    pub(crate) fn session_id(&self) -> SessionId {
        let mut id = [0u8; 16];
        id.copy_from_slice(&self.session[..16]);
        SessionId(id)
    }

    /// Parses the header at the start of a decoded token; returns it and its length.
    pub(crate) fn parse(raw: &[u8]) -> Result<(Header, usize), OpenError> {
        let &kind = raw.first().ok_or(OpenError::Truncated {
            reason: "no header",
        })?;
        if kind >> 4 != FORMAT_VERSION {
            return Err(OpenError::Unsupported {
                reason: format!("format version {} (this build reads 1)", kind >> 4),
            });
        }
        let mode = match kind & KIND_MODE_MASK {
            1 => Mode::Symmetric,
            2 => Mode::Recipient,
            other => {
                return Err(OpenError::Unsupported {
                    reason: format!("mode {other}"),
                });
            }
        };
        let fixed = 1 + 4 + mode.session_len();
        if raw.len() < fixed + 1 {
            return Err(OpenError::Truncated {
                reason: "the header is incomplete",
            });
        }
        let key_id = KeyId([raw[1], raw[2], raw[3], raw[4]]);
        let mut session = [0u8; 32];
        session[..mode.session_len()].copy_from_slice(&raw[5..fixed]);
        let (seq, seq_len) = read_varint(&raw[fixed..])?;
        let header_len = fixed + seq_len;
        if raw.len() < header_len + TAG_LEN {
            return Err(OpenError::Truncated {
                reason: "the authentication tag is missing",
            });
        }
        let header = Header {
            mode,
            record: if kind & KIND_CLOSE != 0 {
                RecordKind::Close
            } else {
                RecordKind::Event
            },
            has_meta: kind & KIND_META != 0,
            key_id,
            session,
            seq,
        };
        Ok((header, header_len))
    }

    /// Writes the encoded header at the start of `out`; returns its length.
    pub(crate) fn write_into(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let session = self.session_bytes();
        let fixed = 5 + session.len();
        out[0] = Header::kind_byte(self.mode, self.record, self.has_meta);
        out[1..5].copy_from_slice(&self.key_id.0);
        out[5..fixed].copy_from_slice(session);
        fixed + varint_into(self.seq, &mut out[fixed..])
    }
}

/// The longest header: kind, key id, a recipient session's 32 bytes, a 10-byte sequence number.
pub(crate) const MAX_HEADER_LEN: usize = 1 + 4 + 32 + MAX_VARINT_LEN;

/// The longest LEB128 of a `u64`.
pub(crate) const MAX_VARINT_LEN: usize = 10;

/// Writes `v` as a minimal unsigned LEB128 at the start of `out`; returns its length.
pub(crate) fn varint_into(mut v: u64, out: &mut [u8]) -> usize {
    let mut i = 0;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out[i] = byte;
            return i + 1;
        }
        out[i] = byte | 0x80;
        i += 1;
    }
}

/// Appends `v` as a minimal unsigned LEB128.
#[cfg(test)]
pub(crate) fn write_varint(v: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; MAX_VARINT_LEN];
    let len = varint_into(v, &mut buf);
    out.extend_from_slice(&buf[..len]);
}

/// Reads a minimal unsigned LEB128; non-minimal and overlong encodings are refused, so each
/// sequence number has exactly one encoding.
pub(crate) fn read_varint(raw: &[u8]) -> Result<(u64, usize), OpenError> {
    let mut v: u64 = 0;
    for (i, &byte) in raw.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if i == 9 && byte > 1 {
            return Err(OpenError::Malformed {
                reason: "sequence number overflows 64 bits",
            });
        }
        v |= bits << (7 * i);
        if byte & 0x80 == 0 {
            if byte == 0 && i > 0 {
                return Err(OpenError::Malformed {
                    reason: "sequence number is not minimally encoded",
                });
            }
            return Ok((v, i + 1));
        }
    }
    Err(if raw.len() < 10 {
        OpenError::Truncated {
            reason: "the sequence number is incomplete",
        }
    } else {
        OpenError::Malformed {
            reason: "sequence number longer than 10 bytes",
        }
    })
}

/// Whether `b` is a base64url character. Branch-free, so that [`token_len`]'s loop vectorizes.
#[inline(always)]
fn is_token_char(b: u8) -> bool {
    // `| 0x20` maps `A–Z` onto `a–z` and nothing else onto `a–z`.
    ((b | 0x20).wrapping_sub(b'a') < 26) | (b.wrapping_sub(b'0') < 10) | (b == b'-') | (b == b'_')
}

/// The length of the run of base64url characters at the start of `s`.
///
/// This runs over every byte of every token read: a byte-by-byte `take_while` cost as much as
/// the AEAD itself. Blocks of 32 bytes are checked with no branch inside a block (LLVM turns
/// that into a few vector compares); the block holding the end of the token is searched
/// 8 bytes at a time ([`non_token_bytes`]). The last partial block is padded with a space.
fn token_len(s: &[u8]) -> usize {
    const BLOCK: usize = 32;
    fn end_in_block(block: &[u8; BLOCK]) -> Option<usize> {
        if block.iter().fold(true, |all, &b| all & is_token_char(b)) {
            return None;
        }
        block.chunks_exact(8).enumerate().find_map(|(i, word)| {
            let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            let bad = non_token_bytes(word);
            (bad != 0).then(|| i * 8 + bad.trailing_zeros() as usize / 8)
        })
    }
    let mut n = 0;
    let mut blocks = s.chunks_exact(BLOCK);
    for block in &mut blocks {
        if let Some(end) = end_in_block(block.try_into().expect("a whole block")) {
            return n + end;
        }
        n += BLOCK;
    }
    let rest = blocks.remainder();
    let mut last = [b' '; BLOCK];
    last[..rest.len()].copy_from_slice(rest);
    n + end_in_block(&last).expect("the padding ends the token")
}

/// The high bit of each byte of `word` set where that byte is not a base64url character
/// (SWAR: eight bytes in one register, no carries across bytes).
fn non_token_bytes(word: u64) -> u64 {
    const L: u64 = 0x0101_0101_0101_0101;
    const H: u64 = 0x8080_8080_8080_8080;
    let x = word & !H; // 7-bit bytes: the additions below cannot carry into the next byte
    // High bit set where lo <= byte <= hi.
    let within = |x: u64, lo: u8, hi: u8| {
        ((x + (0x80 - u64::from(lo)) * L) & !(x + (0x7f - u64::from(hi)) * L)) & H
    };
    let letters = within(x | (0x20 * L), b'a', b'z');
    let ok = letters | within(x, b'0', b'9') | within(x, b'-', b'-') | within(x, b'_', b'_');
    !ok & H | (word & H)
}

/// Where a token sits in a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Located {
    /// Index of the marker's first byte.
    pub(crate) marker: usize,
    /// Range of the base64 characters after the marker.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Finds the first token in `line`: the marker followed by at least 8 base64url characters.
pub(crate) fn locate(line: &[u8]) -> Option<Located> {
    let mut from = 0;
    while let Some(pos) = find_marker(&line[from..]) {
        let marker = from + pos;
        let start = marker + MARKER.len();
        let len = token_len(&line[start..]);
        if len >= MIN_TOKEN_CHARS {
            return Some(Located {
                marker,
                start,
                end: start + len,
            });
        }
        from = start;
    }
    None
}

/// The first occurrence of [`MARKER`] (SIMD search; lines written by enclog start with it).
fn find_marker(haystack: &[u8]) -> Option<usize> {
    static FINDER: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(MARKER));
    if haystack.starts_with(MARKER) {
        return Some(0);
    }
    FINDER.find(haystack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_and_is_canonical() {
        for v in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut buf = Vec::new();
            write_varint(v, &mut buf);
            assert_eq!(read_varint(&buf).unwrap(), (v, buf.len()));
        }
        assert!(
            read_varint(&[0x80, 0x00]).is_err(),
            "non-minimal zero accepted"
        );
        assert!(matches!(
            read_varint(&[0x80]),
            Err(OpenError::Truncated { .. })
        ));
        assert!(read_varint(&[0xff; 10]).is_err());
    }

    #[test]
    fn token_chars_are_exactly_base64url() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
            assert_eq!(is_token_char(b), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn swar_classifies_every_byte_in_every_lane() {
        for b in 0..=255u8 {
            for lane in 0..8 {
                let mut word = [b'A'; 8];
                word[lane] = b;
                let bad = non_token_bytes(u64::from_le_bytes(word));
                let expected = if is_token_char(b) {
                    0
                } else {
                    0x80u64 << (8 * lane)
                };
                assert_eq!(bad, expected, "byte {b:#04x} in lane {lane}");
            }
        }
    }

    #[test]
    fn token_len_stops_at_the_first_other_byte_at_every_offset() {
        for len in 0..100 {
            for stop in [b' ', b'=', b'"', b'\\', b'\n', 0x80, b'+', b'/'] {
                let mut s = vec![b'A'; len];
                s.push(stop);
                s.extend_from_slice(b"BCD");
                assert_eq!(token_len(&s), len, "len {len}, stop {stop:#04x}");
            }
            assert_eq!(token_len(&vec![b'z'; len]), len);
        }
    }

    #[test]
    fn locate_skips_prose_and_finds_wrapped_tokens() {
        assert_eq!(locate(b"see enclog: docs"), None);
        let line = b"{\"log\":\"enclog:ABCDEFGHIJ_-\\n\"}";
        let found = locate(line).unwrap();
        assert_eq!(&line[found.start..found.end], b"ABCDEFGHIJ_-");
        assert_eq!(found.marker, 8);
        let line = b"enclog: x enclog:ABCDEFGHIJ";
        assert_eq!(locate(line).unwrap().marker, 10);
    }
}
