//! [`Keyring`]: the keys a reader holds, looked up by the key id each line names.

use std::path::Path;

use crate::error::KeyError;
use crate::key::{Key, KeyId};

/// The keys a reader holds. Each line names the id of the key that sealed it; the keyring
/// finds that key, so logs written across key rotations open in one pass.
///
/// ```
/// use enclog::{Key, Keyring};
/// let (old, new) = (Key::generate()?, Key::generate()?);
/// let mut ring = Keyring::new();
/// ring.add(old.clone());
/// ring.add(new.clone());
/// assert_eq!(ring.ids(), vec![old.id(), new.id()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    keys: Vec<Key>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Adds a key; adding a key already present does nothing.
    pub fn add(&mut self, key: Key) {
        if !self.keys.iter().any(|k| k.bytes() == key.bytes()) {
            self.keys.push(key);
        }
    }

    /// Adds a key given in text form, whatever its kind among those a reader holds (today a
    /// symmetric key; identities and zato-enclog Fernet keys as their modes arrive). Returns its
    /// id.
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let mut ring = enclog::Keyring::new();
    /// assert_eq!(ring.add_text(&key.to_text())?, key.id());
    /// assert!(ring.add_text("not a key").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_text(&mut self, text: &str) -> Result<KeyId, KeyError> {
        let key: Key = text.parse()?;
        let id = key.id();
        self.add(key);
        Ok(id)
    }

    /// Adds the key of a key file, of any kind [`Keyring::add_text`] accepts. The file must
    /// not be readable by group or others (see [`Key::from_file`]).
    pub fn add_file(&mut self, path: impl AsRef<Path>) -> Result<KeyId, KeyError> {
        let path = path.as_ref();
        let text = crate::secret_file::read_key_line(path)?;
        self.add_text(&text).map_err(|e| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// Adds every key file of a folder (names starting with `.` are skipped), in name order,
    /// and returns the ids added. A file that is not a valid key file is an error naming it.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// for name in ["2026-01.key", "2026-02.key"] {
    ///     let key = enclog::Key::generate()?;
    ///     enclog::write_secret_file(&dir.path().join(name), &key.to_text(), false)?;
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
        paths.iter().map(|p| self.add_file(p)).collect()
    }

    /// The ids of the keys held, in the order they were added.
    pub fn ids(&self) -> Vec<KeyId> {
        self.keys.iter().map(Key::id).collect()
    }

    /// The number of keys held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the keyring holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys whose id is `id` (more than one only on a 32-bit id collision).
    pub(crate) fn find(&self, id: KeyId) -> impl Iterator<Item = &Key> {
        self.keys.iter().filter(move |k| k.id() == id)
    }

    pub(crate) fn keys(&self) -> &[Key] {
        &self.keys
    }
}

impl From<Key> for Keyring {
    fn from(key: Key) -> Keyring {
        Keyring { keys: vec![key] }
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
