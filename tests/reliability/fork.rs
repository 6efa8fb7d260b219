//! Threat: `fork()` copying a writer's session and sequence counter, so that parent and child
//! seal different lines under the same nonce (which leaks their XOR and allows forgeries).
//!
//! `tests/library/fork.rs` covers the `Sealer` directly, with a sealing thread racing the
//! fork. These are the process-level versions: an application logging through
//! `tracing_subscriber::fmt` + `EncryptedWriter` (from its main thread and a background thread)
//! forks, and every process keeps logging to the same O_APPEND file; then the real
//! `enclog verify` checks the result.

use std::collections::HashMap;
use std::path::PathBuf;

use enclog::format::SessionId;

use crate::child::vars;
use crate::support::{Env, child, events_by_session, run};

/// Runs the child `role` (an application that forks) logging to `fork.log` in `env`; returns
/// the log's path and its events by session (no (session, seq) twice: asserted while reading).
fn run_forking(role: &str, env: &Env) -> (PathBuf, HashMap<SessionId, Vec<(u64, String)>>) {
    let path = env.path("fork.log");
    let vars = vars(&path, &env.key_file);
    let vars: Vec<_> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let out = child(role, &vars).output().expect("run the forking writer");
    assert!(
        out.status.success(),
        "{role}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read(&path).unwrap();
    let by_session = events_by_session(&log, env.keyring());
    (path, by_session)
}

fn forked_log(role: &str, sessions: usize) {
    let env = Env::new();
    let (path, by_session) = run_forking(role, &env);
    // Each session is one process's.
    assert_eq!(by_session.len(), sessions, "one session per process");
    let mut per_role: HashMap<String, usize> = HashMap::new();
    for events in by_session.values() {
        let pid_of = |text: &str| {
            let who = text.split("who=\"").nth(1).expect("who field");
            who[who.find(':').unwrap() + 1..who.find('"').unwrap()].to_owned()
        };
        let pid = pid_of(&events[0].1);
        for (seq, text) in events {
            assert_eq!(pid_of(text), pid, "seq {seq}: a session spans processes");
            let role = text
                .split("who=\"")
                .nth(1)
                .unwrap()
                .split(':')
                .next()
                .unwrap();
            if role != "thread" {
                *per_role.entry(role.to_owned()).or_default() += 1;
            }
        }
    }
    assert_eq!(per_role["parent"], 400);
    assert_eq!(per_role["child"], 300);
    if sessions == 3 {
        assert_eq!(per_role["grandchild"], 300);
    }

    let r = run(env.cli(&["verify"]).arg(&path));
    assert_eq!(r.code, 0, "{}", r.stdout_text());
    assert!(
        r.stdout_text()
            .contains(&format!("sessions ({sessions} closed)")),
        "{}",
        r.stdout_text()
    );
}

#[test]
fn a_process_forking_while_logging_through_the_tracing_writer() {
    forked_log("fork", 2);
}

#[test]
fn a_daemon_style_double_fork_while_logging_through_the_tracing_writer() {
    forked_log("double-fork", 3);
}

/// `enclog::non_blocking` in a forked child: the worker thread stayed in the parent, so the
/// child's events are dropped and counted (the child checks it counted exactly its 10), its
/// guard's drop returns instead of joining a thread that is not there, and the parent's 20
/// events and close record are all in the file, in order.
#[test]
fn a_non_blocking_writer_in_a_forked_child_drops_and_counts_and_the_parent_is_unaffected() {
    let env = Env::new();
    let (path, by_session) = run_forking("non-blocking-fork", &env);
    assert_eq!(by_session.len(), 1, "the parent's session only");
    let events: Vec<_> = by_session
        .values()
        .next()
        .unwrap()
        .iter()
        .map(|(_, t)| t.clone())
        .collect();
    let expected: Vec<_> = (0..20).map(|i| format!("parent {i}")).collect();
    assert_eq!(events, expected);
    let r = run(env.cli(&["verify"]).arg(&path));
    assert_eq!(r.code, 0, "{}", r.stdout_text());
}

/// Threat: a copy made without `fork()` (the raw `clone` system call without `CLONE_VM`,
/// glibc's `_Fork()`, `nix::sched::clone`) runs no atfork handler, so before the wipe-on-fork
/// page parent and child continued one (session, seq) and the XOR of two lines gave back a
/// plaintext. Now the child starts a session of its own: no (session, seq) appears twice
/// (asserted while reading), the parent's lines before and after the clone share one session,
/// and the child's session holds exactly the child's 300 lines.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn a_raw_clone_child_sealing_through_the_parents_sealer_draws_its_own_session() {
    let env = Env::new();
    let (path, by_session) = run_forking("raw-clone", &env);
    assert_eq!(by_session.len(), 2, "one session per process");
    let who = |text: &str| text.split(' ').next().unwrap().to_owned();
    let mut sessions: Vec<_> = by_session.values().collect();
    sessions.sort_by_key(|events| events[0].1.starts_with("child"));
    let (parent, child) = (sessions[0], sessions[1]);
    assert_eq!(
        parent.len(),
        400,
        "the parent's lines, before and after the clone"
    );
    assert_eq!(child.len(), 300, "the child's lines");
    let (parent_who, child_who) = (who(&parent[0].1), who(&child[0].1));
    assert!(parent_who.starts_with("parent:") && child_who.starts_with("child:"));
    assert_ne!(parent_who[7..], child_who[6..], "two processes");
    assert!(
        parent.iter().all(|(_, t)| who(t) == parent_who),
        "a session spans processes"
    );
    assert!(
        child.iter().all(|(_, t)| who(t) == child_who),
        "a session spans processes"
    );

    let r = run(env.cli(&["verify"]).arg(&path));
    assert_eq!(r.code, 0, "{}", r.stdout_text());
    assert!(
        r.stdout_text().contains("sessions (2 closed)"),
        "{}",
        r.stdout_text()
    );
}
