//! `enclog verify --state` (a cron job verifying a log run by run), `--save-state` and
//! `--merge-state` (shards verified apart, merged): the findings of one run over every file.
//! Threats: a deletion at the boundary between two runs or two shards going unseen; a file
//! read again after logrotate renamed or compressed it passing for copied lines; a deletion
//! hidden by editing the saved state.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::fixture::{Env, enclog, lines, run};

/// `n` events from one `encrypt` run whose sessions rotate every 3 lines (each session: 3
/// events and a close record, 4 lines), as lines.
fn rotating(env: &Env, n: usize) -> Vec<Vec<u8>> {
    let plain: String = (0..n).map(|i| format!("event {i}\n")).collect();
    let r = run(
        &mut env.cmd(&["encrypt", "--rotate-lines", "3"]),
        plain.as_bytes(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    lines(&r.stdout)
}

/// `enclog verify --key-file app.key ARGS… FILES…`: (exit code, findings, notes, summary).
fn verify(env: &Env, args: &[&str], files: &[&Path]) -> (i32, Vec<String>, Vec<String>, String) {
    let mut cmd = env.cmd(&[&["verify"][..], args].concat());
    cmd.args(files);
    let r = run(&mut cmd, b"");
    assert!(r.code != 2, "exit 2: {}", r.stderr);
    let out = r.stdout_text();
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let mut summary = String::new();
    for line in out.lines() {
        if line.starts_with("note: ") {
            notes.push(line.to_owned());
        } else if line.starts_with("ok: ") || line.starts_with("FAILED: ") {
            summary = line.to_owned();
        } else {
            findings.push(line.to_owned());
        }
    }
    (r.code, findings, notes, summary)
}

fn state(env: &Env) -> String {
    env.path("app.verify").to_str().unwrap().to_owned()
}

/// Checks the log of `lines` split in two files at `at`: two runs with `--state` (the second
/// `--final`) report together what one run over both files reports.
fn two_runs_match_one(env: &Env, lines: &[Vec<u8>], at: usize) -> Vec<String> {
    let old = env.write("app.log.1", &lines[..at].concat());
    let new = env.write("app.log", &lines[at..].concat());
    let _ = std::fs::remove_file(env.path("app.verify"));
    let (_, single, _, _) = verify(env, &[], &[&old, &new]);
    let state = state(env);
    let (_, first, _, _) = verify(env, &["--state", &state], &[&old]);
    let (_, second, _, _) = verify(env, &["--state", &state, "--final"], &[&new]);
    let union = [first, second].concat();
    assert_eq!(union, single);
    single
}

#[test]
fn two_runs_with_a_state_report_what_one_run_over_both_files_reports() {
    let env = Env::new();
    let lines = rotating(&env, 9); // 12 lines: sessions at lines 1, 5, 9
    // Clean.
    assert_eq!(two_runs_match_one(&env, &lines, 6), Vec::<String>::new());
    // A line deleted at the boundary: the last line of app.log.1.
    let mut deleted = lines.clone();
    deleted.remove(5);
    let found = two_runs_match_one(&env, &deleted, 5);
    let (old, new) = (env.path("app.log.1"), env.path("app.log"));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with(&format!(
            "{}:1: missing lines: seq 1 of session",
            new.display()
        )) && found[0].contains(&format!(
            "never appeared between {}:5 and {}:1",
            old.display(),
            new.display()
        )),
        "{found:#?}"
    );
    // The last session not closed: a finding only for the final run.
    let mut unclosed = lines.clone();
    unclosed.pop();
    let found = two_runs_match_one(&env, &unclosed, 6);
    assert!(found[0].contains(": session not closed: "), "{found:#?}");
    // A line of app.log.1 copied into app.log.
    let mut copied = lines.clone();
    copied.insert(8, lines[2].clone());
    let found = two_runs_match_one(&env, &copied, 6);
    assert!(
        found[0].contains(": duplicate line: seq 2 of session")
            && found[0].contains(&format!("(first at {}:3)", env.path("app.log.1").display())),
        "{found:#?}"
    );
}

#[test]
fn sessions_left_open_wait_for_the_final_run() {
    let env = Env::new();
    let lines = rotating(&env, 4); // 4 events: a closed session, then one event
    let mut live = lines.clone();
    live.pop(); // its close record is not written yet
    let log = env.write("app.log", &live.concat());
    let state = state(&env);
    let (code, findings, _, summary) = verify(&env, &["--state", &state], &[&log]);
    assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");
    assert!(summary.ends_with("clean"), "{summary}");
    // Cron runs again before the writer wrote anything: nothing read, nothing found.
    let (code, _, notes, summary) = verify(&env, &["--state", &state], &[&log]);
    assert_eq!(code, 0);
    assert!(summary.starts_with("ok: 0 lines"), "{summary}");
    assert!(
        notes[0].ends_with(": lines 1-5 were verified by an earlier run; 0 new lines read"),
        "{notes:?}"
    );
    // The service is gone: the final run reports the session it left open.
    let (code, findings, _, _) = verify(&env, &["--state", &state, "--final"], &[&log]);
    assert_eq!(code, 1);
    assert!(
        findings[0].contains(":5: session not closed: "),
        "{findings:#?}"
    );
}

fn gzip(path: &Path, to: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&bytes).unwrap();
    std::fs::write(to, encoder.finish().unwrap()).unwrap();
    std::fs::remove_file(path).unwrap();
}

/// logrotate (`create`, `compress`, `delaycompress`): app.log → app.log.1 → app.log.2.gz,
/// with a cron run between rotations (twice, once): no line is a copy, every line is read once.
#[test]
fn files_renamed_and_compressed_by_logrotate_are_not_read_again() {
    let env = Env::new();
    let lines = rotating(&env, 15); // 20 lines
    let state = state(&env);
    let log = env.path("app.log");
    let (one, two, three) = (env.path("app.log.1"), env.path("app.log.2.gz"), &log);
    let read = |files: &[&Path]| {
        let (code, findings, notes, summary) = verify(&env, &["--state", &state], files);
        assert_eq!(code, 0, "{findings:#?}");
        (notes, summary)
    };
    // Monday: the writer has written 6 lines; cron runs twice.
    std::fs::write(&log, lines[..6].concat()).unwrap();
    let (_, summary) = read(&[&log]);
    assert!(summary.starts_with("ok: 6 lines"), "{summary}");
    let (_, summary) = read(&[&log]);
    assert!(summary.starts_with("ok: 0 lines"), "{summary}");
    // The writer adds 2 lines, then logrotate: app.log → app.log.1, a new app.log.
    std::fs::write(&log, lines[..8].concat()).unwrap();
    std::fs::rename(&log, &one).unwrap();
    std::fs::write(&log, lines[8..14].concat()).unwrap();
    let (notes, summary) = read(&[&one, &log]);
    assert!(summary.starts_with("ok: 8 lines"), "{summary}");
    assert_eq!(
        notes,
        [format!(
            "note: {}: lines 1-6 were verified by an earlier run (as {}); 2 new lines read",
            one.display(),
            log.display()
        )]
    );
    // Tuesday: app.log.1 → app.log.2.gz, app.log → app.log.1, a new app.log.
    gzip(&one, &two);
    std::fs::rename(&log, &one).unwrap();
    std::fs::write(&log, lines[14..].concat()).unwrap();
    let (notes, summary) = read(&[&two, &one, three]);
    assert!(summary.starts_with("ok: 6 lines"), "{summary}");
    assert_eq!(notes.len(), 2, "{notes:#?}");
    assert!(
        notes[0].contains("app.log.2.gz: lines 1-8 were verified"),
        "{notes:?}"
    );
}

/// Threat: whoever can edit the state marks a gap as read and hides a deletion. The state is
/// sealed with a key of the keyring: an edited state is refused, and nothing is verified.
#[test]
fn a_state_edited_by_hand_is_refused() {
    let env = Env::new();
    let lines = rotating(&env, 6);
    let log = env.write("app.log", &lines.concat());
    let state = state(&env);
    let (code, ..) = verify(&env, &["--state", &state], &[&log]);
    assert_eq!(code, 0);
    let mut bytes = std::fs::read(&state).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&state, &bytes).unwrap();
    let r = run(env.cmd(&["verify", "--state", &state]).arg(&log), b"");
    assert_eq!(r.code, 2, "{}", r.stdout_text());
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains(&format!(
            "--state: verify state {state} fails authentication under key {}",
            env.key_id()
        )) && r.stderr.contains("it was edited or damaged")
            && r.stderr
                .contains("delete it and verify the whole log again"),
        "{}",
        r.stderr
    );
    // Another key cannot open it either.
    let other = Env::new();
    let r = run(other.cmd(&["verify", "--state", &state]).arg(&log), b"");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("was sealed with key"), "{}", r.stderr);
}

/// Three shards of one writer's six files: `--merge-state` in any order reports what one run
/// over the six files does, here a line deleted where two shards meet and a file given to two
/// shards.
#[test]
fn shards_merged_in_any_order_report_what_one_run_reports() {
    let env = Env::new();
    let lines = rotating(&env, 18); // 24 lines, 6 sessions
    let mut files: Vec<PathBuf> = Vec::new();
    for (i, chunk) in lines.chunks(4).enumerate() {
        let mut chunk = chunk.to_vec();
        if i == 2 {
            chunk.remove(0); // where shard 1 meets shard 2
        }
        files.push(env.write(&format!("app.log.{}", 5 - i), &chunk.concat()));
    }
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (_, single, _, single_summary) = verify(&env, &[], &paths);
    assert_eq!(single.len(), 1, "{single:#?}");
    assert!(
        single[0].contains(": missing lines: seq 0 of session"),
        "{single:#?}"
    );

    let shard = |name: &str, files: &[&Path]| {
        let path = env.path(name).to_str().unwrap().to_owned();
        let (code, findings, notes, _) = verify(&env, &["--save-state", &path], files);
        assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");
        assert!(
            notes[0].contains("the state of this shard is in"),
            "{notes:?}"
        );
        path
    };
    let s1 = shard("s1", &paths[..2]);
    let s2 = shard("s2", &paths[2..4]);
    let s3 = shard("s3", &paths[4..]);
    for order in [[&s1, &s2, &s3], [&s3, &s1, &s2], [&s2, &s3, &s1]] {
        let mut args = vec!["--merge-state"];
        args.extend(order.iter().map(|s| s.as_str()));
        let (code, findings, _, summary) = verify(&env, &args, &[]);
        assert_eq!(code, 1);
        assert_eq!(findings, single, "{order:?}");
        assert_eq!(summary, single_summary);
    }

    // app.log.3 in shards 2 and 3 as well: a duplicate, found across the shards.
    let s3 = shard("s3-copy", &[paths[3], paths[4], paths[5]]);
    let mut with_copy = paths.clone();
    with_copy.insert(4, paths[3]);
    let (_, single, _, _) = verify(&env, &[], &with_copy);
    for order in [[&s1, &s2, &s3], [&s3, &s2, &s1]] {
        let (_, findings, _, _) =
            verify(&env, &["--merge-state", order[0], order[1], order[2]], &[]);
        let kinds = |f: &[String]| -> Vec<String> {
            let mut k: Vec<String> = f
                .iter()
                .map(|l| l.split(": ").nth(1).unwrap().to_owned())
                .collect();
            k.sort();
            k
        };
        assert_eq!(kinds(&findings), kinds(&single), "{findings:#?}");
        assert!(kinds(&findings).contains(&"duplicate line".to_owned()));
    }
}

/// A key made only to seal states: the machine that merges needs it and no log key.
#[test]
fn a_state_key_lets_the_merge_run_without_the_logs_keys() {
    let env = Env::new();
    let lines = rotating(&env, 6);
    let log = env.write("app.log", &lines.concat());
    let state_key = env.path("verify.key");
    assert_eq!(run(enclog(["genkey", "-o"]).arg(&state_key), b"").code, 0);
    let shard = env.path("shard.state");
    let r = run(
        env.cmd(&["verify", "--save-state"])
            .arg(&shard)
            .arg("--state-key-file")
            .arg(&state_key)
            .arg(&log),
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // No --key-file: the state key alone opens the state.
    let r = run(
        enclog(["verify", "--state-key-file"])
            .arg(&state_key)
            .arg("--merge-state")
            .arg(&shard),
        b"",
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout_text(), r.stderr);
    assert!(
        r.stdout_text().starts_with("ok: 8 lines"),
        "{}",
        r.stdout_text()
    );
    // The log's key does not open it.
    let r = run(env.cmd(&["verify", "--merge-state"]).arg(&shard), b"");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("give that key"), "{}", r.stderr);
}

/// Threat: lines deleted from a file's end after a run verified them (a later run reads only
/// what was added, so it must notice the file is shorter).
#[test]
fn a_file_cut_after_it_was_verified_is_reported() {
    let env = Env::new();
    let lines = rotating(&env, 6); // 8 lines
    let log = env.write("app.log", &lines.concat());
    let state = state(&env);
    let (code, ..) = verify(&env, &["--state", &state], &[&log]);
    assert_eq!(code, 0);
    std::fs::write(&log, lines[..5].concat()).unwrap();
    let (code, findings, _, _) = verify(&env, &["--state", &state], &[&log]);
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert!(
        findings[0].starts_with(&format!(
            "{}:8: truncated or altered line: the file is shorter than when it was verified",
            log.display()
        )),
        "{findings:#?}"
    );
}
