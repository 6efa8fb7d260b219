//! Sealed fields: keep a structured log line in clear and seal only the values that are
//! sensitive, so the tools operators live in (Loki, Elasticsearch, `grep`, dashboards) still see
//! every other field.
//!
//! A field-sealed line is the event's own JSON object (or text line) in which each sealed value
//! is replaced by a token (`"user":"enclog:…"`), an optional [blind index](IndexKey) follows an
//! indexed value (`"user_idx":"…"`), and one more member, `"enclog":"enclog:…"`, carries the
//! line's **envelope**: its session and sequence number (so `enclog verify` checks field-sealed
//! logs like any other), the paths of its sealed values, and a digest of its clear fields in
//! canonical JSON (RFC 8785), so that an edited clear field is detected while a shipper that
//! re-serialises the JSON is not mistaken for one. The format is FORMAT.md §11.
//!
//! Writers: [`Sealer::seal_json_fields`](crate::Sealer::seal_json_fields) for JSON lines (what
//! `enclog encrypt --fields` uses), and the `tracing` integration
//! ([`tracing::fields`](crate::tracing::fields)). Readers: [`Opener`](crate::Opener) opens
//! field-sealed lines like any other: [`Opened::plaintext`](crate::read::Opened::plaintext) is
//! the line restored (values back in place, types kept, index and envelope members removed) and
//! [`Opened::fields`](crate::read::Opened::fields) says which values were sealed and which clear
//! fields are authenticated.
//!
//! ```
//! use enclog::{Key, Keyring, Opener, Sealer};
//! use enclog::fields::Selection;
//! let key = Key::generate()?;
//! let line = br#"{"level":"INFO","user":"alice@example.com","card":4111,"msg":"paid"}"#;
//! let mut sealed = Vec::new();
//! let selection = Selection::new(["user", "card"]).index(["user"]);
//! Sealer::new(key.clone()).seal_json_fields(line, &selection, &mut sealed)?;
//! let text = String::from_utf8(sealed.clone())?;
//! assert!(text.starts_with(r#"{"level":"INFO","user":"enclog:"#) && text.contains(r#""msg":"paid""#));
//! assert!(!text.contains("alice") && !text.contains("4111"));
//!
//! let mut opener = Opener::new(Keyring::from(key));
//! let opened = opener.open(&sealed).unwrap()?;
//! assert_eq!(opened.plaintext, line);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod canonical;
pub(crate) mod envelope;
pub(crate) mod index;
pub(crate) mod json;
mod search;

use std::ops::Range;

pub use envelope::MAX_VALUES;
pub use index::{INDEX_CHARS, INDEX_LEN, IndexKey, index_text};
pub use search::{ByIndex, Search, field_name};

/// The key of the member that carries a JSON line's envelope.
///
/// ```
/// assert_eq!(enclog::fields::ENVELOPE_KEY, "enclog");
/// ```
pub const ENVELOPE_KEY: &str = "enclog";

/// What is appended to an indexed field's key to name its index member (`user` → `user_idx`).
///
/// ```
/// assert_eq!(enclog::fields::INDEX_SUFFIX, "_idx");
/// ```
pub const INDEX_SUFFIX: &str = "_idx";

/// How a field-sealed line is written.
///
/// ```
/// assert_eq!(enclog::fields::Syntax::Json.to_string(), "json");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Syntax {
    /// One JSON object per line; sealed values are JSON strings holding a token.
    Json,
    /// A text line (`tracing`'s full or compact format): `key=value` pairs, a sealed value is a
    /// bare token, the envelope the line's last word.
    Text,
}

impl Syntax {
    pub(crate) fn byte(self) -> u8 {
        match self {
            Syntax::Json => 0,
            Syntax::Text => 1,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Option<Syntax> {
        match b {
            0 => Some(Syntax::Json),
            1 => Some(Syntax::Text),
            _ => None,
        }
    }
}

impl std::fmt::Display for Syntax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Syntax::Json => "json",
            Syntax::Text => "text",
        })
    }
}

/// Field names, or glob patterns of them (`*` matches any run of characters).
///
/// ```
/// let names = enclog::fields::FieldNames::new(["user", "card*", "req.*.token"]);
/// assert!(names.matches("user") && names.matches("card_number") && names.matches("req.a.token"));
/// assert!(!names.matches("username") && !names.matches("Card"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldNames {
    patterns: Vec<String>,
}

impl FieldNames {
    /// The names or patterns.
    pub fn new<S: Into<String>>(patterns: impl IntoIterator<Item = S>) -> FieldNames {
        FieldNames {
            patterns: patterns.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether no pattern is given.
    ///
    /// ```
    /// assert!(enclog::fields::FieldNames::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `name` matches one of the patterns.
    ///
    /// ```
    /// assert!(enclog::fields::FieldNames::new(["*"]).matches("anything"));
    /// ```
    pub fn matches(&self, name: &str) -> bool {
        self.patterns
            .iter()
            .any(|p| glob(p.as_bytes(), name.as_bytes()))
    }
}

/// `*`-only glob matching, iterative (no backtracking blow-up).
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if p < pattern.len() && pattern[p] == name[n] {
            p += 1;
            n += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Which fields of a JSON line to seal, and which of those to index.
///
/// Names are matched against a field's dotted path from the line's root (`user`,
/// `user.email`), with `*` globs; nested objects are searched, arrays are not. An indexed field
/// must also be sealed.
///
/// ```
/// let s = enclog::fields::Selection::new(["user.email", "card*"]).index(["user.email"]);
/// assert!(s.seals("user.email") && s.seals("card") && !s.seals("user"));
/// assert!(s.indexes("user.email") && !s.indexes("card"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    seal: FieldNames,
    index: FieldNames,
}

impl Selection {
    /// Seals the fields matching `names`.
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Selection {
        Selection {
            seal: FieldNames::new(names),
            index: FieldNames::default(),
        }
    }

    /// Also writes a blind index after each sealed field matching `names`.
    pub fn index<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Selection {
        self.index = FieldNames::new(names);
        self
    }

    /// Whether the field at `path` is sealed.
    pub fn seals(&self, path: &str) -> bool {
        self.seal.matches(path)
    }

    /// Whether the field at `path` is sealed and indexed.
    pub fn indexes(&self, path: &str) -> bool {
        self.seals(path) && self.index.matches(path)
    }

    /// Whether any field is to be indexed.
    pub(crate) fn any_index(&self) -> bool {
        !self.index.is_empty()
    }
}

/// Why a line could not be sealed field by field (it can still be sealed whole).
///
/// ```
/// use enclog::fields::{FieldsError, Selection};
/// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
/// let err = sealer.seal_json_fields(b"not json", &Selection::new(["user"]), &mut Vec::new());
/// assert!(matches!(err, Err(FieldsError::NotJson { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FieldsError {
    /// The line is not a JSON object.
    #[error("not a JSON object: {reason}")]
    NotJson {
        /// What is wrong, and at which byte.
        reason: String,
    },
    /// The line has no canonical form (RFC 8785): a repeated key, or a number too large for a
    /// double.
    #[error("the JSON has no canonical form: {reason}")]
    NotCanonical {
        /// Which rule it breaks.
        reason: String,
    },
    /// The line already has a member that sealing would add (`enclog`, or `<name>_idx`).
    #[error("the line already has a member named {key:?}, which a field-sealed line uses")]
    ReservedKey {
        /// The key.
        key: String,
    },
    /// A clear value holds the marker `enclog:`, which a reader would take for a token.
    #[error(
        "a clear value holds the text \"enclog:\", which readers take for the start of a token"
    )]
    MarkerInClearText,
    /// More values to seal than a line may carry.
    #[error("more than {MAX_VALUES} values to seal in one line")]
    TooManyValues,
    /// A field is to be indexed but the sealer has no index key (a recipient writer needs
    /// [`Sealer::set_index_key`](crate::Sealer::set_index_key)).
    #[error(
        "field {field:?} is to be indexed, but the writer seals to a recipient and was given no index key (give it one: `--index-key-file`, `Sealer::set_index_key`)"
    )]
    NoIndexKey {
        /// The field.
        field: String,
    },
    /// The key cannot seal fields (a zato-enclog Fernet key seals whole lines only).
    #[error("a zato-enclog (Fernet) key seals whole lines only, not fields")]
    FernetKey,
    /// Sealing itself failed.
    #[error(transparent)]
    Seal(#[from] crate::error::SealError),
}

/// Appends the JSON object `object` to `out` without its top-level members whose keys are in
/// `keys`, every other byte kept (a comma that separated a removed member goes with it). What
/// `enclog decrypt --authenticated-only` does to the members that a field-sealed line's writer
/// did not write ([`SealedFields::unauthenticated`](crate::read::SealedFields::unauthenticated)).
///
/// ```
/// let mut out = Vec::new();
/// enclog::fields::remove_members(br#"{"host":"web1", "user":"alice","n":1}"#, &["host", "n"], &mut out)?;
/// assert_eq!(out, br#"{"user":"alice"}"#);
/// assert!(enclog::fields::remove_members(b"[1]", &["a"], &mut out).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn remove_members<S: AsRef<str>>(
    object: &[u8],
    keys: &[S],
    out: &mut Vec<u8>,
) -> Result<(), FieldsError> {
    let mut doc = json::Doc::default();
    doc.parse(object).map_err(|e| FieldsError::NotJson {
        reason: e.to_string(),
    })?;
    let root = doc.root();
    if doc.nodes[root].kind != json::Kind::Object {
        return Err(FieldsError::NotJson {
            reason: "the text is a JSON value but not an object".into(),
        });
    }
    // A set: a line of many members to remove must not cost quadratic time.
    let keys: std::collections::HashSet<&str> = keys.iter().map(AsRef::as_ref).collect();
    let removed = |c: usize| {
        let key = &object[doc.nodes[c].key.clone().expect("members have keys")];
        keys.contains(&*json::key_text(key))
    };
    let mut spans = Vec::new();
    doc.removal_spans(root, &removed, &mut spans);
    let mut pos = 0;
    for span in spans {
        out.extend_from_slice(&object[pos..span.start.max(pos)]);
        pos = pos.max(span.end);
    }
    out.extend_from_slice(&object[pos..]);
    Ok(())
}

/// One value of a line to seal, as a writer hands it to the sealer.
#[derive(Clone, Debug)]
pub(crate) struct Value<'a> {
    /// Where the value is: a JSON Pointer for a JSON line, the field's name for a text line.
    pub(crate) path: &'a str,
    /// The field's own key (for its index member and index value).
    pub(crate) name: &'a str,
    /// The value's bytes in the line (a JSON value's text; a text line's value).
    pub(crate) range: Range<usize>,
    /// The text the index is computed over, when the field is indexed (`None`: not indexed).
    pub(crate) index: Option<IndexText<'a>>,
}

/// What an index value is computed over.
#[derive(Clone, Debug)]
pub(crate) enum IndexText<'a> {
    /// Given by the writer (a text line's value without its quoting).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    Given(&'a [u8]),
    /// Derived from the JSON value at the range: a string's characters, or canonical JSON.
    FromJson,
}
