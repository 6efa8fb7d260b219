//! zato-enclog compatibility: [`FernetKey`] opens and seals the Fernet tokens that zato-enclog
//! 1.0.7 (Python) writes after the `enclogdata:` marker.
//!
//! zato-enclog replaces the message of each Python `logging` record with `enclogdata:` and a
//! Fernet token; everything else on the line (time, level, logger name, text after the message)
//! and every traceback line stay in clear. A Fernet token is
//!
//! ```text
//! base64url-padded(0x80 ‖ timestamp u64 BE ‖ IV 16 ‖ AES-128-CBC-PKCS7(ciphertext) ‖ HMAC-SHA256 32)
//! key = base64url-padded(signing key 16 ‖ encryption key 16)   (44 characters)
//! ```
//!
//! The HMAC covers everything before it and is checked, in constant time, before anything is
//! decrypted. Unlike enclog's own lines, a Fernet token names no key and carries no sequence
//! number: a reader cannot tell a token sealed under another key from a tampered one, and cannot
//! notice deleted or reordered lines. This mode exists to read (and, for old readers, write)
//! zato-enclog logs; new logs should use enclog's own format.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use aes::Aes128;
use aes::cipher::KeyInit;
use hmac::Hmac;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::format::base64url;
use crate::key::KeyId;
use crate::key::armor::KeyKind;

mod token;

pub use token::FernetError;

/// The marker zato-enclog writes before each Fernet token (enclog's own lines use
/// [`MARKER`](crate::format::MARKER), `enclog:`; neither marker contains the other).
///
/// ```
/// let line = b"2026-11-26 10:00:00,001 - INFO - app - enclogdata:gAAAAAB...";
/// assert!(line.windows(enclog::fernet::MARKER.len()).any(|w| w == enclog::fernet::MARKER));
/// ```
pub const MARKER: &[u8] = crate::format::FERNET_MARKER;

const KEY_TEXT_LEN: usize = 44;

/// A Fernet key, the key of zato-enclog: 16 bytes of HMAC-SHA256 signing key followed by 16
/// bytes of AES-128 encryption key, written as 44 characters of url-safe base64 (what
/// zato-enclog's `genkey` prints; its Python 3 form `b'…'` is accepted too).
///
/// The bytes and the expanded cipher and MAC states are zeroized when the key is dropped;
/// neither `Debug` nor any error shows them. A Fernet key has no checksum: a mistyped key is
/// only noticed when every token fails authentication under it.
///
/// ```
/// use enclog::fernet::FernetKey;
/// let key = FernetKey::generate()?;
/// let text = key.to_text();
/// assert_eq!(text.len(), 44);
/// let again: FernetKey = text.parse()?;
/// assert_eq!(again.id(), key.id());
/// assert!(!format!("{key:?}").contains(&text[..20]));
///
/// let mut line = b"2026-11-26 10:00:00,001 - INFO - app - ".to_vec();
/// key.seal(b"user alice signed in", &mut line)?;
/// let start = line.windows(11).position(|w| w == enclog::fernet::MARKER).unwrap() + 11;
/// let mut plaintext = Vec::new();
/// key.open(&line[start..], &mut plaintext)?;
/// assert_eq!(plaintext, b"user alice signed in");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct FernetKey {
    bytes: Zeroizing<[u8; 32]>,
    id: KeyId,
    /// HMAC-SHA256 keyed with the signing key (inner and outer states precomputed; zeroized on
    /// drop through the `zeroize` features of hmac/sha2).
    mac: Hmac<Sha256>,
    /// AES-128 with the encryption key expanded (zeroized on drop through aes's `zeroize`).
    cipher: Aes128,
}

impl FernetKey {
    /// Generates a new key from the operating system's random number generator.
    ///
    /// ```
    /// let key = enclog::fernet::FernetKey::generate()?;
    /// assert_ne!(key.id(), enclog::fernet::FernetKey::generate()?.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn generate() -> Result<FernetKey, KeyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut bytes[..]).map_err(KeyError::Random)?;
        Ok(FernetKey::from_bytes(bytes))
    }

    /// Builds a key from its 32 raw bytes (signing key, then encryption key).
    ///
    /// ```
    /// let key = enclog::fernet::FernetKey::from_bytes([7u8; 32].into());
    /// assert_eq!(key.to_text().len(), 44);
    /// ```
    pub fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> FernetKey {
        let (signing, encryption) = bytes.split_at(16);
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(signing)
            .expect("HMAC takes keys of any length");
        let cipher = <Aes128 as KeyInit>::new_from_slice(encryption)
            .expect("the encryption key is 16 bytes");
        FernetKey {
            id: KeyId::derive(KeyKind::Fernet, &bytes[..]),
            bytes,
            mac,
            cipher,
        }
    }

    /// The key's fingerprint. Fernet tokens do not carry it; enclog uses it to name the key in
    /// messages and in a keyring.
    ///
    /// ```
    /// let key = enclog::fernet::FernetKey::from_bytes([7u8; 32].into());
    /// assert_eq!(key.id().to_string().len(), 8);
    /// ```
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The key's text form, as zato-enclog takes it (`enclog open PATH --key TEXT`). This is the
    /// secret itself: write it only where a key belongs.
    ///
    /// ```
    /// let key = enclog::fernet::FernetKey::from_bytes([0u8; 32].into());
    /// assert_eq!(&*key.to_text(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    /// ```
    pub fn to_text(&self) -> Zeroizing<String> {
        // Encoded into a buffer that is wiped, then copied into the wiped string.
        let mut buf = Zeroizing::new([0u8; KEY_TEXT_LEN]);
        let mut text = Zeroizing::new(String::with_capacity(KEY_TEXT_LEN));
        text.push_str(base64url::encode_padded_into(&self.bytes[..], &mut buf[..]));
        text
    }

    /// Reads a key from a file: the first line that is neither blank nor a `#` comment. On Unix
    /// a file that group or others can read is refused (the error says to `chmod 600` it).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("zato.key");
    /// let key = enclog::fernet::FernetKey::generate()?;
    /// # { use std::{io::Write, os::unix::fs::OpenOptionsExt}; // a key file, as `enclog genkey -o` writes it
    /// # std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600)
    /// #     .open(&path)?.write_all(&key.to_text().as_bytes())?; }
    /// assert_eq!(enclog::fernet::FernetKey::from_file(&path)?.id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<FernetKey, KeyError> {
        let path = path.as_ref();
        let text = crate::key::secret_file::read_key_line(path)?;
        text.parse().map_err(|e| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl FromStr for FernetKey {
    type Err = KeyError;

    /// Parses the 44-character text; surrounding white space and the `b'…'` wrapper that
    /// zato-enclog's `genkey` prints under Python 3 are ignored.
    fn from_str(s: &str) -> Result<FernetKey, KeyError> {
        let text = s.trim();
        let text = text
            .strip_prefix("b'")
            .and_then(|t| t.strip_suffix('\''))
            .unwrap_or(text);
        if text.is_empty() {
            return Err(KeyError::Empty {
                expected: KeyKind::Fernet,
            });
        }
        if let Some(found) = KeyKind::detect(text).filter(|&k| k != KeyKind::Fernet) {
            return Err(KeyError::WrongKind {
                expected: KeyKind::Fernet,
                found,
            });
        }
        if text.len() != KEY_TEXT_LEN {
            return Err(KeyError::Malformed {
                expected: KeyKind::Fernet,
                reason: format!(
                    "it has {} characters instead of 44 (zato-enclog's `genkey` prints 44 characters ending in `=`): it was truncated or has extra characters",
                    text.len()
                ),
            });
        }
        let mut raw = Zeroizing::new([0u8; 33]);
        let len = base64url::decode_fernet(text.as_bytes(), &mut raw[..]).ok_or_else(|| {
            KeyError::Malformed {
                expected: KeyKind::Fernet,
                reason:
                    "it contains characters outside url-safe base64 (A-Z a-z 0-9 - _ and a final =)"
                        .into(),
            }
        })?;
        if len != 32 {
            return Err(KeyError::Malformed {
                expected: KeyKind::Fernet,
                reason: format!("it decodes to {len} bytes instead of 32"),
            });
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&raw[..32]);
        Ok(FernetKey::from_bytes(bytes))
    }
}

impl fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FernetKey")
            .field("id", &self.id)
            .field("bytes", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_text_round_trips_and_bad_text_is_named_without_quoting_it() {
        let key = FernetKey::generate().unwrap();
        let text = key.to_text();
        assert_eq!(text.parse::<FernetKey>().unwrap().id(), key.id());
        let python3 = format!("  b'{}'\n", &*text);
        assert_eq!(python3.parse::<FernetKey>().unwrap().bytes(), key.bytes());

        let err = text[..43].parse::<FernetKey>().unwrap_err();
        assert!(
            err.to_string().contains("43 characters instead of 44"),
            "{err}"
        );
        assert!(!err.to_string().contains(&text[..20]));
        let mut bad = text.to_string();
        bad.replace_range(5..6, "+");
        let err = bad.parse::<FernetKey>().unwrap_err();
        assert!(err.to_string().contains("outside url-safe base64"), "{err}");
        assert!(matches!(
            "".parse::<FernetKey>(),
            Err(KeyError::Empty { .. })
        ));
        let enclog_key = crate::Key::generate().unwrap();
        assert!(matches!(
            enclog_key.to_text().parse::<FernetKey>(),
            Err(KeyError::WrongKind {
                found: KeyKind::Symmetric,
                ..
            })
        ));
        assert_eq!(KeyKind::detect(&text), Some(KeyKind::Fernet));
    }

    #[test]
    fn debug_reveals_no_key_material() {
        let key = FernetKey::from_bytes(Zeroizing::new([0xab; 32]));
        let dbg = format!("{key:?}");
        assert!(dbg.contains("redacted") && dbg.contains(&key.id().to_string()));
        assert!(
            !dbg.contains(&key.to_text()[..40]) && !dbg.contains("171"),
            "{dbg}"
        );
    }
}
