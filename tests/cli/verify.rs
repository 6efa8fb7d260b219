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
        // The sequence number 0x80 0x00 (after vm, type, key id, commit and session): zero, in
        // two bytes.
        retoken(&good[2], |bytes| {
            bytes[38..40].copy_from_slice(&[0x80, 0x00])
        }),
        retoken(&good[3], |bytes| bytes[0] = 0x31), // format version 3
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
            "the token has format version 3 (this build reads 1 and 2): written by a newer \
             enclog (upgrade), or the line is damaged"
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
    assert!(!r.stdout_text().contains("clean"), "{}", r.stdout_text());
}

/// A key file of mode 0600 holding `text`.
fn key_file(env: &Env, name: &str, text: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = env.write(name, format!("{text}\n").as_bytes());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Test keys (raw bytes 0x5a… and 0xc3…), and a session of key A: three events and its close
/// record. `FORGED` are seq 1 and a close record (seq 3) of the same session id, sealed with
/// key B (made by `forge` in `tests/library/verify.rs`).
const KEY_A: &str = "ENCLOG-KEY-1-WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWloRP_w7";
const KEY_B: &str = "ENCLOG-KEY-1-w8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8OXoFdz";
const SESSION_A: [&str; 4] = [
    "enclog:ESvWYYT2y2_YdKOkxjMgMY2avHL3AEsn20s-ANmQxcjHGuHjOQv4YEsrhbgh\n",
    "enclog:ESvWYYT2y2_YdKOkxjMgMY2avHL3ARmzSJ7nSKm_X5SdPK_YvnSr-jQGmv7i\n",
    "enclog:ESvWYYT2y2_YdKOkxjMgMY2avHL3Agl_R58sB-Qmk0N7m-nWoyWRq42rfbJS\n",
    "enclog:FSvWYYT2y2_YdKOkxjMgMY2avHL3AyuaoXk7kYgzU0x2WguiI_k\n",
];
const FORGED: [&str; 2] = [
    "enclog:EaGtIg32y2_YdKOkxjMgMY2avHL3AaqvkQDTRyyh9l65BqqDAHaDReBbb-JZNQQET6GeelL5\n",
    "enclog:FaGtIg32y2_YdKOkxjMgMY2avHL3AwYZAM13DnLQsIeWaSl9T-U\n",
];

/// Threat: a holder of a second key of the keyring replacing a line of a session sealed under
/// the first key, and forging its close record. Every line opens with the keyring, so only
/// telling sessions apart by key and id catches it (it was clean, exit 0, before).
#[test]
fn a_line_sealed_with_another_keyring_key_inside_a_session_exits_1() {
    let env = Env::new();
    let (a, b) = (
        key_file(&env, "a.key", KEY_A),
        key_file(&env, "b.key", KEY_B),
    );
    let verify = |name: &str, lines: &[&str]| {
        let file = env.write(name, lines.concat().as_bytes());
        let mut cmd = enclog(["verify", "--key-file"]);
        cmd.arg(&a).arg("--key-file").arg(&b).arg(&file);
        let r = run(&mut cmd, b"");
        (r.code, r.stdout_text())
    };
    let (code, out) = verify("real.log", &SESSION_A);
    assert_eq!(code, 0, "{out}");

    let tampered = [SESSION_A[0], FORGED[0], SESSION_A[2], FORGED[1]];
    let (code, out) = verify("tampered.log", &tampered);
    assert_eq!(code, 1, "{out}");
    let path = env.path("tampered.log").display().to_string();
    assert!(
        out.contains(&format!(
            "{path}:2: key changed inside a session: an event with seq 1 of session"
        )) && out.contains(&format!(
            "{path}:4: key changed inside a session: a close record"
        )),
        "{out}"
    );
    assert!(out.contains("is sealed with key"), "{out}");
    assert!(out.contains(": missing lines: seq 1 "), "{out}");
    assert!(out.lines().last().unwrap().starts_with("FAILED: "), "{out}");

    let file = env.path("tampered.log");
    let mut cmd = enclog(["verify", "--output", "json", "--key-file"]);
    cmd.arg(&a).arg("--key-file").arg(&b).arg(&file);
    let r = run(&mut cmd, b"");
    let kinds: Vec<String> = r
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|v| v["kind"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        kinds,
        ["key_changed", "missing", "unclosed", "key_changed"],
        "{}",
        r.stdout_text()
    );
    assert_eq!(r.code, 1);
}

/// A file of plain lines holds nothing authenticated: never "clean", and one finding for the
/// run rather than one per line.
#[test]
fn a_plain_only_file_is_never_clean() {
    let env = Env::new();
    let plain: Vec<Vec<u8>> = (0..500)
        .map(|i| format!("ERROR payment {i} failed\n").into_bytes())
        .collect();
    let (code, out) = verify(&env, "plain.log", &plain);
    let path = env.path("plain.log").display().to_string();
    assert_eq!(code, 1, "{out:?}");
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(
        out[0].starts_with(&format!(
            "{path}:1: plain text: 500 lines, from here through line 500, hold no token"
        )) && out[0].contains("--allow-plain"),
        "{out:?}"
    );
    assert!(out[1].starts_with("FAILED: 500 lines") && out[1].ends_with(": 1 plain_line"));

    let file = env.path("plain.log");
    let r = run(env.cmd(&["verify", "--allow-plain"]).arg(&file), b"");
    assert_eq!(r.code, 0, "{}", r.stdout_text());
    assert!(r.stdout_text().starts_with("ok: 500 lines"));
}

/// Threat: a check that read nothing passing for a check that found nothing. A directory (or
/// any input that cannot be read) is exit 2 and the summary never says "clean", even when the
/// other files are clean.
#[test]
fn a_directory_never_prints_clean() {
    let env = Env::new();
    let good = env.write("good.log", &log(&env).concat());
    for args in [vec![env.dir.path()], vec![env.dir.path(), good.as_path()]] {
        let mut cmd = env.cmd(&["verify"]);
        cmd.args(&args);
        let r = run(&mut cmd, b"");
        let out = r.stdout_text();
        assert_eq!(r.code, 2, "{out}");
        assert!(!out.contains("clean") && !out.contains("ok:"), "{out}");
        assert!(
            out.starts_with("FAILED: 1 input could not be read (see standard error)"),
            "{out}"
        );
        assert!(r.stderr.contains("is a directory"), "{}", r.stderr);

        let mut cmd = env.cmd(&["verify", "--output", "json"]);
        cmd.args(&args);
        let r = run(&mut cmd, b"");
        let summary: serde_json::Value =
            serde_json::from_str(r.stdout_text().lines().last().unwrap()).unwrap();
        assert_eq!((summary["clean"].clone(), r.code), (false.into(), 2));
        assert_eq!(summary["inputs_failed"], 1);
    }
}

/// `ls` order (`app.log app.log.1 app.log.2`) is newest first: a handful of findings with a
/// hint to reverse them, where each line used to be a finding of its own.
#[test]
fn files_given_newest_first_are_a_few_findings_with_a_hint() {
    let env = Env::new();
    let plain: String = (0..300).map(|i| format!("event {i}\n")).collect();
    let lines = lines(&env.encrypt(plain.as_bytes()));
    let (old, rest) = lines.split_at(100);
    let (older, new) = rest.split_at(100);
    let files = [
        env.write("app.log", &new.concat()),
        env.write("app.log.1", &older.concat()),
        env.write("app.log.2", &old.concat()),
    ];
    let r = run(env.cmd(&["verify"]).args(&files), b"");
    let out = r.stdout_text();
    assert_eq!(r.code, 1, "{out}");
    assert_eq!(out.lines().count(), 3, "{out}");
    let oldest_first = files
        .iter()
        .rev()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        out.contains(&format!(
            "the files seem to be given newest first: give them oldest first ({oldest_first})"
        )),
        "{out}"
    );
    assert!(out.lines().last().unwrap().ends_with(": 2 out_of_order"));
}

/// Text around a token is not authenticated: counted and said in a note; with --strict a
/// finding. JSON carries the new kinds and counters.
#[test]
fn text_around_tokens_is_noted_and_a_finding_with_strict() {
    let env = Env::new();
    let lines: Vec<Vec<u8>> = log(&env)
        .into_iter()
        .map(|l| [&b"Nov 26 20:27:30 web1 app[77]: "[..], &l].concat())
        .collect();
    let (code, out) = verify(&env, "syslog.log", &lines);
    assert_eq!(code, 0, "{out:?}");
    assert!(
        out[0].starts_with("note: 6 lines have text before or after the token")
            && out[0].contains("--strict"),
        "{out:?}"
    );
    assert!(out[1].starts_with("ok: 6 lines") && out[1].ends_with("clean"));

    let file = env.path("syslog.log");
    let r = run(env.cmd(&["verify", "--strict"]).arg(&file), b"");
    assert_eq!(r.code, 1, "{}", r.stdout_text());
    assert!(
        r.stdout_text().contains(
            ":1: unauthenticated text around a token: 6 lines, from here through line 6,"
        ),
        "{}",
        r.stdout_text()
    );

    let mut file = lines.concat();
    file.extend_from_slice(b"a plain line\n");
    let file = env.write("mixed.log", &file);
    let r = run(env.cmd(&["verify", "--output", "json"]).arg(&file), b"");
    let objects: Vec<serde_json::Value> = r
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 2, "{objects:?}");
    assert_eq!(objects[0]["kind"], "plain_line");
    assert_eq!(objects[0]["line"], 7);
    assert_eq!(objects[0]["through"], serde_json::Value::Null);
    assert_eq!(objects[1]["unauthenticated_text"], 6);
    assert_eq!(objects[1]["plain_lines"], 1);
    assert_eq!(objects[1]["inputs_failed"], 0);
}

/// zato-enclog lines carry no sequence numbers: the summary says deletions among them cannot
/// be seen, instead of a bare "clean".
#[test]
fn zato_enclog_lines_are_reported_as_unsequenced() {
    let env = Env::new();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/zato/fixtures");
    let text = std::fs::read_to_string(fixtures.join("fernet.key")).unwrap();
    let key = text
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap();
    let key = key_file(&env, "fernet.key", key);
    let log = std::fs::read(fixtures.join("basic.log")).unwrap();
    let file = env.write("zato.log", &log);
    let r = run(enclog(["verify", "--key-file"]).arg(&key).arg(&file), b"");
    let out = r.stdout_text();
    assert_eq!(r.code, 0, "{out}");
    let n = log.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
    assert!(
        out.contains(&format!(
            "note: {n} lines in zato-enclog's format carry no sequence numbers: deletions among \
             them cannot be seen"
        )),
        "{out}"
    );
    assert!(
        out.lines()
            .last()
            .unwrap()
            .contains(&format!(", {n} unsequenced (zato-enclog): clean")),
        "{out}"
    );
}
