//! `--output json`: one JSON object per input line, as safe on a terminal as text output.

use std::io::{self, Write};

use enclog::read::{MetaStatus, Opened};
use serde_json::{Map, Value};

use super::escape::shown_escaped;

/// Puts `bytes` in `map` as a string under `name` when it is UTF-8, else as base64 under
/// `name_base64`.
fn put_bytes(map: &mut Map<String, Value>, name: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => map.insert(name.to_owned(), Value::from(text)),
        Err(_) => map.insert(
            format!("{name}_base64"),
            Value::from(base64_simd::STANDARD.encode_to_string(bytes)),
        ),
    };
}

/// What one input line was, for `--output json`.
pub(crate) enum JsonLine<'a> {
    Plain(&'a [u8]),
    Opened(&'a Opened<'a>),
    /// An opened line without the text around its token (`--authenticated-only`).
    OpenedOnly(&'a Opened<'a>),
    Failed(&'a str),
}

/// A link as JSON: lineage, index, and where the session comes from.
fn link_json(link: &enclog::format::Link) -> Value {
    use enclog::format::LinkFrom;
    let mut map = Map::new();
    map.insert("lineage".into(), link.lineage.to_string().into());
    map.insert("index".into(), link.index.into());
    let (from, extra): (&str, Option<(&str, u64)>) = match &link.from {
        LinkFrom::Root => ("root", None),
        LinkFrom::Successor { count, .. } => ("successor", Some(("count", *count))),
        LinkFrom::AfterCrash { .. } => ("after-crash", None),
        LinkFrom::Branch { fork_point, .. } => ("branch", Some(("fork_point", *fork_point))),
        _ => ("unknown", None),
    };
    map.insert("from".into(), from.into());
    if let Some(prev) = link.from.prev() {
        map.insert("prev_key_id".into(), prev.key_id.to_string().into());
        map.insert("prev_session".into(), prev.session.to_string().into());
    }
    if let Some((name, value)) = extra {
        map.insert(name.into(), value.into());
    }
    Value::Object(map)
}

/// A field-sealed line's fields as JSON: which values were sealed (JSON Pointers, or a text
/// line's field names), which of them were indexed, and the top-level keys its writer did not
/// write (not authenticated).
fn fields_json(fields: &enclog::read::SealedFields) -> Value {
    let mut map = Map::new();
    map.insert("syntax".into(), fields.syntax.to_string().into());
    map.insert("sealed".into(), fields.sealed.clone().into());
    map.insert("indexed".into(), fields.indexed.clone().into());
    map.insert(
        "unauthenticated".into(),
        fields.unauthenticated.clone().into(),
    );
    Value::Object(map)
}

/// Writes one JSON object (and a newline) describing an input line.
pub(crate) fn write_json(
    out: &mut impl Write,
    file: &str,
    line: u64,
    what: JsonLine<'_>,
) -> io::Result<()> {
    let mut map = Map::new();
    map.insert("file".into(), file.into());
    map.insert("line".into(), line.into());
    match what {
        JsonLine::Plain(raw) => {
            map.insert("type".into(), "plain".into());
            put_bytes(&mut map, "text", raw);
        }
        JsonLine::Failed(error) => {
            map.insert("type".into(), "failed".into());
            map.insert("error".into(), error.into());
        }
        JsonLine::Opened(o) | JsonLine::OpenedOnly(o) => {
            map.insert("type".into(), "opened".into());
            map.insert("key_id".into(), o.key_id.to_string().into());
            map.insert("mode".into(), o.mode.to_string().into());
            map.insert("record".into(), o.record.to_string().into());
            if let Some(seq) = o.sequence {
                map.insert("session".into(), seq.session.to_string().into());
                map.insert("seq".into(), seq.seq.into());
            } else {
                map.insert("session".into(), Value::Null);
                map.insert("seq".into(), Value::Null);
            }
            if let Some(ts) = o.timestamp {
                map.insert("timestamp".into(), ts.into());
            }
            map.insert("version".into(), o.version.into());
            // A v2 session's first record: its place in the writer's lineage (never its chain
            // key, which is a secret of the readers).
            map.insert(
                "link".into(),
                o.link.as_deref().map_or(Value::Null, link_json),
            );
            match o.meta {
                Some(meta) => put_bytes(&mut map, "meta", meta),
                None => {
                    map.insert("meta".into(), Value::Null);
                }
            }
            let status = match o.meta_status {
                MetaStatus::None => "none",
                MetaStatus::Matches => "matches",
                MetaStatus::Differs => "differs",
                _ => "unknown",
            };
            map.insert("meta_status".into(), status.into());
            if let Some(fields) = &o.fields {
                map.insert("fields".into(), fields_json(fields));
            }
            match what {
                JsonLine::Opened(_) => {
                    put_bytes(&mut map, "before", o.before);
                    put_bytes(&mut map, "after", o.after);
                    put_bytes(&mut map, "plaintext", o.plaintext);
                }
                // The caller leaves out a line without an authenticated event.
                _ => match super::authenticated_event(o) {
                    Some(event) => put_bytes(&mut map, "plaintext", &event),
                    None => {
                        map.insert("plaintext".into(), Value::Null);
                    }
                },
            }
        }
    }
    write_json_value(out, &Value::Object(map))
}

/// Writes `value` and a newline. serde_json escapes the C0 controls only; DEL, the C1 controls
/// and the bidirectional-text controls (see [`shown_escaped`]) are written as `\uXXXX` too, so
/// that JSON read on a terminal (`| jq .` keeps them as they are) is as safe as text output.
/// They can only be inside strings, where `\uXXXX` means the same character.
pub(crate) fn write_json_value(out: &mut impl Write, value: &Value) -> io::Result<()> {
    let json = serde_json::to_string(value)?;
    let mut shown = 0;
    for (at, c) in json.char_indices().filter(|&(_, c)| shown_escaped(c)) {
        out.write_all(&json.as_bytes()[shown..at])?;
        write!(out, "\\u{:04x}", u32::from(c))?;
        shown = at + c.len_utf8();
    }
    out.write_all(&json.as_bytes()[shown..])?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threat: the controls serde_json leaves as they are (DEL, C1, bidirectional-text
    /// controls), which `jq` prints raw.
    #[test]
    fn json_escapes_what_serde_json_leaves() {
        let mut json = Vec::new();
        let value = Value::from("a\x1b\u{9b}2J\u{9d}0;t\x07 \x7f \u{202e}x é");
        write_json_value(&mut json, &value).unwrap();
        let json = String::from_utf8(json).unwrap();
        assert_eq!(
            json,
            "\"a\\u001b\\u009b2J\\u009d0;t\\u0007 \\u007f \\u202ex é\"\n"
        );
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), value);
    }

    /// Bytes that are not UTF-8 go under `NAME_base64`, in the standard alphabet with padding
    /// (what `base64 -d` and most JSON consumers decode).
    #[test]
    fn bytes_that_are_not_utf8_are_given_in_padded_standard_base64() {
        let mut map = Map::new();
        put_bytes(&mut map, "text", b"\xff\xfe\xfd\xfc");
        put_bytes(&mut map, "meta", b"plain");
        assert_eq!(
            Value::Object(map),
            serde_json::json!({"text_base64": "//79/A==", "meta": "plain"})
        );
    }
}
