//! The header of a token: its `read` half ([`Header::parse`], and [`Header::peek`] for a
//! header that may be cut) and its `write` half ([`Header::write_into`]), with the minimal
//! LEB128 sequence number.

use super::{FORMAT_VERSION, Mode, RecordKind, SessionId};
use crate::error::OpenError;
use crate::key::KeyId;

/// The Poly1305 tag after the ciphertext.
pub(crate) const TAG_LEN: usize = 16;
const KIND_VERSION: u8 = FORMAT_VERSION << 4;
const KIND_MODE_MASK: u8 = 0x03;
const KIND_CLOSE: u8 = 0x04;
const KIND_META: u8 = 0x08;

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

    /// Parses the header at the start of a decoded token; returns it and its length. The
    /// token must also have room for the tag.
    pub(crate) fn parse(raw: &[u8]) -> Result<(Header, usize), OpenError> {
        let (header, header_len) = Header::peek(raw)?;
        if raw.len() < header_len + TAG_LEN {
            return Err(OpenError::Truncated {
                reason: "the authentication tag is missing",
            });
        }
        Ok((header, header_len))
    }

    /// Parses a header from the first bytes of a decoded token, which may stop right after it
    /// (a reader that decoded only a prefix). Nothing here is authenticated.
    pub(crate) fn peek(raw: &[u8]) -> Result<(Header, usize), OpenError> {
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
        Ok((header, fixed + seq_len))
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
}
