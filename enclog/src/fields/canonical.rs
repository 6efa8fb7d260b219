//! The canonical form of JSON (RFC 8785, JCS) that a field-sealed line's clear fields are
//! authenticated in: members sorted by key (UTF-16 code units), numbers as ECMAScript prints
//! them, strings with the minimal escapes, no whitespace. A shipper that re-serialises the line
//! (reorders keys, changes spacing or escapes, writes `1e3` as `1000`) leaves it unchanged.

use std::cmp::Ordering;
use std::io::Write as _;

use super::json::{self, Doc, Kind};

/// Why a value has no canonical form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotCanonical {
    /// An object repeats a key (RFC 8785 §3.1 needs unique keys).
    DuplicateKey,
    /// A number too large for a double (`1e400`).
    Infinite,
}

impl std::fmt::Display for NotCanonical {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotCanonical::DuplicateKey => "an object repeats a key",
            NotCanonical::Infinite => "a number is too large for a double",
        })
    }
}

/// Writes canonical JSON, reusing its buffer of member indexes.
#[derive(Debug, Default)]
pub(crate) struct Canonical {
    order: Vec<usize>,
}

impl Canonical {
    /// Writes node `i` of `doc` (over `text`) canonically to `put`. For the root object,
    /// `keep` chooses which members are written (the others are left out as if absent). The
    /// nodes in `sealed` (sorted) are written as the string `"enclog:"`: a sealed value's
    /// token, without its characters (FORMAT.md §11.3).
    pub(crate) fn write(
        &mut self,
        doc: &Doc,
        text: &[u8],
        i: usize,
        keep: &dyn Fn(&[u8]) -> bool,
        sealed: &[usize],
        put: &mut dyn FnMut(&[u8]),
    ) -> Result<(), NotCanonical> {
        let node = &doc.nodes[i];
        if sealed.binary_search(&i).is_ok() {
            put(b"\"enclog:\"");
            return Ok(());
        }
        match node.kind {
            Kind::Object => {
                let base = self.order.len();
                self.order.extend(doc.children(i).filter(|&c| {
                    keep(&text[doc.nodes[c].key.clone().expect("object members have keys")])
                }));
                let key = |c: usize| &text[doc.nodes[c].key.clone().expect("keys")];
                self.order[base..].sort_by(|&a, &b| utf16_cmp(key(a), key(b)));
                for w in base + 1..self.order.len() {
                    if utf16_cmp(key(self.order[w - 1]), key(self.order[w])) == Ordering::Equal {
                        self.order.truncate(base);
                        return Err(NotCanonical::DuplicateKey);
                    }
                }
                put(b"{");
                for n in base..self.order.len() {
                    if n > base {
                        put(b",");
                    }
                    let c = self.order[n];
                    write_string(key(c), put);
                    put(b":");
                    let all = |_: &[u8]| true;
                    if let Err(e) = self.write(doc, text, c, &all, sealed, put) {
                        self.order.truncate(base);
                        return Err(e);
                    }
                }
                put(b"}");
                self.order.truncate(base);
            }
            Kind::Array => {
                put(b"[");
                for (n, c) in doc.children(i).enumerate() {
                    if n > 0 {
                        put(b",");
                    }
                    self.write(doc, text, c, &|_| true, sealed, put)?;
                }
                put(b"]");
            }
            Kind::String => write_string(&text[node.span.clone()], put),
            Kind::Number => write_number(&text[node.span.clone()], put)?,
            Kind::True => put(b"true"),
            Kind::False => put(b"false"),
            Kind::Null => put(b"null"),
        }
        Ok(())
    }
}

/// A JSON string (quotes included) in canonical form.
fn write_string(raw: &[u8], put: &mut dyn FnMut(&[u8])) {
    put(b"\"");
    if raw.contains(&b'\\') {
        json::push_json_str_inner(json::chars(raw), put);
    } else {
        // No escapes and (checked by the parser) no control characters: already canonical.
        put(&raw[1..raw.len() - 1]);
    }
    put(b"\"");
}

/// Compares two JSON strings' texts by their UTF-16 code units (RFC 8785 §3.2.3).
fn utf16_cmp(a: &[u8], b: &[u8]) -> Ordering {
    if !a.contains(&b'\\') && !b.contains(&b'\\') && a.is_ascii() && b.is_ascii() {
        return a[1..a.len() - 1].cmp(&b[1..b.len() - 1]);
    }
    let units = |raw| {
        json::chars(raw).flat_map(|c| {
            let mut buf = [0u16; 2];
            let n = c.encode_utf16(&mut buf).len();
            buf.into_iter().take(n)
        })
    };
    units(a).cmp(units(b))
}

/// A JSON number's text in canonical form: the double it denotes, printed as ECMAScript's
/// `Number.prototype.toString` does (RFC 8785 §3.2.2.3).
pub(crate) fn write_number(raw: &[u8], put: &mut dyn FnMut(&[u8])) -> Result<(), NotCanonical> {
    let text = std::str::from_utf8(raw).expect("the parser checked the number");
    let v: f64 = text.parse().expect("the parser checked the number");
    if !v.is_finite() {
        return Err(NotCanonical::Infinite);
    }
    let mut buf = [0u8; 40];
    let len = es6_number(v, &mut buf);
    put(&buf[..len]);
    Ok(())
}

/// ECMAScript's `Number.prototype.toString(v)` for a finite `v`, into `out`; returns the length.
fn es6_number(v: f64, out: &mut [u8; 40]) -> usize {
    if v == 0.0 {
        out[0] = b'0';
        return 1;
    }
    // Rust prints the shortest digits that read back as `v`; `{:e}` gives them with an
    // exponent: `d[.ddd]e±x`.
    let mut sci = [0u8; 40];
    let mut cursor = &mut sci[..];
    write!(cursor, "{:e}", v.abs()).expect("40 bytes hold any f64");
    let written = 40 - cursor.len();
    let sci = &sci[..written];
    let e_at = sci.iter().position(|&b| b == b'e').expect("an exponent");
    let mut digits = [0u8; 20];
    let mut k = 0;
    for &b in &sci[..e_at] {
        if b != b'.' {
            digits[k] = b;
            k += 1;
        }
    }
    let exp: i32 = std::str::from_utf8(&sci[e_at + 1..])
        .expect("ASCII")
        .parse()
        .expect("an integer exponent");
    let n = exp + 1; // v = 0.d1…dk × 10^n
    let k_i = k as i32;
    let mut w = Writer { out, len: 0 };
    if v < 0.0 {
        w.push(b'-');
    }
    let digits = &digits[..k];
    if k_i <= n && n <= 21 {
        w.extend(digits);
        for _ in 0..n - k_i {
            w.push(b'0');
        }
    } else if 0 < n && n <= 21 {
        w.extend(&digits[..n as usize]);
        w.push(b'.');
        w.extend(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        w.extend(b"0.");
        for _ in 0..-n {
            w.push(b'0');
        }
        w.extend(digits);
    } else {
        w.push(digits[0]);
        if k > 1 {
            w.push(b'.');
            w.extend(&digits[1..]);
        }
        w.push(b'e');
        let e = n - 1;
        w.push(if e < 0 { b'-' } else { b'+' });
        let mut ebuf = [0u8; 4];
        let mut c = &mut ebuf[..];
        write!(c, "{}", e.unsigned_abs()).expect("4 bytes");
        let elen = 4 - c.len();
        w.extend(&ebuf[..elen]);
    }
    w.len
}

struct Writer<'a> {
    out: &'a mut [u8; 40],
    len: usize,
}

impl Writer<'_> {
    fn push(&mut self, b: u8) {
        self.out[self.len] = b;
        self.len += 1;
    }
    fn extend(&mut self, bytes: &[u8]) {
        self.out[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> Result<String, NotCanonical> {
        let mut doc = Doc::default();
        doc.parse(text.as_bytes()).unwrap();
        let mut out = Vec::new();
        Canonical::default().write(&doc, text.as_bytes(), 0, &|_| true, &[], &mut |b| {
            out.extend_from_slice(b)
        })?;
        Ok(String::from_utf8(out).unwrap())
    }

    /// RFC 8785 §3.2.2.3's number table and Appendix B's samples.
    #[test]
    fn numbers_print_as_ecmascript_does() {
        for (input, expected) in [
            ("0", "0"),
            ("-0", "0"),
            ("1", "1"),
            ("-1.5", "-1.5"),
            ("1e3", "1000"),
            ("1E+21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("123456789012345678901", "123456789012345680000"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("5e-324", "5e-324"),
            ("9007199254740993", "9007199254740992"),
            ("333333333.33333329", "333333333.3333333"),
            ("1e23", "1e+23"),
            ("4.50", "4.5"),
            ("2e-3", "0.002"),
            ("0.000012345", "0.000012345"),
        ] {
            assert_eq!(canon(input).unwrap(), expected, "{input}");
        }
        assert_eq!(canon("1e400"), Err(NotCanonical::Infinite));
    }

    #[test]
    fn objects_sort_by_utf16_and_strings_take_minimal_escapes() {
        // RFC 8785 §3.2.3's sorting example: "\r" < "1" < "\u0080" < "ö" < "€" < "😀" < "ﬂ".
        let text = r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#;
        assert_eq!(
            canon(text).unwrap(),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
        assert_eq!(
            canon(r#" { "b" : [ 1 , "\u0041\/" ] , "a" : { } } "#).unwrap(),
            r#"{"a":{},"b":[1,"A/"]}"#
        );
        assert_eq!(canon(r#"{"a":1,"a":2}"#), Err(NotCanonical::DuplicateKey));
        assert_eq!(
            canon(r#"{"x":{"a":1,"\u0061":2}}"#),
            Err(NotCanonical::DuplicateKey)
        );
    }
}
