//! Reading files that hold keys: who may read and replace them, what they may be, how big.
//!
//! Threats defended, each checked on the file that was opened (`fstat` of the open file, so a
//! file swapped between the checks and the read is not read unchecked):
//! - a secret (key, identity, Fernet key) that group or others can read or write: refused, as
//!   ssh refuses a private key others can read;
//! - a key or recipient file owned by another user (ssh's `StrictModes`): its owner can replace
//!   it at any time, choosing the key the logs are sealed with, or who can read them (a
//!   recipient file left in a 1777 folder by another user was used). Only files owned by the
//!   user enclog runs as, or by root, are used;
//! - a named pipe (FIFO) with no writer, which made `open` wait forever (`encrypt` and
//!   `decrypt` hung): it is opened without blocking and refused when nothing writes to it, while
//!   a pipe that has a writer (`--key-file <(pass show logs/app)`) is read as before.
//!
//! The rule applied is the one of the kind of key the file holds (told from its text), and the
//! error names that kind: a symmetric key in a file group can write is a "key file", not a
//! "recipient file".
//!
//! A writer's chain state file (`seal::ChainState`), which holds a secret too, is read with the
//! same helpers: [`open`], [`read_capped`], [`foreign_owner`], [`loose_mode`].

use std::fs::File;
use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::key::armor::KeyKind;

/// Key files are tiny; anything larger is not a key file (and is not read whole into memory).
pub(crate) const MAX_KEY_FILE: usize = 64 * 1024;

/// Reads the first line of `path` that is neither blank nor a `#` comment. A file holding a
/// secret (or text that is no key at all) must be private to its owner; a file holding a
/// recipient (public) may be read by anyone, but not written.
pub(crate) fn read_key_line(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    read_line(path, Rule::Private)
}

/// Like [`read_key_line`] for a file expected to hold something public (a recipient): when its
/// text is no key at all, the rule for public files applies (not writable by others).
pub(crate) fn read_public_line(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    read_line(path, Rule::Public)
}

/// Who may have access to a file besides its owner.
#[derive(Clone, Copy)]
enum Rule {
    /// Nobody: no permission bit for group or others.
    Private,
    /// Anyone may read, nobody else may write.
    Public,
}

fn read_line(path: &Path, unknown: Rule) -> Result<Zeroizing<String>, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(KeyError::NotAKeyFile {
            path: path.to_owned(),
            reason: "it is a directory (use --keyring DIR for a folder of keys)".into(),
        });
    }
    if meta.is_file() && meta.len() > MAX_KEY_FILE as u64 {
        return Err(too_long(path));
    }
    let raw = read_capped(&mut file).map_err(io)?;
    if raw.len() > MAX_KEY_FILE {
        return Err(too_long(path));
    }
    if raw.is_empty() && is_fifo(&meta) {
        return Err(KeyError::NotAKeyFile {
            path: path.to_owned(),
            reason: "it is a named pipe (FIFO) that no program is writing to, so there is no \
                     key to read; start the program that writes the key into it first, or use \
                     --key-command CMD"
                .into(),
        });
    }
    let text = std::str::from_utf8(&raw).ok();
    let line = text.and_then(|text| {
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
    });
    let kind = line.and_then(|l| KeyKind::detect(unquoted(l)));
    let rule = match kind {
        Some(KeyKind::Recipient) => Rule::Public,
        Some(_) => Rule::Private,
        None => unknown,
    };
    check_owner(path, &meta, kind)?;
    match rule {
        Rule::Private => check_private(path, &meta, kind)?,
        Rule::Public => check_not_writable(path, &meta, kind)?,
    }
    if text.is_none() {
        return Err(KeyError::NotAKeyFile {
            path: path.to_owned(),
            reason: "it is not text (not UTF-8)".into(),
        });
    }
    let line = line.ok_or_else(|| KeyError::EmptyFile {
        path: path.to_owned(),
    })?;
    Ok(Zeroizing::new(line.to_owned()))
}

/// A Fernet key as Python prints a `bytes` value (`b'…'`), which [`crate::Keyring::add_text`]
/// accepts: the kind is told from what is inside the quotes.
fn unquoted(line: &str) -> &str {
    line.strip_prefix("b'")
        .and_then(|l| l.strip_suffix('\''))
        .unwrap_or(line)
}

/// What a permission error calls a file holding `kind` (told from its text; `None`: no key
/// recognised).
pub(crate) fn file_noun(kind: Option<KeyKind>) -> &'static str {
    match kind {
        Some(KeyKind::Identity) => "identity file",
        Some(KeyKind::Recipient) => "recipient file",
        Some(KeyKind::Fernet) => "Fernet key file",
        Some(KeyKind::Symmetric) | None => "key file",
    }
}

/// What the group and other bits of `mode` let them do, for a permission error (a key file of
/// mode 0620 is not "readable" by its group).
pub(crate) fn access(mode: u32) -> &'static str {
    match (mode & 0o044 != 0, mode & 0o022 != 0) {
        (true, true) => "readable and writable",
        (true, false) => "readable",
        (false, true) => "writable",
        (false, false) => "accessible",
    }
}

fn too_long(path: &Path) -> KeyError {
    KeyError::NotAKeyFile {
        path: path.to_owned(),
        reason: "it holds more than 64 KiB; a key file is under 1 KiB".into(),
    }
}

/// Opens without waiting for a writer: `open` of a FIFO for reading blocks until some program
/// opens it for writing, which may never happen. A FIFO opened this way with no writer reads as
/// empty at once.
#[cfg(unix)]
pub(crate) fn open(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
pub(crate) fn open(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// Reads up to one byte more than [`MAX_KEY_FILE`] into a buffer allocated once (a growing
/// `Vec` would leave copies of the key behind in freed memory).
///
/// The file was opened with `O_NONBLOCK`, which regular files ignore; a pipe whose writer has
/// not written yet (`pass show` asking for a passphrase) answers "would block", and is asked
/// again a little later until it writes or closes. (The library has no `unsafe` with which to
/// clear the flag, and std has no safe call for it on a file.)
pub(crate) fn read_capped(file: &mut File) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut raw = Zeroizing::new(vec![0u8; MAX_KEY_FILE + 1]);
    let mut len = 0;
    while len < raw.len() {
        match file.read(&mut raw[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    }
    raw.truncate(len);
    Ok(raw)
}

#[cfg(unix)]
fn is_fifo(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_fifo()
}

#[cfg(not(unix))]
fn is_fifo(_meta: &std::fs::Metadata) -> bool {
    false
}

/// The user id files are accessed as (the effective one). std has no `geteuid` and this crate
/// has no `unsafe`, but the kernel gives a new pipe to the user that creates it.
#[cfg(unix)]
pub(crate) fn own_uid() -> std::io::Result<u32> {
    use std::os::unix::fs::MetadataExt;
    let (reader, _writer) = std::io::pipe()?;
    Ok(File::from(std::os::fd::OwnedFd::from(reader))
        .metadata()?
        .uid())
}

/// As ssh's `StrictModes`: the file must belong to the user enclog runs as, or to root.
fn check_owner(
    path: &Path,
    meta: &std::fs::Metadata,
    kind: Option<KeyKind>,
) -> Result<(), KeyError> {
    match foreign_owner(meta) {
        Ok(None) => Ok(()),
        Ok(Some((owner, uid))) => Err(KeyError::ForeignOwner {
            path: path.to_owned(),
            kind,
            owner,
            uid,
        }),
        Err(source) => Err(KeyError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn check_private(
    path: &Path,
    meta: &std::fs::Metadata,
    kind: Option<KeyKind>,
) -> Result<(), KeyError> {
    match loose_mode(meta) {
        None => Ok(()),
        Some(mode) => Err(KeyError::LoosePermissions {
            path: path.to_owned(),
            mode,
            kind,
        }),
    }
}

/// `Some((owner, uid))` when the file belongs neither to the user enclog runs as (`uid`) nor to
/// root (ssh's `StrictModes`): its owner could replace it at any time.
#[cfg(unix)]
pub(crate) fn foreign_owner(meta: &std::fs::Metadata) -> std::io::Result<Option<(u32, u32)>> {
    use std::os::unix::fs::MetadataExt;
    let owner = meta.uid();
    if owner == 0 {
        return Ok(None);
    }
    let uid = own_uid()?;
    Ok((owner != uid).then_some((owner, uid)))
}

#[cfg(not(unix))]
pub(crate) fn foreign_owner(_: &std::fs::Metadata) -> std::io::Result<Option<(u32, u32)>> {
    Ok(None)
}

/// The permission bits of a file that gives group or others any access (`None`: private to
/// its owner), as a file holding a secret must not.
#[cfg(unix)]
pub(crate) fn loose_mode(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
pub(crate) fn loose_mode(_: &std::fs::Metadata) -> Option<u32> {
    None
}

/// A public file (a recipient) may be read by anyone, but not written: whoever can replace it
/// chooses who reads the logs (threat: a writer sealing to an attacker's recipient).
#[cfg(unix)]
fn check_not_writable(
    path: &Path,
    meta: &std::fs::Metadata,
    kind: Option<KeyKind>,
) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(KeyError::WritableByOthers {
            path: path.to_owned(),
            mode,
            kind,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_not_writable(_: &Path, _: &std::fs::Metadata, _: Option<KeyKind>) -> Result<(), KeyError> {
    Ok(())
}
