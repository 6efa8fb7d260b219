//! The line format: its marker, version, modes, record kinds and session ids. What follows is
//! `FORMAT.md`, the normative specification, with its test vectors.
//!
#![doc = include_str!("../FORMAT.md")]

use std::fmt;

use crate::error::OpenError;

// The one home of the format in the code: the header's read and write halves (`header`),
// finding a token in a line (`scan`), base64url (`base64url`) and the clear metadata
// (`push_clear_meta`).
pub(crate) mod base64url;
pub(crate) mod header;
pub(crate) mod link;
pub(crate) mod scan;

pub use link::{ChainKey, LineageId, Link, LinkFrom, SessionRef};

pub(crate) use header::{
    COMMIT_LEN, Header, MAX_HEADER_LEN, MAX_VARINT_LEN, TAG_LEN, read_varint, varint_into,
};
pub(crate) use scan::{Located, first_line, locate, locate_fernet};

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
pub const FORMAT_VERSION: u8 = 2;

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
    pub(crate) fn bits(self) -> u8 {
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

impl RecordKind {
    /// The record type of a version 2 header (§3).
    pub(crate) fn type_byte(self) -> u8 {
        match self {
            RecordKind::Event => 0,
            RecordKind::Close => 1,
        }
    }
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

/// zato-enclog's marker, public as [`fernet::MARKER`](crate::fernet::MARKER); here so that the
/// scanner finds both kinds of token without depending on the Fernet code.
pub(crate) const FERNET_MARKER: &[u8] = b"enclogdata:";

/// Appends a token as it goes in a line: the marker, then `raw` (header ‖ ciphertext ‖ tag) in
/// base64url without padding. The reading half is [`locate`] and [`Header::parse`].
pub(crate) fn push_token(raw: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(MARKER);
    base64url::encode_append(raw, out);
}

/// Decodes a token's base64url characters (found by [`locate`]) into `buf`; non-canonical
/// trailing bits are refused, so each token has exactly one encoding.
pub(crate) fn decode_token(chars: &[u8], buf: &mut Vec<u8>) -> Result<(), OpenError> {
    base64url::decode_into(chars, buf).ok_or(OpenError::Malformed {
        reason: "invalid base64 (non-canonical trailing bits)",
    })
}

/// Appends clear metadata as it goes in a line: bytes outside printable ASCII become `?`, so
/// that metadata cannot break the line or smuggle control characters into a terminal (the
/// authentic copy inside the token keeps the original bytes).
pub(crate) fn push_clear_meta(clear: &[u8], out: &mut Vec<u8>) {
    out.extend(
        clear
            .iter()
            .map(|&b| if (0x20..0x7f).contains(&b) { b } else { b'?' }),
    );
}
