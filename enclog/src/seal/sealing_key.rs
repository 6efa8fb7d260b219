//! [`SealingKey`]: what a writer seals with — a symmetric key, a public recipient, or a
//! zato-enclog Fernet key.

use crate::error::KeyError;
use crate::fernet::FernetKey;
use crate::key::recipient::Recipient;
use crate::key::{Key, KeyId};

// Held once per writer: boxing the large variant would only add an indirection.
/// What a writer seals with.
///
/// ```
/// let identity = enclog::Identity::generate()?;
/// let key = enclog::SealingKey::from(identity.recipient());
/// assert_eq!(key.id(), identity.id());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum SealingKey {
    /// A symmetric key: the writer can also read what it wrote.
    Symmetric(Key),
    /// A public recipient: the writer cannot read what it wrote.
    Recipient(Recipient),
    /// A zato-enclog Fernet key: lines zato-enclog's own tools read, for migrations. Weaker than
    /// the v1 format: no sequence numbers (no gap or reorder detection), a random IV per line
    /// (one syscall each), ~100 bytes more per line.
    Fernet(FernetKey),
}

impl SealingKey {
    /// The id carried by lines sealed with this key.
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let sealing = enclog::SealingKey::from(key.clone());
    /// assert_eq!(sealing.id(), key.id());
    /// assert_eq!(enclog::Sealer::with_rotation(sealing, Default::default()).key_id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> KeyId {
        match self {
            SealingKey::Symmetric(key) => key.id(),
            SealingKey::Recipient(recipient) => recipient.id(),
            SealingKey::Fernet(key) => key.id(),
        }
    }

    /// What kind of key this is.
    ///
    /// ```
    /// let key: enclog::SealingKey = enclog::Key::generate()?.into();
    /// assert_eq!(key.kind(), enclog::key::KeyKind::Symmetric);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> crate::key::KeyKind {
        match self {
            SealingKey::Symmetric(_) => crate::key::KeyKind::Symmetric,
            SealingKey::Recipient(_) => crate::key::KeyKind::Recipient,
            SealingKey::Fernet(_) => crate::key::KeyKind::Fernet,
        }
    }

    /// Parses a key a writer can use: a symmetric key, a recipient, or a zato-enclog Fernet
    /// key. An identity is refused
    /// with an error that says to give the writer the identity's recipient instead.
    ///
    /// ```
    /// let identity = enclog::Identity::generate()?;
    /// let err = enclog::SealingKey::from_text(&identity.to_text()).unwrap_err();
    /// assert!(err.to_string().contains("recipient"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_text(text: &str) -> Result<SealingKey, KeyError> {
        match crate::key::KeyKind::detect(text) {
            Some(crate::key::KeyKind::Recipient) => Ok(SealingKey::Recipient(text.parse()?)),
            Some(crate::key::KeyKind::Identity) => Err(KeyError::IdentityForWriter),
            Some(crate::key::KeyKind::Fernet) => Ok(SealingKey::Fernet(text.parse()?)),
            _ => Ok(SealingKey::Symmetric(text.parse()?)),
        }
    }

    /// Reads [`SealingKey::from_text`]'s kinds from a file. A symmetric key file must not be
    /// readable by group or others; a recipient file may be (a recipient is public).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("writer.recipient");
    /// let identity = enclog::Identity::generate()?;
    /// std::fs::write(&path, identity.recipient().to_string())?; // public: any permissions
    /// let key = enclog::SealingKey::from_file(&path)?;
    /// assert!(matches!(key, enclog::SealingKey::Recipient(_)));
    /// assert_eq!(key.id(), identity.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<SealingKey, KeyError> {
        let path = path.as_ref();
        let in_file = |e| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        };
        match crate::key::secret_file::read_key_line(path) {
            Ok(text) => SealingKey::from_text(&text).map_err(in_file),
            // A recipient is public: its file may be world-readable. Anything else is refused
            // with the permission error.
            Err(loose @ KeyError::LoosePermissions { .. }) => match Recipient::from_file(path) {
                Ok(recipient) => Ok(SealingKey::Recipient(recipient)),
                Err(writable @ KeyError::WritableByOthers { .. }) => Err(writable),
                Err(_) => Err(loose),
            },
            Err(e) => Err(e),
        }
    }
}

impl From<Key> for SealingKey {
    fn from(key: Key) -> SealingKey {
        SealingKey::Symmetric(key)
    }
}

impl From<FernetKey> for SealingKey {
    fn from(key: FernetKey) -> SealingKey {
        SealingKey::Fernet(key)
    }
}

impl From<Recipient> for SealingKey {
    fn from(recipient: Recipient) -> SealingKey {
        SealingKey::Recipient(recipient)
    }
}
