//! Chained sessions from the command line (FORMAT.md §5, §8): `enclog encrypt --chain`,
//! `--rotate-lines`, and `enclog verify` on whole sessions deleted, reordered, interleaved,
//! replayed or forged.
//!
//! Threat: an attacker who cannot forge a line (no key) removing, moving or repeating whole
//! runs of a service, or (recipient mode) anyone holding the public recipient sealing a
//! session of their own and splicing it in.

use std::path::Path;

use crate::fixture::{Env, enclog, lines, run};

/// The lines of a log grouped by session, in order of first appearance (from `decrypt
/// --output json`, which gives every line its session).
fn sessions(env: &Env, reader_key: &[&str], log: &Path) -> Vec<Vec<Vec<u8>>> {
    let mut cmd = enclog(["decrypt", "--output", "json"]);
    cmd.args(reader_key).arg(log);
    let out = run(&mut cmd, b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let raw = lines(&std::fs::read(log).unwrap());
    let mut order: Vec<String> = Vec::new();
    let mut grouped: Vec<Vec<Vec<u8>>> = Vec::new();
    for (json, line) in out.stdout_text().lines().zip(raw) {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let session = value["session"].as_str().unwrap().to_owned();
        match order.iter().position(|s| *s == session) {
            Some(i) => grouped[i].push(line),
            None => {
                order.push(session);
                grouped.push(vec![line]);
            }
        }
    }
    let _ = env;
    grouped
}

/// `enclog verify` over `lines` written to a file; the exit code and stdout.
fn verify(env: &Env, reader_key: &[&str], name: &str, lines: &[Vec<u8>]) -> (i32, String) {
    let file = env.write(name, &lines.concat());
    let mut cmd = enclog(["verify"]);
    cmd.args(reader_key).arg(&file);
    let r = run(&mut cmd, b"");
    (r.code, r.stdout_text())
}

#[test]
fn three_chained_runs_verify_clean_and_a_session_deleted_moved_mixed_or_replayed_fails() {
    let env = Env::new();
    let log = env.path("app.log");
    let state = env.path("state/app.chain");
    for run_no in 0..3 {
        let input = format!("run {run_no} line 1\nrun {run_no} line 2\nrun {run_no} line 3\n");
        let mut cmd = env.cmd(&["encrypt"]);
        cmd.arg("-o").arg(&log).arg("--chain").arg(&state);
        let r = run(&mut cmd, input.as_bytes());
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let key = ["--key-file", env.key.to_str().unwrap()];
    let s = sessions(&env, &key, &log);
    assert_eq!(s.len(), 3, "three runs, three sessions");
    let (code, out) = verify(&env, &key, "clean.log", &s.concat());
    assert_eq!(code, 0, "{out}");

    let cases: [(&str, Vec<Vec<u8>>); 5] = [
        ("the middle run deleted", [&s[0][..], &s[2]].concat()),
        (
            "the last two runs swapped",
            [&s[0][..], &s[2], &s[1]].concat(),
        ),
        (
            "the last two runs' lines mixed",
            [&s[0][..], &s[1][..2], &s[2][..2], &s[1][2..], &s[2][2..]].concat(),
        ),
        (
            "the middle run replayed",
            [&s[0][..], &s[1], &s[2], &s[1]].concat(),
        ),
        (
            "the first run replayed",
            [&s[0][..], &s[1], &s[0], &s[2]].concat(),
        ),
    ];
    for (what, lines) in cases {
        let (code, out) = verify(&env, &key, "edited.log", &lines);
        assert_eq!(code, 1, "{what}: {out}");
    }

    // The ends: a log that starts or stops at a session boundary is a valid chain (the first
    // session given starts the walk; FORMAT.md §8), so a cut there needs the anchor: the
    // writer's chain state.
    let anchored = |name: &str, lines: &[Vec<u8>]| {
        let file = env.write(name, &lines.concat());
        let r = run(
            enclog(["verify", "--chain"])
                .arg(&state)
                .args(key)
                .arg(&file),
            b"",
        );
        (r.code, r.stdout_text())
    };
    assert_eq!(anchored("whole.log", &s.concat()).0, 0);
    for (what, lines, kind) in [
        (
            "the first run deleted",
            [&s[1][..], &s[2]].concat(),
            "missing_start",
        ),
        (
            "the last run deleted",
            [&s[0][..], &s[1]].concat(),
            "missing_end",
        ),
        (
            "the last line deleted",
            [&s[0][..], &s[1], &s[2][..2]].concat(),
            "missing_end",
        ),
    ] {
        let (code, out) = verify(&env, &key, "ends.log", &lines);
        assert_eq!(
            code,
            if what.contains("line") { 1 } else { 0 },
            "{what}: {out}"
        );
        let (code, out) = anchored("ends.log", &lines);
        assert_eq!(code, 1, "{what}: {out}");
        assert!(out.contains(kind), "{what}: {out}");
    }
}

#[test]
fn recipient_sessions_rotated_every_three_lines_chain_and_a_forged_or_missing_one_fails() {
    let id = crate::fixture::Identity::new();
    let (identity, recipient) = (id.path("identity.key"), id.recipient.clone());
    let env = Env::new();
    let log = env.path("r.log");
    let input: String = (1..=12).map(|i| format!("event {i}\n")).collect();
    let r = run(
        enclog([
            "encrypt",
            "--recipient",
            &recipient,
            "--rotate-lines",
            "3",
            "-o",
        ])
        .arg(&log),
        input.as_bytes(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let key = ["--key-file", identity.as_str()];
    let s = sessions(&env, &key, &log);
    assert!(s.len() >= 4, "{} sessions", s.len());
    let (code, out) = verify(&env, &key, "clean.log", &s.concat());
    assert_eq!(code, 0, "{out}");

    // A session cut out.
    let (code, out) = verify(&env, &key, "cut.log", &[&s[0][..], &s[2], &s[3]].concat());
    assert_eq!(code, 1, "{out}");
    // A session replaced by one sealed by anyone who holds the public recipient.
    let forged = run(
        &mut enclog(["encrypt", "--recipient", &recipient]),
        b"event 4\nevent 5\nevent 6\n",
    );
    assert_eq!(forged.code, 0, "{}", forged.stderr);
    let spliced = [&s[0][..], &lines(&forged.stdout), &s[2], &s[3]].concat();
    let (code, out) = verify(&env, &key, "forged.log", &spliced);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("1 new_chain") && out.contains("missing_sessions"),
        "{out}"
    );
    // Inserted without deleting anything: the forged session alone is the finding.
    let inserted = [&s[0][..], &s[1], &lines(&forged.stdout), &s[2], &s[3]].concat();
    let (code, out) = verify(&env, &key, "inserted.log", &inserted);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("1 new_chain") && !out.contains("missing"),
        "{out}"
    );
    // Even when new chains are allowed, the session it replaced is missing.
    let file = env.write("forged2.log", &spliced.concat());
    let r = run(
        enclog(["verify", "--allow-new-chains"])
            .args(key)
            .arg(&file),
        b"",
    );
    assert_eq!(r.code, 1, "{}", r.stdout_text());
}

#[test]
fn rotate_after_takes_a_duration_with_a_unit_and_refuses_others() {
    let env = Env::new();
    for good in ["500ms", "30s", "15m", "1h"] {
        let r = run(&mut env.cmd(&["encrypt", "--rotate-after", good]), b"x\n");
        assert_eq!(r.code, 0, "{good}: {}", r.stderr);
    }
    for bad in ["15", "0s", "1d", "m"] {
        let r = run(&mut env.cmd(&["encrypt", "--rotate-after", bad]), b"x\n");
        assert_eq!(r.code, 2, "{bad} accepted");
        assert!(r.stderr.contains("--rotate-after"), "{bad}: {}", r.stderr);
    }
}

#[test]
fn a_chain_state_beside_the_log_is_used_with_a_warning_and_one_writer_holds_it() {
    let env = Env::new();
    let log = env.path("app.log");
    let state = env.path("app.chain");
    let mut cmd = env.cmd(&["encrypt"]);
    cmd.arg("-o").arg(&log).arg("--chain").arg(&state);
    let r = run(&mut cmd, b"x\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("log's folder"), "{}", r.stderr);
    assert!(state.exists());
    // A second writer on the same state while the first runs (here: this test, holding it):
    // refused, with why.
    let held = enclog::seal::ChainState::open(&state).unwrap();
    let mut second = env.cmd(&["encrypt"]);
    second.arg("--chain").arg(&state);
    let refused = run(&mut second, b"y\n");
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("another process"),
        "{}",
        refused.stderr
    );
    drop(held);
    let r = run(&mut second, b"y\n");
    assert_eq!(r.code, 0, "free again: {}", r.stderr);
}

/// Threat: a writer restarted from an old copy of its chain state (a restored backup) links a
/// second session to a session that already has a successor: the chain forks.
#[test]
fn a_restored_old_chain_state_is_a_replayed_chain() {
    let env = Env::new();
    let log = env.path("app.log");
    let state = env.path("state/app.chain");
    let encrypt = |text: &[u8]| {
        let mut cmd = env.cmd(&["encrypt"]);
        cmd.arg("-o").arg(&log).arg("--chain").arg(&state);
        let r = run(&mut cmd, text);
        assert_eq!(r.code, 0, "{}", r.stderr);
    };
    encrypt(b"run 1\n");
    let backup = env.path("backup.chain");
    std::fs::copy(&state, &backup).unwrap();
    encrypt(b"run 2\n");
    std::fs::copy(&backup, &state).unwrap(); // the backup restored
    encrypt(b"run 3\n");
    let key = ["--key-file", env.key.to_str().unwrap()];
    let r = run(enclog(["verify"]).args(key).arg(&log), b"");
    assert_eq!(r.code, 1, "{}", r.stdout_text());
    assert!(
        r.stdout_text().contains("1 replayed_chain"),
        "{}",
        r.stdout_text()
    );
}

/// Scripts group lines by session: `decrypt --output json` gives one object per line for every
/// record (close records too), each with its line number, session, key id and seq at the top
/// level, and a session's first record its link.
#[test]
fn decrypt_json_gives_every_record_its_place_and_first_records_their_link() {
    let env = Env::new();
    let log = env.path("r.log");
    let r = run(
        env.cmd(&["encrypt", "--rotate-lines", "2"])
            .arg("-o")
            .arg(&log),
        b"a\nb\nc\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = run(env.cmd(&["decrypt", "--output", "json"]).arg(&log), b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let objects: Vec<serde_json::Value> = out
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // a, b, close; c, close.
    let records: Vec<&str> = objects
        .iter()
        .map(|o| o["record"].as_str().unwrap())
        .collect();
    assert_eq!(records, ["event", "event", "close", "event", "close"]);
    for (i, o) in objects.iter().enumerate() {
        assert_eq!(o["line"], i as u64 + 1);
        assert_eq!(o["key_id"], env.key_id());
        assert!(o["session"].is_string() && o["seq"].is_u64(), "{o}");
        assert_eq!(o["version"], 2);
    }
    let seqs: Vec<u64> = objects.iter().map(|o| o["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [0, 1, 2, 0, 1]);
    assert_eq!(objects[0]["link"]["from"], "root");
    assert_eq!(objects[3]["link"]["from"], "successor");
    assert_eq!(objects[3]["link"]["index"], 1);
    assert_eq!(objects[3]["link"]["prev_session"], objects[0]["session"]);
    assert_eq!(objects[3]["link"]["count"], 3);
    assert!(objects[1]["link"].is_null() && objects[2]["link"].is_null());
    assert!(
        !out.stdout_text().contains("chain_key"),
        "no secret in the output"
    );
}

/// `verify --chain` with a path that holds no chain state: an error (exit 2) that says so, not
/// a log checked without its anchor.
#[test]
fn verify_with_a_missing_chain_state_is_an_error_not_an_unanchored_check() {
    let env = Env::new();
    let log = env.write("app.log", &env.encrypt(b"x\n"));
    let r = run(
        env.cmd(&["verify"])
            .arg("--chain")
            .arg(env.path("nowhere.chain"))
            .arg(&log),
        b"",
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no chain state there"), "{}", r.stderr);
}
