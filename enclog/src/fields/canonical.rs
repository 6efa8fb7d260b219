//! The canonical form of JSON (RFC 8785, JCS) that a field-sealed line's clear fields are
//! authenticated in: members sorted by key (UTF-16 code units), numbers as ECMAScript prints
//! them, strings with the minimal escapes, no whitespace. A shipper that re-serialises the line
//! (reorders keys, changes spacing or escapes, writes `1e3` as `1000`) leaves it unchanged.

use std::cmp::Ordering;

use super::json::{self, Doc, Kind};

/// Why a value has no canonical form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotCanonical {
    /// An object repeats a key (RFC 8785 §3.1 needs unique keys).
    DuplicateKey,
    /// A number whose exponent does not fit in 60 bits (`1e99999999999999999999`).
    ExponentTooLarge,
}

impl std::fmt::Display for NotCanonical {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotCanonical::DuplicateKey => "an object repeats a key",
            NotCanonical::ExponentTooLarge => "a number's exponent is too large",
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
                // Keys of ASCII without escapes (nearly all) compare as bytes: looked at once
                // per object, not at every comparison of the sort.
                let simple = self.order[base..]
                    .iter()
                    .all(|&c| key(c).is_ascii() && !key(c).contains(&b'\\'));
                let cmp = |a: &[u8], b: &[u8]| {
                    if simple { a.cmp(b) } else { utf16_cmp(a, b) }
                };
                self.order[base..].sort_unstable_by(|&a, &b| cmp(key(a), key(b)));
                for w in base + 1..self.order.len() {
                    if cmp(key(self.order[w - 1]), key(self.order[w])) == Ordering::Equal {
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

/// A JSON number's text in canonical form (FORMAT.md §11.3): its exact decimal value, laid out
/// as ECMAScript's `Number.prototype.toString` lays out a double's shortest digits (RFC 8785
/// §3.2.2.3): `1e3`, `1000` and `1000.0` are `1000`, `12.50` is `12.5`, `1e-7` is `1e-7`, `1e21`
/// is `1e+21`. For a number of up to 17 significant digits written in its shortest form this is
/// RFC 8785's output; unlike RFC 8785, digits beyond a double's precision are kept, so an edit
/// of a large integer's last digit changes the form (threat: a clear amount or id edited where
/// a double cannot see it). The digits are streamed to `put`: no buffer, any length.
pub(crate) fn write_number(raw: &[u8], put: &mut dyn FnMut(&[u8])) -> Result<(), NotCanonical> {
    let (negative, rest) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, raw),
    };
    let mantissa_end = rest
        .iter()
        .position(|&b| b == b'e' || b == b'E')
        .unwrap_or(rest.len());
    let (mantissa, exp_text) = rest.split_at(mantissa_end);
    let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
        Some(dot) => (&mantissa[..dot], &mantissa[dot + 1..]),
        None => (mantissa, &[][..]),
    };
    let exp: i64 = match exp_text.get(1..) {
        None => 0,
        Some(e) => std::str::from_utf8(e)
            .expect("the parser checked the number")
            .parse()
            .map_err(|_| NotCanonical::ExponentTooLarge)?,
    };
    // value = 0.d1…dk × 10^n, with d the digits without leading or trailing zeros.
    let digit = |i: usize| {
        if i < int.len() {
            int[i]
        } else {
            frac[i - int.len()]
        }
    };
    let total = int.len() + frac.len();
    let Some(first) = (0..total).find(|&i| digit(i) != b'0') else {
        put(b"0"); // zero, and minus zero
        return Ok(());
    };
    let last = (0..total)
        .rev()
        .find(|&i| digit(i) != b'0')
        .expect("a non-zero digit");
    let k = i64::try_from(last - first + 1).map_err(|_| NotCanonical::ExponentTooLarge)?;
    let n = (int.len() as i64 - first as i64)
        .checked_add(exp)
        .filter(|n| n.unsigned_abs() < 1 << 60)
        .ok_or(NotCanonical::ExponentTooLarge)?;
    let digits = |from: i64, to: i64, put: &mut dyn FnMut(&[u8])| {
        for i in from..to {
            put(&[digit(first + i as usize)]);
        }
    };
    let zeros = |count: i64, put: &mut dyn FnMut(&[u8])| {
        for _ in 0..count {
            put(b"0");
        }
    };
    if negative {
        put(b"-");
    }
    if k <= n && n <= 21 {
        digits(0, k, put);
        zeros(n - k, put);
    } else if 0 < n && n <= 21 {
        digits(0, n, put);
        put(b".");
        digits(n, k, put);
    } else if -6 < n && n <= 0 {
        put(b"0.");
        zeros(-n, put);
        digits(0, k, put);
    } else {
        digits(0, 1, put);
        if k > 1 {
            put(b".");
            digits(1, k, put);
        }
        let e = n - 1;
        put(if e < 0 { b"e-" } else { b"e+" });
        let mut buf = [0u8; 20];
        let mut at = buf.len();
        let mut v = e.unsigned_abs();
        loop {
            at -= 1;
            buf[at] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        put(&buf[at..]);
    }
    Ok(())
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

    /// RFC 8785 §3.2.2.3's layout (the samples of its Appendix B that are written in their
    /// shortest form), and exact digits beyond a double's precision.
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
            ("123456789012345678901", "123456789012345678901"),
            ("1234567890123456789012", "1.234567890123456789012e+21"),
            (
                "0.1000000000000000055511151231257827",
                "0.1000000000000000055511151231257827",
            ),
            ("1e400", "1e+400"),
            ("-0.0e5", "0"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("5e-324", "5e-324"),
            ("9007199254740993", "9007199254740993"),
            ("333333333.3333333", "333333333.3333333"),
            ("100e-2", "1"),
            ("0.5e1", "5"),
            ("1e23", "1e+23"),
            ("4.50", "4.5"),
            ("2e-3", "0.002"),
            ("0.000012345", "0.000012345"),
        ] {
            assert_eq!(canon(input).unwrap(), expected, "{input}");
        }
        assert_eq!(
            canon("1e99999999999999999999"),
            Err(NotCanonical::ExponentTooLarge)
        );
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
