//! `enclog verify` and the chain of sessions: another writer's chain, deleted sessions, and
//! `--allow-new-chains`.

use enclog::seal::Rotation;
use enclog::{Sealer, SealingKey};

use crate::fixture::{Env, run};

/// `events` events sealed by `sealer` (under `app.key`), then its close record.
fn write(sealer: &Sealer, events: usize) -> Vec<u8> {
    let mut log = Vec::new();
    for i in 0..events {
        sealer
            .seal_to(None, format!("event {i}").as_bytes(), &mut log)
            .unwrap();
    }
    sealer.close_to(&mut log).unwrap();
    log
}

fn key(env: &Env) -> SealingKey {
    SealingKey::from_file(&env.key).unwrap()
}

/// Two writers (two chains) in one file: the second is a new chain, unless allowed.
fn two_writers(env: &Env) -> std::path::PathBuf {
    let log = [
        write(&Sealer::new(key(env)), 3),
        write(&Sealer::new(key(env)), 3),
    ]
    .concat();
    env.write("shared.log", &log)
}

#[test]
fn allow_new_chains_turns_a_file_of_two_writers_from_exit_1_to_exit_0() {
    let env = Env::new();
    let file = two_writers(&env);
    let path = file.display().to_string();

    let r = run(env.cmd(&["verify"]).arg(&file), b"");
    let out = r.stdout_text();
    assert_eq!(r.code, 1, "{out}");
    assert!(
        out.starts_with(&format!("{path}:5: new chain: session ")),
        "{out}"
    );
    assert!(
        out.trim_end().ends_with(": 1 new_chain") && out.contains("\nFAILED: "),
        "{out}"
    );

    let r = run(env.cmd(&["verify", "--allow-new-chains"]).arg(&file), b"");
    let out = r.stdout_text();
    assert_eq!(r.code, 0, "{out}");
    assert!(
        out.starts_with("ok: 8 lines: 6 events in 2 sessions (2 closed)")
            && out.ends_with("clean\n"),
        "{out}"
    );
}

#[test]
fn json_output_names_the_chain_kinds_and_counts_chains() {
    let env = Env::new();
    let file = two_writers(&env);
    let r = run(env.cmd(&["verify", "--output", "json"]).arg(&file), b"");
    assert_eq!(r.code, 1, "{}", r.stdout_text());
    let objects: Vec<serde_json::Value> = r
        .stdout_text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 2, "{objects:?}");
    assert_eq!(objects[0]["kind"], "new_chain");
    assert_eq!(objects[0]["line"], 5);
    let summary = &objects[1];
    assert_eq!(summary["clean"], false);
    assert_eq!(
        (
            &summary["chains"],
            &summary["unchained_lines"],
            &summary["unchecked_links"]
        ),
        (&2.into(), &0.into(), &0.into())
    );
}

/// Threat: every line of a session deleted (no gap in any session's numbers).
#[test]
fn a_deleted_session_is_missing_sessions_between_two_places() {
    let env = Env::new();
    let sealer = Sealer::with_rotation(key(&env), Rotation::default().max_lines(3));
    let log = write(&sealer, 12);
    let lines: Vec<&[u8]> = log.split_inclusive(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 16, "4 sessions of 3 events and a close record");
    let kept = [&lines[..4], &lines[8..]].concat().concat();
    let file = env.write("deleted.log", &kept);
    let path = file.display().to_string();

    let r = run(env.cmd(&["verify"]).arg(&file), b"");
    let out = r.stdout_text();
    assert_eq!(r.code, 1, "{out}");
    assert!(
        out.starts_with(&format!(
            "{path}:5: missing sessions: 1 session of lineage "
        )),
        "{out}"
    );
    assert!(out.contains(&format!("which ends at {path}:4)")), "{out}");
    assert!(out.trim_end().ends_with(": 1 missing_sessions"), "{out}");
}

#[test]
fn the_help_documents_allow_new_chains() {
    let r = run(&mut crate::fixture::enclog(["verify", "--help"]), b"");
    assert_eq!(r.code, 0);
    let out = r.stdout_text();
    assert!(out.contains("--allow-new-chains"), "{out}");
    assert!(out.contains("chain not seen before"), "{out}");
}
