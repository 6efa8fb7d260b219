//! Reading files that hold secrets: permission checks, size caps, comments.

use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::KeyError;

/// Key files are tiny; anything larger is not a key file (and is not read whole into memory).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Reads the first line of `path` that is neither blank nor a `#` comment, refusing files that
/// group or others can read.
pub(crate) fn read_key_line(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    read_line(path, true)
}

/// Like [`read_key_line`] for a file holding something public (a recipient): any permissions.
pub(crate) fn read_public_line(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    read_line(path, false)
}

fn read_line(path: &Path, private: bool) -> Result<Zeroizing<String>, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(KeyError::NotAKeyFile {
            path: path.to_owned(),
            reason: "it is a directory (use --keyring DIR for a folder of keys)".into(),
        });
    }
    if private {
        check_private(path, &meta)?;
    } else {
        check_not_writable(path, &meta)?;
    }
    if meta.len() > MAX_KEY_FILE {
        return Err(KeyError::NotAKeyFile {
            path: path.to_owned(),
            reason: format!("it is {} bytes long; a key file is under 1 KiB", meta.len()),
        });
    }
    let mut raw = Zeroizing::new(Vec::new());
    Read::by_ref(&mut file)
        .take(MAX_KEY_FILE)
        .read_to_end(&mut raw)
        .map_err(io)?;
    let text = std::str::from_utf8(&raw).map_err(|_| KeyError::NotAKeyFile {
        path: path.to_owned(),
        reason: "it is not text (not UTF-8)".into(),
    })?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| KeyError::EmptyFile {
            path: path.to_owned(),
        })?;
    Ok(Zeroizing::new(line.to_owned()))
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::LoosePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// A public file (a recipient) may be read by anyone, but not written: whoever can replace it
/// chooses who reads the logs (threat: a writer sealing to an attacker's recipient).
#[cfg(unix)]
fn check_not_writable(path: &Path, meta: &std::fs::Metadata) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(KeyError::WritableByOthers {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_not_writable(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), KeyError> {
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), KeyError> {
    Ok(())
}
