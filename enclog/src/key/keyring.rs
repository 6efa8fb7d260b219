//! [`Keyring`]: the keys a reader holds, looked up by the key id each line names.

use std::path::Path;

use crate::error::KeyError;
use crate::fernet::FernetKey;
use crate::key::armor::KeyKind;
use crate::key::recipient::Identity;
use crate::key::{Key, KeyId};

/// The keys a reader holds: symmetric keys, identities (public-key mode) and zato-enclog
/// Fernet keys, in any mix. Each enclog line names the id of the key that sealed it; the
/// keyring finds that key, so logs written across key rotations open in one pass.
///
/// ```
/// use enclog::{Identity, Key, Keyring};
/// let (old, new) = (Key::generate()?, Key::generate()?);
/// let identity = Identity::generate()?;
/// let mut ring = Keyring::new();
/// ring.add(old.clone());
/// ring.add(new.clone());
/// ring.add_identity(identity.clone());
/// assert_eq!(ring.ids(), vec![old.id(), new.id(), identity.id()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    keys: Vec<Key>,
    identities: Vec<Identity>,
    fernet: Vec<FernetKey>,
}

impl Keyring {
    /// An empty keyring.
    ///
    /// ```
    /// let ring = enclog::Keyring::new();
    /// assert!(ring.is_empty() && ring.ids().is_empty());
    /// ```
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Adds a symmetric key; adding a key already present does nothing.
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let mut ring = enclog::Keyring::new();
    /// ring.add(key.clone());
    /// ring.add(key.clone());
    /// assert_eq!(ring.ids(), [key.id()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add(&mut self, key: Key) {
        if !self.keys.iter().any(|k| k.bytes() == key.bytes()) {
            self.keys.push(key);
        }
    }

    /// Adds an identity (opens lines sealed to its recipient).
    ///
    /// ```
    /// use enclog::{Identity, Keyring, Opener, Sealer};
    /// let identity = Identity::generate()?;
    /// let line = Sealer::new(identity.recipient()).seal_line(b"secret")?;
    /// let mut ring = Keyring::new();
    /// ring.add_identity(identity);
    /// assert_eq!(Opener::new(ring).open(&line).unwrap()?.plaintext, b"secret");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_identity(&mut self, identity: Identity) {
        if !self
            .identities
            .iter()
            .any(|i| i.to_text() == identity.to_text())
        {
            self.identities.push(identity);
        }
    }

    /// Adds a zato-enclog Fernet key (opens `enclogdata:` lines).
    ///
    /// ```
    /// let fernet = enclog::fernet::FernetKey::generate()?;
    /// let mut ring = enclog::Keyring::new();
    /// ring.add_fernet(fernet.clone());
    /// assert_eq!(ring.ids(), [fernet.id()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_fernet(&mut self, key: FernetKey) {
        if !self.fernet.iter().any(|k| k.bytes() == key.bytes()) {
            self.fernet.push(key);
        }
    }

    /// Adds a key given in text form, of any kind a reader holds: a symmetric key, an identity,
    /// or a zato-enclog Fernet key (44 characters, also as zato's `genkey` prints it under
    /// Python 3: `b'…'`). A recipient is refused: it is public and opens nothing. Returns the id.
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let mut ring = enclog::Keyring::new();
    /// assert_eq!(ring.add_text(&key.to_text())?, key.id());
    /// assert!(ring.add_text("not a key").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_text(&mut self, text: &str) -> Result<KeyId, KeyError> {
        let text = text.trim();
        let unwrapped = text
            .strip_prefix("b'")
            .and_then(|t| t.strip_suffix('\''))
            .unwrap_or(text);
        match KeyKind::detect(unwrapped) {
            Some(KeyKind::Identity) => {
                let identity: Identity = unwrapped.parse()?;
                let id = identity.id();
                self.add_identity(identity);
                Ok(id)
            }
            Some(KeyKind::Fernet) => {
                let key: FernetKey = unwrapped.parse()?;
                let id = key.id();
                self.add_fernet(key);
                Ok(id)
            }
            Some(KeyKind::Recipient) => Err(KeyError::RecipientForReader),
            _ => {
                let key: Key = text.parse()?;
                let id = key.id();
                self.add(key);
                Ok(id)
            }
        }
    }

    /// Adds the key of a key file, of any kind [`Keyring::add_text`] accepts. The file must
    /// not be readable by group or others (see [`Key::from_file`]).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.key");
    /// let key = enclog::Key::generate()?;
    /// # { use std::{io::Write, os::unix::fs::OpenOptionsExt}; // a key file, as `enclog genkey -o` writes it
    /// # std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600)
    /// #     .open(&path)?.write_all(&key.to_text().as_bytes())?; }
    /// let mut ring = enclog::Keyring::new();
    /// assert_eq!(ring.add_file(&path)?, key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_file(&mut self, path: impl AsRef<Path>) -> Result<KeyId, KeyError> {
        let path = path.as_ref();
        // A recipient file (public, so possibly world-readable) passes the file checks and is
        // then named for what it is by `add_text`, rather than refused with a chmod that would
        // not help.
        let text = crate::key::secret_file::read_key_line(path)?;
        self.add_text(&text).map_err(|e| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// Adds every key file of a folder (names starting with `.` are skipped), in name order,
    /// and returns the ids added. Recipient files are skipped (public, they open nothing); any
    /// other file that is not a valid key file is an error naming it.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// for name in ["2026-01.key", "2026-02.key"] {
    ///     let key = enclog::Key::generate()?;
    /// # { use std::{io::Write, os::unix::fs::OpenOptionsExt}; // a key file, as `enclog genkey -o` writes it
    /// # std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600)
    /// #     .open(&dir.path().join(name))?.write_all(&key.to_text().as_bytes())?; }
    /// }
    /// let mut ring = enclog::Keyring::new();
    /// assert_eq!(ring.add_dir(dir.path())?.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_dir(&mut self, dir: impl AsRef<Path>) -> Result<Vec<KeyId>, KeyError> {
        let dir = dir.as_ref();
        let io = |source| KeyError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if entry.file_type().map_err(io)?.is_file() {
                paths.push(entry.path());
            }
        }
        paths.sort();
        let mut added = Vec::new();
        for path in &paths {
            match self.add_file(path) {
                Ok(id) => added.push(id),
                // Recipients often sit beside the identities they belong to: they open
                // nothing, so a reader skips them.
                Err(KeyError::InFile { source, .. })
                    if matches!(*source, KeyError::RecipientForReader) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(added)
    }

    /// The ids of everything held: symmetric keys, then identities, then Fernet keys.
    ///
    /// ```
    /// let (key, identity) = (enclog::Key::generate()?, enclog::Identity::generate()?);
    /// let mut ring = enclog::Keyring::new();
    /// ring.add_identity(identity.clone());
    /// ring.add(key.clone());
    /// assert_eq!(ring.ids(), [key.id(), identity.id()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ids(&self) -> Vec<KeyId> {
        self.keys
            .iter()
            .map(Key::id)
            .chain(self.identities.iter().map(Identity::id))
            .chain(self.fernet.iter().map(FernetKey::id))
            .collect()
    }

    /// The number of keys, identities and Fernet keys held.
    ///
    /// ```
    /// let mut ring = enclog::Keyring::from(enclog::Key::generate()?);
    /// ring.add_identity(enclog::Identity::generate()?);
    /// assert_eq!(ring.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.keys.len() + self.identities.len() + self.fernet.len()
    }

    /// Whether the keyring holds nothing.
    ///
    /// ```
    /// let mut ring = enclog::Keyring::new();
    /// assert!(ring.is_empty());
    /// ring.add(enclog::Key::generate()?);
    /// assert!(!ring.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The symmetric keys held.
    pub(crate) fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The symmetric keys whose id is `id` (more than one only on a 32-bit id collision).
    pub(crate) fn find(&self, id: KeyId) -> impl Iterator<Item = &Key> {
        self.keys.iter().filter(move |k| k.id() == id)
    }

    /// The identities whose recipient id is `id`.
    pub(crate) fn find_identity(&self, id: KeyId) -> impl Iterator<Item = &Identity> {
        self.identities.iter().filter(move |i| i.id() == id)
    }

    pub(crate) fn fernet_keys(&self) -> &[FernetKey] {
        &self.fernet
    }
}

impl From<Key> for Keyring {
    fn from(key: Key) -> Keyring {
        Keyring {
            keys: vec![key],
            ..Keyring::default()
        }
    }
}

impl From<Identity> for Keyring {
    fn from(identity: Identity) -> Keyring {
        Keyring {
            identities: vec![identity],
            ..Keyring::default()
        }
    }
}

impl From<FernetKey> for Keyring {
    fn from(key: FernetKey) -> Keyring {
        Keyring {
            fernet: vec![key],
            ..Keyring::default()
        }
    }
}

impl FromIterator<Key> for Keyring {
    fn from_iter<I: IntoIterator<Item = Key>>(iter: I) -> Keyring {
        let mut ring = Keyring::new();
        for key in iter {
            ring.add(key);
        }
        ring
    }
}
