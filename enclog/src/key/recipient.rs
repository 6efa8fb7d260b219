//! The public-key mode: [`Identity`] (secret, opens) and [`Recipient`] (public, seals).
//!
//! A writer configured with a recipient cannot read what it wrote: each session draws an
//! ephemeral X25519 key pair, agrees a secret with the recipient, derives the session key with
//! HKDF-SHA256, and forgets the ephemeral secret. Only the identity can re-derive the session key
//! from the ephemeral public key that every line carries (FORMAT.md §7).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use ring::hkdf;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::key::KeyId;
use crate::key::armor::{self, KeyKind};
use crate::key::secret_file;

/// The HKDF label of a session key, per format version (FORMAT.md §7.2 and A.5.2).
fn hkdf_info(version: u8) -> &'static [u8] {
    match version {
        1 => b"enclog-v1 recipient session key",
        _ => b"enclog-v2 recipient session key",
    }
}

/// The secret half of the public-key mode: opens lines sealed to its [`Recipient`].
///
/// Text form `ENCLOG-IDENTITY-1-…`; kept in a file readable only by its owner (on the hosts
/// that *read* logs, never on the hosts that write them). Zeroized on drop; `Debug` redacts.
///
/// ```
/// use enclog::{Identity, Keyring, Opener, Sealer};
/// let identity = Identity::generate()?;
/// let sealer = Sealer::new(identity.recipient());   // the writer gets this only
/// let line = sealer.seal_line(b"card 4111 1111 1111 1111")?;
/// let mut opener = Opener::new(Keyring::from(identity));
/// assert_eq!(opener.open(&line).unwrap()?.plaintext, b"card 4111 1111 1111 1111");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Identity {
    secret: StaticSecret,
    recipient: Recipient,
}

impl Identity {
    /// Generates a new identity from the operating system's random number generator.
    ///
    /// ```
    /// let (a, b) = (enclog::Identity::generate()?, enclog::Identity::generate()?);
    /// assert_ne!(a.id(), b.id());
    /// assert!(a.to_text().starts_with("ENCLOG-IDENTITY-1-"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn generate() -> Result<Identity, KeyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut bytes[..]).map_err(KeyError::Random)?;
        Ok(Identity::from_bytes(bytes))
    }

    /// The secret's bytes (a reader derives its own keys from them, such as a verifier's
    /// state key).
    pub(crate) fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Identity {
        let secret = StaticSecret::from(*bytes);
        let recipient = Recipient::from_public(PublicKey::from(&secret));
        Identity { secret, recipient }
    }

    /// The public recipient that writers seal to.
    ///
    /// ```
    /// let identity = enclog::Identity::generate()?;
    /// let recipient = identity.recipient();
    /// assert!(recipient.to_string().starts_with("ENCLOG-RECIPIENT-1-"));
    /// assert_eq!(recipient.id(), identity.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recipient(&self) -> Recipient {
        self.recipient.clone()
    }

    /// The id carried by lines sealed to this identity's recipient.
    ///
    /// ```
    /// use enclog::{Identity, Keyring, Opener, Sealer};
    /// let identity = Identity::generate()?;
    /// let line = Sealer::new(identity.recipient()).seal_line(b"event")?;
    /// let mut opener = Opener::new(Keyring::from(identity.clone()));
    /// assert_eq!(opener.open(&line).unwrap()?.key_id, identity.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> KeyId {
        self.recipient.id
    }

    /// The identity's text form. This is the secret itself.
    ///
    /// ```
    /// let identity = enclog::Identity::generate()?;
    /// let again: enclog::Identity = identity.to_text().parse()?;
    /// assert_eq!(again.id(), identity.id());
    /// assert!(!format!("{identity:?}").contains(&identity.to_text()[18..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_text(&self) -> Zeroizing<String> {
        armor::encode(KeyKind::Identity, self.secret.as_bytes())
    }

    /// The contents of an identity file: comments with the recipient, then the identity.
    ///
    /// ```
    /// let identity = enclog::Identity::generate()?;
    /// let file = identity.to_file_text();
    /// assert!(file.contains(&identity.recipient().to_string()));
    /// assert_eq!(file.lines().last(), Some(&identity.to_text()[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_file_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "# enclog identity: the SECRET key that reads logs sealed to its recipient.\n\
             # Keep it off the hosts that write logs. Writers are given the recipient:\n\
             # recipient: {}\n\
             {}\n",
            self.recipient,
            &*self.to_text()
        ))
    }

    /// Reads an identity file (comments are skipped; group/other-readable files refused).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("reader.identity");
    /// let identity = enclog::Identity::generate()?;
    /// # { use std::{io::Write, os::unix::fs::OpenOptionsExt}; // a key file, as `enclog genkey -o` writes it
    /// # std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600)
    /// #     .open(&path)?.write_all(&identity.to_file_text().as_bytes())?; }
    /// assert_eq!(enclog::Identity::from_file(&path)?.id(), identity.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Identity, KeyError> {
        let path = path.as_ref();
        let text = secret_file::read_key_line(path)?;
        text.parse().map_err(|e| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// Derives the cipher key of the session whose ephemeral public key a line carries.
    /// `None` when the ephemeral key is a low-order point (a forged line; no secret results).
    pub(crate) fn session_key(
        &self,
        ephemeral: &[u8; 32],
        version: u8,
    ) -> Option<Zeroizing<[u8; 32]>> {
        let shared = self.secret.diffie_hellman(&PublicKey::from(*ephemeral));
        if !shared.was_contributory() {
            return None;
        }
        Some(derive_session_key(
            shared.as_bytes(),
            ephemeral,
            self.recipient.public.as_bytes(),
            version,
        ))
    }
}

impl FromStr for Identity {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Identity, KeyError> {
        armor::decode::<32>(KeyKind::Identity, s).map(Identity::from_bytes)
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("id", &self.recipient.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The public half of the public-key mode: what a writer is configured with.
///
/// Text form `ENCLOG-RECIPIENT-1-…` (with a checksum, like keys). It is public: it can sit in
/// configuration, environment variables and repositories. Its `Display` is its text form.
///
/// ```
/// let identity = enclog::Identity::generate()?;
/// let text = identity.recipient().to_string();
/// let recipient: enclog::Recipient = text.parse()?;
/// assert_eq!(recipient.id(), identity.id());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient {
    public: PublicKey,
    id: KeyId,
}

impl Recipient {
    fn from_public(public: PublicKey) -> Recipient {
        let id = KeyId::derive(KeyKind::Recipient, public.as_bytes());
        Recipient { public, id }
    }

    /// The id carried by every line sealed to this recipient.
    ///
    /// ```
    /// use enclog::{Identity, Keyring, Opener, Sealer};
    /// let identity = Identity::generate()?;
    /// let recipient = identity.recipient();
    /// let line = Sealer::new(recipient.clone()).seal_line(b"event")?;
    /// let mut opener = Opener::new(Keyring::from(identity));
    /// assert_eq!(opener.open(&line).unwrap()?.key_id, recipient.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Reads a recipient from a file: its first line that is neither blank nor a `#` comment.
    /// A recipient is public, so anyone may read the file; but whoever can replace it chooses
    /// who reads the logs, so a file group or others can write, or owned by another user than
    /// the one this process runs as or root, is refused. An identity file is refused even
    /// though it names its recipient in a comment: writers must never be given one.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("recipient.txt");
    /// let identity = enclog::Identity::generate()?;
    /// std::fs::write(&path, format!("# for the web servers\n{}\n", identity.recipient()))?;
    /// assert_eq!(enclog::Recipient::from_file(&path)?.id(), identity.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Recipient, KeyError> {
        let path = path.as_ref();
        let line = secret_file::read_public_line(path)?;
        line.parse().map_err(|e| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// Starts a session: a fresh ephemeral key pair agreed with this recipient. Returns the
    /// ephemeral public key (carried in every line) and the session key; the ephemeral secret
    /// is dropped (and zeroized) before this returns.
    pub(crate) fn start_session(
        &self,
    ) -> Result<([u8; 32], Zeroizing<[u8; 32]>), getrandom::Error> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut bytes[..])?;
        Ok(self.session_from(bytes, crate::format::FORMAT_VERSION))
    }

    /// The session of the ephemeral secret `bytes` (random in [`Recipient::start_session`];
    /// fixed in the test vectors).
    pub(crate) fn session_from(
        &self,
        bytes: Zeroizing<[u8; 32]>,
        version: u8,
    ) -> ([u8; 32], Zeroizing<[u8; 32]>) {
        let ephemeral = StaticSecret::from(*bytes);
        let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
        let shared = ephemeral.diffie_hellman(&self.public);
        let key = derive_session_key(
            shared.as_bytes(),
            &ephemeral_public,
            self.public.as_bytes(),
            version,
        );
        (ephemeral_public, key)
    }
}

impl FromStr for Recipient {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Recipient, KeyError> {
        let bytes = armor::decode::<32>(KeyKind::Recipient, s)?;
        let public = PublicKey::from(*bytes);
        // Threat: a low-order point (e.g. all zeros, with a valid checksum) makes every
        // session's shared secret a value anyone can compute: lines sealed to it would be
        // readable by all. Any clamped scalar times such a point gives zero.
        if !StaticSecret::from([9u8; 32])
            .diffie_hellman(&public)
            .was_contributory()
        {
            return Err(KeyError::Malformed {
                expected: KeyKind::Recipient,
                reason: "it is a low-order curve point, which would let anyone read the lines \
                         sealed to it; use a recipient printed by `enclog recipient`"
                    .into(),
            });
        }
        Ok(Recipient::from_public(public))
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&armor::encode(KeyKind::Recipient, self.public.as_bytes()))
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

struct Len32;

impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

/// `HKDF-SHA256(ikm = shared, salt = ephemeral ‖ recipient, info = hkdf_info(version))`, 32 bytes.
fn derive_session_key(
    shared: &[u8; 32],
    ephemeral: &[u8; 32],
    recipient: &[u8; 32],
    version: u8,
) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral);
    salt[32..].copy_from_slice(recipient);
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(shared);
    let mut out = Zeroizing::new([0u8; 32]);
    prk.expand(&[hkdf_info(version)], Len32)
        .and_then(|okm| okm.fill(&mut out[..]))
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_and_identity_derive_the_same_session_key() {
        let identity = Identity::generate().unwrap();
        let (ephemeral, key) = identity.recipient().start_session().unwrap();
        assert_eq!(*identity.session_key(&ephemeral, 2).unwrap(), *key);
        let other = Identity::generate().unwrap();
        assert_ne!(*other.session_key(&ephemeral, 2).unwrap(), *key);
    }

    #[test]
    fn low_order_recipients_are_refused() {
        let zero = armor::encode(KeyKind::Recipient, &[0u8; 32]);
        let err = zero.parse::<Recipient>().unwrap_err().to_string();
        assert!(err.contains("low-order"), "{err}");
    }

    #[test]
    fn low_order_ephemeral_keys_are_refused() {
        let identity = Identity::generate().unwrap();
        assert!(identity.session_key(&[0u8; 32], 2).is_none());
    }

    #[test]
    fn identity_debug_redacts_and_kinds_are_not_interchangeable() {
        let identity = Identity::generate().unwrap();
        let text = identity.to_text();
        assert!(!format!("{identity:?}").contains(&text[18..]));
        let as_recipient = text.parse::<Recipient>().unwrap_err().to_string();
        assert!(as_recipient.contains("identity"), "{as_recipient}");
        assert!(
            identity
                .recipient()
                .to_string()
                .parse::<Identity>()
                .is_err()
        );
    }
}
