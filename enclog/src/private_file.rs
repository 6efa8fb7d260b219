//! Files only their owner may read: opened 0600 (Unix), and replaced atomically. Shared by the
//! writer's chain state and the verifier's state, which both hold secrets (a chain key, chain
//! keys of unsettled sessions).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Options for a file only its owner may read or write (0600 on Unix).
pub(crate) fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// `path` with `suffix` added to its file name: `app.chain` → `app.chain.lock`.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    path.with_file_name(name)
}

/// Writes `bytes` to `PATH.tmp` (fresh, 0600), syncs it, renames it over `path` and syncs the
/// folder, so that a crash leaves the old file or the new one, whole. An error comes with the
/// path it happened at.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> Result<(), (PathBuf, io::Error)> {
    let tmp = sibling(path, ".tmp");
    let at = |path: &Path| {
        let path = path.to_owned();
        move |source| (path, source)
    };
    // A stale file (a crash between create and rename) may have another mode or owner; a new
    // file with `create_new` also never follows a symlink planted in its place.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(at(&tmp)(e)),
        _ => {}
    }
    let mut file = options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(at(&tmp))?;
    file.write_all(bytes).map_err(at(&tmp))?;
    file.sync_all().map_err(at(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(at(path))?;
    // Makes the rename itself durable. Some platforms refuse to sync a folder; the rename has
    // happened either way.
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}
