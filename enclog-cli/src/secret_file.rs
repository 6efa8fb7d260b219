//! Writing files that hold secrets (keys, identities).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `contents` and a final newline to a new file readable only by its owner (mode 0600 on
/// Unix, set when the file is created, so the secret is never readable by others even briefly).
///
/// An existing file is refused unless `overwrite` is true (threat: destroying the only copy of a
/// key that old logs need).
///
pub(crate) fn write_secret_file(
    path: &Path,
    contents: &str,
    overwrite: bool,
) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            std::io::Error::new(
                e.kind(),
                format!(
                    "{} already exists; refusing to overwrite a key (use --force to replace it)",
                    path.display()
                ),
            )
        } else {
            std::io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))
        }
    })?;
    #[cfg(unix)]
    {
        // An overwritten file keeps its old mode: tighten it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents.as_bytes())?;
    if !contents.ends_with('\n') {
        file.write_all(b"\n")?;
    }
    file.sync_all()
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
