//! The header of a token: its `read` half ([`Header::parse`], and [`Header::peek`] for a
//! header that may be cut) and its `write` half ([`Header::write_into`]), with the minimal
//! LEB128 sequence number.

use super::{FORMAT_VERSION, Mode, RecordKind, SessionId};
use crate::error::OpenError;
use crate::key::KeyId;

/// The Poly1305 tag after the ciphertext.
pub(crate) const TAG_LEN: usize = 16;
/// The key commitment of a version 2 header (FORMAT.md §4.1).
pub(crate) const COMMIT_LEN: usize = 16;

// Version 1's `kind` byte (Appendix A.1).
const V1_MODE_MASK: u8 = 0x03;
const V1_CLOSE: u8 = 0x04;
const V1_META: u8 = 0x08;

// Version 2's `vm` and `type` bytes (§3).
const V2_MODE_MASK: u8 = 0x03;
const V2_RESERVED: u8 = 0x0c;
const V2_META: u8 = 0x80;
const V2_LINK: u8 = 0x40;
const V2_TYPE_MASK: u8 = 0x3f;
/// Record type 2: a field-sealed line's envelope (§11).
pub(crate) const FIELD_ENVELOPE: u8 = 2;
/// Record type 3: one sealed value of a field-sealed line (§11).
pub(crate) const SEALED_VALUE: u8 = 3;

/// A parsed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// 1 or 2.
    pub(crate) version: u8,
    pub(crate) mode: Mode,
    pub(crate) record: RecordKind,
    pub(crate) has_meta: bool,
    /// Version 2: the plaintext starts with the session's link (its first record only).
    pub(crate) has_link: bool,
    /// Version 2: an event whose line keeps its fields in clear, sealing chosen values: this
    /// record is the line's field envelope (record type 2, FORMAT.md §11).
    pub(crate) envelope: bool,
    pub(crate) key_id: KeyId,
    /// Version 2's key commitment; zeros in version 1, which has none.
    pub(crate) commit: [u8; COMMIT_LEN],
    /// 16 bytes used in the symmetric mode, 32 in the recipient mode.
    pub(crate) session: [u8; 32],
    pub(crate) seq: u64,
}

impl Header {
    /// The `vm` byte of a version 2 header in `mode`.
    pub(crate) fn vm_byte(mode: Mode) -> u8 {
        (FORMAT_VERSION << 4) | mode.bits()
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
        let &first = raw.first().ok_or(OpenError::Truncated {
            reason: "no header",
        })?;
        let version = first >> 4;
        let mut envelope = false;
        let (mode_bits, record, has_meta, has_link, fixed_start) = match version {
            1 => {
                let record = if first & V1_CLOSE != 0 {
                    RecordKind::Close
                } else {
                    RecordKind::Event
                };
                (first & V1_MODE_MASK, record, first & V1_META != 0, false, 1)
            }
            2 => {
                if first & V2_RESERVED != 0 {
                    return Err(OpenError::Unsupported {
                        reason: format!("reserved bits set in the header ({first:#04x})"),
                    });
                }
                let &kind = raw.get(1).ok_or(OpenError::Truncated {
                    reason: "the header is incomplete",
                })?;
                let record = match kind & V2_TYPE_MASK {
                    0 => RecordKind::Event,
                    1 => RecordKind::Close,
                    FIELD_ENVELOPE => {
                        envelope = true;
                        RecordKind::Event
                    }
                    SEALED_VALUE => {
                        return Err(OpenError::Malformed {
                            reason: "a sealed value's token where a line's token was expected (it opens only with its line's field envelope)",
                        });
                    }
                    other => {
                        return Err(OpenError::Unsupported {
                            reason: format!("record type {other}"),
                        });
                    }
                };
                let has_meta = kind & V2_META != 0;
                if has_meta && (record != RecordKind::Event || envelope) {
                    return Err(OpenError::Malformed {
                        reason: "clear metadata flag on a record that is not a whole-line event",
                    });
                }
                (
                    first & V2_MODE_MASK,
                    record,
                    has_meta,
                    kind & V2_LINK != 0,
                    2,
                )
            }
            other => {
                return Err(OpenError::Unsupported {
                    reason: format!(
                        "format version {other} (this build reads 1 and {FORMAT_VERSION})"
                    ),
                });
            }
        };
        let mode = match mode_bits {
            1 => Mode::Symmetric,
            2 => Mode::Recipient,
            other => {
                return Err(OpenError::Unsupported {
                    reason: format!("mode {other}"),
                });
            }
        };
        let commit_len = if version == 1 { 0 } else { COMMIT_LEN };
        let session_at = fixed_start + 4 + commit_len;
        let fixed = session_at + mode.session_len();
        if raw.len() < fixed + 1 {
            return Err(OpenError::Truncated {
                reason: "the header is incomplete",
            });
        }
        let key_id = KeyId(
            raw[fixed_start..fixed_start + 4]
                .try_into()
                .expect("4 bytes"),
        );
        let mut commit = [0u8; COMMIT_LEN];
        commit[..commit_len].copy_from_slice(&raw[fixed_start + 4..session_at]);
        let mut session = [0u8; 32];
        session[..mode.session_len()].copy_from_slice(&raw[session_at..fixed]);
        let (seq, seq_len) = read_varint(&raw[fixed..])?;
        if version > 1 && has_link != (seq == 0) {
            return Err(OpenError::Malformed {
                reason: if has_link {
                    "a link on a record that is not its session's first"
                } else {
                    "a session's first record without its link"
                },
            });
        }
        let header = Header {
            version,
            mode,
            record,
            has_meta,
            has_link,
            envelope,
            key_id,
            commit,
            session,
            seq,
        };
        Ok((header, fixed + seq_len))
    }

    /// Writes the encoded header at the start of `out`; returns its length.
    pub(crate) fn write_into(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let session = self.session_bytes();
        let mut at;
        if self.version == 1 {
            let mut kind = 0x10 | self.mode.bits();
            if self.record == RecordKind::Close {
                kind |= V1_CLOSE;
            }
            if self.has_meta {
                kind |= V1_META;
            }
            out[0] = kind;
            out[1..5].copy_from_slice(&self.key_id.0);
            at = 5;
        } else {
            out[0] = Header::vm_byte(self.mode);
            out[1] = if self.envelope {
                FIELD_ENVELOPE
            } else {
                self.record.type_byte()
            } | if self.has_meta { V2_META } else { 0 }
                | if self.has_link { V2_LINK } else { 0 };
            out[2..6].copy_from_slice(&self.key_id.0);
            out[6..6 + COMMIT_LEN].copy_from_slice(&self.commit);
            at = 6 + COMMIT_LEN;
        }
        out[at..at + session.len()].copy_from_slice(session);
        at += session.len();
        at + varint_into(self.seq, &mut out[at..])
    }
}

/// The longest header: `vm`, `type`, key id, commitment, a recipient session's 32 bytes, a
/// 10-byte sequence number.
pub(crate) const MAX_HEADER_LEN: usize = 2 + 4 + COMMIT_LEN + 32 + MAX_VARINT_LEN;

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
