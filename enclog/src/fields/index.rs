//! Blind indexes: a keyed digest of a sealed value, the same for equal values under one index
//! key, so that an operator can find every event of one user without decrypting (FORMAT.md §11.4).

use zeroize::Zeroizing;

use super::FieldsError;
use super::canonical::{Canonical, NotCanonical};
use super::json::{self, Doc, Kind};
use crate::{Key, Keyring};

/// The bytes of an index value before base64url (128 bits).
pub const INDEX_LEN: usize = 16;
/// The characters of an index value in a line: base64url of [`INDEX_LEN`] bytes, no padding.
pub const INDEX_CHARS: usize = 22;

/// The secret that index values are computed with: derived from a symmetric [`Key`], as
/// `HMAC-SHA256(key, "enclog-v2 index key")`.
///
/// With a symmetric key the writer derives it from the key it seals with; a writer that seals to
/// a [`Recipient`](crate::Recipient) holds no secret, so it is given a separate key for its
/// indexes (never derived from the public recipient, which would let anyone who has the
/// recipient test guesses). Whoever holds the index key can test guesses of indexed values;
/// see SECURITY.md.
///
/// ```
/// use enclog::fields::IndexKey;
/// let key = enclog::Key::generate()?;
/// let index = IndexKey::from_key(&key);
/// let alice = index.value("user", b"alice@example.com");
/// assert_eq!(alice.len(), enclog::fields::INDEX_CHARS);
/// assert_eq!(alice, index.value("user", b"alice@example.com"));
/// assert_ne!(alice, index.value("user", b"bob@example.com"));
/// assert_ne!(alice, index.value("email", b"alice@example.com")); // per field name
/// assert_ne!(alice, IndexKey::from_key(&enclog::Key::generate()?).value("user", b"alice@example.com"));
/// assert_eq!(format!("{index:?}"), "IndexKey(<redacted>)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct IndexKey {
    /// ring's keyed HMAC state, kept like a symmetric session's cipher (the key it comes from
    /// lives as long); the derived bytes themselves are zeroized on drop.
    key: ring::hmac::Key,
    id: crate::key::KeyId,
    _secret: Zeroizing<[u8; 32]>,
}

impl IndexKey {
    /// The index key of a symmetric key (the writer's own, or a separate index key in the
    /// recipient mode).
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let a = enclog::fields::IndexKey::from_key(&key);
    /// assert_eq!(a.key_id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_key(key: &Key) -> IndexKey {
        let master = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.bytes());
        let tag = ring::hmac::sign(&master, b"enclog-v2 index key");
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(tag.as_ref());
        IndexKey {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret[..]),
            id: key.id(),
            _secret: secret,
        }
    }

    /// The index keys of a keyring's symmetric keys, in its order (identities and zato-enclog
    /// keys have none): what a reader searches with, one index value per key.
    ///
    /// ```
    /// use enclog::fields::IndexKey;
    /// let (a, b) = (enclog::Key::generate()?, enclog::Key::generate()?);
    /// let mut ring = enclog::Keyring::from(a.clone());
    /// ring.add(b.clone());
    /// ring.add_identity(enclog::Identity::generate()?);
    /// let ids: Vec<_> = IndexKey::from_keyring(&ring).iter().map(IndexKey::key_id).collect();
    /// assert_eq!(ids, [a.id(), b.id()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_keyring(keyring: &Keyring) -> Vec<IndexKey> {
        keyring.keys().iter().map(IndexKey::from_key).collect()
    }

    /// The id of the key this index key was derived from.
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// assert_eq!(enclog::fields::IndexKey::from_key(&key).key_id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn key_id(&self) -> crate::key::KeyId {
        self.id
    }

    /// The index value of `value` in a field named `field` (the field's own key, not its path:
    /// `user` in `{"req":{"user":…}}`), as it appears in a line. `value` is the value's text: a
    /// string's characters (without quotes or escapes), or a number's, `true`'s… canonical JSON.
    ///
    /// ```
    /// let index = enclog::fields::IndexKey::from_key(&enclog::Key::generate()?);
    /// assert_eq!(index.value("n", b"42"), index.value("n", b"42"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn value(&self, field: &str, value: &[u8]) -> String {
        let mut out = Vec::with_capacity(INDEX_CHARS);
        self.push_value(field, value, &mut out);
        String::from_utf8(out).expect("base64url is ASCII")
    }

    /// Appends [`IndexKey::value`] to `out` (no allocation beyond `out`'s growth).
    pub(crate) fn push_value(&self, field: &str, value: &[u8], out: &mut Vec<u8>) {
        let mut ctx = ring::hmac::Context::with_key(&self.key);
        ctx.update(b"enclog-v2 index");
        let mut len = [0u8; crate::format::MAX_VARINT_LEN];
        let n = crate::format::varint_into(field.len() as u64, &mut len);
        ctx.update(&len[..n]);
        ctx.update(field.as_bytes());
        ctx.update(value);
        let tag = ctx.sign();
        crate::format::base64url::encode_append(&tag.as_ref()[..INDEX_LEN], out);
    }
}

impl std::fmt::Debug for IndexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IndexKey(<redacted>)")
    }
}

/// The text a JSON value's index is computed over (what [`IndexKey::value`] takes): a string's
/// characters (escapes decoded, no quotes), or any other value's canonical JSON (RFC 8785), so
/// that `1e3` and `1000`, or `"\u0061"` and `"a"`, index alike. The value is one JSON text,
/// white space around it allowed.
///
/// Note that a string and a number with the same text (`"42"` and `42`) index alike.
///
/// ```
/// use enclog::fields::index_text;
/// assert_eq!(index_text(br#""alice""#)?, b"alice");
/// assert_eq!(index_text(br#""caf\u00e9""#)?, "café".as_bytes());
/// assert_eq!(index_text(b" 1e3 ")?, b"1000");
/// assert_eq!(index_text(br#"{"b":1, "a":[true]}"#)?, br#"{"a":[true],"b":1}"#);
/// assert!(index_text(b"alice").is_err()); // not JSON: a string needs its quotes
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn index_text(value: &[u8]) -> Result<Vec<u8>, FieldsError> {
    let mut doc = Doc::default();
    doc.parse(value).map_err(|e| FieldsError::NotJson {
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    push_index_text(&mut Canonical::default(), &doc, value, doc.root(), &mut out).map_err(|e| {
        FieldsError::NotCanonical {
            reason: e.to_string(),
        }
    })?;
    Ok(out)
}

/// Appends the index text of node `node` of `doc` (over `text`) to `out`: see [`index_text`].
pub(crate) fn push_index_text(
    canonical: &mut Canonical,
    doc: &Doc,
    text: &[u8],
    node: usize,
    out: &mut Vec<u8>,
) -> Result<(), NotCanonical> {
    let raw = &text[doc.nodes[node].span.clone()];
    if doc.nodes[node].kind == Kind::String {
        json::push_str_value(raw, out);
        return Ok(());
    }
    canonical.write(doc, text, node, &|_| true, &[], &mut |b| {
        out.extend_from_slice(b)
    })
}
