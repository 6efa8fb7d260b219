//! Sealed fields from the command line (issue 17): `enclog encrypt --fields --index` on JSON
//! lines, `decrypt` restoring them, `index` and `grep` finding one user's events by blind
//! index, and `verify` on field-sealed logs.
//!
//! Threats: a sensitive value (a user's address, a card) readable in a log that operators
//! search in clear; a sealed value moved to another line, or a clear field edited, without
//! anyone noticing; a line passed through in clear because it was not what `--fields`
//! expected.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::fixture::{Env, Identity, enclog, lines, run};

/// The users of the generated log, as their JSON text in a line and as the string it denotes.
/// Some are written with escapes, so that equal values written differently must index alike.
const USERS: [(&str, &str); 8] = [
    (r#""alice@example.com""#, "alice@example.com"),
    (r#""bob@example.com""#, "bob@example.com"),
    (r#""carol.o'neil@example.org""#, "carol.o'neil@example.org"),
    (r#""d\u00e9sir\u00e9e@example.net""#, "désirée@example.net"),
    (r#""eve \"the\" eavesdropper""#, "eve \"the\" eavesdropper"),
    (r#""\u0061lice@example.com""#, "alice@example.com"),
    (r#""frank@example.com""#, "frank@example.com"),
    (r#""グレース@example.jp""#, "グレース@example.jp"),
];

/// One generated input line, with the JSON text of its sealed values (to check that they
/// are gone) and its user.
struct Event {
    line: String,
    /// The `user` value's JSON text and the string it denotes, if the line has one.
    user: Option<(&'static str, &'static str)>,
    /// The `card` value's JSON text, if the line has one.
    card: Option<String>,
    /// Texts of the sealed values that must not appear in the sealed log.
    secrets: Vec<String>,
}

/// `n` JSON objects with nested values, numbers written in unusual forms, spacing and key
/// order varying, some without a user or a card, and a nested `user` that is not sealed
/// (`--fields user` names the top-level one).
fn events(n: usize) -> Vec<Event> {
    let mut seed: u64 = 0x005e_edf1_e1d5;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    (0..n)
        .map(|i| {
            let user = (next() % 10 != 0).then(|| USERS[next() % USERS.len()]);
            let card = match next() % 4 {
                0 => None,
                1 => Some(format!("{}", 4_000_123_412_340_000u64 + i as u64)),
                2 => Some(format!(
                    r#"{{"pan":"5500 0000 {:04} {:04}","exp":"12/29","brand":"mc"}}"#,
                    i / 7,
                    i
                )),
                _ => Some(format!(r#""tok-{i:05}-\u00a7""#)),
            };
            let amount = ["1.50", "1e3", "-0.0", "12", "3.0E-2"][next() % 5];
            let (open, colon, comma) = if i % 9 == 0 {
                ("{ ", " : ", " , ")
            } else {
                ("{", ":", ",")
            };
            let mut members = vec![
                format!(r#""ts"{colon}"2026-12-06T12:{:02}:{:02}Z""#, i / 60 % 60, i % 60),
                format!(r#""level"{colon}"{}""#, ["INFO", "WARN", "ERROR"][next() % 3]),
                format!(
                    r#""req"{colon}{{"path":"/pay/{i}","user":"nested-{i}","headers":{{"ua":"curl/8.{}"}},"ids":[{i},{}]}}"#,
                    i % 10,
                    i + 1
                ),
                format!(r#""amount"{colon}{amount}"#),
                format!(r#""ok"{colon}{}"#, ["true", "false", "null"][i % 3]),
                format!(r#""msg"{colon}"paid \"{i}\" \u00e9 / done""#),
            ];
            if let Some((raw, _)) = user {
                members.insert(next() % (members.len() + 1), format!(r#""user"{colon}{raw}"#));
            }
            if let Some(raw) = &card {
                members.insert(next() % (members.len() + 1), format!(r#""card"{colon}{raw}"#));
            }
            let close = if i % 9 == 0 { " }" } else { "}" };
            let line = format!("{open}{}{close}", members.join(comma));
            let mut secrets = Vec::new();
            if let Some((raw, decoded)) = user {
                secrets.push(raw.to_owned());
                secrets.push(decoded.to_owned());
            }
            if let Some(raw) = &card {
                secrets.push(raw.clone());
                if let Ok(Value::Object(card)) = serde_json::from_str::<Value>(raw) {
                    secrets.push(card["pan"].as_str().unwrap().to_owned());
                }
            }
            Event {
                line,
                user,
                card,
                secrets,
            }
        })
        .collect()
}

fn input(events: &[Event]) -> String {
    events.iter().map(|e| format!("{}\n", e.line)).collect()
}

/// `enclog encrypt --fields user,card --index user` of `input` (exit 0, nothing on stderr).
fn encrypt_fields(env: &Env, input: &str) -> String {
    let r = run(
        &mut env.cmd(&["encrypt", "--fields", "user,card", "--index", "user"]),
        input.as_bytes(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    r.stdout_text()
}

fn json(line: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str(line) {
        Ok(Value::Object(map)) => map,
        other => panic!("not a JSON object: {other:?}: {line}"),
    }
}

/// The line's value of `key`, a string.
fn string(line: &str, key: &str) -> String {
    json(line)[key].as_str().unwrap().to_owned()
}

/// `enclog index` for `user` under `key`.
fn index(key: &Path, field: &str, value: &str) -> String {
    let r = run(
        enclog(["index", "--key-file"])
            .arg(key)
            .args(["--field", field, value]),
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = r.stdout_text();
    assert_eq!(text.len(), 23, "one value and a newline: {text:?}");
    text.trim_end().to_owned()
}

/// Issue 17's first "done when": every other field keeps its bytes, no plaintext of `user`
/// or `card` is left, and `enclog decrypt` gives every line back (byte for byte, so also as
/// equal JSON).
#[test]
fn encrypt_fields_seals_only_those_fields_and_decrypt_gives_every_line_back() {
    let env = Env::new();
    let events = events(1_000);
    let input = input(&events);
    let sealed = encrypt_fields(&env, &input);
    let sealed_lines: Vec<&str> = sealed.lines().collect();
    assert_eq!(
        sealed_lines.len(),
        1_001,
        "one line per event and the close record"
    );
    assert!(
        sealed_lines[1_000].starts_with("enclog:"),
        "the close record"
    );

    // Each input line is sealed on its own, into its own line: its secrets are looked for
    // there, and the users (which recur) in the whole log.
    for (raw, user) in USERS {
        assert!(
            !sealed.contains(raw) && !sealed.contains(user),
            "{user} in the sealed log"
        );
    }
    for (event, line) in events.iter().zip(&sealed_lines) {
        for secret in &event.secrets {
            assert!(!line.contains(secret.as_str()), "{secret} in {line}");
        }
        let (inp, out) = (json(&event.line), json(line));
        // The sealed values are tokens; an indexed one is followed by its index.
        for (key, present) in [
            ("user", event.user.is_some()),
            ("card", event.card.is_some()),
        ] {
            assert_eq!(out.contains_key(key), present, "{line}");
            if present {
                assert!(out[key].as_str().unwrap().starts_with("enclog:"), "{line}");
            }
        }
        assert_eq!(out.contains_key("user_idx"), event.user.is_some(), "{line}");
        assert!(out["enclog"].as_str().unwrap().starts_with("enclog:"));
        // Every other field equal in value…
        let strip = |mut map: serde_json::Map<String, Value>| {
            for key in ["user", "card", "user_idx", "enclog"] {
                map.remove(key);
            }
            map
        };
        assert_eq!(strip(inp), strip(out.clone()), "{line}");
        // … and in bytes: the sealed line with its tokens, index and envelope taken out is
        // the input line with its sealed values taken out.
        let mut clear = line.to_string();
        for key in ["user_idx", "enclog"] {
            if let Some(v) = out.get(key) {
                clear = clear.replacen(&format!(r#","{key}":"{}""#, v.as_str().unwrap()), "", 1);
            }
        }
        let mut expected = event.line.clone();
        for (key, raw) in [
            ("user", event.user.map(|u| u.0.to_owned())),
            ("card", event.card.clone()),
        ] {
            if let Some(raw) = raw {
                let token = format!("\"{}\"", out[key].as_str().unwrap());
                clear = clear.replacen(&token, "SEALED", 1);
                expected = expected.replacen(&raw, "SEALED", 1);
            }
        }
        assert_eq!(clear, expected);
        // The nested `user` is not the top-level one: it stays in clear.
        assert!(line.contains(r#""user":"nested-"#), "{line}");
    }

    let r = run(&mut env.cmd(&["decrypt"]), sealed.as_bytes());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    let restored = r.stdout_text();
    assert_eq!(restored.lines().count(), 1_000);
    for (event, line) in events.iter().zip(restored.lines()) {
        assert_eq!(json(line), json(&event.line), "equal as JSON");
    }
    assert_eq!(restored, input, "byte for byte");
}

/// Issue 17's second "done when", with grep itself: `enclog index` for one user finds exactly
/// that user's lines by `grep -F` (however the value was escaped in the line), and the value
/// differs per user and per key.
#[test]
fn enclog_index_finds_exactly_one_users_lines_with_grep_f_and_differs_per_value_and_key() {
    let env = Env::new();
    let events = events(1_000);
    let log = env.write(
        "enc.jsonl",
        encrypt_fields(&env, &input(&events)).as_bytes(),
    );

    let grep_f = |pattern: &str| -> (i32, Vec<usize>) {
        let out = Command::new("grep")
            .args(["-F", "-n", "--", pattern])
            .arg(&log)
            .output()
            .expect("run grep");
        let numbers = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.split(':').next().unwrap().parse().unwrap())
            .collect();
        (out.status.code().unwrap(), numbers)
    };
    let lines_of = |user: &str| -> Vec<usize> {
        (events.iter().enumerate())
            .filter(|(_, e)| e.user.is_some_and(|u| u.1 == user))
            .map(|(i, _)| i + 1)
            .collect()
    };
    let mut seen = Vec::new();
    for user in [
        "alice@example.com",
        "désirée@example.net",
        "eve \"the\" eavesdropper",
    ] {
        let value = index(&env.key, "user", user);
        assert!(!seen.contains(&value), "one value per user");
        seen.push(value.clone());
        let want = lines_of(user);
        assert!(want.len() > 50, "{user}: {}", want.len());
        assert_eq!(grep_f(&value), (0, want), "{user}");
    }
    // alice is written both as "alice@…" and "\u0061lice@…": one index value finds both.
    assert!(
        events
            .iter()
            .any(|e| e.user.is_some_and(|u| u.0.starts_with(r#""\u0061"#)))
    );

    // Another key: another value, found nowhere.
    let other = Env::new();
    let elsewhere = index(&other.key, "user", "alice@example.com");
    assert_ne!(elsewhere, seen[0]);
    assert_eq!(grep_f(&elsewhere), (1, vec![]));
    // Another field name: another value.
    assert_ne!(index(&env.key, "email", "alice@example.com"), seen[0]);
    // `--json` with a JSON string is the string's characters; `-` reads standard input.
    let r = run(
        &mut env.cmd(&[
            "index",
            "--field",
            "user",
            "--json",
            r#""\u0061lice@example.com""#,
        ]),
        b"",
    );
    assert_eq!(r.stdout_text().trim_end(), seen[0], "{}", r.stderr);
    let r = run(
        &mut env.cmd(&["index", "--field", "user", "-"]),
        b"alice@example.com\n",
    );
    assert_eq!(r.stdout_text().trim_end(), seen[0], "{}", r.stderr);
}

/// Several keys (a log written across a key change): one line per key, labelled by key id.
#[test]
fn enclog_index_with_several_keys_prints_one_value_per_key() {
    let (a, b) = (Env::new(), Env::new());
    let r = run(
        enclog(["index", "--field", "user", "--key-file"])
            .arg(&a.key)
            .arg("--key-file")
            .arg(&b.key)
            .arg("alice"),
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = format!(
        "{}\t{}\n{}\t{}\n",
        a.key_id(),
        index(&a.key, "user", "alice"),
        b.key_id(),
        index(&b.key, "user", "alice")
    );
    assert_eq!(r.stdout_text(), want);
}

/// `enclog grep user=VALUE` prints exactly that user's events, decrypted, in order; `-n` and
/// several files prefix them as grep does; nothing found is exit 1.
#[test]
fn enclog_grep_prints_exactly_one_users_events_decrypted() {
    let env = Env::new();
    let events = events(1_000);
    let log = env.write(
        "enc.jsonl",
        encrypt_fields(&env, &input(&events)).as_bytes(),
    );
    let of = |user: &str| -> Vec<(usize, &str)> {
        (events.iter().enumerate())
            .filter(|(_, e)| e.user.is_some_and(|u| u.1 == user))
            .map(|(i, e)| (i + 1, e.line.as_str()))
            .collect()
    };
    for user in ["alice@example.com", "グレース@example.jp"] {
        let r = run(env.cmd(&["grep", &format!("user={user}")]).arg(&log), b"");
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stderr, "");
        let want: String = of(user).iter().map(|(_, l)| format!("{l}\n")).collect();
        assert_eq!(r.stdout_text(), want, "{user}");
    }

    let r = run(
        env.cmd(&["grep", "-n", "user=bob@example.com"])
            .arg(&log)
            .arg(&log),
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let name = log.display().to_string();
    let once: Vec<String> = of("bob@example.com")
        .iter()
        .map(|(n, l)| format!("{name}:{n}:{l}"))
        .collect();
    let got: Vec<String> = r.stdout_text().lines().map(str::to_owned).collect();
    assert_eq!(got, [once.clone(), once].concat());

    let r = run(env.cmd(&["grep", "user=nobody@example.com"]).arg(&log), b"");
    assert_eq!((r.code, r.stdout.len()), (1, 0), "{}", r.stderr);
}

/// Lines without an index are found by their value once decrypted: a field sealed without
/// `--index`, a field in clear, a line sealed whole, a number given as JSON.
#[test]
fn enclog_grep_finds_fields_without_an_index_by_their_decrypted_value() {
    let env = Env::new();
    let events = events(300);
    let r = run(
        &mut env.cmd(&["encrypt", "--fields", "user, card"]),
        input(&events).as_bytes(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout_text().contains("_idx"));
    let log = env.write("enc.jsonl", &r.stdout);
    let grep = |args: &[&str]| {
        let r = run(env.cmd(&[&["grep"], args].concat()).arg(&log), b"");
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        r.stdout_text()
    };
    let want = |keep: &dyn Fn(&Event) -> bool| -> String {
        events
            .iter()
            .filter(|e| keep(e))
            .map(|e| format!("{}\n", e.line))
            .collect()
    };
    assert_eq!(
        grep(&["user=bob@example.com"]),
        want(&|e| e.user.is_some_and(|u| u.1 == "bob@example.com"))
    );
    // A sealed number, given as JSON.
    let card = events
        .iter()
        .find_map(|e| e.card.clone().filter(|c| c.starts_with('4')))
        .unwrap();
    assert_eq!(
        grep(&["--json", &format!("card={card}")]),
        want(&|e| e.card.as_deref() == Some(card.as_str()))
    );
    // Fields in clear, nested, and a number in another form (1e3 is 1000).
    assert_eq!(
        grep(&["req.path=/pay/7"]),
        want(&|e| e.line.contains(r#""/pay/7""#))
    );
    assert_eq!(
        grep(&["--json", "amount=1000"]),
        want(&|e| e.line.contains("1e3"))
    );
}

/// The index decides without decrypting: a line whose index does not match is not opened,
/// so a damaged line of another user does not stop grep (decrypt reports it).
#[test]
fn enclog_grep_opens_only_the_lines_whose_index_matches() {
    let env = Env::new();
    let input =
        "{\"user\":\"alice\",\"n\":1}\n{\"user\":\"bob\",\"n\":2}\n{\"user\":\"alice\",\"n\":3}\n";
    let sealed = encrypt_fields(&env, input);
    let mut lines: Vec<String> = sealed.lines().map(|l| format!("{l}\n")).collect();
    // bob's token damaged: one character changed.
    let token = string(&lines[1], "user");
    let mut damaged = token.clone().into_bytes();
    let at = damaged.len() - 3;
    damaged[at] = if damaged[at] == b'A' { b'B' } else { b'A' };
    lines[1] = lines[1].replace(&token, std::str::from_utf8(&damaged).unwrap());
    let log = env.write("enc.jsonl", lines.concat().as_bytes());

    let r = run(env.cmd(&["grep", "user=alice"]).arg(&log), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout_text(),
        "{\"user\":\"alice\",\"n\":1}\n{\"user\":\"alice\",\"n\":3}\n"
    );
    assert_eq!(r.stderr, "", "bob's line was never opened");
    let r = run(env.cmd(&["grep", "user=bob"]).arg(&log), b"");
    assert_eq!(
        r.code, 2,
        "the line looked at does not decrypt: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains(":2: the line fails authentication"),
        "{}",
        r.stderr
    );
    let r = run(env.cmd(&["decrypt"]).arg(&log), b"");
    assert_eq!(r.code, 1, "{}", r.stderr);
}

/// Issue 17's third "done when": a sealed value swapped between two lines does not decrypt
/// (exit 1, both lines named, the others printed) and `verify` reports both lines.
#[test]
fn a_sealed_value_swapped_between_two_lines_fails_decrypt_and_verify() {
    let env = Env::new();
    let events = events(40);
    let sealed = encrypt_fields(&env, &input(&events));
    let mut lines: Vec<String> = sealed.lines().map(|l| format!("{l}\n")).collect();
    let with_user: Vec<usize> = (0..events.len())
        .filter(|&i| events[i].user.is_some())
        .collect();
    let (a, b) = (with_user[3], with_user[11]);
    let (ta, tb) = (string(&lines[a], "user"), string(&lines[b], "user"));
    lines[a] = lines[a].replace(&ta, &tb);
    lines[b] = lines[b].replace(&tb, &ta);
    let log = env.write("swapped.jsonl", lines.concat().as_bytes());
    let name = log.display().to_string();

    let r = run(env.cmd(&["decrypt"]).arg(&log), b"");
    assert_eq!(r.code, 1, "{}", r.stderr);
    for n in [a + 1, b + 1] {
        assert!(
            r.stderr
                .contains(&format!("{name}:{n}: the line fails authentication")),
            "{}",
            r.stderr
        );
    }
    let want: String = (events.iter().enumerate())
        .filter(|&(i, _)| i != a && i != b)
        .map(|(_, e)| format!("{}\n", e.line))
        .collect();
    assert_eq!(r.stdout_text(), want, "every other line decrypted");

    let r = run(env.cmd(&["verify"]).arg(&log), b"");
    assert_eq!(r.code, 1, "{}", r.stdout_text());
    let report = r.stdout_text();
    for n in [a + 1, b + 1] {
        assert!(
            report.contains(&format!("{name}:{n}: corrupted")),
            "{report}"
        );
    }
    assert!(
        report.lines().last().unwrap().starts_with("FAILED"),
        "{report}"
    );
}

/// A field-sealed log with nothing altered, close record included, verifies clean.
#[test]
fn a_field_sealed_log_verifies_clean() {
    let env = Env::new();
    let log = env.write(
        "enc.jsonl",
        encrypt_fields(&env, &input(&events(200))).as_bytes(),
    );
    let r = run(env.cmd(&["verify"]).arg(&log), b"");
    assert_eq!(r.code, 0, "{}", r.stdout_text());
    let report = r.stdout_text();
    assert!(
        report.starts_with("ok: 201 lines: 200 events in 1 session (1 closed)")
            && report.trim_end().ends_with("clean"),
        "{report}"
    );
}

/// Threat: a line that `--fields` cannot handle passed through in clear. It is sealed whole
/// instead, and counted by reason on stderr; decrypt gives every line back.
#[test]
fn lines_that_cannot_be_field_sealed_are_sealed_whole_and_counted() {
    let env = Env::new();
    let input = concat!(
        "{\"user\":\"alice\",\"n\":1}\n",
        "plain text about alice\n",
        "[\"alice\",1]\n",
        "\n",
        "{\"user\":\"alice\",\"user\":\"mallory\"}\n",
        "{\"user\":\"alice\",\"enclog\":\"mine\"}\n",
        "{\"user\":\"alice\",\"note\":\"see enclog:abc\"}\n",
        "{\"user\":\"alice\" broken\n",
        "{\"user\":\"bob\"}\n",
    );
    let r = run(
        &mut env.cmd(&["encrypt", "--fields", "user", "--index", "user"]),
        input.as_bytes(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sealed = r.stdout_text();
    assert!(
        !sealed.contains("alice") && !sealed.contains("mallory"),
        "{sealed}"
    );
    let kinds: Vec<bool> = sealed.lines().map(|l| l.starts_with('{')).collect();
    assert_eq!(
        kinds,
        [
            true, false, false, false, false, false, false, false, true, false
        ],
        "field-sealed JSON objects, the rest (and the close record) sealed whole"
    );
    let stderr: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        stderr,
        [
            "enclog: 4 lines were not JSON objects and were sealed whole (the first: <stdin>:2: \
             not a JSON object: expected a JSON value at byte 1)",
            "enclog: 1 line had no canonical JSON form (a repeated key, or a number too large \
             for a double) and was sealed whole (<stdin>:5: the JSON has no canonical form: an \
             object repeats a key)",
            "enclog: 1 line already had a member that a field-sealed line adds and was sealed \
             whole (<stdin>:6: the line already has a member named \"enclog\", which a \
             field-sealed line uses)",
            "enclog: 1 line held the text \"enclog:\" in a clear value and was sealed whole \
             (<stdin>:7: a clear value holds the text \"enclog:\", which readers take for the \
             start of a token)",
        ]
    );
    let r = run(&mut env.cmd(&["decrypt"]), sealed.as_bytes());
    assert_eq!(
        (r.code, r.stdout_text()),
        (0, input.to_owned()),
        "{}",
        r.stderr
    );
    let r = run(&mut env.cmd(&["verify", "-"]), sealed.as_bytes());
    assert_eq!(r.code, 0, "{}", r.stdout_text());
}

/// A line longer than `--max-line` is split into pieces sealed whole (a piece is no JSON
/// object), as without `--fields`.
#[test]
fn a_split_line_is_sealed_whole_in_pieces() {
    let env = Env::new();
    let long = format!("{{\"user\":\"alice\",\"pad\":\"{}\"}}\n", "x".repeat(100));
    let r = run(
        &mut env.cmd(&["encrypt", "--fields", "user", "--max-line", "40"]),
        long.as_bytes(),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("<stdin>:1: line is 125 bytes"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("JSON"), "{}", r.stderr);
    assert!(r.stdout_text().lines().all(|l| l.starts_with("enclog:")));
}

/// The public-key mode: `--index` needs `--index-key-file` (never derived from the public
/// recipient); with it, the identity decrypts, and the index key finds the user's lines.
#[test]
fn recipient_mode_indexes_with_an_index_key_file_only() {
    let identity = Identity::new();
    let index_env = Env::new(); // its app.key serves as the index key
    let input = "{\"user\":\"alice\",\"n\":1}\n{\"user\":\"bob\",\"n\":2}\n";
    let encrypt = |extra: &[&str]| {
        let mut cmd = enclog([
            "encrypt",
            "--recipient",
            &identity.recipient,
            "--fields",
            "user",
            "--index",
            "user",
        ]);
        run(cmd.args(extra), input.as_bytes())
    };
    let r = encrypt(&[]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr
            .contains("--index with a recipient needs --index-key-file FILE"),
        "{}",
        r.stderr
    );
    // An identity is no index key.
    let r = encrypt(&["--index-key-file", &identity.path("identity.key")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--index-key-file"), "{}", r.stderr);

    let r = encrypt(&["--index-key-file", index_env.key.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sealed = r.stdout_text();
    assert!(!sealed.contains("alice"));
    let alice = index(&index_env.key, "user", "alice");
    assert_eq!(
        sealed.lines().filter(|l| l.contains(&alice)).count(),
        1,
        "{sealed}"
    );
    let log = index_env.write("enc.jsonl", sealed.as_bytes());

    let identity_key = identity.path("identity.key");
    let r = run(
        enclog(["decrypt", "--key-file", &identity_key]).arg(&log),
        b"",
    );
    assert_eq!(
        (r.code, r.stdout_text()),
        (0, input.to_owned()),
        "{}",
        r.stderr
    );
    let r = run(
        enclog(["grep", "--key-file", &identity_key, "--key-file"])
            .arg(&index_env.key)
            .arg("user=alice")
            .arg(&log),
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout_text(), "{\"user\":\"alice\",\"n\":1}\n");
    // The identity alone: no index can be used, every line is decrypted and judged by value.
    let r = run(
        enclog(["grep", "--key-file", &identity_key, "user=alice"]).arg(&log),
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout_text(), "{\"user\":\"alice\",\"n\":1}\n");
    assert!(
        r.stderr.contains("no blind index can be used"),
        "{}",
        r.stderr
    );
    // The identity alone cannot index: `enclog index` says what to give.
    let r = run(
        &mut enclog([
            "index",
            "--field",
            "user",
            "--key-file",
            &identity_key,
            "alice",
        ]),
        b"",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--index-key-file"), "{}", r.stderr);
}

/// `--output json` gives a field-sealed line's restored event and what was sealed; a member a
/// shipper added is listed as unauthenticated, and `--authenticated-only` removes it.
#[test]
fn decrypt_json_output_lists_the_sealed_fields_and_authenticated_only_drops_added_ones() {
    let env = Env::new();
    let line = r#"{"ts":"t","user":{"email":"a@example.com","id":7},"card":4111,"msg":"paid"}"#;
    let sealed = run(
        &mut env.cmd(&[
            "encrypt",
            "--fields",
            "user.email,card",
            "--index",
            "user.email",
        ]),
        format!("{line}\n").as_bytes(),
    );
    assert_eq!(sealed.code, 0, "{}", sealed.stderr);
    let first = sealed.stdout_text().lines().next().unwrap().to_owned();
    assert!(first.contains(r#""email":"enclog:"#) && first.contains(r#""email_idx":""#));
    let shipped = first.replacen('{', r#"{"host":"web1","#, 1);
    let log = env.write("shipped.jsonl", format!("{shipped}\n").as_bytes());

    let r = run(env.cmd(&["decrypt", "--output", "json"]).arg(&log), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let record: Value = serde_json::from_str(r.stdout_text().trim_end()).unwrap();
    assert_eq!(
        record["fields"],
        serde_json::json!({
            "syntax": "json",
            "sealed": ["/user/email", "/card"],
            "indexed": ["/user/email"],
            "unauthenticated": ["host"],
        })
    );
    assert_eq!(record["meta_status"], "matches");
    let with_host = line.replacen('{', r#"{"host":"web1","#, 1);
    assert_eq!(record["plaintext"], with_host.as_str());

    let r = run(env.cmd(&["decrypt"]).arg(&log), b"");
    assert_eq!(r.stdout_text(), format!("{with_host}\n"));
    let r = run(env.cmd(&["decrypt", "--authenticated-only"]).arg(&log), b"");
    assert_eq!(
        (r.code, r.stdout_text()),
        (0, format!("{line}\n")),
        "{}",
        r.stderr
    );
    let r = run(
        env.cmd(&["decrypt", "--authenticated-only", "--output", "json"])
            .arg(&log),
        b"",
    );
    let record: Value = serde_json::from_str(r.stdout_text().trim_end()).unwrap();
    assert_eq!(record["plaintext"], line);
    assert!(record.get("before").is_none());
}

/// Threat: a clear field edited after writing (`"level":"ERROR"` made `"DEBUG"`). decrypt
/// warns on stderr and marks the line on stdout; `--authenticated-only` leaves it out (exit
/// 1); `verify` reports it.
#[test]
fn edited_clear_fields_are_marked_left_out_when_asked_and_reported_by_verify() {
    let env = Env::new();
    let input = "{\"level\":\"ERROR\",\"user\":\"alice\"}\n{\"level\":\"INFO\",\"user\":\"bob\"}\n";
    let sealed = encrypt_fields(&env, input).replacen("ERROR", "DEBUG", 1);
    let log = env.write("edited.jsonl", sealed.as_bytes());
    let name = log.display().to_string();

    let r = run(env.cmd(&["decrypt"]).arg(&log), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout_text(),
        "[clear fields edited] {\"level\":\"DEBUG\",\"user\":\"alice\"}\n\
         {\"level\":\"INFO\",\"user\":\"bob\"}\n"
    );
    assert!(
        r.stderr.contains(&format!(
            "{name}:1: warning: clear fields of this field-sealed line were edited"
        )),
        "{}",
        r.stderr
    );

    let r = run(env.cmd(&["decrypt", "--authenticated-only"]).arg(&log), b"");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout_text(), "{\"level\":\"INFO\",\"user\":\"bob\"}\n");
    assert!(
        r.stderr.contains(&format!("{name}:1: the clear fields")),
        "{}",
        r.stderr
    );

    let r = run(env.cmd(&["verify"]).arg(&log), b"");
    assert_eq!(r.code, 1);
    assert!(
        r.stdout_text()
            .contains(&format!("{name}:1: clear fields edited: ")),
        "{}",
        r.stdout_text()
    );
}

/// `--fields` keeps the rest of encrypt working: `-o`, `--chain` across runs,
/// `--rotate-lines`; the chained runs verify clean and decrypt gives every line back.
#[test]
fn fields_work_with_chains_rotation_and_an_output_file() {
    let env = Env::new();
    let log = env.path("app.log");
    let state = env.path("state/app.chain");
    let events = events(10);
    let mut all = String::new();
    for part in events.chunks(5) {
        let input = input(part);
        all.push_str(&input);
        let mut cmd = env.cmd(&["encrypt", "--fields", "user,card", "--index", "user"]);
        cmd.arg("-o")
            .arg(&log)
            .arg("--chain")
            .arg(&state)
            .args(["--rotate-lines", "2"]);
        let r = run(&mut cmd, input.as_bytes());
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let written = std::fs::read(&log).unwrap();
    assert_eq!(
        lines(&written)
            .iter()
            .filter(|l| l.starts_with(b"{"))
            .count(),
        10
    );
    let r = run(env.cmd(&["verify"]).arg(&log), b"");
    assert_eq!(r.code, 0, "{}", r.stdout_text());
    let r = run(env.cmd(&["decrypt"]).arg(&log), b"");
    assert_eq!((r.code, r.stdout_text()), (0, all), "{}", r.stderr);
}

/// Usage errors are exit 2 with a message that says what to do, and write nothing.
#[test]
fn usage_errors_say_what_to_do() {
    let env = Env::new();
    let fernet = env.path("fernet.key");
    crate::key_file::write_key_file(
        &fernet,
        &enclog::fernet::FernetKey::generate().unwrap().to_text(),
    );
    for (args, says) in [
        (
            vec!["encrypt", "--fields", "user", "--index", "card"],
            "--index card: only sealed fields are indexed",
        ),
        (
            vec!["encrypt", "--fields", "user,,card"],
            "one of them is empty",
        ),
        (vec!["grep", "alice"], "is not FIELD=VALUE"),
        (vec!["grep", ".user=x"], "dotted path"),
        (
            vec!["index", "--field", "n", "--json", "alice"],
            "--json: the value is not one JSON value",
        ),
    ] {
        let r = run(&mut env.cmd(&args), b"{\"user\":\"x\"}\n");
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}");
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(
            !r.stderr.contains("alice"),
            "the value is not echoed: {}",
            r.stderr
        );
    }
    let r = run(
        enclog(["encrypt", "--fields", "user", "--key-file"]).arg(&fernet),
        b"{\"user\":\"x\"}\n",
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("seals whole lines only"), "{}", r.stderr);
    // --index without --fields, --index-key-file without --index: clap's own usage errors.
    for args in [
        vec!["encrypt", "--index", "user"],
        vec!["encrypt", "--fields", "user", "--index-key-file", "k"],
    ] {
        let r = run(&mut env.cmd(&args), b"");
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
}

/// The README's "From the command line" blocks, pasted into sh as they are (with a `json-app`
/// that prints two events), seal, decrypt, index and grep as they say.
#[test]
fn the_readme_field_blocks_work_in_sh() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let (_, section) = readme
        .split_once("### From the command line: any program's JSON lines")
        .expect("the README's section");
    let blocks: Vec<&str> = section
        .split("```sh\n")
        .skip(1)
        .take(2)
        .map(|b| b.split_once("```").expect("a closed block").0)
        .collect();
    let env = Env::new();
    let events = "{\"user\":\"alice@example.com\",\"card\":{\"pan\":\"4111\"},\"n\":1}\n\
                  {\"user\":\"bob@example.com\",\"card\":{\"pan\":\"5500\"},\"n\":2}\n";
    // `json-app`: any program printing JSON lines.
    let apps = env.path("bin");
    std::fs::create_dir(&apps).unwrap();
    let app = apps.join("json-app");
    std::fs::write(&app, format!("#!/bin/sh\nprintf '%s' '{events}'\n")).unwrap();
    std::fs::set_permissions(&app, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script = format!("{}\necho ---\n{}", blocks[0], blocks[1]);
    let bin = Path::new(env!("CARGO_BIN_EXE_enclog")).parent().unwrap();
    let mut sh = Command::new("sh");
    for var in crate::enclog_bin::INHERITED_VARS {
        sh.env_remove(var);
    }
    let out = sh
        .args(["-euc", &script])
        .current_dir(env.dir.path())
        .env(
            "PATH",
            format!("{}:{}:/usr/bin:/bin", bin.display(), apps.display()),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alice = events.lines().next().unwrap();
    let index = index(&env.key, "user", "alice@example.com");
    assert_eq!(
        stdout,
        format!("{events}{index}\n{alice}\n---\n{alice}\n"),
        "decrypt, index, grep; then grep -F | decrypt"
    );
    let sealed = std::fs::read_to_string(env.path("app.jsonl")).unwrap();
    assert!(
        !sealed.contains("alice") && !sealed.contains("\"4111\""),
        "{sealed}"
    );
}

/// A field-sealed file large enough for several threads (over 4 MiB) decrypts the same with
/// `--jobs 2` as with one thread: every line restored, in order.
#[test]
fn a_large_field_sealed_file_decrypts_the_same_on_several_threads() {
    let env = Env::new();
    let input: String = (0..14_000)
        .map(|i| {
            format!(
                "{{\"ts\":{i},\"user\":\"u{}@example.com\",\"card\":{{\"pan\":\"4111 {i:06}\"}},\"pad\":\"{}\"}}\n",
                i % 17,
                "x".repeat(250)
            )
        })
        .collect();
    let log = env.write("big.jsonl", encrypt_fields(&env, &input).as_bytes());
    assert!(std::fs::metadata(&log).unwrap().len() > 5 << 20);
    for jobs in ["1", "2"] {
        let r = run(env.cmd(&["decrypt", "--jobs", jobs]).arg(&log), b"");
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stdout == input.as_bytes(), "--jobs {jobs}: not the input");
    }
}

/// With a symmetric key, `--index-key-file` replaces the key's own index key (index values
/// that stay the same across key changes): the values are the index key's, and `grep` given
/// both keys finds the events.
#[test]
fn an_index_key_file_replaces_a_symmetric_keys_own_index_key() {
    let (env, index_env) = (Env::new(), Env::new());
    let mut cmd = env.cmd(&["encrypt", "--fields", "user", "--index", "user"]);
    cmd.arg("--index-key-file").arg(&index_env.key);
    let r = run(&mut cmd, b"{\"user\":\"alice\"}\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sealed = r.stdout_text();
    assert!(sealed.contains(&index(&index_env.key, "user", "alice")));
    assert!(!sealed.contains(&index(&env.key, "user", "alice")));
    let log = env.write("enc.jsonl", sealed.as_bytes());
    let mut grep = env.cmd(&["grep", "user=alice"]);
    grep.arg("--key-file").arg(&index_env.key).arg(&log);
    let r = run(&mut grep, b"");
    assert_eq!(
        (r.code, r.stdout_text()),
        (0, "{\"user\":\"alice\"}\n".into()),
        "{}",
        r.stderr
    );
}
