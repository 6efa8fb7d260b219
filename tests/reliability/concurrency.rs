//! Threat: concurrent writers (threads of one process, and several processes appending to one
//! file with O_APPEND) tearing or interleaving lines, reusing a (session, sequence) pair, or
//! writing a session's lines out of order, so that the log no longer decrypts or verifies.
//! (`tests/library/concurrency.rs` covers threads within one process; this adds processes and
//! the real `enclog verify`.)

use std::collections::HashSet;

use crate::child::vars;
use crate::support::{Env, child, events_by_session, run};

/// Events per thread (8 threads per process, 2 processes).
const LINES: u64 = 1000;

#[test]
fn eight_threads_in_each_of_two_processes_append_to_one_file() {
    let env = Env::new();
    let path = env.path("shared.log");
    let vars = vars(&path, &env.key_file);
    let lines = LINES.to_string();
    let mut vars: Vec<_> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    vars.push(("ENCLOG_RELIABILITY_LINES", lines.as_ref()));
    let writers: Vec<_> = (0..2)
        .map(|_| child("concurrent", &vars).output_spawn())
        .collect();
    for writer in writers {
        let out = writer.wait_with_output().expect("wait for a writer");
        assert!(
            out.status.success(),
            "writer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let log = std::fs::read(&path).unwrap();
    let sessions = events_by_session(&log, env.keyring());
    assert_eq!(sessions.len(), 2, "one session per process");
    let mut seen = HashSet::new();
    for events in sessions.values() {
        assert_eq!(events.len() as u64, 8 * LINES);
        let mut pid = None;
        for (seq, text) in events {
            let body = &text[text.find("pid=").expect("event text")..];
            let mut fields = body.split(' ');
            let (p, t, i) = (
                fields.next().unwrap(),
                fields.next().unwrap(),
                fields.next().unwrap(),
            );
            assert_eq!(
                *pid.get_or_insert(p.to_owned()),
                p,
                "seq {seq}: two processes in a session"
            );
            let t: u64 = t.strip_prefix("t=").unwrap().parse().unwrap();
            let i: u64 = i.strip_prefix("i=").unwrap().parse().unwrap();
            let pad = fields.next().unwrap();
            assert_eq!(
                pad,
                format!("{}|end", "p".repeat(((i * 131 + t * 977) % 9000) as usize)),
                "seq {seq}: the event was altered"
            );
            assert!(seen.insert((p.to_owned(), t, i)), "event {p} {t} {i} twice");
        }
    }
    assert_eq!(seen.len() as u64, 2 * 8 * LINES);

    // Two processes started apart are two writers: two chains, each a new chain to the other.
    let r = run(env.cli(&["verify"]).arg(&path));
    assert_eq!(r.code, 1, "{}", r.stdout_text());
    assert!(
        r.stdout_text().trim_end().ends_with(": 1 new_chain"),
        "{}",
        r.stdout_text()
    );
    for extra in [&["--allow-open"][..], &[]] {
        let mut args = vec!["verify", "--allow-new-chains"];
        args.extend_from_slice(extra);
        let r = run(env.cli(&args).arg(&path));
        assert_eq!(r.code, 0, "verify {extra:?}: {}", r.stdout_text());
        assert!(
            r.stdout_text().starts_with(&format!(
                "ok: {} lines: {} events in 2 sessions (2 closed)",
                2 * 8 * LINES + 2,
                2 * 8 * LINES
            )),
            "{}",
            r.stdout_text()
        );
    }
}

/// Spawns with captured output.
trait OutputSpawn {
    fn output_spawn(&mut self) -> std::process::Child;
}

impl OutputSpawn for std::process::Command {
    fn output_spawn(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn a writer")
    }
}
