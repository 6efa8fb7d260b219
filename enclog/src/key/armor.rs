//! The typed text form shared by keys, identities and recipients: a fixed prefix that names the
//! kind and version, then base64url (no padding) of the key bytes followed by a 4-byte checksum.
//!
//! The checksum is `SHA-256(prefix ‖ bytes)[..4]`: it catches a truncated, mistyped or
//! copy-pasted-with-a-missing-character key before it is used (threat: a log written under a key
//! nobody holds because the configured key was silently wrong).

use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::format::base64url;
use crate::format::scan::is_token_char;

const CHECKSUM_LEN: usize = 4;

/// What a key string is, told from its prefix alone.
///
/// ```
/// use enclog::key::KeyKind;
/// let key = enclog::Key::generate().unwrap();
/// assert_eq!(KeyKind::detect(&key.to_text()), Some(KeyKind::Symmetric));
/// assert_eq!(KeyKind::detect("hello"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// A 256-bit symmetric key (`ENCLOG-KEY-1-…`): seals and opens.
    Symmetric,
    /// A secret identity of the public-key mode (`ENCLOG-IDENTITY-1-…`): opens only.
    Identity,
    /// A public recipient of the public-key mode (`ENCLOG-RECIPIENT-1-…`): seals only.
    Recipient,
    /// A Fernet key as printed by zato-enclog's `genkey` (44 characters of url-safe base64).
    Fernet,
}

impl KeyKind {
    /// The fixed prefix of this kind's text form (empty for Fernet, which has none).
    ///
    /// ```
    /// use enclog::key::KeyKind;
    /// let key = enclog::Key::generate()?;
    /// assert!(key.to_text().starts_with(KeyKind::Symmetric.prefix()));
    /// assert_eq!(KeyKind::Fernet.prefix(), "");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::Symmetric => "ENCLOG-KEY-1-",
            KeyKind::Identity => "ENCLOG-IDENTITY-1-",
            KeyKind::Recipient => "ENCLOG-RECIPIENT-1-",
            KeyKind::Fernet => "",
        }
    }

    /// A short human name, used in error messages.
    ///
    /// ```
    /// assert_eq!(enclog::key::KeyKind::Symmetric.name(), "symmetric key");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Symmetric => "symmetric key",
            KeyKind::Identity => "identity (secret key of the public-key mode)",
            KeyKind::Recipient => "recipient (public key of the public-key mode)",
            KeyKind::Fernet => "Fernet key (zato-enclog)",
        }
    }

    /// Tells the kind of a key string from its shape, without validating its checksum.
    ///
    /// ```
    /// use enclog::key::KeyKind;
    /// let identity = enclog::Identity::generate()?;
    /// assert_eq!(KeyKind::detect(&identity.to_text()), Some(KeyKind::Identity));
    /// let recipient = identity.recipient().to_string();
    /// assert_eq!(KeyKind::detect(&recipient), Some(KeyKind::Recipient));
    /// assert_eq!(KeyKind::detect("ENCLOG-KEY-1-not-checked"), Some(KeyKind::Symmetric));
    /// assert_eq!(KeyKind::detect("hello"), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn detect(text: &str) -> Option<KeyKind> {
        let text = text.trim();
        for kind in [KeyKind::Symmetric, KeyKind::Identity, KeyKind::Recipient] {
            if text.starts_with(kind.prefix()) {
                return Some(kind);
            }
        }
        let fernet_shape =
            text.len() == 44 && text.ends_with('=') && text[..43].bytes().all(is_token_char);
        fernet_shape.then_some(KeyKind::Fernet)
    }
}

fn checksum(prefix: &str, bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(prefix.as_bytes());
    ctx.update(bytes);
    let digest = ctx.finish();
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&digest.as_ref()[..CHECKSUM_LEN]);
    out
}

/// Encodes `bytes` as `kind`'s text form.
pub(crate) fn encode(kind: KeyKind, bytes: &[u8]) -> Zeroizing<String> {
    let mut raw = Zeroizing::new(Vec::with_capacity(bytes.len() + CHECKSUM_LEN));
    raw.extend_from_slice(bytes);
    raw.extend_from_slice(&checksum(kind.prefix(), bytes));
    let mut chars = Zeroizing::new(vec![0u8; base64url::encoded_len(raw.len())]);
    let mut text = Zeroizing::new(String::with_capacity(kind.prefix().len() + chars.len()));
    text.push_str(kind.prefix());
    text.push_str(base64url::encode_into(&raw, &mut chars));
    text
}

/// Decodes `text` as `kind`'s text form holding exactly `N` bytes. Errors never quote the text:
/// it may be a secret.
pub(crate) fn decode<const N: usize>(
    kind: KeyKind,
    text: &str,
) -> Result<Zeroizing<[u8; N]>, KeyError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(KeyError::Empty { expected: kind });
    }
    let Some(body) = text.strip_prefix(kind.prefix()) else {
        return Err(match KeyKind::detect(text) {
            Some(found) => KeyError::WrongKind {
                expected: kind,
                found,
            },
            None => KeyError::Malformed {
                expected: kind,
                reason: format!("it does not start with `{}`", kind.prefix()),
            },
        });
    };
    let expected_chars = ((N + CHECKSUM_LEN) * 4).div_ceil(3);
    if body.len() != expected_chars {
        return Err(KeyError::Malformed {
            expected: kind,
            reason: format!(
                "its body has {} characters instead of {expected_chars}: it was truncated or has extra characters",
                body.len()
            ),
        });
    }
    let mut raw = Zeroizing::new([0u8; 64]);
    let raw_len = base64url::decode_slice(body.as_bytes(), &mut raw[..]).ok_or_else(|| {
        KeyError::Malformed {
            expected: kind,
            reason: "it contains characters outside base64url (A-Z a-z 0-9 - _)".into(),
        }
    })?;
    if raw_len != N + CHECKSUM_LEN {
        return Err(KeyError::Malformed {
            expected: kind,
            reason: format!(
                "it decodes to {raw_len} bytes instead of {}",
                N + CHECKSUM_LEN
            ),
        });
    }
    let (bytes, sum) = raw[..raw_len].split_at(N);
    if checksum(kind.prefix(), bytes) != sum {
        return Err(KeyError::Checksum { expected: kind });
    }
    let mut out = Zeroizing::new([0u8; N]);
    out.copy_from_slice(bytes);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_single_character_change_is_caught() {
        let bytes = [7u8; 32];
        let text = encode(KeyKind::Symmetric, &bytes);
        assert_eq!(*decode::<32>(KeyKind::Symmetric, &text).unwrap(), bytes);
        let prefix = KeyKind::Symmetric.prefix().len();
        for i in prefix..text.len() {
            let mut t = text.as_bytes().to_vec();
            t[i] = if t[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(t).unwrap();
            assert!(
                decode::<32>(KeyKind::Symmetric, &t).is_err(),
                "change at {i} accepted"
            );
        }
    }

    #[test]
    fn truncation_and_wrong_kind_are_named() {
        let text = encode(KeyKind::Symmetric, &[1u8; 32]);
        let err = decode::<32>(KeyKind::Symmetric, &text[..text.len() - 3]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let err = decode::<32>(KeyKind::Recipient, &text).unwrap_err();
        assert!(
            matches!(
                err,
                KeyError::WrongKind {
                    found: KeyKind::Symmetric,
                    ..
                }
            ),
            "{err}"
        );
    }
}
