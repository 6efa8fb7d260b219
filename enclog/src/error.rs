//! The library's error types. Messages say what failed, where, and how to fix it; none of them
//! ever contains key material or plaintext.

use std::path::PathBuf;

use crate::key::KeyId;
use crate::key::armor::KeyKind;

/// A key, identity or recipient could not be created, parsed or loaded.
///
/// Variants that wrap a cause return it from `source()` and do not repeat it in their own
/// message: print the whole chain (`{:#}` with anyhow, or walk `source()`).
///
/// ```
/// let err = "ENCLOG-KEY-1-abc".parse::<enclog::Key>().unwrap_err();
/// assert!(err.to_string().contains("truncated"));
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text was empty.
    #[error("no {} found: the text is empty", .expected.name())]
    Empty {
        /// The kind that was expected.
        expected: KeyKind,
    },
    /// The text is a key of another kind.
    #[error("expected a {}, found a {}: use the matching option or generate the right kind with `enclog genkey`", .expected.name(), .found.name())]
    WrongKind {
        /// The kind that was expected.
        expected: KeyKind,
        /// The kind that was found.
        found: KeyKind,
    },
    /// The text does not have the shape of the expected kind.
    #[error("not a valid {}: {reason}", .expected.name())]
    Malformed {
        /// The kind that was expected.
        expected: KeyKind,
        /// What is wrong with the shape (never the text itself).
        reason: String,
    },
    /// The shape is right but the checksum does not match.
    #[error("{} checksum mismatch: the key was mistyped or altered; copy it again from its source", .expected.name())]
    Checksum {
        /// The kind that was expected.
        expected: KeyKind,
    },
    /// A key file could not be read.
    #[error("cannot read key file {}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file holding a secret (key, identity, Fernet key) gives group or others access.
    #[error("{} {} is {} by group or others (mode {mode:04o}): run `chmod 600 {}`", crate::key::secret_file::file_noun(*.kind), .path.display(), crate::key::secret_file::access(*.mode), .path.display())]
    LoosePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The kind of key the file holds, when its text tells (`None`: no key recognised).
        kind: Option<KeyKind>,
    },
    /// A recipient file can be written by group or others.
    #[error("{} {} can be written by group or others (mode {mode:04o}), so they could choose who reads the logs: run `chmod go-w {}`", crate::key::secret_file::file_noun(*.kind), .path.display(), .path.display())]
    WritableByOthers {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The kind of key the file holds, when its text tells (`None`: no key recognised).
        kind: Option<KeyKind>,
    },
    /// A key, identity or recipient file belongs to another user, who could replace it (and so
    /// choose the key logs are sealed with, or who reads them) at any time. As ssh's
    /// `StrictModes`, only files owned by the user enclog runs as, or by root, are used.
    #[error("{} {} belongs to user id {owner}, not to you (user id {uid}) or root, so its owner could replace it at any time: take it over (`sudo chown {uid} {}`) or use a copy you own", crate::key::secret_file::file_noun(*.kind), .path.display(), .path.display())]
    ForeignOwner {
        /// The file.
        path: PathBuf,
        /// The kind of key the file holds, when its text tells (`None`: no key recognised).
        kind: Option<KeyKind>,
        /// The user id that owns the file.
        owner: u32,
        /// The effective user id of this process.
        uid: u32,
    },
    /// A key file holds no key line.
    #[error("key file {} holds no key (only blank or `#` comment lines)", .path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// A key file is not a key file.
    #[error("{} is not a key file: {reason}", .path.display())]
    NotAKeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A key in a file was malformed.
    #[error("{}", .path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with the key it holds.
        #[source]
        source: Box<KeyError>,
    },
    /// The environment variable is not set.
    #[error("environment variable {var} is not set")]
    EnvMissing {
        /// The variable's name.
        var: String,
    },
    /// The environment variable holds a malformed key.
    #[error("environment variable {var}")]
    InEnv {
        /// The variable's name.
        var: String,
        /// What is wrong with the key it holds.
        #[source]
        source: Box<KeyError>,
    },
    /// A recipient (public) was given where a reader needs a key: readers take the identity.
    #[error(
        "this is a recipient (a public key that can only seal); reading needs the matching identity file (ENCLOG-IDENTITY-1-…)"
    )]
    RecipientForReader,
    /// An identity (secret) was given where a writer needs a key: writers take the recipient.
    #[error(
        "this is an identity (the secret that reads logs); a writer must be given its recipient instead: run `enclog recipient IDENTITY_FILE` and configure that"
    )]
    IdentityForWriter,
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
}

/// One line could not be opened.
///
/// The variants tell apart the causes a reader can act on: a key that is missing from the
/// keyring, a line that was altered, and a line that was cut short.
///
/// A message says what is wrong with the line, with no label for its kind in front: whoever
/// classifies the error puts its own there (`enclog verify` prints `FILE:LINE: corrupted line:
/// MESSAGE`), and a label in the message said the kind twice.
///
/// ```
/// use enclog::{Key, Keyring, Opener, Sealer};
/// use enclog::read::OpenError;
/// let sealer = Sealer::new(Key::generate()?);
/// let line = sealer.seal_line(b"hello")?;
/// let mut opener = Opener::new(Keyring::from(Key::generate()?));
/// assert!(matches!(opener.open(&line), Some(Err(OpenError::UnknownKey { .. }))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The line was sealed under a key that is not in the keyring.
    #[error("the line was sealed with key {key_id}, which is not among the keys given ({known}); add that key (--key-file/--keyring)", known = display_ids(.known))]
    UnknownKey {
        /// The key id the line names.
        key_id: KeyId,
        /// The key ids of the keyring.
        known: Vec<KeyId>,
    },
    /// The line failed authentication: it was altered (tampering or corruption).
    #[error("the line fails authentication under key {key_id}")]
    Corrupted {
        /// The key id the line names.
        key_id: KeyId,
    },
    /// The token is cut short, or (for a last line without a newline) it does not open: the
    /// line was truncated (a crash mid-write, a cut file) or altered. v1 lines carry no length,
    /// so a reader cannot tell a cut line from an edited one; the message says both.
    #[error("the token ends early or was altered ({reason})")]
    Truncated {
        /// What is missing.
        reason: &'static str,
    },
    /// The token is not well formed.
    #[error("the token cannot be parsed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// A zato-enclog line (`enclogdata:`) but no Fernet key in the keyring.
    #[error(
        "zato-enclog line (enclogdata:) but no Fernet key was given: add the 44-character key that zato-enclog's genkey printed (--key-file)"
    )]
    NoFernetKey,
    /// The token names a format version or mode this build does not read: written by a newer
    /// enclog, or its first byte was damaged.
    #[error("the token has {reason}: written by a newer enclog (upgrade), or the line is damaged")]
    Unsupported {
        /// What is unsupported.
        reason: String,
    },
}

/// `Debug` shows the message and its causes, not the variant's fields: these errors reach
/// people through `fn main() -> Result<(), Box<dyn Error>>`, which prints `Debug` (a file
/// mode as `420` instead of `0644`, and no fix, helped nobody).
pub(crate) fn debug_chain(
    error: &(dyn std::error::Error + 'static),
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    write!(f, "{error}")?;
    let mut source = error.source();
    while let Some(cause) = source {
        write!(f, ": {cause}")?;
        source = cause.source();
    }
    Ok(())
}

impl std::fmt::Debug for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_chain(self, f)
    }
}

fn display_ids(ids: &[KeyId]) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    ids.iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A line could not be sealed.
///
/// Sealing fails only when the operating system's random number generator does; a function
/// that seals can return it as is:
///
/// ```
/// fn seal(sealer: &enclog::Sealer, event: &str) -> Result<Vec<u8>, enclog::seal::SealError> {
///     sealer.seal_line(event.as_bytes())
/// }
/// let line = seal(&enclog::Sealer::new(enclog::Key::generate()?), "started")?;
/// assert!(line.starts_with(enclog::format::MARKER));
/// let err = enclog::seal::SealError::Random(getrandom::Error::UNSUPPORTED);
/// assert!(err.to_string().contains("random number generator failed"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The operating system's random number generator failed (starting a session, or drawing
    /// a Fernet IV).
    #[error("cannot seal: the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
    /// The worker thread of a [`NonBlocking`](crate::non_blocking::NonBlocking) writer could not start.
    #[error("cannot start the encrypted log's writer thread: {0}")]
    Worker(std::io::Error),
    /// A line with sealed fields met a zato-enclog (Fernet) key, which seals whole lines only
    /// (the key was switched to one while the line was being sealed).
    #[error("cannot seal fields under a zato-enclog (Fernet) key: it seals whole lines only")]
    FieldsUnderFernet,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `fn main() -> Result<(), Box<dyn Error>>` prints for a key file others can read.
    #[test]
    fn debug_is_the_message_with_its_causes_and_fix() {
        let err = KeyError::InFile {
            path: "app.key".into(),
            source: Box::new(KeyError::LoosePermissions {
                path: "app.key".into(),
                mode: 0o644,
                kind: Some(KeyKind::Symmetric),
            }),
        };
        let shown = format!("{err:?}");
        assert!(
            shown.contains("mode 0644") && shown.contains("chmod 600 app.key"),
            "{shown}"
        );
        assert!(!shown.contains("LoosePermissions"), "{shown}");
    }
}
