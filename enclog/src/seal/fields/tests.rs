//! Tests of preparing and sealing field-sealed lines.

use super::*;
use crate::fields::IndexText;
use crate::{Identity, Key};

/// The marker is refused in clear text (before, between and after the values), and
/// allowed where it overlaps a value to seal.
#[test]
fn the_marker_is_refused_in_clear_text_only() {
    let value = |range: Range<usize>| Value {
        path: "/v",
        name: "v",
        range,
        index: None,
    };
    //          0         1         2         3
    //          0123456789012345678901234567890123456
    let line = b"a enclog: b [enclog:] c [x] enclog:";
    let cases: &[(&[Range<usize>], bool)] = &[
        (&[], false),
        (&[2..9, 12..20, 28..35], true),
        (&[0..1, 12..20, 28..35], false),
        (&[2..9, 24..27, 28..35], false),
        (&[2..9, 12..20], false),
        // Overlapping the marker's first or last byte is enough.
        (&[8..9, 19..20, 28..29], true),
        (&[0..3, 11..14, 34..35], true),
        (&[0..2, 11..13, 34..35], false),
    ];
    for (ranges, ok) in cases {
        let values: Vec<_> = ranges.iter().cloned().map(value).collect();
        assert_eq!(clear_text(line, &values).is_ok(), *ok, "{ranges:?}");
    }
    assert!(clear_text(b"no marker", &[]).is_ok());
}

#[test]
fn the_json_marker_is_the_marker_quoted() {
    assert_eq!(&QUOTED_MARKER[1..QUOTED_MARKER.len() - 1], MARKER);
}

/// `FORMAT.md` §12.1's sealed-field vectors (written by the independent Python reference),
/// sealed with a fixed session: the exact bytes the spec states.
#[test]
fn field_vectors_seal_to_the_exact_lines() {
    let text = include_str!("../../../vectors/fields.txt");
    let mut count = 0;
    for block in text.split("\n\n") {
        let get = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix(": "))
        };
        let Some(name) = get("name") else { continue };
        let seq: u64 = get("seq").unwrap().parse().unwrap();
        let session_id: [u8; 16] = crate::vectors::hex(get("session").unwrap())
            .try_into()
            .unwrap();
        let generation = enclog_fork::generation();
        let (session, index_key) = match get("ephemeral-secret") {
            None => {
                let key: Key = get("key").unwrap().parse().unwrap();
                let session = Session::symmetric(&key, session_id, seq, generation, 0);
                (session, IndexKey::from_key(&key))
            }
            Some(secret) => {
                let identity: Identity = get("key").unwrap().parse().unwrap();
                let recipient = identity.recipient();
                let bytes: [u8; 32] = crate::vectors::hex(secret).try_into().unwrap();
                let (ephemeral, key) = recipient.session_from(bytes.into(), 2);
                let session =
                    Session::recipient(&recipient, ephemeral, &key, seq, None, generation, 0);
                let index: Key = get("index-key").unwrap().parse().unwrap();
                (session, IndexKey::from_key(&index))
            }
        };
        let input = get("input").unwrap();
        let values: Vec<(&str, &str, bool, &str)> = block
            .lines()
            .filter_map(|l| l.strip_prefix("value: "))
            .map(|v| {
                let mut it = v.splitn(4, ' ');
                let (path, field, flag, text) = (
                    it.next().unwrap(),
                    it.next().unwrap(),
                    it.next().unwrap(),
                    it.next().unwrap(),
                );
                (path, field, flag == "indexed", text)
            })
            .collect();
        let index_text = get("index-text");
        let mut prep = Prepared::default();
        let syntax = get("syntax").unwrap();
        let values: Vec<Value<'_>> = values
            .iter()
            .map(|&(path, field, indexed, text)| {
                let sep = if syntax == "json" { ":" } else { "=" };
                let q = if syntax == "json" { "\"" } else { "" };
                let at = input.find(&format!("{q}{field}{q}{sep}{text}")).unwrap()
                    + field.len()
                    + 2 * q.len()
                    + 1;
                Value {
                    path,
                    name: field,
                    range: at..at + text.len(),
                    index: indexed.then_some(match index_text {
                        Some(t) => IndexText::Given(t.as_bytes()),
                        None => IndexText::FromJson,
                    }),
                }
            })
            .collect();
        match syntax {
            "json" => prep.json(input.as_bytes(), &values, Some(&index_key)),
            _ => prep.text(input.as_bytes(), &values, Some(&index_key)),
        }
        .unwrap();
        let digest = crate::vectors::hex(get("digest").unwrap());
        assert_eq!(prep.digest[..], digest[..], "vector {name}: digest");
        let mut out = Vec::new();
        write(&session, seq, &mut prep, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{}\n", get("line").unwrap()),
            "vector {name}"
        );
        count += 1;
    }
    assert!(count >= 5, "vectors file lost entries");
}

/// The check before the change: the marker searched in each clear stretch.
fn old_clear_text(line: &[u8], values: &[Value<'_>]) -> bool {
    let finder = memchr::memmem::Finder::new(MARKER);
    let mut pos = 0;
    for v in values {
        if finder.find(&line[pos..v.range.start]).is_some() {
            return false;
        }
        pos = v.range.end;
    }
    finder.find(&line[pos..]).is_none()
}

#[test]
fn the_marker_searched_once_per_line_refuses_what_the_per_stretch_search_refused() {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: usize| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % n as u64) as usize
    };
    let pieces: &[&[u8]] = &[
        b"enclog:",
        b"encl",
        b"og:",
        b"x",
        b":",
        b"e",
        b"enclogenclog:",
    ];
    for _ in 0..200_000 {
        let mut line = Vec::new();
        for _ in 0..next(8) {
            line.extend_from_slice(pieces[next(pieces.len())]);
        }
        let mut values = Vec::new();
        let mut pos = 0;
        while pos <= line.len() && next(3) != 0 {
            let start = pos + next(line.len() - pos + 1);
            let end = start + next(line.len() - start + 1);
            values.push(Value {
                path: "/v",
                name: "v",
                range: start..end,
                index: None,
            });
            pos = end;
            if values.len() > 5 {
                break;
            }
        }
        assert_eq!(
            clear_text(&line, &values).is_ok(),
            old_clear_text(&line, &values),
            "{:?} {:?}",
            String::from_utf8_lossy(&line),
            values.iter().map(|v| v.range.clone()).collect::<Vec<_>>()
        );
    }
}

/// Values to seal whose range runs backwards (a caller's bug, never log data) are refused
/// like overlapping ones, not sliced (which would panic on the logging thread).
#[test]
fn a_value_range_running_backwards_is_refused_not_sliced() {
    let line = br#"{"a":"xyz","b":1}"#;
    let (start, end) = (9, 6);
    let value = Value {
        path: "/a",
        name: "a",
        range: start..end,
        index: None,
    };
    let mut prep = Prepared::default();
    assert!(matches!(
        prep.json(line, &[value], None),
        Err(FieldsError::NotJson { .. })
    ));
}
