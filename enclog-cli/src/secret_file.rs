//! Writing files that hold secrets (keys, identities).

use std::io::Write;
use std::path::Path;

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
