//! A JSON reader that keeps every value's place in the line: what sealing fields in place
//! (rewrite one value, keep every other byte), restoring them, and the canonical form of the
//! clear fields need. Parsing fills a reusable arena, so a warm writer parses without
//! allocating.

use std::ops::Range;

/// How deep objects and arrays may nest: deeper input is refused (threat: a crafted line that
/// overflows the reader's stack).
pub(crate) const MAX_DEPTH: usize = 128;

/// What a node holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

/// One value of the document, in pre-order: a container's members follow it.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    /// The value's bytes in the line (a string with its quotes).
    pub(crate) span: Range<usize>,
    /// For an object's member: its key's bytes, quotes included.
    pub(crate) key: Option<Range<usize>>,
    /// How many nodes this one spans, itself included (to step over it).
    pub(crate) size: usize,
    /// For a string: whether it holds a backslash escape.
    pub(crate) escaped: bool,
}

/// Why a line is not JSON this module can work with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// The byte offset where it went wrong.
    pub(crate) at: usize,
    pub(crate) what: &'static str,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at + 1)
    }
}

/// A parsed document: its nodes over the line they came from.
#[derive(Debug, Default)]
pub(crate) struct Doc {
    pub(crate) nodes: Vec<Node>,
}

impl Doc {
    /// Parses `text` (one JSON value, whitespace around it allowed) into this arena.
    pub(crate) fn parse(&mut self, text: &[u8]) -> Result<(), Invalid> {
        self.nodes.clear();
        let mut p = Parser {
            text,
            at: 0,
            nodes: &mut self.nodes,
        };
        p.ws();
        p.value(0)?;
        p.ws();
        if p.at != text.len() {
            return Err(p.err("text after the JSON value"));
        }
        Ok(())
    }

    /// The root node (parse first).
    pub(crate) fn root(&self) -> usize {
        0
    }

    /// The direct members (or elements) of container `i`: node indexes.
    pub(crate) fn children(&self, i: usize) -> Children<'_> {
        Children {
            doc: self,
            next: i + 1,
            end: i + self.nodes[i].size,
        }
    }

    /// The member `key` of object `i` (the first one, when the object repeats a key).
    pub(crate) fn member(&self, text: &[u8], i: usize, key: &str) -> Option<usize> {
        self.children(i).find(|&c| {
            let span = self.nodes[c]
                .key
                .clone()
                .expect("an object's members have keys");
            str_equals(&text[span], key)
        })
    }

    /// Resolves a JSON Pointer (RFC 6901) from the root: `""` is the root, `/a/0/b`…
    pub(crate) fn pointer(&self, text: &[u8], pointer: &str) -> Option<usize> {
        let mut at = self.root();
        if pointer.is_empty() {
            return Some(at);
        }
        let rest = pointer.strip_prefix('/')?;
        for token in rest.split('/') {
            let token = unescape_pointer(token);
            at = match self.nodes[at].kind {
                Kind::Object => self.member(text, at, &token)?,
                Kind::Array => {
                    if token.len() > 1 && token.starts_with('0') {
                        return None;
                    }
                    let n: usize = token.parse().ok()?;
                    self.children(at).nth(n)?
                }
                _ => return None,
            };
        }
        Some(at)
    }
}

impl Doc {
    /// The member of an object found by its dotted path from the root (`user`, `req.user`),
    /// as [`Selection`](crate::fields::Selection) names fields: keys joined with `.`, nested
    /// objects searched, arrays not. Returns the object that holds it and the member.
    pub(crate) fn dotted(&self, text: &[u8], path: &str) -> Option<(usize, usize)> {
        let mut at = self.root();
        let mut rest = path;
        'level: loop {
            if self.nodes[at].kind != Kind::Object {
                return None;
            }
            for c in self.children(at) {
                let key = &text[self.nodes[c]
                    .key
                    .clone()
                    .expect("an object's members have keys")];
                // The key is a prefix of what is left of the path: the whole of it (found), or
                // followed by `.` and more (look inside). A key holding a `.` is matched whole.
                let mut chars = chars(key);
                let mut left = rest.chars();
                let whole = loop {
                    match (chars.next(), left.clone().next()) {
                        (None, _) => break true,
                        (Some(a), Some(b)) if a == b => {
                            left.next();
                        }
                        _ => break false,
                    }
                };
                if !whole {
                    continue;
                }
                let left = left.as_str();
                if left.is_empty() {
                    return Some((at, c));
                }
                if let Some(deeper) = left.strip_prefix('.')
                    && self.nodes[c].kind == Kind::Object
                {
                    at = c;
                    rest = deeper;
                    continue 'level;
                }
            }
            return None;
        }
    }

    /// Appends to `out` the bytes to remove to take out of object `parent` every member for
    /// which `removed` holds: from the end of the member kept before it (its comma
    /// included), or, for a member with none kept before it, up to the next member's key. One
    /// pass over the members (threat: a line of many members costing quadratic time).
    pub(crate) fn removal_spans(
        &self,
        parent: usize,
        removed: &dyn Fn(usize) -> bool,
        out: &mut Vec<Range<usize>>,
    ) {
        let key_start = |n: &Node| n.key.as_ref().expect("members have keys").start;
        let mut prev: Option<usize> = None;
        let mut kept_before = false;
        let mut pending: Option<usize> = None;
        let mut close =
            |member: usize, prev: Option<usize>, kept_before: bool, next: Option<usize>| {
                let node = &self.nodes[member];
                out.push(match (prev, next) {
                    (Some(p), _) if kept_before => self.nodes[p].span.end..node.span.end,
                    (_, Some(n)) => key_start(node)..key_start(&self.nodes[n]),
                    (Some(p), None) => self.nodes[p].span.end..node.span.end,
                    (None, None) => key_start(node)..node.span.end,
                });
            };
        let mut pending_ctx = (None, false);
        for c in self.children(parent) {
            if let Some(m) = pending.take() {
                close(m, pending_ctx.0, pending_ctx.1, Some(c));
            }
            if removed(c) {
                pending = Some(c);
                pending_ctx = (prev, kept_before);
            } else {
                kept_before = true;
            }
            prev = Some(c);
        }
        if let Some(m) = pending {
            close(m, pending_ctx.0, pending_ctx.1, None);
        }
    }
}

/// A JSON string's text (quotes included, checked by the parser) as a `str`: borrowed when it
/// holds no escape, decoded otherwise.
pub(crate) fn key_text(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    if raw.contains(&b'\\') {
        chars(raw).collect::<String>().into()
    } else {
        std::str::from_utf8(&raw[1..raw.len() - 1])
            .unwrap_or_default()
            .into()
    }
}

/// Iterator over a container's direct members.
#[derive(Debug)]
pub(crate) struct Children<'a> {
    doc: &'a Doc,
    next: usize,
    end: usize,
}

impl Iterator for Children<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let at = self.next;
        self.next += self.doc.nodes[at].size;
        Some(at)
    }
}

/// `~1` → `/`, `~0` → `~` (RFC 6901 §4).
fn unescape_pointer(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~").into()
    } else {
        token.into()
    }
}

/// Appends `key` as a JSON Pointer reference token (`~` → `~0`, `/` → `~1`), after a `/`.
pub(crate) fn push_pointer_token(key: &str, out: &mut String) {
    out.push('/');
    for c in key.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

struct Parser<'a, 'n> {
    text: &'a [u8],
    at: usize,
    nodes: &'n mut Vec<Node>,
}

impl Parser<'_, '_> {
    fn err(&self, what: &'static str) -> Invalid {
        Invalid { at: self.at, what }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn value(&mut self, depth: usize) -> Result<(), Invalid> {
        self.value_with_key(depth, None)
    }

    fn value_with_key(&mut self, depth: usize, key: Option<Range<usize>>) -> Result<(), Invalid> {
        let start = self.at;
        let me = self.nodes.len();
        let push = |nodes: &mut Vec<Node>, kind| {
            nodes.push(Node {
                kind,
                span: start..start,
                key,
                size: 1,
                escaped: false,
            })
        };
        match self.peek() {
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return Err(self.err("JSON nested too deeply"));
                }
                push(self.nodes, Kind::Object);
                self.at += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                } else {
                    loop {
                        self.ws();
                        if self.peek() != Some(b'"') {
                            return Err(self.err("expected a key (a string)"));
                        }
                        let key_start = self.at;
                        self.string()?;
                        let key = key_start..self.at;
                        self.ws();
                        if self.peek() != Some(b':') {
                            return Err(self.err("expected ':' after a key"));
                        }
                        self.at += 1;
                        self.ws();
                        self.value_with_key(depth + 1, Some(key))?;
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.at += 1,
                            Some(b'}') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(self.err("expected ',' or '}' in an object")),
                        }
                    }
                }
            }
            Some(b'[') => {
                if depth >= MAX_DEPTH {
                    return Err(self.err("JSON nested too deeply"));
                }
                push(self.nodes, Kind::Array);
                self.at += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.at += 1;
                } else {
                    loop {
                        self.ws();
                        self.value(depth + 1)?;
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.at += 1,
                            Some(b']') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(self.err("expected ',' or ']' in an array")),
                        }
                    }
                }
            }
            Some(b'"') => {
                push(self.nodes, Kind::String);
                let escaped = self.string()?;
                self.nodes[me].escaped = escaped;
            }
            Some(b't') => {
                self.literal(b"true")?;
                push(self.nodes, Kind::True);
            }
            Some(b'f') => {
                self.literal(b"false")?;
                push(self.nodes, Kind::False);
            }
            Some(b'n') => {
                self.literal(b"null")?;
                push(self.nodes, Kind::Null);
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                push(self.nodes, Kind::Number);
            }
            Some(_) => return Err(self.err("expected a JSON value")),
            None => return Err(self.err("the JSON text ends early")),
        }
        let size = self.nodes.len() - me;
        let node = &mut self.nodes[me];
        node.span = start..self.at;
        node.size = size;
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Invalid> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(self.err("expected a JSON value"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<(), Invalid> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        Ok(())
    }

    /// A string from its opening quote; returns whether it has escapes. Checks UTF-8 and
    /// escapes (a lone surrogate is refused: canonical JSON needs valid Unicode).
    fn string(&mut self) -> Result<bool, Invalid> {
        self.at += 1;
        let start = self.at;
        let mut escaped = false;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("a string is not closed"));
            };
            match b {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.at += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.at += 1
                        }
                        Some(b'u') => {
                            let unit = self.hex4()?;
                            if (0xd800..0xdc00).contains(&unit) {
                                if self.text.get(self.at..self.at + 2) != Some(b"\\u") {
                                    return Err(self.err("a lone surrogate in a string"));
                                }
                                self.at += 1;
                                let low = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&low) {
                                    return Err(self.err("a lone surrogate in a string"));
                                }
                            } else if (0xdc00..0xe000).contains(&unit) {
                                return Err(self.err("a lone surrogate in a string"));
                            }
                        }
                        _ => return Err(self.err("invalid escape in a string")),
                    }
                }
                0x00..=0x1f => return Err(self.err("a control character in a string")),
                _ => self.at += 1,
            }
        }
        if std::str::from_utf8(&self.text[start..self.at]).is_err() {
            return Err(Invalid {
                at: start,
                what: "a string that is not UTF-8",
            });
        }
        self.at += 1;
        Ok(escaped)
    }

    /// After a backslash at `self.at` pointing to `u`: reads `uXXXX`.
    fn hex4(&mut self) -> Result<u32, Invalid> {
        self.at += 1;
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .ok_or(self.err("invalid \\u escape"))?;
        let mut v = 0;
        for &d in digits {
            v = v * 16
                + char::from(d)
                    .to_digit(16)
                    .ok_or(self.err("invalid \\u escape"))?;
        }
        self.at += 4;
        Ok(v)
    }
}

/// The characters of a JSON string's text (quotes included, already checked by the parser),
/// escapes decoded.
pub(crate) fn chars(raw: &[u8]) -> impl Iterator<Item = char> + '_ {
    let inner = &raw[1..raw.len() - 1];
    let text = std::str::from_utf8(inner).unwrap_or("");
    let mut it = text.chars();
    std::iter::from_fn(move || {
        let c = it.next()?;
        if c != '\\' {
            return Some(c);
        }
        Some(match it.next()? {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let unit = hex(&mut it);
                if (0xd800..0xdc00).contains(&unit) {
                    it.next(); // '\'
                    it.next(); // 'u'
                    let low = hex(&mut it);
                    char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))
                        .unwrap_or('\u{fffd}')
                } else {
                    char::from_u32(unit).unwrap_or('\u{fffd}')
                }
            }
            other => other, // '"', '\\', '/'
        })
    })
}

fn hex(it: &mut std::str::Chars<'_>) -> u32 {
    (0..4).fold(0, |v, _| {
        v * 16 + it.next().and_then(|c| c.to_digit(16)).unwrap_or(0)
    })
}

/// Whether the JSON string `raw` (quotes included) holds exactly `s`.
pub(crate) fn str_equals(raw: &[u8], s: &str) -> bool {
    if !raw.contains(&b'\\') {
        return &raw[1..raw.len() - 1] == s.as_bytes();
    }
    chars(raw).eq(s.chars())
}

/// Appends the decoded text of the JSON string `raw` (quotes included) to `out`.
pub(crate) fn push_str_value(raw: &[u8], out: &mut Vec<u8>) {
    if !raw.contains(&b'\\') {
        out.extend_from_slice(&raw[1..raw.len() - 1]);
        return;
    }
    let mut buf = [0u8; 4];
    for c in chars(raw) {
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
}

/// Appends `s` as a JSON string, quotes included, escaped as RFC 8785 does (`"`, `\` and
/// control characters only).
#[cfg(test)]
pub(crate) fn push_json_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    push_json_str_inner(s.chars(), &mut |b| out.extend_from_slice(b));
    out.push(b'"');
}

/// Writes the characters of a JSON string's contents, escaped as RFC 8785 does.
pub(crate) fn push_json_str_inner(chars: impl Iterator<Item = char>, put: &mut dyn FnMut(&[u8])) {
    let mut buf = [0u8; 6];
    for c in chars {
        match c {
            '"' => put(b"\\\""),
            '\\' => put(b"\\\\"),
            '\u{8}' => put(b"\\b"),
            '\u{c}' => put(b"\\f"),
            '\n' => put(b"\\n"),
            '\r' => put(b"\\r"),
            '\t' => put(b"\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let v = c as usize;
                let esc = [b'\\', b'u', b'0', b'0', HEX[v >> 4], HEX[v & 15]];
                put(&esc);
            }
            c => put(c.encode_utf8(&mut buf[..4]).as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Doc, Invalid> {
        let mut doc = Doc::default();
        doc.parse(text.as_bytes()).map(|()| doc)
    }

    #[test]
    fn spans_point_at_each_value_in_the_line() {
        let text = r#" {"a": 1.5e3, "b" : {"c":[true,null,"x\"y"]}, "d":"é"} "#;
        let doc = parse(text).unwrap();
        let t = text.as_bytes();
        let a = doc.pointer(t, "/a").unwrap();
        assert_eq!(&text[doc.nodes[a].span.clone()], "1.5e3");
        let x = doc.pointer(t, "/b/c/2").unwrap();
        assert_eq!(&text[doc.nodes[x].span.clone()], r#""x\"y""#);
        assert!(doc.nodes[x].escaped);
        assert_eq!(
            chars(&t[doc.nodes[x].span.clone()]).collect::<String>(),
            "x\"y"
        );
        assert!(doc.pointer(t, "/b/c/3").is_none());
        assert!(doc.pointer(t, "/b/c/01").is_none());
        assert_eq!(doc.children(doc.root()).count(), 3);
    }

    #[test]
    fn invalid_json_is_refused_with_where() {
        for (text, what) in [
            ("{", "expected a key (a string)"),
            ("[1,", "the JSON text ends early"),
            (r#"{"a":1,}"#, "expected a key (a string)"),
            (r#"{"a":01}"#, "expected ',' or '}' in an object"),
            (r#"{"a":"\ud800"}"#, "a lone surrogate in a string"),
            ("{\"a\":\"\u{1}\"}", "a control character in a string"),
            (r#"{"a":1} x"#, "text after the JSON value"),
            (r#"{"a":tru}"#, "expected a JSON value"),
        ] {
            assert_eq!(parse(text).unwrap_err().what, what, "{text}");
        }
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&deep).unwrap_err().what, "JSON nested too deeply");
        assert!(parse(&("[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH))).is_ok());
    }

    #[test]
    fn escapes_decode_including_surrogate_pairs() {
        let raw = br#""a\u00e9\ud83d\ude00\n\/""#;
        assert_eq!(chars(raw).collect::<String>(), "aé😀\n/");
        assert!(str_equals(raw, "aé😀\n/"));
        let mut out = Vec::new();
        push_json_str("q\"\\\u{1}\n", &mut out);
        assert_eq!(out, br#""q\"\\\u0001\n""#);
    }
}
