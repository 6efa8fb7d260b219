//! Finding the events that hold one value of one field: by the field's blind index where a line
//! has one (without opening the line), else in the line restored. What `enclog grep` does.

use zeroize::Zeroizing;

use super::canonical::Canonical;
use super::index::push_index_text;
use super::json::{self, Doc, Kind};
use super::{INDEX_SUFFIX, IndexKey};

/// What a line's blind index says about a [`Search`], before the line is opened.
///
/// ```
/// assert_ne!(enclog::fields::ByIndex::Matches, enclog::fields::ByIndex::NotIndexed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ByIndex {
    /// The line's index of the field is the value's, under one of the search's keys.
    Matches,
    /// The line indexes the field, with another value (or under keys the search lacks).
    Differs,
    /// The line has no index of the field (not indexed, not JSON, sealed whole): only its
    /// restored text can tell ([`Search::in_plaintext`]).
    NotIndexed,
}

/// One value of one field to look for in JSON lines: the field at a dotted path (`user`,
/// `req.user`, as [`Selection`](super::Selection) names fields), and the value's
/// [index text](super::index_text).
///
/// A field-sealed line whose field is indexed is judged by its index alone
/// ([`Search::by_index`]): the line need not be opened, and the index is compared under every
/// key given (a log written across key rotations). Any other line is judged once opened, by the
/// field's value in the restored line ([`Search::in_plaintext`]).
///
/// ```
/// use enclog::fields::{ByIndex, IndexKey, Search, Selection};
/// let key = enclog::Key::generate()?;
/// let sealer = enclog::Sealer::new(key.clone());
/// let selection = Selection::new(["user"]).index(["user"]);
/// let mut alice = Vec::new();
/// sealer.seal_json_fields(br#"{"user":"alice","n":1}"#, &selection, &mut alice)?;
/// let mut bob = Vec::new();
/// sealer.seal_json_fields(br#"{"user":"bob","n":2}"#, &selection, &mut bob)?;
///
/// let search = Search::new("user", b"alice", [&IndexKey::from_key(&key)]);
/// assert_eq!(search.by_index(&alice), ByIndex::Matches);
/// assert_eq!(search.by_index(&bob), ByIndex::Differs);
/// assert_eq!(search.by_index(br#"{"user":"alice"}"#), ByIndex::NotIndexed);
/// assert!(search.in_plaintext(br#"{"user":"alice"}"#));
/// assert!(!search.in_plaintext(br#"{"user":"alice2"}"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Search {
    path: String,
    /// The index member's key: the field's own key and [`INDEX_SUFFIX`].
    index_member: String,
    text: Zeroizing<Vec<u8>>,
    index: Vec<String>,
}

impl Search {
    /// A search for the value whose index text is `value` (a string's characters; for any other
    /// JSON value, [`index_text`](super::index_text) of it) in the field at `path`, by its index
    /// under each of `keys`.
    pub fn new<'k>(
        path: &str,
        value: &[u8],
        keys: impl IntoIterator<Item = &'k IndexKey>,
    ) -> Search {
        let name = field_name(path);
        Search {
            path: path.to_owned(),
            index_member: format!("{name}{INDEX_SUFFIX}"),
            text: Zeroizing::new(value.to_vec()),
            index: keys.into_iter().map(|k| k.value(name, value)).collect(),
        }
    }

    /// The index values the search looks for, one per key, in the keys' order.
    ///
    /// ```
    /// use enclog::fields::{IndexKey, Search};
    /// let index = IndexKey::from_key(&enclog::Key::generate()?);
    /// let search = Search::new("req.user", b"alice", [&index]);
    /// assert_eq!(search.index_values(), [index.value("user", b"alice")]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn index_values(&self) -> &[String] {
        &self.index
    }

    /// What `line`'s blind index of the field says, without opening it. The line is a JSON
    /// object, maybe with text around it (a syslog header), as a field-sealed line is. A search
    /// made with no key cannot judge by index: every line is [`ByIndex::NotIndexed`] to it.
    ///
    /// The index is clear text: a line whose index was altered is judged by the altered
    /// index (`enclog verify` and the reader report the edit as edited clear fields); an
    /// index computed under a key the search was not given is [`ByIndex::Differs`] to it.
    pub fn by_index(&self, line: &[u8]) -> ByIndex {
        if self.index.is_empty()
            || memchr::memmem::find(line, self.index_member.as_bytes()).is_none()
        {
            return ByIndex::NotIndexed;
        }
        let Some(object) = object_in(line) else {
            return ByIndex::NotIndexed;
        };
        let mut doc = Doc::default();
        if doc.parse(object).is_err() {
            return ByIndex::NotIndexed;
        }
        let Some((parent, _)) = doc.dotted(object, &self.path) else {
            return ByIndex::NotIndexed;
        };
        let Some(member) = doc.member(object, parent, &self.index_member) else {
            return ByIndex::NotIndexed;
        };
        let node = &doc.nodes[member];
        if node.kind != Kind::String {
            return ByIndex::NotIndexed;
        }
        let raw = &object[node.span.clone()];
        if self.index.iter().any(|v| json::str_equals(raw, v)) {
            ByIndex::Matches
        } else {
            ByIndex::Differs
        }
    }

    /// Whether the field holds the value in `plaintext`: a JSON object (a field-sealed line
    /// restored, or a line sealed whole or never sealed that holds one, maybe with text around
    /// it). Values compare by their index text, so `1e3` finds `1000`.
    pub fn in_plaintext(&self, plaintext: &[u8]) -> bool {
        let Some(object) = object_in(plaintext) else {
            return false;
        };
        let mut doc = Doc::default();
        if doc.parse(object).is_err() {
            return false;
        }
        let Some((_, node)) = doc.dotted(object, &self.path) else {
            return false;
        };
        let mut text = Zeroizing::new(Vec::new());
        push_index_text(&mut Canonical::default(), &doc, object, node, &mut text).is_ok()
            && text[..] == self.text[..]
    }
}

impl std::fmt::Debug for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The value is what the operator looks for: kept out of debug output, like a key.
        f.debug_struct("Search")
            .field("path", &self.path)
            .field("value", &"<redacted>")
            .field("index", &self.index)
            .finish()
    }
}

/// The field's own key in a dotted path (`req.user` → `user`): what its index member and index
/// value are named by.
///
/// ```
/// assert_eq!(enclog::fields::field_name("req.user"), "user");
/// assert_eq!(enclog::fields::field_name("user"), "user");
/// ```
pub fn field_name(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// The JSON object in a line: from its first `{` to its last `}` (as the reader finds a
/// field-sealed line's object).
pub(crate) fn object_in(line: &[u8]) -> Option<&[u8]> {
    let start = memchr::memchr(b'{', line)?;
    let end = memchr::memrchr(b'}', line)?;
    (end > start).then(|| &line[start..=end])
}
