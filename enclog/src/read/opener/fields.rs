//! Opening a field-sealed line (FORMAT.md §11): its envelope first (session, sequence number,
//! the sealed values' paths, the digest of the clear fields), then each value, checked to sit
//! where the envelope says; the line comes back restored, every value in its place.

use std::ops::Range;
use std::sync::Arc;

use crate::error::OpenError;
use crate::fields::canonical::Canonical;
use crate::fields::envelope::{self, Cover, Envelope};
use crate::fields::json::{self, Doc, Kind};
use crate::fields::{ENVELOPE_KEY, INDEX_CHARS, INDEX_SUFFIX, Syntax};
use crate::format::header::{FIELD_ENVELOPE, SEALED_VALUE};
use crate::format::{self, MAX_HEADER_LEN, RecordKind, TAG_LEN};
use crate::seal::fields::{JSON_DIGEST_DOMAIN, TEXT_DIGEST_DOMAIN, value_aad};

use super::{MetaStatus, Opened, Opener, Sequence};

/// What a field-sealed line sealed, and what of it is authenticated.
///
/// ```
/// use enclog::fields::{Selection, Syntax};
/// let key = enclog::Key::generate()?;
/// let mut line = Vec::new();
/// enclog::Sealer::new(key.clone())
///     .seal_json_fields(br#"{"user":"alice","n":1}"#, &Selection::new(["user"]), &mut line)?;
/// // A shipper adds a field on the way: it is not authenticated, and said so.
/// let shipped = String::from_utf8(line)?.replacen('{', r#"{"host":"web1","#, 1);
/// let mut opener = enclog::Opener::new(key.into());
/// let opened = opener.open(shipped.as_bytes()).unwrap()?;
/// let fields = opened.fields.as_ref().unwrap();
/// assert_eq!((fields.syntax, &fields.sealed[..]), (Syntax::Json, &["/user".to_string()][..]));
/// assert_eq!(fields.unauthenticated, ["host"]);
/// assert_eq!(opened.meta_status, enclog::read::MetaStatus::Matches); // the rest is as written
/// assert_eq!(opened.plaintext, br#"{"host":"web1","user":"alice","n":1}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealedFields {
    /// JSON or text.
    pub syntax: Syntax,
    /// Where the sealed values were: JSON Pointers (RFC 6901) in a JSON line, field names in a
    /// text line.
    pub sealed: Vec<String>,
    /// Which of them carried a blind index (the same paths).
    pub indexed: Vec<String>,
    /// Top-level keys of a JSON line that the writer did not write (added on the way, by a
    /// shipper or anyone): kept in the restored line, but not authenticated.
    pub unauthenticated: Vec<String>,
}

/// The opener's buffers for field-sealed lines, reused from line to line. No `Debug` of its
/// contents: they hold plaintext.
#[derive(Default)]
pub(super) struct Scratch {
    restored: Vec<u8>,
    values: Vec<u8>,
    doc: Doc,
    /// Where each opened JSON value is checked to be one value.
    value_doc: Doc,
    canonical: Canonical,
    raw: Vec<u8>,
    aad: Vec<u8>,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scratch(<plaintext buffers>)")
    }
}

/// Whether a token's characters start a field-sealed line's token (an envelope or a sealed
/// value of version 2).
pub(super) fn is_field_token(chars: &[u8]) -> bool {
    token_type(chars).is_some_and(|t| t == FIELD_ENVELOPE || t == SEALED_VALUE)
}

/// The record type of a version 2 token, from its first three characters (no allocation: this
/// runs for every line a reader opens).
fn token_type(chars: &[u8]) -> Option<u8> {
    fn sextet(c: u8) -> Option<u8> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        })
    }
    let [a, b, c, ..] = *chars else { return None };
    let (a, b, c) = (sextet(a)?, sextet(b)?, sextet(c)?);
    let vm = (a << 2) | (b >> 4);
    let kind = ((b & 0x0f) << 4) | (c >> 2);
    (vm >> 4 == 2).then_some(kind & 0x3f)
}

/// Every token of a line, in order.
fn tokens(line: &[u8]) -> Vec<format::Located> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(at) = format::locate(&line[pos..]) {
        out.push(format::Located {
            marker: pos + at.marker,
            start: pos + at.start,
            end: pos + at.end,
        });
        pos += at.end;
    }
    out
}

fn malformed(reason: &'static str) -> OpenError {
    OpenError::Malformed { reason }
}

/// A removal or a replacement in the line, to restore it.
#[derive(Clone, Debug)]
struct Edit {
    span: Range<usize>,
    /// The value's plaintext in `Scratch::values`; `None`: removed.
    value: Option<Range<usize>>,
}

impl Opener {
    /// Opens a field-sealed line: see the module's doc.
    pub(super) fn open_field_line<'a>(
        &'a mut self,
        line: &'a [u8],
    ) -> Result<Opened<'a>, OpenError> {
        let found = tokens(line);
        let mut envelopes = found
            .iter()
            .filter(|t| token_type(&line[t.start..t.end]) == Some(FIELD_ENVELOPE));
        let env_at = *envelopes.next().ok_or(malformed(
            "sealed values without their line's field envelope",
        ))?;
        if envelopes.next().is_some() {
            return Err(malformed("a line with two field envelopes"));
        }
        let record = self.open_record(&line[env_at.start..env_at.end])?;
        let header = record.header;
        let mut env_header = [0u8; MAX_HEADER_LEN];
        env_header[..record.header_len].copy_from_slice(&self.buf[..record.header_len]);
        let env_header = &env_header[..record.header_len];
        let envelope = envelope::parse(&self.buf[record.body.clone()])?;
        let cipher = Arc::clone(
            &self
                .recent
                .as_ref()
                .expect("an opened record leaves its session cached")
                .1,
        );
        if found.len() != envelope.entries.len() + 1 {
            return Err(malformed(
                "the line's tokens are not its envelope and the values it names",
            ));
        }
        let opened_value = |scratch: &mut Scratch, part: usize, at: &format::Located| {
            let value = ValueAt {
                env_header,
                seq: header.seq,
                key_id: header.key_id,
                path: &envelope.entries[part].path,
                part,
            };
            open_value(scratch, &cipher, &value, &line[at.start..at.end])
        };

        let scratch = &mut self.fields;
        // A line that failed after some of its values opened left them here: gone now.
        zeroize::Zeroize::zeroize(&mut scratch.values[..]);
        scratch.values.clear();
        scratch.restored.clear();
        let (before, after, status, unauthenticated) = match envelope.syntax {
            Syntax::Json => {
                let obj_start = line
                    .iter()
                    .position(|&b| b == b'{')
                    .ok_or(malformed("a JSON field-sealed line without its object"))?;
                let obj_end = line.iter().rposition(|&b| b == b'}').map_or(0, |e| e + 1);
                if obj_end <= env_at.end {
                    return Err(malformed("a JSON field-sealed line without its object"));
                }
                let obj = &line[obj_start..obj_end];
                let mut doc = std::mem::take(&mut scratch.doc);
                let result = json_line(
                    scratch,
                    &mut doc,
                    obj,
                    obj_start,
                    &envelope,
                    env_at,
                    &found,
                    &opened_value,
                );
                scratch.doc = doc;
                let (status, unauthenticated) = result?;
                (
                    &line[..obj_start],
                    &line[obj_end..],
                    status,
                    unauthenticated,
                )
            }
            Syntax::Text => {
                let Cover::Text(len) = envelope.cover else {
                    return Err(malformed(
                        "a text line's envelope without its covered length",
                    ));
                };
                let covered_end = env_at
                    .marker
                    .checked_sub(1)
                    .filter(|&e| line[e] == b' ')
                    .ok_or(malformed("a text line's envelope not after a space"))?;
                let covered_start = covered_end.checked_sub(len).ok_or(malformed(
                    "a text line's envelope covers more than its line",
                ))?;
                let mut values: Vec<(usize, format::Located)> = Vec::new();
                for at in values_in(&found, env_at) {
                    // Inside the covered text, whole (threat: a value moved after the envelope,
                    // which a reader slicing up to the covered end would trip on).
                    if at.marker < covered_start || at.end > covered_end {
                        return Err(malformed("a sealed value outside its line's covered text"));
                    }
                    let part = value_part(&line[at.start..at.end])?;
                    values.push((part, *at));
                }
                let status = text_line(
                    scratch,
                    line,
                    covered_start..covered_end,
                    &envelope,
                    &values,
                    &opened_value,
                )?;
                (
                    &line[..covered_start],
                    &line[env_at.end..],
                    status,
                    Vec::new(),
                )
            }
        };
        let mut indexed = Vec::new();
        let mut sealed = Vec::with_capacity(envelope.entries.len());
        for entry in envelope.entries {
            if entry.indexed {
                indexed.push(entry.path.clone());
            }
            sealed.push(entry.path);
        }
        Ok(Opened {
            plaintext: &self.fields.restored,
            before,
            after,
            meta: None,
            meta_status: status,
            key_id: header.key_id,
            mode: header.mode,
            sequence: Some(Sequence {
                session: header.session_id(),
                seq: header.seq,
            }),
            record: RecordKind::Event,
            link: record.link,
            tag: record.tag,
            version: header.version,
            timestamp: None,
            fields: Some(Box::new(SealedFields {
                syntax: envelope.syntax,
                sealed,
                indexed,
                unauthenticated,
            })),
        })
    }
}

fn values_in(
    found: &[format::Located],
    env: format::Located,
) -> impl Iterator<Item = &format::Located> {
    found.iter().filter(move |t| t.marker != env.marker)
}

/// The `part` of a sealed value's token (its header, not yet authenticated).
fn value_part(chars: &[u8]) -> Result<usize, OpenError> {
    let mut head = Vec::with_capacity(15);
    let n = chars.len().min(16) / 4 * 4;
    format::base64url::decode_into(&chars[..n], &mut head)
        .ok_or(malformed("invalid base64 in a sealed value"))?;
    if head.len() < 3 || head[1] != SEALED_VALUE {
        return Err(malformed(
            "a token in a field-sealed line that is not a sealed value",
        ));
    }
    let (part, _) = format::read_varint(&head[2..])?;
    usize::try_from(part)
        .ok()
        .filter(|&p| p >= 1)
        .map(|p| p - 1)
        .ok_or(malformed("a sealed value's part is 0"))
}

/// Which value of which envelope a token should be.
struct ValueAt<'a> {
    env_header: &'a [u8],
    seq: u64,
    key_id: crate::key::KeyId,
    path: &'a str,
    /// Its entry in the envelope (its nonce part is one more).
    part: usize,
}

/// Opens the sealed value `chars` into `scratch.values`; returns its range there.
fn open_value(
    scratch: &mut Scratch,
    cipher: &crate::cipher::SessionCipher,
    at: &ValueAt<'_>,
    chars: &[u8],
) -> Result<Range<usize>, OpenError> {
    let ValueAt {
        env_header,
        seq,
        key_id,
        path,
        part,
    } = *at;
    if chars.len() % 4 == 1 {
        return Err(OpenError::Truncated {
            reason: "a sealed value's base64 text is cut mid-character",
        });
    }
    format::decode_token(chars, &mut scratch.raw)?;
    let raw = &mut scratch.raw;
    if raw.len() < 2 || raw[0] != env_header[0] || raw[1] != SEALED_VALUE {
        return Err(malformed(
            "a sealed value of another version or mode than its envelope",
        ));
    }
    let (got, n) = format::read_varint(&raw[2..])?;
    let header_len = 2 + n;
    let want = u64::try_from(part + 1).expect("a small number");
    if got != want || raw.len() < header_len + TAG_LEN {
        return Err(malformed("a sealed value out of its place in the envelope"));
    }
    value_aad(
        &raw[..header_len],
        env_header,
        path.as_bytes(),
        &mut scratch.aad,
    );
    let part32 =
        u32::try_from(want).map_err(|_| malformed("a sealed value's part is too large"))?;
    let (_, body) = raw.split_at_mut(header_len);
    // Threat: a value moved from another line or field, or altered: its nonce (the line's
    // seq), its place (part, path) or its envelope's header differ, and it does not open.
    let Some(plain) = cipher.open_part(part32, seq, &scratch.aad, body) else {
        return Err(OpenError::Corrupted { key_id });
    };
    let start = scratch.values.len();
    scratch.values.extend_from_slice(plain);
    zeroize::Zeroize::zeroize(&mut scratch.raw);
    Ok(start..scratch.values.len())
}

type OpenValue<'f> =
    dyn Fn(&mut Scratch, usize, &format::Located) -> Result<Range<usize>, OpenError> + 'f;

/// A JSON line: each value at its path, the clear fields' digest, the line restored.
#[allow(clippy::too_many_arguments)]
fn json_line(
    scratch: &mut Scratch,
    doc: &mut Doc,
    obj: &[u8],
    obj_start: usize,
    envelope: &Envelope,
    env_at: format::Located,
    found: &[format::Located],
    open: &OpenValue<'_>,
) -> Result<(MetaStatus, Vec<String>), OpenError> {
    doc.parse(obj)
        .map_err(|_| malformed("a field-sealed line that is not valid JSON"))?;
    if doc.nodes[0].kind != Kind::Object {
        return Err(malformed("a field-sealed line that is not a JSON object"));
    }
    // Where a token's characters sit in the object: `"enclog:` just before them, `"` after.
    // Nodes are in pre-order, so sorted by where they start: found by binary search.
    let token_node = |at: &format::Located| -> Option<usize> {
        let start = at.marker.checked_sub(obj_start + 1)?;
        let end = at.end - obj_start + 1;
        let i = doc
            .nodes
            .binary_search_by_key(&start, |n| n.span.start)
            .ok()?;
        (doc.nodes[i].kind == Kind::String && doc.nodes[i].span.end == end).then_some(i)
    };
    // Exactly one top-level `enclog` member, holding the envelope (threat: a second one, its
    // value the attacker's, passing as part of the envelope and kept in the restored line).
    let mut envelopes = doc.children(0).filter(|&c| {
        json::str_equals(
            &obj[doc.nodes[c].key.clone().expect("members have keys")],
            ENVELOPE_KEY,
        )
    });
    let env_node = envelopes.next().ok_or(malformed(
        "the envelope is not the line's \"enclog\" member",
    ))?;
    if envelopes.next().is_some() {
        return Err(malformed("a line with two \"enclog\" members"));
    }
    if token_node(&env_at) != Some(env_node) {
        return Err(malformed(
            "the envelope is not the line's \"enclog\" member",
        ));
    }
    // Each token's node, once (threat: quadratic work on a line of many values).
    let mut token_nodes: Vec<(usize, usize)> = found
        .iter()
        .enumerate()
        .filter_map(|(i, t)| token_node(t).map(|n| (n, i)))
        .collect();
    token_nodes.sort_unstable();
    let mut edits = Vec::with_capacity(2 * envelope.entries.len() + 1);
    let mut sealed_nodes = Vec::with_capacity(envelope.entries.len());
    // The members to remove (index members, the envelope), with the object that holds each.
    let mut removed = Vec::with_capacity(envelope.entries.len() + 1);
    for (part, entry) in envelope.entries.iter().enumerate() {
        let node = doc.pointer(obj, &entry.path).ok_or(malformed(
            "a sealed field the envelope names is missing from the line",
        ))?;
        let at = token_nodes
            .binary_search_by_key(&node, |&(n, _)| n)
            .ok()
            .map(|i| &found[token_nodes[i].1])
            .ok_or(malformed(
                "a sealed field that does not hold a sealed value",
            ))?;
        let value = open(scratch, part, at)?;
        // The plaintext goes back as the value it was: exactly one JSON value (threat: whoever
        // can seal — a holder of the public recipient — injecting members after the digest
        // was checked, as `"x","level":"DEBUG"`).
        let Scratch {
            value_doc, values, ..
        } = &mut *scratch;
        if value_doc.parse(&values[value.clone()]).is_err() {
            return Err(malformed("a sealed value that is not one JSON value"));
        }
        edits.push(Edit {
            span: doc.nodes[node].span.clone(),
            value: Some(value),
        });
        sealed_nodes.push(node);
        if entry.indexed {
            let (parent, name) = split_pointer(&entry.path);
            let index_member = doc.pointer(obj, parent).and_then(|p| {
                doc.children(p)
                    .find(|&c| {
                        let key = &obj[doc.nodes[c].key.clone().expect("members have keys")];
                        json::chars(key).eq(name.chars().chain(INDEX_SUFFIX.chars()))
                    })
                    .map(|member| (p, member))
            });
            removed.extend(index_member);
        }
    }
    removed.push((0, env_node));
    // Spans computed knowing every member removed: two removed members side by side (a
    // shipper may put the envelope first) must not leave a comma behind. One pass per object.
    removed.sort_unstable();
    removed.dedup();
    let members: Vec<usize> = {
        let mut m: Vec<usize> = removed.iter().map(|&(_, m)| m).collect();
        m.sort_unstable();
        m
    };
    let is_removed = |c: usize| members.binary_search(&c).is_ok();
    let mut spans = Vec::new();
    let mut parents: Vec<usize> = removed.iter().map(|&(p, _)| p).collect();
    parents.dedup();
    for parent in parents {
        doc.removal_spans(parent, &is_removed, &mut spans);
    }
    edits.extend(spans.into_iter().map(|span| Edit { span, value: None }));
    sealed_nodes.sort_unstable();

    // The clear fields the writer wrote, in canonical form, against the envelope's digest.
    let Cover::Keys(keys) = &envelope.cover else {
        return Err(malformed("a JSON line's envelope without its keys"));
    };
    // A set: a line of many members must not cost quadratic time.
    let keys: std::collections::HashSet<&str> = keys.iter().map(String::as_str).collect();
    let covered = |raw: &[u8]| keys.contains(&*json::key_text(raw));
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(JSON_DIGEST_DOMAIN);
    let canonical = scratch.canonical.write(
        doc,
        obj,
        0,
        &|raw| covered(raw) && !json::str_equals(raw, ENVELOPE_KEY),
        &sealed_nodes,
        &mut |b| ctx.update(b),
    );
    let status = match canonical {
        Ok(()) if crate::cipher::same(ctx.finish().as_ref(), &envelope.digest) => {
            MetaStatus::Matches
        }
        _ => MetaStatus::Differs,
    };
    let unauthenticated = doc
        .children(0)
        .filter_map(|c| {
            let raw = &obj[doc.nodes[c].key.clone().expect("members have keys")];
            (!covered(raw) && !json::str_equals(raw, ENVELOPE_KEY))
                .then(|| json::chars(raw).collect())
        })
        .collect();
    restore(scratch, obj, &mut edits);
    Ok((status, unauthenticated))
}

/// `/a/b/c` → (`/a/b`, `c`), the last reference token unescaped.
fn split_pointer(pointer: &str) -> (&str, String) {
    let cut = pointer.rfind('/').unwrap_or(0);
    let name = pointer[(cut + 1).min(pointer.len())..]
        .replace("~1", "/")
        .replace("~0", "~");
    (&pointer[..cut], name)
}

/// Applies `edits` to `text` into `scratch.restored` (overlapping removals merge).
fn restore(scratch: &mut Scratch, text: &[u8], edits: &mut [Edit]) {
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let mut pos = 0;
    for e in edits.iter() {
        let start = e.span.start.max(pos);
        scratch.restored.extend_from_slice(&text[pos..start]);
        if let Some(v) = &e.value {
            scratch
                .restored
                .extend_from_slice(&scratch.values[v.clone()]);
        }
        pos = pos.max(e.span.end);
    }
    scratch.restored.extend_from_slice(&text[pos..]);
    zeroize::Zeroize::zeroize(&mut scratch.values);
}

/// A text line: each value after its `name=`, the covered text's digest, the line restored.
fn text_line(
    scratch: &mut Scratch,
    line: &[u8],
    covered: Range<usize>,
    envelope: &Envelope,
    values: &[(usize, format::Located)],
    open: &OpenValue<'_>,
) -> Result<MetaStatus, OpenError> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(TEXT_DIGEST_DOMAIN);
    let mut edits = Vec::with_capacity(2 * values.len());
    let mut pos = covered.start;
    let mut seen = vec![false; envelope.entries.len()];
    for (part, at) in values {
        let entry = envelope
            .entries
            .get(*part)
            .ok_or(malformed("a sealed value the envelope does not name"))?;
        if std::mem::replace(&mut seen[*part], true) {
            return Err(malformed("a sealed value twice in one line"));
        }
        let name_eq = [entry.path.as_bytes(), b"="].concat();
        if !line[covered.start..at.marker].ends_with(&name_eq) {
            return Err(malformed(
                "a sealed value that is not after its field's name",
            ));
        }
        let value = open(scratch, *part, at)?;
        // A text value goes back into one line: no line break in it (threat: a sealed value
        // that, restored, reads as a line of its own).
        if scratch.values[value.clone()]
            .iter()
            .any(|&b| b == b'\n' || b == b'\r')
        {
            return Err(malformed(
                "a sealed value of a text line holds a line break",
            ));
        }
        if at.start < pos {
            return Err(malformed("sealed values of a text line out of order"));
        }
        ctx.update(&line[pos..at.start]);
        pos = at.end;
        edits.push(Edit {
            span: at.marker - covered.start..at.end - covered.start,
            value: Some(value),
        });
        if entry.indexed {
            let mut idx = b" ".to_vec();
            idx.extend_from_slice(entry.path.as_bytes());
            idx.extend_from_slice(INDEX_SUFFIX.as_bytes());
            idx.push(b'=');
            let end = at.end + idx.len() + INDEX_CHARS;
            if line.get(at.end..at.end + idx.len()) == Some(&idx[..]) && end <= covered.end {
                edits.push(Edit {
                    span: at.end - covered.start..end - covered.start,
                    value: None,
                });
            }
        }
    }
    if seen.iter().any(|s| !s) {
        return Err(malformed(
            "a sealed field the envelope names is missing from the line",
        ));
    }
    ctx.update(&line[pos..covered.end]);
    let status = if crate::cipher::same(ctx.finish().as_ref(), &envelope.digest) {
        MetaStatus::Matches
    } else {
        MetaStatus::Differs
    };
    restore(scratch, &line[covered], &mut edits);
    Ok(status)
}

#[cfg(test)]
mod tests;
