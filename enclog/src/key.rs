//! Keys: [`Key`], the 256-bit symmetric key, and [`KeyId`], its short public fingerprint;
//! [`Identity`] and [`Recipient`], the two halves of the public-key mode; [`Keyring`], the
//! keys a reader holds; [`KeyKind`], which kind a key's text is.
//!
//! ```
//! use enclog::key::{Identity, KeyKind, Keyring};
//! let identity = Identity::generate()?;
//! let recipient = identity.recipient(); // public: give it to the writers
//! assert_eq!(KeyKind::detect(&recipient.to_string()), Some(KeyKind::Recipient));
//! let keyring = Keyring::from(identity); // secret: only on reading hosts
//! assert_eq!(keyring.ids(), [recipient.id()]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod armor;
pub(crate) mod keyring;
pub(crate) mod recipient;
pub(crate) mod secret_file;

pub use crate::error::KeyError;
pub use armor::KeyKind;
pub use keyring::Keyring;
pub use recipient::{Identity, Recipient};

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use zeroize::Zeroizing;

/// A 256-bit symmetric key: it seals lines and opens them.
///
/// Its text form is `ENCLOG-KEY-1-` followed by 48 characters of base64url (the key and a
/// checksum). The bytes are zeroized when the key is dropped, and neither `Debug` nor any error
/// ever shows them; only [`Key::to_text`] does, on purpose.
///
/// ```
/// use enclog::Key;
/// let key = Key::generate()?;
/// let text = key.to_text();
/// assert!(text.starts_with("ENCLOG-KEY-1-"));
/// let again: Key = text.parse()?;
/// assert_eq!(again.id(), key.id());
/// assert!(!format!("{key:?}").contains(&text[13..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Key {
    bytes: Zeroizing<[u8; 32]>,
    id: KeyId,
}

impl Key {
    /// Generates a new key from the operating system's random number generator.
    ///
    /// ```
    /// let (a, b) = (enclog::Key::generate()?, enclog::Key::generate()?);
    /// assert_ne!(a.id(), b.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn generate() -> Result<Key, KeyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut bytes[..]).map_err(KeyError::Random)?;
        Ok(Key::from_bytes(bytes))
    }

    /// Builds a key from raw bytes (for test vectors and for keys kept in another store).
    ///
    /// ```
    /// let key = enclog::Key::from_bytes([0u8; 32].into());
    /// assert_eq!(key.id().to_string().len(), 8);
    /// ```
    pub fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Key {
        let id = KeyId::derive(KeyKind::Symmetric, &bytes[..]);
        Key { bytes, id }
    }

    /// The key's public fingerprint, carried in every line it seals.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Opener, Sealer};
    /// let key = Key::generate()?;
    /// let line = Sealer::new(key.clone()).seal_line(b"event")?;
    /// let mut opener = Opener::new(Keyring::from(key.clone()));
    /// assert_eq!(opener.open(&line).unwrap()?.key_id, key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The key's text form. This is the secret itself: write it only where a key belongs.
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let text = key.to_text();
    /// assert!(text.starts_with("ENCLOG-KEY-1-") && text.len() == 13 + 48);
    /// assert_eq!(text.parse::<enclog::Key>()?.id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_text(&self) -> Zeroizing<String> {
        armor::encode(KeyKind::Symmetric, &self.bytes[..])
    }

    /// Reads a key from the environment variable `var`.
    ///
    /// ```
    /// // SAFETY of the example: single-threaded doctest.
    /// let key = enclog::Key::generate()?;
    /// unsafe { std::env::set_var("MY_APP_LOG_KEY", &*key.to_text()) };
    /// assert_eq!(enclog::Key::from_env("MY_APP_LOG_KEY")?.id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_env(var: &str) -> Result<Key, KeyError> {
        let value = Zeroizing::new(std::env::var(var).map_err(|_| KeyError::EnvMissing {
            var: var.to_owned(),
        })?);
        value.parse().map_err(|e| KeyError::InEnv {
            var: var.to_owned(),
            source: Box::new(e),
        })
    }

    /// Reads a key from a file written by `enclog genkey -o FILE`.
    ///
    /// Blank lines and lines starting with `#` are skipped. On Unix a file that group or others
    /// can read or write is refused (threat: another local user copying the key); the error
    /// says to run `chmod 600 FILE`. So is a file owned by another user than the one enclog runs
    /// as or root (threat: its owner replacing the key), and a named pipe nothing writes to
    /// (which would otherwise be waited on forever).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.key");
    /// let key = enclog::Key::generate()?;
    /// # { use std::{io::Write, os::unix::fs::OpenOptionsExt}; // a key file, as `enclog genkey -o` writes it
    /// # std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600)
    /// #     .open(&path)?.write_all(&key.to_text().as_bytes())?; }
    /// assert_eq!(enclog::Key::from_file(&path)?.id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Key, KeyError> {
        let path = path.as_ref();
        let text = secret_file::read_key_line(path)?;
        text.parse().map_err(|e| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl FromStr for Key {
    type Err = KeyError;

    /// Parses the text form; surrounding white space is ignored.
    fn from_str(s: &str) -> Result<Key, KeyError> {
        armor::decode::<32>(KeyKind::Symmetric, s).map(Key::from_bytes)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("bytes", &"<redacted>")
            .finish()
    }
}

/// A key's short public fingerprint: 4 bytes, shown as 8 hex digits (e.g. `3fa2b9c1`).
///
/// It is carried in every line so that a reader with many keys picks the right one and can name
/// a missing key. It is derived with a hash (`SHA-256("enclog-key-id-1" ‖ kind ‖ key)[..4]`), so
/// it reveals nothing usable about the key.
///
/// ```
/// let key = enclog::Key::generate()?;
/// let id: enclog::key::KeyId = key.id().to_string().parse()?;
/// assert_eq!(id, key.id());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub(crate) [u8; 4]);

impl KeyId {
    pub(crate) fn derive(kind: KeyKind, public_or_secret: &[u8]) -> KeyId {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"enclog-key-id-1");
        ctx.update(kind.prefix().as_bytes());
        ctx.update(public_or_secret);
        let digest = ctx.finish();
        let mut id = [0u8; 4];
        id.copy_from_slice(&digest.as_ref()[..4]);
        KeyId(id)
    }

    /// The id's 4 bytes, as carried in a line.
    ///
    /// ```
    /// let id: enclog::key::KeyId = "deadbeef".parse()?;
    /// assert_eq!(id.to_bytes(), [0xde, 0xad, 0xbe, 0xef]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_bytes(self) -> [u8; 4] {
        self.0
    }

    /// Builds an id from its 4 bytes.
    ///
    /// ```
    /// assert_eq!(enclog::key::KeyId::from_bytes([0xde, 0xad, 0xbe, 0xef]).to_string(), "deadbeef");
    /// ```
    pub fn from_bytes(bytes: [u8; 4]) -> KeyId {
        KeyId(bytes)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// The text was not 8 hex digits.
///
/// ```
/// let err = "xyz".parse::<enclog::key::KeyId>().unwrap_err();
/// assert_eq!(err, enclog::key::ParseKeyIdError);
/// assert!(err.to_string().contains("8 hex digits"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key id is 8 hex digits, like 3fa2b9c1")]
pub struct ParseKeyIdError;

impl FromStr for KeyId {
    type Err = ParseKeyIdError;

    fn from_str(s: &str) -> Result<KeyId, ParseKeyIdError> {
        let s = s.trim();
        if s.len() != 8 || !s.is_ascii() {
            return Err(ParseKeyIdError);
        }
        let mut id = [0u8; 4];
        for (i, b) in id.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| ParseKeyIdError)?;
        }
        Ok(KeyId(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_reveals_neither_bytes_nor_text() {
        let key = Key::from_bytes(Zeroizing::new([0xab; 32]));
        let dbg = format!("{key:?}");
        assert!(!dbg.contains("ab, ab") && !dbg.contains("171"), "{dbg}");
        assert!(!dbg.contains(&key.to_text()[13..]), "{dbg}");
        assert!(dbg.contains("redacted"));
    }

    #[test]
    fn ids_differ_between_keys_and_parse_back() {
        let a = Key::generate().unwrap();
        let b = Key::generate().unwrap();
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id().to_string().parse::<KeyId>().unwrap(), a.id());
        assert!("xyz".parse::<KeyId>().is_err());
    }
}
