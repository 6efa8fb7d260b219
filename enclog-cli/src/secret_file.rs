//! Writing files that hold secrets (keys, identities).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `contents` and a final newline to a new file readable only by its owner (mode 0600 on
/// Unix, set when the file is created, so the secret is never readable by others even briefly).
///
/// The file is written under a temporary name in the same folder (created with `O_EXCL`, mode
/// 0600), synced, then renamed to `path`. A rename replaces a symbolic link itself, never the
/// file it points to (threat: `genkey --force -o app.key`, where `app.key` is a link another
/// user planted, overwriting that link's target, or creating it when the link dangles), and a
/// crash leaves either the old file or the new one, never half a key.
///
/// An existing `path` (a file, or a link, dangling or not) is refused unless `overwrite` is
/// true (threat: destroying the only copy of a key that old logs need).
pub(crate) fn write_secret_file(
    path: &Path,
    contents: &str,
    overwrite: bool,
) -> std::io::Result<()> {
    let context = |e: std::io::Error, what: &str| {
        std::io::Error::new(e.kind(), format!("cannot {what} {}: {e}", path.display()))
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // tempfile creates the file with O_CREAT | O_EXCL and mode 0600.
    let mut temp = tempfile::Builder::new()
        .prefix(".enclog-genkey-")
        .tempfile_in(dir)
        .map_err(|e| context(e, "create a temporary file beside"))?;
    let file = temp.as_file_mut();
    file.write_all(contents.as_bytes())
        .and_then(|()| {
            if contents.ends_with('\n') {
                Ok(())
            } else {
                file.write_all(b"\n")
            }
        })
        .and_then(|()| file.sync_all())
        .map_err(|e| context(e, "write"))?;
    let persisted = if overwrite {
        temp.persist(path)
    } else {
        temp.persist_noclobber(path)
    };
    // On failure the temporary file is removed when `persisted`'s error is dropped.
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            std::io::Error::new(
                e.error.kind(),
                format!(
                    "{} already exists; refusing to overwrite a key (use --force to replace it)",
                    path.display()
                ),
            )
        } else {
            context(e.error, "create")
        }
    })?;
    // The rename itself is durable once the folder is synced; a folder that cannot be synced
    // (some network file systems) still holds the file.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Standard output redirected to a regular file that group or others can read: a key written
/// there (`enclog genkey > app.key`, the file made with the shell's umask, usually 0644) is
/// refused by every reader, which loads key files only when their mode is 0600 or stricter.
#[derive(Debug)]
pub(crate) struct LooseStdout {
    /// The file's permission bits.
    pub(crate) mode: u32,
    /// Its path, when the system tells it (Linux: `/proc/self/fd/1`).
    pub(crate) path: Option<PathBuf>,
}

/// Whether standard output is a regular file with permissions the key loaders refuse (the
/// library's rule: no bit for group or others).
#[cfg(unix)]
pub(crate) fn loose_stdout() -> Option<LooseStdout> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let stdout = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(stdout).metadata().ok()?;
    let mode = meta.permissions().mode() & 0o7777;
    if !meta.is_file() || mode & 0o077 == 0 {
        return None;
    }
    // The link names the file standard output was opened as; it is used only if it still
    // leads to that file (not renamed or deleted since).
    let path = std::fs::read_link("/proc/self/fd/1").ok().filter(|path| {
        std::fs::metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == (meta.dev(), meta.ino()))
    });
    Some(LooseStdout { mode, path })
}

/// Elsewhere key files are not checked for permissions.
#[cfg(not(unix))]
pub(crate) fn loose_stdout() -> Option<LooseStdout> {
    None
}
