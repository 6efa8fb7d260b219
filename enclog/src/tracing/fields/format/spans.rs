//! A span's fields: written as text in which every value is vaulted (`format_fields`,
//! `add_fields`), and copied into an event's line with the values this formatter seals opened
//! as values to seal (`span_fields`).

use std::fmt;
use std::ops::Range;

use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;

use crate::fields::Syntax;

use super::super::handover::{IndexSpec, Out, Pending};
use super::super::{REDACTED, SealedFields, vault};
use super::FieldWriter;

/// Copies a span's fields into the line, each vaulted value opened as a value to seal.
pub(super) fn span_fields(cfg: &SealedFields, fields: &str, prefix: &str, p: &mut Pending) {
    let json = cfg.syntax() == Syntax::Json;
    let bytes = fields.as_bytes();
    let mut pos = 0;
    while let Some(open) = memchr::memchr(vault::DELIMITER, &bytes[pos..]).map(|i| pos + i) {
        let Some(close) =
            memchr::memchr(vault::DELIMITER, &bytes[open + 1..]).map(|i| open + 1 + i)
        else {
            break;
        };
        p.out.real.push_str(&fields[pos..open]);
        pos = close + 1;
        let opened = vault::open(&bytes[open + 1..close], &mut p.scratch)
            .and_then(|r| Vaulted::parse(&p.scratch[r]));
        let Some(v) = opened else {
            p.out
                .real
                .push_str(if json { "\"[sealed]\"" } else { REDACTED });
            continue;
        };
        // Every span value is vaulted (the span's text is shared by every layer whose field
        // formatter is `SealedFields`, whatever its names: threat, a console layer's
        // configuration deciding what an enclog file layer seals). This formatter's own names
        // decide, and a `sealed()` value is sealed always.
        if !(v.by_value || cfg.seal.matches(v.name)) {
            p.out.real.push_str(v.value);
            continue;
        }
        let start = p.out.real.len();
        p.out.real.push_str(v.value);
        let range = start..p.out.real.len();
        let index = if !cfg.index.matches(v.name) {
            IndexSpec::None
        } else if json {
            IndexSpec::FromJson
        } else if let Some(given) = v.given {
            let at = p.out.index_text.len();
            p.out.index_text.extend_from_slice(given.as_bytes());
            IndexSpec::Given(at..p.out.index_text.len())
        } else {
            IndexSpec::Value
        };
        let mut w = FieldWriter::new(cfg, &mut p.out, prefix, false);
        w.push_spec(v.name, range, index, v.by_value);
    }
    p.out.real.push_str(&fields[pos..]);
    let used = p.scratch.len();
    zeroize::Zeroize::zeroize(&mut p.scratch[..used]);
    p.scratch.clear();
}

/// A span's sealed value as it is vaulted: its field's name, its text in the line, and (a
/// text line's string) the text its index is computed over.
struct Vaulted<'a> {
    name: &'a str,
    value: &'a str,
    given: Option<&'a str>,
    /// A [`sealed`](super::sealed) value: sealed whatever the names say.
    by_value: bool,
}

/// [`Vaulted`]'s flags byte.
const GIVEN: u8 = 1;
const BY_VALUE: u8 = 2;

impl<'a> Vaulted<'a> {
    fn push(name: &str, value: &str, given: Option<&str>, by_value: bool, out: &mut Vec<u8>) {
        out.push(if given.is_some() { GIVEN } else { 0 } | if by_value { BY_VALUE } else { 0 });
        for part in [name, value] {
            out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out.extend_from_slice(given.unwrap_or("").as_bytes());
    }

    fn parse(bytes: &'a [u8]) -> Option<Vaulted<'a>> {
        let (&flags, mut rest) = bytes.split_first()?;
        let mut part = || -> Option<&'a str> {
            let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            let text = std::str::from_utf8(rest.get(4..4 + len)?).ok()?;
            rest = &rest[4 + len..];
            Some(text)
        };
        let name = part()?;
        let value = part()?;
        let given = (flags & GIVEN != 0)
            .then(|| std::str::from_utf8(rest).ok())
            .flatten();
        Some(Vaulted {
            name,
            value,
            given,
            by_value: flags & BY_VALUE != 0,
        })
    }
}

/// Formats a span's fields (enclog's `FormatFields`): clear values as they will be in the
/// line, each value to seal vaulted. Any formatter that prints this text prints no sealed
/// value in clear.
pub(in crate::tracing::fields) fn format_fields<R: RecordFields>(
    cfg: &SealedFields,
    writer: &mut Writer<'_>,
    fields: R,
) -> fmt::Result {
    let text = span_text(cfg, fields)?;
    writer.write_str(&text)
}

fn span_text<R: RecordFields>(cfg: &SealedFields, fields: R) -> Result<String, fmt::Error> {
    let mut out = Out::default();
    let mut w = FieldWriter::new(cfg, &mut out, "", true);
    w.vault_all = true;
    fields.record(&mut w);
    let result = w.result;
    let text = result.map(|()| vault_specs(cfg, &out));
    out.wipe();
    text
}

/// The text of `out` with each value to seal vaulted.
fn vault_specs(cfg: &SealedFields, out: &Out) -> String {
    let json = cfg.syntax() == Syntax::Json;
    let mut text = String::with_capacity(out.real.len());
    let mut plain = zeroize::Zeroizing::new(Vec::new());
    let mut pos = 0;
    for spec in &out.specs {
        text.push_str(&out.real[pos..spec.range.start]);
        pos = spec.range.end;
        let given = match &spec.index {
            IndexSpec::Given(r) => std::str::from_utf8(&out.index_text[r.clone()]).ok(),
            _ => None,
        };
        plain.clear();
        Vaulted::push(
            &out.names[spec.name.clone()],
            &out.real[spec.range.clone()],
            given,
            spec.by_value,
            &mut plain,
        );
        if !vault::seal(&plain, &mut text) {
            text.push_str(if json { "\"[sealed]\"" } else { REDACTED });
        }
    }
    text.push_str(&out.real[pos..]);
    text
}

/// Adds fields recorded on a span later (`span.record`): appended in a text line; in a JSON
/// line, a field recorded again replaces its earlier value (as `tracing`'s JSON format does).
pub(in crate::tracing::fields) fn add_fields(
    cfg: &SealedFields,
    current: &mut String,
    fields: &tracing_core::span::Record<'_>,
) -> fmt::Result {
    let added = span_text(cfg, fields)?;
    if added.is_empty() {
        return Ok(());
    }
    if cfg.syntax() == Syntax::Json {
        for (key, _) in json_members(&added) {
            let key = &added[key];
            let old: Vec<Range<usize>> = json_members(current)
                .into_iter()
                .filter(|(k, _)| &current[k.clone()] == key)
                .map(|(_, member)| member)
                .collect();
            for member in old.into_iter().rev() {
                remove_member(current, member);
            }
        }
    }
    if !current.is_empty() {
        current.push(if cfg.syntax() == Syntax::Json {
            ','
        } else {
            ' '
        });
    }
    current.push_str(&added);
    Ok(())
}

/// Removes a member (its comma with it) from a span's JSON fields.
fn remove_member(current: &mut String, member: Range<usize>) {
    let b = current.as_bytes();
    if member.end < b.len() && b[member.end] == b',' {
        current.replace_range(member.start..member.end + 1, "");
    } else if member.start > 0 && b[member.start - 1] == b',' {
        current.replace_range(member.start - 1..member.end, "");
    } else {
        current.replace_range(member, "");
    }
}

/// The members of a span's JSON fields as enclog wrote them (`"key":value,…`, a value being a
/// JSON string, a vaulted value or a bare literal): (key with its quotes, whole member).
fn json_members(text: &str) -> Vec<(Range<usize>, Range<usize>)> {
    let b = text.as_bytes();
    let string_end = |mut i: usize| -> usize {
        i += 1;
        while i < b.len() && b[i] != b'"' {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        (i + 1).min(b.len())
    };
    let mut members = Vec::new();
    let mut i = 0;
    while i < b.len() && b[i] == b'"' {
        let start = i;
        let key_end = string_end(i);
        i = key_end + 1; // ':'
        i = match b.get(i) {
            Some(b'"') => string_end(i),
            Some(&vault::DELIMITER) => {
                memchr::memchr(vault::DELIMITER, &b[i + 1..]).map_or(b.len(), |j| i + j + 2)
            }
            _ => memchr::memchr(b',', &b[i.min(b.len())..]).map_or(b.len(), |j| i + j),
        };
        members.push((start..key_end, start..i.min(b.len())));
        i += 1; // ','
    }
    members
}

#[cfg(test)]
mod tests {
    use super::super::{json_escape, text_escape};
    use super::*;

    #[test]
    fn text_values_cannot_start_a_line() {
        let mut out = String::new();
        text_escape("a\nb\r\tc\u{1b}[31m\u{7f}\u{85}\u{2028}é", &mut out);
        assert_eq!(out, "a\\nb\\r\\tc\\u{1b}[31m\\u{7f}\\u{85}\\u{2028}é");
        let mut out = String::new();
        json_escape("q\"\\\n\u{1}é", &mut out);
        assert_eq!(out, "q\\\"\\\\\\n\\u0001é");
    }

    #[test]
    fn members_of_a_spans_json_fields() {
        let text = "\"a\":1,\"b\":\"x,\\\"y\",\"c\":\u{1}QUJD\u{1},\"d\":true";
        let keys: Vec<&str> = json_members(text)
            .into_iter()
            .map(|(k, _)| &text[k])
            .collect();
        assert_eq!(keys, ["\"a\"", "\"b\"", "\"c\"", "\"d\""]);
        let mut current = text.to_string();
        let members = json_members(&current);
        remove_member(&mut current, members[1].1.clone());
        assert_eq!(current, "\"a\":1,\"c\":\u{1}QUJD\u{1},\"d\":true");
        let members = json_members(&current);
        remove_member(&mut current, members[2].1.clone());
        assert_eq!(current, "\"a\":1,\"c\":\u{1}QUJD\u{1}");
    }
}
