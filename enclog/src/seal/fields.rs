//! Sealing a line field by field (FORMAT.md §11): what does not depend on the session or the
//! sequence number is prepared first ([`Prepared`]: the line with a slot for each value's token,
//! index values, the digest of the clear fields), so that a line that cannot be sealed this way
//! is refused before it takes a sequence number; then [`Sealer::seal_with`] draws the number and
//! [`write`] fills the slots and appends the envelope.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::cipher::PartSealer;
use crate::fields::canonical::Canonical;
use crate::fields::envelope::{self, CoverRef, Entries};
use crate::fields::index::push_index_text;
use crate::fields::json::{self, Doc, Kind};
use crate::fields::{
    ENVELOPE_KEY, FieldsError, INDEX_SUFFIX, IndexKey, IndexText, MAX_VALUES, Selection, Syntax,
    Value,
};
use crate::format::{MARKER, MAX_HEADER_LEN, RecordKind, TAG_LEN};

use super::line::{encode_header, room_before};
use super::session::Session;
use super::{Sealer, SealingKey};

mod aad;

pub(crate) use aad::value_aad;
use aad::{VALUE_HEADER_ROOM, line_aad, value_aad_in, value_header};

/// Domain of the clear fields' digest in a JSON line (FORMAT.md §11.3).
pub(crate) const JSON_DIGEST_DOMAIN: &[u8] = b"enclog-v2 clear json";
/// Domain of the clear text's digest in a text line.
pub(crate) const TEXT_DIGEST_DOMAIN: &[u8] = b"enclog-v2 clear text";

/// One value's place in the prepared line.
#[derive(Debug, Clone)]
struct Slot {
    /// Where its token's characters go in the template (right after its marker).
    at: usize,
    /// Its plaintext in `Prepared::values`.
    value: Range<usize>,
    /// Its length-prefixed path in `Prepared::entries`.
    path: Range<usize>,
}

/// The marker of a value in a JSON line: a JSON string, its token to come before the closing
/// quote.
const QUOTED_MARKER: &[u8] = b"\"enclog:\"";

/// A line ready to be sealed field by field, in buffers reused from line to line.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    syntax: Option<Syntax>,
    /// The line as it will be written, each value's token left out (its marker is there).
    template: Vec<u8>,
    slots: Vec<Slot>,
    /// The values' plaintexts, each with room for its token's header before it and its tag
    /// after it: sealed in place, so that after sealing this holds ciphertext only (before,
    /// a failed line's values are zeroized).
    values: Vec<u8>,
    /// The envelope's entries (each value's path and flags), encoded.
    entries: Entries,
    /// The covered top-level keys of a JSON line (decoded), back to back, and their ranges.
    keys: Vec<u8>,
    key_ranges: Vec<Range<usize>>,
    /// Where a JSON line's envelope member goes in the template: after its last member.
    close: usize,
    /// The object has no other member (no comma before the envelope).
    first: bool,
    digest: [u8; 32],
    doc: Doc,
    doc_in: Doc,
    canonical: Canonical,
    /// The clear part's canonical form, hashed in one call (no plaintext: sealed values are
    /// `"enclog:"` there).
    digest_input: Vec<u8>,
    scratch: Vec<u8>,
    aad: Vec<u8>,
}

impl Prepared {
    fn reset(&mut self) {
        self.syntax = None;
        self.template.clear();
        self.slots.clear();
        wipe_vec(&mut self.values);
        self.entries.clear();
        self.keys.clear();
        self.key_ranges.clear();
    }

    /// Zeroizes what held plaintext (the values, and the scratch a value's index text or
    /// canonical form was built in). Only the bytes in use: what a buffer held before was
    /// wiped when it was used (zeroizing the whole capacity, byte by byte, on every line cost
    /// more than sealing a value).
    pub(crate) fn wipe(&mut self) {
        wipe_vec(&mut self.values);
        wipe_vec(&mut self.scratch);
    }

    /// The values sealed in this line.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Prepares a JSON object `line` whose `values` (sorted, not overlapping) are to be sealed.
    /// Each value's range must be one whole JSON value of the line (it is put back as it is;
    /// the callers take them from a parsed line or write them themselves): the clear part is
    /// parsed once, in the template, and a value only when its index is computed from it.
    pub(crate) fn json(
        &mut self,
        line: &[u8],
        values: &[Value<'_>],
        index_key: Option<&IndexKey>,
    ) -> Result<(), FieldsError> {
        self.template(Syntax::Json, line, values, index_key)?;

        // The template is the line as written, minus the tokens' characters and the envelope:
        // its canonical form is what the envelope's digest covers.
        self.doc
            .parse(&self.template)
            .map_err(|e| FieldsError::NotJson {
                reason: e.to_string(),
            })?;
        if self.doc.nodes[0].kind != Kind::Object {
            return Err(FieldsError::NotJson {
                reason: "the line is a JSON value but not an object".into(),
            });
        }
        if self.doc.member(&self.template, 0, ENVELOPE_KEY).is_some() {
            return Err(FieldsError::ReservedKey {
                key: ENVELOPE_KEY.into(),
            });
        }
        // An index member's key must be new to the line: the line has no other member of
        // that name (anywhere: a reader looks for it next to its value).
        for (i, v) in values.iter().enumerate() {
            if v.index.is_none()
                || values[..i]
                    .iter()
                    .any(|w| w.index.is_some() && w.name == v.name)
            {
                continue;
            }
            let index_name = || v.name.chars().chain(INDEX_SUFFIX.chars());
            let inserted = values
                .iter()
                .filter(|w| w.index.is_some() && w.name == v.name)
                .count();
            let present = (self.doc.nodes.iter())
                .filter(|n| {
                    n.key
                        .as_ref()
                        .is_some_and(|k| json::chars(&self.template[k.clone()]).eq(index_name()))
                })
                .count();
            if present > inserted {
                return Err(FieldsError::ReservedKey {
                    key: index_name().collect(),
                });
            }
        }
        // The envelope goes right after the last member (before any space), so that removing
        // it from there gives the line back byte for byte; in an empty object, after `{`.
        let last = self.doc.children(0).last();
        self.first = last.is_none();
        self.close = last.map_or(self.doc.nodes[0].span.start + 1, |c| {
            self.doc.nodes[c].span.end
        });
        for c in self.doc.children(0) {
            let key = &self.template[self.doc.nodes[c].key.clone().expect("members have keys")];
            let start = self.keys.len();
            json::push_str_value(key, &mut self.keys);
            self.key_ranges.push(start..self.keys.len());
        }
        // Collected, then hashed in one call: the canonical form comes in pieces of a few
        // bytes, and a digest update per piece costs more than the hashing.
        let canonical = &mut self.digest_input;
        canonical.clear();
        canonical.extend_from_slice(JSON_DIGEST_DOMAIN);
        self.canonical
            .write(&self.doc, &self.template, 0, &|_| true, &[], &mut |b| {
                canonical.extend_from_slice(b)
            })
            .map_err(|e| FieldsError::NotCanonical {
                reason: e.to_string(),
            })?;
        let digest = ring::digest::digest(&ring::digest::SHA256, canonical);
        self.digest.copy_from_slice(digest.as_ref());
        self.syntax = Some(Syntax::Json);
        Ok(())
    }

    /// Prepares a text line (`tracing`'s full or compact format) whose `values` (sorted, not
    /// overlapping) are to be sealed; each value's index text is given by the writer.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn text(
        &mut self,
        line: &[u8],
        values: &[Value<'_>],
        index_key: Option<&IndexKey>,
    ) -> Result<(), FieldsError> {
        self.template(Syntax::Text, line, values, index_key)?;
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(TEXT_DIGEST_DOMAIN);
        ctx.update(&self.template);
        self.digest.copy_from_slice(ctx.finish().as_ref());
        self.syntax = Some(Syntax::Text);
        Ok(())
    }

    /// Writes the template of `line` (its bytes, each value's token left out after its marker,
    /// an indexed value followed by its index) and the slots, for either syntax: in a JSON
    /// line a token is a string and an index a member `"<key>_idx":"…"`, in a text line the
    /// token is bare and the index ` <key>_idx=…`.
    fn template(
        &mut self,
        syntax: Syntax,
        line: &[u8],
        values: &[Value<'_>],
        index_key: Option<&IndexKey>,
    ) -> Result<(), FieldsError> {
        self.reset();
        if values.len() > MAX_VALUES {
            return Err(FieldsError::TooManyValues);
        }
        clear_text(line, values)?;
        let json = syntax == Syntax::Json;
        let mut pos = 0;
        for v in values {
            // The callers' own guarantee (they take the values from a parsed line or write
            // them): checked, so that a broken one is refused rather than sliced wrong.
            if v.range.start < pos || v.range.start > v.range.end || v.range.end > line.len() {
                return Err(FieldsError::NotJson {
                    reason: "values to seal overlap or are out of order".into(),
                });
            }
            self.template.extend_from_slice(&line[pos..v.range.start]);
            // `"enclog:"` in a JSON line, `enclog:` in a text line: the token goes after `:`.
            // (Two copies of a constant size: one of a length chosen at run time is a call.)
            let at = if json {
                self.template.extend_from_slice(QUOTED_MARKER);
                self.template.len() - 1
            } else {
                self.template.extend_from_slice(MARKER);
                self.template.len()
            };
            if let Some(text) = &v.index {
                let index_name = || v.name.chars().chain(INDEX_SUFFIX.chars());
                if json {
                    self.template.extend_from_slice(b",\"");
                    json::push_json_str_inner(index_name(), &mut |b| {
                        self.template.extend_from_slice(b)
                    });
                    self.template.extend_from_slice(b"\":\"");
                } else {
                    self.template.push(b' ');
                    self.template.extend_from_slice(v.name.as_bytes());
                    self.template.extend_from_slice(INDEX_SUFFIX.as_bytes());
                    self.template.push(b'=');
                }
                self.push_index(line, v, text, index_key)?;
                if json {
                    self.template.push(b'"');
                }
            }
            self.push_slot(at, &line[v.range.clone()], v.path, v.index.is_some());
            pos = v.range.end;
        }
        self.template.extend_from_slice(&line[pos..]);
        Ok(())
    }

    fn push_slot(&mut self, at: usize, value: &[u8], path: &str, indexed: bool) {
        // Room for the token's header before the value and its tag after it: the value is
        // sealed where it is and the token encoded from there (no copy per value).
        self.values.extend_from_slice(&[0; VALUE_HEADER_ROOM]);
        let v = self.values.len();
        self.values.extend_from_slice(value);
        let end = self.values.len();
        self.values.extend_from_slice(&[0; TAG_LEN]);
        let path = self.entries.push(path, indexed);
        self.slots.push(Slot {
            at,
            value: v..end,
            path,
        });
    }

    /// Appends the index value of `v` to the template.
    fn push_index(
        &mut self,
        line: &[u8],
        v: &Value<'_>,
        text: &IndexText<'_>,
        index_key: Option<&IndexKey>,
    ) -> Result<(), FieldsError> {
        let key = index_key.ok_or_else(|| FieldsError::NoIndexKey {
            field: v.name.to_string(),
        })?;
        self.scratch.clear();
        match text {
            IndexText::Given(text) => self.scratch.extend_from_slice(text),
            IndexText::FromJson => {
                // A string's characters; any other JSON value's canonical form (a number's
                // `1e3` and `1000` index alike).
                self.doc_in
                    .parse(&line[v.range.clone()])
                    .map_err(|e| FieldsError::NotJson {
                        reason: format!("a value to seal is not one JSON value ({e})"),
                    })?;
                push_index_text(
                    &mut self.canonical,
                    &self.doc_in,
                    &line[v.range.clone()],
                    0,
                    &mut self.scratch,
                )
                .map_err(|e| FieldsError::NotCanonical {
                    reason: e.to_string(),
                })?;
            }
        }
        key.push_value(v.name, &self.scratch, &mut self.template);
        wipe_vec(&mut self.scratch);
        Ok(())
    }
}

/// Clear text must not hold the marker: a reader would take what follows for a token. The
/// line is searched once (not each stretch between `values`, sorted): a marker that overlaps
/// a value is not in clear text.
fn clear_text(line: &[u8], values: &[Value<'_>]) -> Result<(), FieldsError> {
    // One searcher for the process: building one per call costs more than the search.
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(MARKER));
    let mut next = values.iter().peekable();
    // The marker cannot overlap itself, so the search finds every occurrence.
    for at in FINDER.find_iter(line) {
        while next.next_if(|v| v.range.end <= at).is_some() {}
        if next
            .peek()
            .is_none_or(|v| v.range.start >= at + MARKER.len())
        {
            return Err(FieldsError::MarkerInClearText);
        }
    }
    Ok(())
}

/// Zeroizes the bytes `buf` holds and empties it (its spare capacity holds nothing: every byte
/// it ever held was wiped this way).
fn wipe_vec(buf: &mut Vec<u8>) {
    zeroize::Zeroize::zeroize(buf.as_mut_slice());
    buf.clear();
}

/// Writes the prepared line as record `seq` of `session`: the template with each value's token
/// in its slot, then the envelope (a JSON line's last member, a text line's last word).
pub(super) fn write(session: &Session, seq: u64, prep: &mut Prepared, out: &mut Vec<u8>) {
    let header = session.header_for(seq, RecordKind::Event, false, true);
    let mut header_bytes = [0u8; MAX_HEADER_LEN];
    let header_len = header.write_into(&mut header_bytes);
    let envelope_header = &header_bytes[..header_len];
    let cipher = (session.cipher.as_ref()).expect("only a usable session seals, and it has a key");
    let syntax = prep.syntax.expect("a prepared line");
    let line_start = out.len();
    let aad_base = line_aad(envelope_header, &mut prep.aad);

    // The key expanded once for all the values (the forward-secure mode's is per call).
    let pos =
        cipher.with_parts(|parts| write_values(parts, seq, header_bytes[0], aad_base, prep, out));
    let (body_end, tail) = match syntax {
        Syntax::Json => (prep.close, &prep.template[prep.close..]),
        Syntax::Text => (prep.template.len(), &[][..]),
    };
    out.extend_from_slice(&prep.template[pos..body_end]);
    let covered = out.len() - line_start;

    // The envelope's body, sealed as the record: room for the header (and link) before it.
    let start = room_before(0);
    let scratch = &mut prep.scratch;
    scratch.clear();
    scratch.resize(start, 0);
    let cover = match syntax {
        Syntax::Json => CoverRef::Keys {
            text: &prep.keys,
            ranges: &prep.key_ranges,
        },
        Syntax::Text => CoverRef::Text(covered),
    };
    envelope::encode(syntax, &prep.entries, cover, &prep.digest, scratch);
    match syntax {
        Syntax::Json => {
            if !prep.first {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(ENVELOPE_KEY.as_bytes());
            out.extend_from_slice(b"\":\"");
        }
        Syntax::Text => out.push(b' '),
    }
    encode_header(header, session, None, scratch, start, out);
    debug_assert_eq!(out.last(), Some(&b'\n'));
    out.pop();
    if syntax == Syntax::Json {
        out.push(b'"');
        out.extend_from_slice(tail);
    }
    out.push(b'\n');
    // Only ciphertext is left: the values were encrypted where they were, and so was the
    // envelope's body in `scratch`.
    prep.values.clear();
    prep.scratch.clear();
}

/// Writes the template up to each value's slot, then the value's token (sealed where it is in
/// `prep.values`, as record `seq`'s part 1, 2, …, with the version and mode byte `vm`); returns
/// where the rest of the template starts.
fn write_values(
    cipher: &PartSealer<'_>,
    seq: u64,
    vm: u8,
    aad_base: usize,
    prep: &mut Prepared,
    out: &mut Vec<u8>,
) -> usize {
    let mut pos = 0;
    for (i, slot) in prep.slots.iter().enumerate() {
        out.extend_from_slice(&prep.template[pos..slot.at]);
        let part = u32::try_from(i + 1).expect("at most MAX_VALUES values");
        let vh = value_header(vm, part);
        let aad = value_aad_in(
            vh,
            prep.entries.path(slot.path.clone()),
            aad_base,
            &mut prep.aad,
        );
        // header ‖ value ‖ tag, contiguous in `values`: the value encrypted where it is.
        let token = slot.value.start - vh.1..slot.value.end + TAG_LEN;
        prep.values[slot.value.start - VALUE_HEADER_ROOM..slot.value.start].copy_from_slice(&vh.0);
        let (body, tag_room) =
            prep.values[slot.value.start..token.end].split_at_mut(slot.value.len());
        let tag = cipher.seal_part(part, seq, aad, body);
        tag_room.copy_from_slice(&tag);
        crate::format::base64url::encode_append(&prep.values[token], out);
        pos = slot.at;
    }
    pos
}

thread_local! {
    /// The thread's prepared line: reused, so a warm thread seals fields without allocating.
    static PREPARED: RefCell<Prepared> = RefCell::new(Prepared::default());
}

/// Runs `f` with the thread's [`Prepared`] (a fresh one when it is in use or gone).
pub(crate) fn with_prepared<R>(f: impl FnOnce(&mut Prepared) -> R) -> R {
    let mut f = Some(f);
    let ran = PREPARED.try_with(|cell| {
        cell.try_borrow_mut()
            .ok()
            .map(|mut prep| (f.take().expect("once"))(&mut prep))
    });
    match ran {
        Ok(Some(r)) => r,
        _ => (f.take().expect("not run"))(&mut Prepared::default()),
    }
}

/// The values of a JSON line that `selection` seals: each field whose dotted path from the root
/// matches (nested objects are searched, arrays are not), in line order.
pub(crate) fn select_json(
    line: &[u8],
    doc: &Doc,
    selection: &Selection,
    paths: &mut Vec<(String, String, Range<usize>, bool)>,
) {
    fn walk(
        line: &[u8],
        doc: &Doc,
        node: usize,
        dotted: &mut String,
        pointer: &mut String,
        selection: &Selection,
        out: &mut Vec<(String, String, Range<usize>, bool)>,
    ) {
        for c in doc.children(node) {
            let n = &doc.nodes[c];
            let key_raw = &line[n.key.clone().expect("members have keys")];
            let key: String = json::chars(key_raw).collect();
            let (d, p) = (dotted.len(), pointer.len());
            if !dotted.is_empty() {
                dotted.push('.');
            }
            dotted.push_str(&key);
            json::push_pointer_token(&key, pointer);
            if selection.seals(dotted) {
                out.push((
                    pointer.clone(),
                    key,
                    n.span.clone(),
                    selection.indexes(dotted),
                ));
            } else if n.kind == Kind::Object {
                walk(line, doc, c, dotted, pointer, selection, out);
            }
            dotted.truncate(d);
            pointer.truncate(p);
        }
    }
    paths.clear();
    if doc.nodes.first().map(|n| n.kind) == Some(Kind::Object) {
        walk(
            line,
            doc,
            0,
            &mut String::new(),
            &mut String::new(),
            selection,
            paths,
        );
    }
}

impl Sealer {
    /// Seals the fields of a JSON object `line` that `selection` names, in place, and appends
    /// the line (newline included) to `out`; returns how many values were sealed.
    ///
    /// Every other byte of the line is kept (key order, spacing, a number's text). Each sealed
    /// value becomes a JSON string holding its token; an indexed one is followed by its
    /// [blind index](crate::fields::IndexKey) as a member `<key>_idx`; the envelope goes last,
    /// as the member `"enclog"`. A line with none of the fields still gets an envelope (its
    /// place in the session, and its clear fields authenticated). What the line's clear
    /// fields are and how they are authenticated: [`fields`](crate::fields), FORMAT.md §11.
    ///
    /// A line that cannot be sealed this way (not a JSON object, a repeated key, a member named
    /// `enclog`, the marker `enclog:` in a clear value, an index asked for without an index key)
    /// is refused with a [`FieldsError`] before it takes a sequence number: seal it whole instead
    /// (as `enclog encrypt --fields` does). Its plaintext is not written anywhere.
    ///
    /// ```
    /// use enclog::fields::Selection;
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// let mut out = Vec::new();
    /// let n = sealer.seal_json_fields(br#"{"user":{"email":"a@example.com"},"n":1}"#,
    ///     &Selection::new(["user.email"]), &mut out)?;
    /// assert_eq!(n, 1);
    /// assert!(out.starts_with(br#"{"user":{"email":"enclog:"#));
    /// assert!(std::str::from_utf8(&out)?.contains(r#"},"n":1,"enclog":"enclog:"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seal_json_fields(
        &self,
        line: &[u8],
        selection: &Selection,
        out: &mut Vec<u8>,
    ) -> Result<usize, FieldsError> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut doc = Doc::default();
        doc.parse(line).map_err(|e| FieldsError::NotJson {
            reason: e.to_string(),
        })?;
        let mut selected = Vec::new();
        select_json(line, &doc, selection, &mut selected);
        let values: Vec<Value<'_>> = selected
            .iter()
            .map(|(pointer, name, range, indexed)| Value {
                path: pointer,
                name,
                range: range.clone(),
                index: indexed.then_some(IndexText::FromJson),
            })
            .collect();
        let index_key = if selection.any_index() {
            self.index_key()
        } else {
            None
        };
        with_prepared(|prep| {
            let prepared = prep.json(line, &values, index_key.as_deref());
            if let Err(e) = prepared {
                prep.wipe();
                return Err(e);
            }
            let n = prep.len();
            self.seal_prepared(prep, out, |_| ())?;
            Ok(n)
        })
    }

    /// Seals a prepared line as the next record and hands it to `write` under the session's
    /// order lock.
    pub(crate) fn seal_prepared<R>(
        &self,
        prep: &mut Prepared,
        out: &mut Vec<u8>,
        write: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, FieldsError> {
        if let SealingKey::Fernet(_) = &**self.shared.key.load() {
            prep.wipe();
            return Err(FieldsError::FernetKey);
        }
        let sealed = self.seal_inner(None, super::line::Plaintext::Fields(prep), out, true, write);
        sealed.map_err(FieldsError::from)
    }

    /// The key index values are computed with: the one set with [`Sealer::set_index_key`], or
    /// else the symmetric key's own ([`IndexKey::from_key`]); `None` for a recipient writer
    /// without one.
    pub(crate) fn index_key(&self) -> Option<Arc<IndexKey>> {
        if let Some(explicit) = self.shared.index_key.load_full() {
            return Some(explicit);
        }
        let generation = self.shared.key_generation.load(Ordering::Acquire);
        if let Some(derived) = self.shared.derived_index.load().as_ref()
            && derived.0 == generation
        {
            return Some(Arc::clone(&derived.1));
        }
        // The generation is read before the key: a key replaced in between leaves an entry of
        // the old generation, derived again at the next line.
        let key = self.shared.key.load();
        let SealingKey::Symmetric(key) = &**key else {
            return None;
        };
        let fresh = Arc::new(IndexKey::from_key(key));
        self.shared
            .derived_index
            .store(Some(Arc::new((generation, Arc::clone(&fresh)))));
        Some(fresh)
    }

    /// Sets the key that [blind index](crate::fields::IndexKey) values are computed with. A
    /// writer that seals to a [`Recipient`](crate::Recipient) needs one to index fields (it
    /// has no secret of its own, and an index derived from the public recipient would let
    /// anyone test guesses); a symmetric writer uses its own key's unless one is set here (one
    /// set here keeps index values stable across key rotations).
    ///
    /// ```
    /// use enclog::fields::{IndexKey, Selection};
    /// let identity = enclog::Identity::generate()?;
    /// let sealer = enclog::Sealer::new(identity.recipient());
    /// let selection = Selection::new(["user"]).index(["user"]);
    /// let line = br#"{"user":"alice"}"#;
    /// assert!(sealer.seal_json_fields(line, &selection, &mut Vec::new()).is_err());
    /// let index_key = IndexKey::from_key(&enclog::Key::generate()?);
    /// sealer.set_index_key(Some(index_key.clone()));
    /// let mut out = Vec::new();
    /// sealer.seal_json_fields(line, &selection, &mut out)?;
    /// let alice = index_key.value("user", b"alice");
    /// assert!(std::str::from_utf8(&out)?.contains(&format!(r#""user_idx":"{alice}""#)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_index_key(&self, key: Option<IndexKey>) {
        self.shared.index_key.store(key.map(std::sync::Arc::new));
    }
}

#[cfg(test)]
mod tests;
