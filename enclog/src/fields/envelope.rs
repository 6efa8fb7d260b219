//! The body of a field envelope (FORMAT.md §11.2): which values of the line are sealed, which
//! clear fields the line had, and the digest of their canonical form.

use std::ops::Range;

use crate::error::OpenError;
use crate::format::{MAX_VARINT_LEN, read_varint, varint_into};

use super::Syntax;

/// The most sealed values one line may carry (the nonce's `part` field has room for far more;
/// this bounds the work of a crafted line).
pub const MAX_VALUES: usize = 1024;
/// The digest of the clear fields.
pub(crate) const DIGEST_LEN: usize = 32;
const INDEXED: u8 = 0x01;

/// One sealed value as the envelope names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Where it is: a JSON Pointer (RFC 6901) in a JSON line, the field's name in a text line.
    pub(crate) path: String,
    /// An index value follows it.
    pub(crate) indexed: bool,
}

/// What the writer covered: the top-level keys of a JSON line, or the length of a text line's
/// covered text (the bytes just before ` enclog:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cover {
    Keys(Vec<String>),
    Text(usize),
}

/// An envelope's body, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub(crate) syntax: Syntax,
    pub(crate) entries: Vec<Entry>,
    pub(crate) cover: Cover,
    pub(crate) digest: [u8; DIGEST_LEN],
}

fn push_varint(v: u64, out: &mut Vec<u8>) {
    // One byte for the counts and lengths of an ordinary line.
    if v < 0x80 {
        out.push(v as u8);
        return;
    }
    let mut buf = [0u8; MAX_VARINT_LEN];
    let n = varint_into(v, &mut buf);
    out.extend_from_slice(&buf[..n]);
}

fn push_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    push_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// Appends a sealed value's path as the envelope and the value's associated data hold it:
/// `leb128(len) ‖ path`.
pub(crate) fn push_path(path: &[u8], out: &mut Vec<u8>) {
    push_bytes(path, out);
}

/// A line's envelope entries, encoded as they are added (each sealed value's length-prefixed
/// path and its flags), so that a value's associated data takes its path from here and the
/// envelope takes all of them in one copy.
#[derive(Debug, Default)]
pub(crate) struct Entries {
    bytes: Vec<u8>,
    count: usize,
}

impl Entries {
    /// Empties it for the next line.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.count = 0;
    }

    /// Appends one entry; returns where its length-prefixed path is (see [`Entries::path`]).
    pub(crate) fn push(&mut self, path: &str, indexed: bool) -> Range<usize> {
        let start = self.bytes.len();
        push_path(path.as_bytes(), &mut self.bytes);
        let end = self.bytes.len();
        self.bytes.push(if indexed { INDEXED } else { 0 });
        self.count += 1;
        start..end
    }

    /// An entry's `leb128(len) ‖ path`, at the range [`Entries::push`] returned.
    pub(crate) fn path(&self, at: Range<usize>) -> &[u8] {
        &self.bytes[at]
    }
}

/// Appends an envelope body: its sealed values' `entries`, `cover` the covered keys (JSON) or
/// text length.
pub(crate) fn encode(
    syntax: Syntax,
    entries: &Entries,
    cover: CoverRef<'_>,
    digest: &[u8; DIGEST_LEN],
    out: &mut Vec<u8>,
) {
    out.push(syntax.byte());
    push_varint(entries.count as u64, out);
    out.extend_from_slice(&entries.bytes);
    match cover {
        CoverRef::Keys { text, ranges } => {
            push_varint(ranges.len() as u64, out);
            for range in ranges {
                push_bytes(&text[range.clone()], out);
            }
        }
        CoverRef::Text(len) => push_varint(len as u64, out),
    }
    out.extend_from_slice(digest);
}

/// The cover as the writer has it: the keys (decoded) back to back in `text`, each at its
/// range; or a text line's covered length.
#[derive(Debug)]
pub(crate) enum CoverRef<'a> {
    Keys {
        text: &'a [u8],
        ranges: &'a [std::ops::Range<usize>],
    },
    Text(usize),
}

fn malformed(reason: &'static str) -> OpenError {
    OpenError::Malformed { reason }
}

fn take_varint(body: &mut &[u8], reason: &'static str) -> Result<u64, OpenError> {
    let (v, n) = read_varint(body).map_err(|_| malformed(reason))?;
    *body = &body[n..];
    Ok(v)
}

fn take_str(body: &mut &[u8], reason: &'static str) -> Result<String, OpenError> {
    let len = take_varint(body, reason)?;
    let len = usize::try_from(len)
        .ok()
        .filter(|&l| l <= body.len())
        .ok_or(malformed(reason))?;
    let (s, rest) = body.split_at(len);
    *body = rest;
    String::from_utf8(s.to_vec()).map_err(|_| malformed(reason))
}

/// Parses an envelope body (already authenticated).
pub(crate) fn parse(mut body: &[u8]) -> Result<Envelope, OpenError> {
    let (&syntax, rest) = body
        .split_first()
        .ok_or(malformed("an empty field envelope"))?;
    body = rest;
    let syntax =
        Syntax::from_byte(syntax).ok_or(malformed("unknown line syntax in a field envelope"))?;
    let n = take_varint(&mut body, "field envelope: bad value count")?;
    if n > MAX_VALUES as u64 {
        return Err(malformed("field envelope: too many sealed values"));
    }
    let mut entries = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let path = take_str(&mut body, "field envelope: bad field path")?;
        let (&flags, rest) = body
            .split_first()
            .ok_or(malformed("field envelope: cut after a field path"))?;
        body = rest;
        if flags & !INDEXED != 0 {
            return Err(malformed("field envelope: reserved flags set"));
        }
        entries.push(Entry {
            path,
            indexed: flags & INDEXED != 0,
        });
    }
    let cover = match syntax {
        Syntax::Json => {
            let m = take_varint(&mut body, "field envelope: bad key count")?;
            if m > body.len() as u64 {
                return Err(malformed("field envelope: bad key count"));
            }
            let mut keys = Vec::with_capacity(m as usize);
            for _ in 0..m {
                keys.push(take_str(&mut body, "field envelope: bad clear key")?);
            }
            Cover::Keys(keys)
        }
        Syntax::Text => {
            let len = take_varint(&mut body, "field envelope: bad covered length")?;
            Cover::Text(
                usize::try_from(len)
                    .map_err(|_| malformed("field envelope: bad covered length"))?,
            )
        }
    };
    let digest: [u8; DIGEST_LEN] = body
        .try_into()
        .map_err(|_| malformed("field envelope: the digest is not 32 bytes at its end"))?;
    Ok(Envelope {
        syntax,
        entries,
        cover,
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_bad_ones_are_malformed() {
        let mut out = Vec::new();
        let mut entries = Entries::default();
        entries.push("/fields/user", true);
        let card = entries.push("/fields/card", false);
        assert_eq!(entries.path(card), b"\x0c/fields/card");
        encode(
            Syntax::Json,
            &entries,
            CoverRef::Keys {
                text: b"levelfields",
                ranges: &[0..5, 5..11],
            },
            &[7; 32],
            &mut out,
        );
        let env = parse(&out).unwrap();
        assert_eq!(env.entries[0].path, "/fields/user");
        assert!(env.entries[0].indexed && !env.entries[1].indexed);
        assert_eq!(
            env.cover,
            Cover::Keys(vec!["level".into(), "fields".into()])
        );
        for cut in 0..out.len() {
            assert!(parse(&out[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = out.clone();
        bad[0] = 9;
        assert!(parse(&bad).is_err());
    }
}
