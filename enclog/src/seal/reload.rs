//! [`KeyReloader`]: switch a running writer to a new key when its key file is replaced, without
//! a restart (like Zato's configuration hot-reload).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use notify::{RecursiveMode, Watcher};

use crate::error::KeyError;
use crate::seal::{Sealer, SealingKey};

/// Watches a key (or recipient) file and switches a [`Sealer`] to the key it holds whenever the
/// file is replaced or rewritten. Dropping the reloader stops watching.
///
/// The switch is exact: the line being sealed when the new key arrives closes the old session
/// (a close record), and it and every later line carry the new key id; no line is lost. A file
/// that holds no valid key (a half-written file, a typo) is ignored with one message on stderr
/// and the writer keeps its current key — the key's checksum makes a partial write detectable,
/// and writing nothing, or writing in clear, are never the fallback.
///
/// The directory is watched, not the file, so replacing the file by `rename` (what `mv`,
/// editors and secret managers do) is seen. A new key must be of the same kind as the current
/// one (a recipient is replaced by a recipient): a change of kind is refused and reported.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("app.key");
/// let first = enclog::Key::generate()?;
/// # { use std::{io::Write, os::unix::fs::OpenOptionsExt}; // a key file, as `enclog genkey -o` writes it
/// # std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600)
/// #     .open(&path)?.write_all(&first.to_text().as_bytes())?; }
/// let sealer = enclog::Sealer::new(enclog::SealingKey::from_file(&path)?);
/// let _reloader = enclog::seal::KeyReloader::watch(&sealer, &path)?;
///
/// let second = enclog::Key::generate()?;
/// # { use std::{io::Write, os::unix::fs::OpenOptionsExt}; // a key file, as `enclog genkey -o` writes it
/// # std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600)
/// #     .open(&path)?.write_all(&second.to_text().as_bytes())?; }
/// let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
/// while sealer.key_id() != second.id() && std::time::Instant::now() < deadline {
///     std::thread::sleep(std::time::Duration::from_millis(10));
/// }
/// assert_eq!(sealer.key_id(), second.id());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "the key file is watched only while the reloader lives"]
pub struct KeyReloader {
    _watcher: notify::RecommendedWatcher,
    path: PathBuf,
}

impl KeyReloader {
    /// Starts watching `path` for `sealer`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.key");
    /// # { use std::{io::Write, os::unix::fs::OpenOptionsExt}; // a key file, as `enclog genkey -o` writes it
    /// # std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600)
    /// #     .open(&path)?.write_all(&enclog::Key::generate()?.to_text().as_bytes())?; }
    /// let sealer = enclog::Sealer::new(enclog::SealingKey::from_file(&path)?);
    /// let _reloader = enclog::seal::KeyReloader::watch(&sealer, &path)?;
    /// let next = enclog::Key::generate()?;
    /// # { use std::{io::Write, os::unix::fs::OpenOptionsExt}; // a key file, as `enclog genkey -o` writes it
    /// # std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600)
    /// #     .open(&path)?.write_all(&next.to_text().as_bytes())?; }
    /// let deadline = Instant::now() + Duration::from_secs(5);
    /// while sealer.key_id() != next.id() && Instant::now() < deadline {
    ///     std::thread::sleep(Duration::from_millis(5));
    /// }
    /// assert_eq!(sealer.key_id(), next.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn watch(sealer: &Sealer, path: impl AsRef<Path>) -> Result<KeyReloader, KeyError> {
        let path = path.as_ref().to_owned();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name: OsString = path.file_name().map(OsString::from).unwrap_or_default();
        let sealer = sealer.clone();
        let last_bad: Arc<Mutex<Option<String>>> = Arc::default();
        let target = path.clone();
        let handler = move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if !event
                .paths
                .iter()
                .any(|p| p.file_name() == Some(name.as_os_str()))
            {
                return;
            }
            reload(&sealer, &target, &last_bad);
        };
        let io = |e: notify::Error| KeyError::Io {
            path: dir.clone(),
            source: std::io::Error::other(format!("cannot watch for key changes: {e}")),
        };
        let mut watcher = notify::recommended_watcher(handler).map_err(io)?;
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(io)?;
        Ok(KeyReloader {
            _watcher: watcher,
            path,
        })
    }

    /// The watched file.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.key");
    /// # { use std::{io::Write, os::unix::fs::OpenOptionsExt}; // a key file, as `enclog genkey -o` writes it
    /// # std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600)
    /// #     .open(&path)?.write_all(&enclog::Key::generate()?.to_text().as_bytes())?; }
    /// let sealer = enclog::Sealer::new(enclog::SealingKey::from_file(&path)?);
    /// let reloader = enclog::seal::KeyReloader::watch(&sealer, &path)?;
    /// assert_eq!(reloader.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn reload(sealer: &Sealer, path: &Path, last_bad: &Mutex<Option<String>>) {
    // Threat: whoever can replace the file switching a writer to another kind of key (a
    // recipient writer to a symmetric key it could read back, or to zato-enclog's weaker
    // Fernet mode). Rotation keeps the kind; changing it takes a deliberate restart.
    let loaded = SealingKey::from_file(path).and_then(|key| {
        let (expected, found) = (sealer.key_kind(), key.kind());
        if expected == found {
            Ok(key)
        } else {
            Err(KeyError::WrongKind { expected, found })
        }
    });
    match loaded {
        Ok(key) => {
            if key.id() != sealer.key_id() {
                sealer.set_key(key);
            }
            *last_bad.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        // The file is gone for a moment during a replace: the next event brings the new one.
        Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            let message = e.to_string();
            let mut last = last_bad.lock().unwrap_or_else(|e| e.into_inner());
            if last.as_deref() != Some(message.as_str()) {
                eprintln!(
                    "enclog: key file changed but was not loaded ({message}); still sealing with key {}",
                    sealer.key_id()
                );
                *last = Some(message);
            }
        }
    }
}

impl std::fmt::Debug for KeyReloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyReloader")
            .field("path", &self.path)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Identity, Key};

    #[test]
    fn a_replaced_key_of_the_same_kind_is_taken_another_kind_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("writer.key");
        let first = Identity::generate().unwrap().recipient();
        let sealer = Sealer::new(first.clone());
        let last_bad = Mutex::new(None);

        // Another recipient: taken.
        let second = Identity::generate().unwrap().recipient();
        std::fs::write(&path, format!("{second}\n")).unwrap();
        reload(&sealer, &path, &last_bad);
        assert_eq!(sealer.key_id(), second.id());

        // A symmetric key (the writer could then read its own logs): refused, reported.
        let key = Key::generate().unwrap();
        crate::test_support::write_private(&path, &key.to_text());
        reload(&sealer, &path, &last_bad);
        assert_eq!(
            sealer.key_id(),
            second.id(),
            "the kind of key must not change on reload"
        );
        let reported = last_bad.lock().unwrap().clone().unwrap_or_default();
        assert!(reported.contains("expected a recipient"), "{reported}");
    }
}
