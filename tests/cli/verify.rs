//! `enclog verify`: a clean log, and each way a log can be damaged.

use base64_simd::URL_SAFE_NO_PAD;

use crate::fixture::{Env, enclog, flip, lines, run};

/// A log of five events and its close record, as lines.
fn log(env: &Env) -> Vec<Vec<u8>> {
    lines(&env.encrypt(b"e0\ne1\ne2\ne3\ne4\n"))
}

fn verify(env: &Env, name: &str, lines: &[Vec<u8>]) -> (i32, Vec<String>) {
    let file = env.write(name, &lines.concat());
    let r = run(env.cmd(&["verify"]).arg(&file), b"");
    let out = r.stdout_text().lines().map(str::to_owned).collect();
    (r.code, out)
}

#[test]
fn a_clean_log_exits_0() {
    let env = Env::new();
    let (code, out) = verify(&env, "clean.log", &log(&env));
    assert_eq!(code, 0, "{out:?}");
    assert_eq!(out.len(), 1);
    assert!(
        out[0].starts_with("ok: 6 lines") && out[0].ends_with("clean"),
        "{out:?}"
    );
}

fn assert_finding(code: i32, out: &[String], prefix: &str) {
    assert_eq!(code, 1, "{out:?}");
    assert!(
        out.iter().any(|l| l.starts_with(prefix)),
        "no `{prefix}` in {out:#?}"
    );
    assert!(out.last().unwrap().starts_with("FAILED: "), "{out:?}");
}

#[test]
fn a_deleted_line() {
    let env = Env::new();
    let mut lines = log(&env);
    lines.remove(2);
    let (code, out) = verify(&env, "deleted.log", &lines);
    let path = env.path("deleted.log").display().to_string();
    assert_finding(code, &out, &format!("{path}:3: missing lines: seq 2 "));
}

#[test]
fn a_duplicated_line() {
    let env = Env::new();
    let mut lines = log(&env);
    lines.insert(3, lines[1].clone());
    let (code, out) = verify(&env, "dup.log", &lines);
    let path = env.path("dup.log").display().to_string();
    assert_finding(code, &out, &format!("{path}:4: duplicate line"));
}

#[test]
fn swapped_lines() {
    let env = Env::new();
    let mut lines = log(&env);
    lines.swap(1, 2);
    let (code, out) = verify(&env, "swap.log", &lines);
    let path = env.path("swap.log").display().to_string();
    assert_finding(code, &out, &format!("{path}:3: line out of order"));
    assert!(
        !out.iter().any(|l| l.contains(": missing lines:")),
        "{out:?}"
    );
}

#[test]
fn a_flipped_bit() {
    let env = Env::new();
    let mut lines = log(&env);
    lines[2] = flip(&lines[2]);
    let (code, out) = verify(&env, "flip.log", &lines);
    let path = env.path("flip.log").display().to_string();
    assert_finding(code, &out, &format!("{path}:3: corrupted line"));
}

#[test]
fn the_tail_cut_off() {
    let env = Env::new();
    let mut lines = log(&env);
    lines.truncate(4); // e0..e3, no close record
    let (code, out) = verify(&env, "cut.log", &lines);
    let path = env.path("cut.log").display().to_string();
    assert_finding(code, &out, &format!("{path}:4: session not closed"));
}

/// Threat: the last line edited and its newline removed, to pass for a crash mid-line. v1 has
/// no length field to tell a cut line from an edited one, so verify names both.
#[test]
fn an_altered_last_line_without_newline_is_truncated_or_altered() {
    let env = Env::new();
    let mut lines = log(&env);
    let last = lines.last_mut().unwrap();
    last.pop(); // its newline
    let at = last.len() / 2;
    last[at] = if last[at] == b'A' { b'B' } else { b'A' };
    let (code, out) = verify(&env, "edited.log", &lines);
    assert_eq!(code, 1, "{out:?}");
    let finding = out
        .iter()
        .find(|l| l.contains("edited.log:6: "))
        .unwrap_or_else(|| panic!("no finding for line 6 in {out:#?}"));
    assert!(
        finding.contains("truncated or altered line: ")
            && finding.contains("or the line was altered"),
        "{finding}"
    );
}

/// Like `decrypt`: the first line under each missing key is listed, the others counted.
#[test]
fn lines_under_a_missing_key_are_listed_once_per_key_and_counted() {
    let env = Env::new();
    let (a, b) = (Env::new(), Env::new());
    let log = [
        lines(&a.encrypt(b"a1\na2\n")), // lines 1-3 (with its close record)
        lines(&b.encrypt(b"b1\n")),     // lines 4-5
        lines(&env.encrypt(b"mine\n")), // lines 6-7
        lines(&a.encrypt(b"a3\n")),     // lines 8-9
    ]
    .concat();
    let (code, out) = verify(&env, "keys.log", &log);
    assert_eq!(code, 1, "{out:?}");
    let path = env.path("keys.log").display().to_string();
    assert_eq!(out.len(), 5, "{out:#?}");
    for (finding, line, key) in [(&out[0], 1, &a), (&out[1], 4, &b)] {
        assert!(
            finding.starts_with(&format!("{path}:{line}: unknown key: "))
                && finding.contains(&key.key_id()),
            "{finding}"
        );
    }
    // In the order the keys were first listed.
    assert_eq!(
        out[2..4],
        [
            "… and 4 more lines under the same missing key (not listed)",
            "… and 1 more lines under the same missing key (not listed)",
        ]
    );
    assert!(out[4].starts_with("FAILED: 9 lines"), "{}", out[4]);
}

/// The names of the kinds of bad lines: those `verify` puts before each finding's message,
/// and the labels the messages themselves used to start with.
const KIND_NAMES: [&str; 6] = [
    "corrupted",
    "malformed",
    "truncated",
    "unsupported",
    "unknown key",
    "wrong key",
];

/// How many `: `-separated parts of a message start with the name of a kind of bad line: two
/// say it twice (`malformed token: malformed token: …`, `unknown key: wrong key: …`).
fn kind_names(message: &str) -> usize {
    message
        .split(": ")
        .filter(|part| KIND_NAMES.iter().any(|name| part.starts_with(name)))
        .count()
}

/// A token line rebuilt with its decoded bytes changed by `change`.
fn retoken(line: &[u8], change: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let text = std::str::from_utf8(line).unwrap().trim_end();
    let token = text.strip_prefix("enclog:").expect("a token line");
    let mut bytes = URL_SAFE_NO_PAD.decode_to_vec(token).unwrap();
    change(&mut bytes);
    format!("enclog:{}\n", URL_SAFE_NO_PAD.encode_to_string(&bytes)).into_bytes()
}

/// Each kind of bad line is named once: by `verify` in front of the message, and not at all
/// by `decrypt`, whose message says what is wrong.
#[test]
fn the_kind_of_a_bad_line_is_said_once() {
    let env = Env::new();
    let other = Env::new();
    let good = log(&env);
    let log = [
        good[0].clone(),
        flip(&good[1]),
        // The sequence number 0x80 0x00: zero, in two bytes.
        retoken(&good[2], |bytes| {
            bytes[21..23].copy_from_slice(&[0x80, 0x00])
        }),
        retoken(&good[3], |bytes| bytes[0] = 0x21), // format version 2
        lines(&other.encrypt(b"x\n"))[0].clone(),
        good[4][..40].to_vec(), // cut mid-token: the writer died mid-line
    ];
    let path = env.path("kinds.log").display().to_string();
    let (id, other_id) = (env.key_id(), other.key_id());
    let messages = [
        (
            "corrupted line",
            format!("the line fails authentication under key {id}"),
        ),
        (
            "malformed token",
            "the token cannot be parsed: sequence number is not minimally encoded".into(),
        ),
        (
            "unsupported token",
            "the token has format version 2 (this build reads 1): written by a newer enclog \
             (upgrade), or the line is damaged"
                .into(),
        ),
        (
            "unknown key",
            format!(
                "the line was sealed with key {other_id}, which is not among the keys given \
                 ({id}); add that key (--key-file/--keyring)"
            ),
        ),
        (
            "truncated or altered line",
            "the token ends early or was altered (the last line has no newline and does not \
             open: a writer cut off mid-line, or an edit; v1 lines carry no length to tell \
             which)"
                .into(),
        ),
    ];

    let (code, out) = verify(&env, "kinds.log", &log);
    assert_eq!(code, 1, "{out:#?}");
    for (line, (kind, message)) in (2..).zip(&messages) {
        let finding = format!("{path}:{line}: {kind}: {message}");
        assert!(
            out.iter().any(|l| l.starts_with(&finding)),
            "no `{finding}` in {out:#?}"
        );
    }
    for finding in &out {
        assert!(kind_names(finding) <= 1, "said twice: {finding}");
    }

    let r = run(
        enclog(["decrypt", "--key-file"]).arg(&env.key).arg(&path),
        b"",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let expected: Vec<String> = (2..)
        .zip(&messages)
        .map(|(line, (_, message))| format!("enclog: {path}:{line}: {message}"))
        .collect();
    assert_eq!(r.stderr.lines().collect::<Vec<_>>(), expected);
    for message in r.stderr.lines() {
        assert_eq!(kind_names(message), 0, "{message}");
    }
}

#[test]
fn allow_open_accepts_a_live_log() {
    let env = Env::new();
    let mut lines = log(&env);
    lines.truncate(4);
    let file = env.write("live.log", &lines.concat());
    let r = run(env.cmd(&["verify", "--allow-open"]).arg(&file), b"");
    assert_eq!(r.code, 0, "{}", r.stdout_text());
}

#[test]
fn json_output_has_one_object_per_finding_then_a_summary() {
    let env = Env::new();
    let mut lines = log(&env);
    lines.remove(1);
    let file = env.write("j.log", &lines.concat());
    let r = run(env.cmd(&["verify", "--output", "json"]).arg(&file), b"");
    assert_eq!(r.code, 1);
    let objects: Vec<serde_json::Value> = r
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["kind"], "missing");
    assert_eq!(objects[0]["line"], 2);
    assert_eq!(objects[0]["missing"], serde_json::json!([1, 1]));
    assert_eq!(objects[1]["summary"], true);
    assert_eq!(objects[1]["clean"], false);
    assert_eq!(objects[1]["findings"], 1);
}

#[test]
fn a_missing_file_is_exit_2() {
    let env = Env::new();
    let r = run(env.cmd(&["verify"]).arg(env.path("nope.log")), b"");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no such file"), "{}", r.stderr);
}
