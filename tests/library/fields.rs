//! Sealed fields (FORMAT.md §11) through the public API: JSON lines sealed field by field,
//! restored exactly, and every kind of tampering with them seen.

use enclog::fields::{FieldsError, IndexKey, Selection};
use enclog::read::{MetaStatus, OpenError};
use enclog::verify::{FindingKind, Verifier};
use enclog::{Identity, Key, Keyring, Opener, Sealer};

fn seal(sealer: &Sealer, line: &str, selection: &Selection) -> String {
    let mut out = Vec::new();
    sealer
        .seal_json_fields(line.as_bytes(), selection, &mut out)
        .unwrap();
    String::from_utf8(out).unwrap()
}

fn open(opener: &mut Opener, line: &str) -> Result<(String, MetaStatus), OpenError> {
    let opened = opener.open(line.as_bytes()).expect("a token")?;
    let text = [opened.before, opened.plaintext, opened.after].concat();
    Ok((String::from_utf8(text).unwrap(), opened.meta_status))
}

const LINES: [&str; 6] = [
    r#"{"ts":"2026-12-06T12:00:00Z","level":"INFO","user":"alice@example.com","card":4111111111111111,"msg":"paid","n":1.50}"#,
    r#"{"user":{"email":"bob@example.com","id":7},"card":{"pan":"5500 0000 0000 0004","exp":"12/29"},"tags":["a","b"],"ok":true}"#,
    r#"{ "user" : "carol\u00e9\n\"q\"" , "card": null, "nested": {"deep": {"user": "not sealed: not at the root"}} }"#,
    r#"{"msg":"no sealed field here"}"#,
    "{ }",
    "\t{\"user\":\"dave\"}\t",
];

/// Every line comes back byte for byte, types kept (a number stays a number, `null` null), with
/// no plaintext of a sealed value in the sealed line; the other fields keep their bytes.
#[test]
fn json_lines_round_trip_byte_for_byte_without_the_sealed_plaintext() {
    let key = Key::generate().unwrap();
    let sealer = Sealer::new(key.clone());
    let selection = Selection::new(["user", "card"]).index(["user"]);
    let mut opener = Opener::new(Keyring::from(key));
    for line in LINES {
        let sealed = seal(&sealer, line, &selection);
        for secret in [
            "alice",
            "4111111111111111",
            "bob@",
            "5500",
            "12/29",
            "carol",
        ] {
            assert!(!sealed.contains(secret), "{secret} in {sealed}");
        }
        let value: serde_json::Value = serde_json::from_str(&sealed).expect("still JSON");
        assert!(value["enclog"].as_str().unwrap().starts_with("enclog:"));
        for clear in [
            "\"ts\":\"2026-12-06T12:00:00Z\"",
            "\"n\":1.50",
            "\"tags\":[\"a\",\"b\"]",
        ] {
            assert_eq!(line.contains(clear), sealed.contains(clear), "{clear}");
        }
        let (restored, status) = open(&mut opener, &sealed).unwrap();
        assert_eq!(restored, line);
        assert_eq!(status, MetaStatus::Matches);
    }
}

/// The writer's numbers are consecutive and `verify` checks field-sealed lines like any other:
/// a clean log verifies clean (its sessions rotated every two lines, each new session's link
/// in its first envelope), a deleted line is missing, a deleted whole session too.
#[test]
fn field_sealed_logs_verify_and_deletions_are_found() {
    let key = Key::generate().unwrap();
    let rotation = enclog::seal::Rotation::default().max_lines(2);
    let sealer = Sealer::with_rotation(key.clone(), rotation);
    let selection = Selection::new(["user"]);
    let mut log = String::new();
    for i in 0..5 {
        log += &seal(
            &sealer,
            &format!(r#"{{"user":"u{i}","i":{i}}}"#),
            &selection,
        );
    }
    let mut close = Vec::new();
    sealer.close_to(&mut close).unwrap();
    log += std::str::from_utf8(&close).unwrap();
    let verify = |log: &str| {
        let mut verifier = Verifier::new();
        let mut reader = enclog::read::Decryptor::new(log.as_bytes(), Keyring::from(key.clone()));
        verifier.observe_all("app.log", &mut reader).unwrap();
        verifier.finish()
    };
    let report = verify(&log);
    assert!(report.is_clean(), "{report:?}");
    let cut: String = log
        .lines()
        .enumerate()
        .filter(|&(i, _)| i != 1)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    assert_eq!(verify(&cut).count(FindingKind::Missing), 1);
    // Lines 0-1 are the first session, 2 its close record, 3-4 the second session, 5 its
    // close: deleting the second session whole breaks the chain.
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines[2].starts_with("enclog:") && !lines[2].contains('{'),
        "a close record"
    );
    let without: String = lines
        .iter()
        .enumerate()
        .filter(|&(i, _)| !(3..=5).contains(&i))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    assert_eq!(verify(&without).count(FindingKind::MissingSessions), 1);
}

/// Threat: a sealed value moved to another line, to another field of its line, or altered: it
/// does not open (its nonce, place and envelope are bound into it), and the reader says so.
#[test]
fn a_value_swapped_between_lines_or_fields_does_not_open() {
    let key = Key::generate().unwrap();
    let sealer = Sealer::new(key.clone());
    let selection = Selection::new(["user", "card"]);
    let a = seal(&sealer, r#"{"user":"alice","card":"1111"}"#, &selection);
    let b = seal(&sealer, r#"{"user":"bob","card":"2222"}"#, &selection);
    let value = |line: &str, field: &str| {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v[field].as_str().unwrap().to_string()
    };
    let mut opener = Opener::new(Keyring::from(key));
    // bob's user value in alice's line
    let swapped = a.replace(&value(&a, "user"), &value(&b, "user"));
    assert!(matches!(
        open(&mut opener, &swapped),
        Err(OpenError::Corrupted { .. })
    ));
    // alice's user and card values exchanged within her line
    let (u, c) = (value(&a, "user"), value(&a, "card"));
    let crossed = a
        .replace(&u, "U")
        .replace(&c, &u)
        .replace("\"U\"", &format!("\"{c}\""));
    assert!(open(&mut opener, &crossed).is_err());
    // one character of a value changed
    let mut bytes = a.clone().into_bytes();
    let at = a.find(&u).unwrap() + 20;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    assert!(open(&mut opener, std::str::from_utf8(&bytes).unwrap()).is_err());
    // the untouched lines still open
    assert!(open(&mut opener, &a).is_ok() && open(&mut opener, &b).is_ok());
}

/// Threat: a clear field edited, removed or renamed after writing: the envelope's digest no
/// longer matches (`MetaStatus::Differs`, verify's `clear_fields_edited`). A shipper that
/// re-serialises the JSON (key order, spacing, escapes, number forms) changes nothing, and a
/// field it adds is reported as unauthenticated, not as tampering.
#[test]
fn edited_clear_fields_are_seen_and_reserialised_json_is_not_tampering() {
    let key = Key::generate().unwrap();
    let sealer = Sealer::new(key.clone());
    let line = r#"{"level":"ERROR","user":"alice","amount":1e3,"id":12345678901234567891,"msg":"caf\u00e9"}"#;
    let sealed = seal(&sealer, line, &Selection::new(["user"]));
    let mut opener = Opener::new(Keyring::from(key.clone()));

    for edited in [
        sealed.replace("ERROR", "DEBUG"),
        // beyond a double's precision: still an edit (the canonical form keeps every digit)
        sealed.replace("12345678901234567891", "12345678901234567890"),
        sealed.replace(r#""amount":1e3,"#, ""),
        sealed.replace("\"level\"", "\"lvl\""),
    ] {
        assert_eq!(
            open(&mut opener, &edited).unwrap().1,
            MetaStatus::Differs,
            "{edited}"
        );
    }

    // What a shipper does: parse and write back (serde_json sorts keys without
    // `preserve_order`, prints 1e3 as 1000.0, unescapes é).
    let value: serde_json::Value = serde_json::from_str(&sealed).unwrap();
    let reserialised = serde_json::to_string_pretty(&value)
        .unwrap()
        .replace('\n', " ");
    assert_ne!(reserialised, sealed);
    let opened = opener.open(reserialised.as_bytes()).unwrap().unwrap();
    assert_eq!(opened.meta_status, MetaStatus::Matches);
    let restored: serde_json::Value = serde_json::from_slice(opened.plaintext).unwrap();
    assert_eq!(
        restored,
        serde_json::from_str::<serde_json::Value>(line).unwrap()
    );

    let mut added = value.clone();
    added["host"] = "web1".into();
    let added = serde_json::to_string(&added).unwrap();
    let opened = opener.open(added.as_bytes()).unwrap().unwrap();
    assert_eq!(opened.meta_status, MetaStatus::Matches);
    assert_eq!(opened.fields.as_ref().unwrap().unauthenticated, ["host"]);

    // verify: the edit is a finding; the added field is unauthenticated text.
    let mut verifier = Verifier::new();
    let log = format!("{}\n{added}\n", sealed.trim_end().replace("ERROR", "DEBUG"));
    let mut reader = enclog::read::Decryptor::new(log.as_bytes(), Keyring::from(key));
    verifier.observe_all("app.log", &mut reader).unwrap();
    let report = verifier.finish();
    assert_eq!(
        report.count(FindingKind::ClearFieldsEdited),
        1,
        "{report:?}"
    );
    assert_eq!(report.unauthenticated_text, 1);
}

/// The public-key mode: the writer cannot open what it sealed; the identity can. Indexing
/// needs a separate index key there.
#[test]
fn recipient_writers_seal_fields_and_need_an_index_key_to_index() {
    let identity = Identity::generate().unwrap();
    let sealer = Sealer::new(identity.recipient());
    let line = r#"{"user":"alice","msg":"hi"}"#;
    let indexed = Selection::new(["user"]).index(["user"]);
    assert!(matches!(
        sealer.seal_json_fields(line.as_bytes(), &indexed, &mut Vec::new()),
        Err(FieldsError::NoIndexKey { .. })
    ));
    let index_key = IndexKey::from_key(&Key::generate().unwrap());
    sealer.set_index_key(Some(index_key.clone()));
    let sealed = seal(&sealer, line, &indexed);
    assert!(sealed.contains(&format!(
        r#""user_idx":"{}""#,
        index_key.value("user", b"alice")
    )));
    let mut opener = Opener::new(Keyring::from(identity));
    assert_eq!(open(&mut opener, &sealed).unwrap().0, line);
}

/// Blind indexes: equal values give equal index values under one key; different values,
/// fields or keys give different ones; a number indexes by its canonical text.
#[test]
fn index_values_are_equal_exactly_for_equal_values_under_one_key() {
    let key = Key::generate().unwrap();
    let sealer = Sealer::new(key.clone());
    let selection = Selection::new(["user", "n"]).index(["user", "n"]);
    let index = IndexKey::from_key(&key);
    let idx = |line: &str, field: &str| {
        let v: serde_json::Value = serde_json::from_str(&seal(&sealer, line, &selection)).unwrap();
        v[format!("{field}_idx")].as_str().unwrap().to_string()
    };
    let alice = idx(r#"{"user":"alice"}"#, "user");
    assert_eq!(alice, idx(r#"{"user":"alice","x":1}"#, "user"));
    assert_eq!(alice, idx(r#"{"user":"\u0061lice"}"#, "user"));
    assert_eq!(alice, index.value("user", b"alice"));
    assert_ne!(alice, idx(r#"{"user":"bob"}"#, "user"));
    assert_eq!(idx(r#"{"n":1000}"#, "n"), idx(r#"{"n":1e3}"#, "n"));
    assert_eq!(idx(r#"{"n":1000}"#, "n"), index.value("n", b"1000"));
    let other = Sealer::new(Key::generate().unwrap());
    let mut out = Vec::new();
    other
        .seal_json_fields(br#"{"user":"alice"}"#, &selection, &mut out)
        .unwrap();
    assert!(!String::from_utf8(out).unwrap().contains(&alice));
}

/// Lines that cannot be sealed field by field are refused before they take a number (the log
/// stays gap-free), and their plaintext appears nowhere.
#[test]
fn lines_that_cannot_be_field_sealed_are_refused_and_take_no_number() {
    let key = Key::generate().unwrap();
    let sealer = Sealer::new(key.clone());
    let selection = Selection::new(["user"]).index(["user"]);
    for (line, what) in [
        ("plain text alice", "not a JSON object"),
        ("[\"alice\"]", "not a JSON object"),
        (r#"{"user":"alice","user":"x"}"#, "canonical"),
        (r#"{"user":"alice","enclog":1}"#, "enclog"),
        (r#"{"user":"alice","user_idx":1}"#, "user_idx"),
        (
            r#"{"user":"alice","msg":"see enclog:AAAAAAAAAAAA"}"#,
            "enclog:",
        ),
        (
            r#"{"user":"alice","big":1e99999999999999999999}"#,
            "canonical",
        ),
    ] {
        let mut out = Vec::new();
        let err = sealer
            .seal_json_fields(line.as_bytes(), &selection, &mut out)
            .unwrap_err();
        assert!(err.to_string().contains(what), "{line}: {err}");
        assert!(out.is_empty());
    }
    let line = seal(&sealer, r#"{"user":"alice"}"#, &selection);
    let mut opener = Opener::new(Keyring::from(key));
    let opened = opener.open(line.as_bytes()).unwrap().unwrap();
    assert_eq!(opened.sequence.unwrap().seq, 0);
}

/// A shipper may write the members in any order, the envelope first too: the line restores
/// to the same JSON.
#[test]
fn members_reordered_with_the_envelope_first_restore_to_the_same_json() {
    let key = Key::generate().unwrap();
    let sealer = Sealer::new(key.clone());
    let line = r#"{"zz":1,"user":"alice","msg":"hi"}"#;
    let sealed = seal(&sealer, line, &Selection::new(["user"]).index(["user"]));
    let v: serde_json::Value = serde_json::from_str(&sealed).unwrap();
    let o = v.as_object().unwrap();
    let order = ["enclog", "user_idx", "user", "zz", "msg"];
    let reordered = format!(
        "{{{}}}",
        order
            .iter()
            .map(|k| format!("{:?}:{}", k, o[*k]))
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut opener = Opener::new(Keyring::from(key));
    let opened = opener.open(reordered.as_bytes()).unwrap().unwrap();
    let restored: serde_json::Value = serde_json::from_slice(opened.plaintext)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(opened.plaintext)));
    assert_eq!(
        restored,
        serde_json::from_str::<serde_json::Value>(line).unwrap()
    );
}

/// `remove_members` (what `decrypt --authenticated-only` does to members a shipper added):
/// whichever members are removed, first, last, side by side or all, the rest keeps its bytes
/// and the object stays valid JSON.
#[test]
fn removing_members_keeps_every_other_byte_and_valid_json() {
    let object = r#"{ "a":1 , "b" : [2], "c":{"a":3},"d":"4" }"#;
    for (keys, want) in [
        (&[][..], object),
        (&["a"][..], r#"{ "b" : [2], "c":{"a":3},"d":"4" }"#),
        (&["a", "b"][..], r#"{ "c":{"a":3},"d":"4" }"#),
        (&["b", "c"][..], r#"{ "a":1,"d":"4" }"#),
        (&["d"][..], r#"{ "a":1 , "b" : [2], "c":{"a":3} }"#),
        (&["a", "d"][..], r#"{ "b" : [2], "c":{"a":3} }"#),
        (&["a", "b", "c", "d"][..], "{  }"),
        (&["x"][..], object),
    ] {
        let mut out = Vec::new();
        enclog::fields::remove_members(object.as_bytes(), keys, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out, want, "{keys:?}");
        serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
    }
}

/// `Search`: judged by the index where the line has one (under any of several keys, at a
/// nested path), else by the restored value; the index text makes `1e3` find `1000`.
#[test]
fn a_search_uses_the_index_under_any_key_and_else_the_value() {
    use enclog::fields::{ByIndex, Search, index_text};
    let (old, new) = (Key::generate().unwrap(), Key::generate().unwrap());
    let selection = Selection::new(["req.user", "n"]).index(["req.user"]);
    let line = |key: &Key, user: &str| seal(&Sealer::new(key.clone()), user, &selection);
    let a_old = line(&old, r#"{"req":{"user":"alice"},"n":1e3}"#);
    let a_new = line(&new, r#"{"req":{"user":"alice"},"n":2}"#);
    let b_new = line(&new, r#"{"req":{"user":"bob"},"n":3}"#);
    let keys = [IndexKey::from_key(&old), IndexKey::from_key(&new)];
    let alice = Search::new("req.user", b"alice", &keys);
    assert_eq!(alice.index_values().len(), 2);
    assert_eq!(alice.by_index(a_old.as_bytes()), ByIndex::Matches);
    assert_eq!(alice.by_index(a_new.as_bytes()), ByIndex::Matches);
    assert_eq!(alice.by_index(b_new.as_bytes()), ByIndex::Differs);
    // Only the new key: the old line's index is someone else's, as far as it can tell.
    let only_new = Search::new("req.user", b"alice", &keys[1..]);
    assert_eq!(only_new.by_index(a_old.as_bytes()), ByIndex::Differs);
    // `n` is sealed without an index: opened lines are judged by their value.
    let thousand = Search::new("n", &index_text(b"1000").unwrap(), &keys);
    assert_eq!(thousand.by_index(a_old.as_bytes()), ByIndex::NotIndexed);
    let mut opener = Opener::new(Keyring::from_iter([old, new]));
    let opened = opener.open(a_old.as_bytes()).unwrap().unwrap();
    assert!(thousand.in_plaintext(opened.plaintext));
    assert!(!thousand.in_plaintext(br#"{"n":"1001"}"#));
    assert!(!thousand.in_plaintext(b"not json"));
    // Text around the object (a syslog header) is skipped.
    assert!(alice.in_plaintext(br#"web1 app: {"req":{"user":"alice"}}"#));
    assert!(format!("{alice:?}").contains("<redacted>") && !format!("{alice:?}").contains("alice"));
}

/// `Decryptor::next_entry_where` opens only the lines it keeps, with the input's numbers.
#[test]
fn a_decryptor_opens_only_the_lines_kept() {
    let key = Key::generate().unwrap();
    let sealer = Sealer::new(key.clone());
    let selection = Selection::new(["user"]);
    let mut log = String::new();
    for user in ["alice", "bob", "alice"] {
        log += &seal(&sealer, &format!(r#"{{"user":"{user}"}}"#), &selection);
    }
    // bob's line damaged: never opened, so never reported.
    let damaged = log
        .replacen(r#"{"user":"enclog:"#, r#"{"user":"enclog:AAAA"#, 2)
        .replacen(r#"{"user":"enclog:AAAA"#, r#"{"user":"enclog:"#, 1);
    let mut reader = enclog::read::Decryptor::new(damaged.as_bytes(), Keyring::from(key));
    let mut seen = Vec::new();
    let keep = |n: &mut u32| {
        *n += 1;
        *n != 2
    };
    let mut n = 0;
    while let Some(entry) = reader.next_entry_where(|_| keep(&mut n)).unwrap() {
        match entry.outcome {
            enclog::read::Outcome::Opened(o) => seen.push((
                entry.line_no,
                String::from_utf8(o.plaintext.to_vec()).unwrap(),
            )),
            other => panic!("line {}: {other:?}", entry.line_no),
        }
    }
    assert_eq!(
        seen,
        [
            (1, r#"{"user":"alice"}"#.to_string()),
            (3, r#"{"user":"alice"}"#.to_string())
        ]
    );
}

/// The `log` crate: a record's key-value pairs become the line's members, the selected ones
/// sealed; a record whose line cannot be field-sealed (a repeated key) is sealed whole, never
/// written in clear; the lines of several threads are numbered in file order.
#[test]
fn log_records_seal_their_key_values_and_fall_back_to_whole_lines() {
    use log::Log;
    let key = Key::generate().unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    let logger = enclog::EncryptedLogger::new(key.clone(), file.reopen().unwrap())
        .sealed_fields(Selection::new(["user"]).index(["user"]));
    std::thread::scope(|s| {
        for t in 0..4 {
            let logger = &logger;
            s.spawn(move || {
                for i in 0..50 {
                    let user = format!("user{t}-{i}@example.com");
                    let kvs = [
                        ("user", log::kv::Value::from(user.as_str())),
                        ("i", i.into()),
                    ];
                    logger.log(
                        &log::Record::builder()
                            .args(format_args!("event {i}"))
                            .level(log::Level::Info)
                            .key_values(&kvs)
                            .build(),
                    );
                }
            });
        }
    });
    let repeated = [
        ("user", log::kv::Value::from("secret-twice")),
        ("user", "x".into()),
    ];
    logger.log(
        &log::Record::builder()
            .args(format_args!("repeated"))
            .key_values(&repeated)
            .build(),
    );
    logger.close_session();
    let text = std::fs::read_to_string(file.path()).unwrap();
    assert!(!text.contains("@example.com") && !text.contains("secret-twice"));
    let mut opener = Opener::new(Keyring::from(key));
    let mut seqs = Vec::new();
    let mut users = std::collections::HashSet::new();
    for line in text.lines() {
        let opened = opener.open(line.as_bytes()).unwrap().unwrap();
        seqs.push(opened.sequence.unwrap().seq);
        if opened.record == enclog::format::RecordKind::Close {
            continue;
        }
        if String::from_utf8_lossy(opened.plaintext).contains("secret-twice") {
            // The repeated-key record: sealed whole, its JSON line inside.
            assert!(opened.fields.is_none());
            continue;
        }
        assert!(opened.fields.is_some());
        let event: serde_json::Value = serde_json::from_slice(opened.plaintext).unwrap();
        users.insert(event["user"].as_str().unwrap().to_string());
    }
    assert_eq!(users.len(), 200);
    assert_eq!(
        seqs,
        (0..seqs.len() as u64).collect::<Vec<_>>(),
        "numbered in file order"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Arbitrary JSON values, a few levels deep, with keys from a small set (so that selections
    /// hit) and strings with escapes, non-ASCII and control characters.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            (-1e12f64..1e12).prop_map(serde_json::Value::from),
            "[a-z\u{e9}\u{1f600}\"\\\\\n\t\u{1} ]{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("user|card|a|b|note", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn object() -> impl Strategy<Value = (String, bool)> {
        (
            proptest::collection::btree_map("user|card|a|b|msg", json_value(), 0..5),
            any::<bool>(),
        )
            .prop_map(|(m, pretty)| {
                let v = serde_json::Value::Object(m.into_iter().collect());
                // Pretty printing on one line: spaces after ':' and around members.
                let text = if pretty {
                    serde_json::to_string_pretty(&v).unwrap().replace('\n', " ")
                } else {
                    serde_json::to_string(&v).unwrap()
                };
                (text, pretty)
            })
    }

    fn key() -> &'static Key {
        static KEY: std::sync::OnceLock<Key> = std::sync::OnceLock::new();
        KEY.get_or_init(|| Key::generate().unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any JSON object comes back byte for byte, with no sealed string in the sealed line.
        #[test]
        fn any_json_object_round_trips_byte_for_byte((line, _) in object()) {
            let sealer = Sealer::new(key().clone());
            let selection = Selection::new(["user", "card", "*.a"]).index(["user"]);
            let mut sealed = Vec::new();
            sealer.seal_json_fields(line.as_bytes(), &selection, &mut sealed).unwrap();
            let mut opener = Opener::new(Keyring::from(key().clone()));
            let opened = opener.open(&sealed).unwrap().unwrap();
            prop_assert_eq!(std::str::from_utf8(opened.plaintext).unwrap(), line.as_str());
            prop_assert_eq!(opened.meta_status, MetaStatus::Matches);
            let parsed: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
            prop_assert!(parsed.get("enclog").is_some());
        }

        /// Threat: undetected modification. Any single byte of a field-sealed line changed: the
        /// line fails to open, or its clear part is reported edited, or (a change a JSON reader
        /// does not see, like spacing) it restores to the same JSON; the reader never panics.
        #[test]
        fn any_changed_byte_is_detected_or_harmless((line, _) in object(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let sealer = Sealer::new(key().clone());
            let mut sealed = Vec::new();
            sealer.seal_json_fields(line.as_bytes(), &Selection::new(["user", "card"]), &mut sealed).unwrap();
            sealed.pop();
            let i = at.index(sealed.len());
            if sealed[i] == byte {
                return Ok(());
            }
            sealed[i] = byte;
            let mut opener = Opener::new(Keyring::from(key().clone()));
            if let Some(Ok(opened)) = opener.open(&sealed)
                && opened.meta_status == MetaStatus::Matches
            {
                let original: serde_json::Value = serde_json::from_str(&line).unwrap();
                let restored: Result<serde_json::Value, _> = serde_json::from_slice(opened.plaintext);
                let whole = [opened.before, opened.plaintext, opened.after].concat();
                prop_assert!(
                    restored.as_ref().ok() == Some(&original)
                        || opened.fields.as_ref().is_some_and(|f| !f.unauthenticated.is_empty()),
                    "a change went unseen: {}", String::from_utf8_lossy(&whole)
                );
            }
        }
    }
}

/// Review: a line with more than 128 sealed values (two-byte parts) and a path over 127 bytes
/// (a two-byte length) round-trips, in both modes; a token moved between two of its fields
/// does not open.
#[test]
fn two_byte_parts_and_long_paths_round_trip() {
    let long = "k".repeat(200);
    let mut members: Vec<String> = (0..300).map(|i| format!("\"f{i}\":\"v{i}\"")).collect();
    members.push(format!("\"{long}\":\"long-secret\""));
    members.push(format!("\"{long}x\":{{\"{long}\":\"nested-secret\"}}"));
    let line = format!("{{{}}}", members.join(","));
    let mut sel: Vec<String> = (0..300).map(|i| format!("f{i}")).collect();
    sel.push(long.clone());
    sel.push(format!("{long}x.{long}"));
    let selection = Selection::new(sel);
    let key = Key::generate().unwrap();
    let identity = Identity::generate().unwrap();
    for (sealer, keyring) in [
        (Sealer::new(key.clone()), Keyring::from(key.clone())),
        (
            Sealer::new(identity.recipient()),
            Keyring::from(identity.clone()),
        ),
    ] {
        let sealed = seal(&sealer, &line, &selection);
        assert!(!sealed.contains("secret") && !sealed.contains("\"v1\""));
        let mut opener = Opener::new(keyring);
        let (opened, status) = open(&mut opener, &sealed).unwrap();
        assert_eq!(opened.trim_end(), line);
        assert_eq!(status, MetaStatus::Matches);
        let v: serde_json::Value = serde_json::from_str(&sealed).unwrap();
        let t1 = v["f1"].as_str().unwrap();
        let t200 = v["f200"].as_str().unwrap();
        let crossed = sealed
            .replace(t1, "T1")
            .replace(t200, t1)
            .replace("T1", t200);
        assert!(open(&mut opener, &crossed).is_err());
        let tl = v[&long].as_str().unwrap();
        let crossed = sealed
            .replace(tl, "TL")
            .replace(t200, tl)
            .replace("TL", t200);
        assert!(open(&mut opener, &crossed).is_err());
    }
}
