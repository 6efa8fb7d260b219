//! Threat: a writer killed mid-line (SIGKILL, OOM killer, power cut) leaving a log that readers
//! misjudge: complete lines lost or unreadable, a torn line taken for tampering, or a reader
//! stopping at the torn line.
//!
//! A child logs at full speed through `EncryptedWriter` (events of a few bytes to 512 KiB, so
//! a kill can land while the kernel copies a multi-page line) and is killed with SIGKILL at a
//! random moment. The kernel may finish the write in progress, drop it, or stop it at a page
//! boundary; what must hold every time: every complete line opens, in sequence from 0 with no
//! gap, and holds exactly the event logged; only the last line may be torn, and then the
//! readers call it truncated (never corrupted) and go on.

use std::time::{Duration, Instant};

use crate::child::{check_flood_event, vars};
use crate::support::{Env, Line, Rng, child, is_truncated, read_log, run};

/// Kill trials in CI (`ENCLOG_CRASH_TRIALS` for a soak run).
const TRIALS: u64 = 50;

/// What one trial left.
#[derive(Debug, PartialEq, Eq)]
enum Tail {
    /// The file ends with a newline.
    Clean,
    /// The last line is cut inside its token.
    TornToken,
    /// The last line is cut before its token could be told (inside `INFO enclog:` or the
    /// first 8 token characters): a reader sees no token.
    TornPrefix,
    /// The last line is complete but its newline was not written.
    NoNewline,
}

/// Checks one crashed log with the library; returns the number of complete events and how the
/// file ends.
fn check(log: &[u8], env: &Env) -> (usize, Tail) {
    let lines = read_log(log, env.keyring());
    assert!(!lines.is_empty(), "the child logged nothing");
    let mut session = None;
    let mut tail = Tail::Clean;
    let last = lines.len() - 1;
    for (i, (line, terminated)) in lines.iter().enumerate() {
        let where_ = format!("line {} of {}", i + 1, lines.len());
        if !terminated {
            assert_eq!(i, last, "{where_}: only the last line may lack its newline");
        }
        match line {
            Line::Opened {
                session: s,
                seq,
                plaintext,
                close,
            } => {
                assert!(!close, "{where_}: a killed writer wrote a close record");
                assert_eq!(*session.get_or_insert(*s), *s, "{where_}: a second session");
                assert_eq!(*seq, i as u64, "{where_}: a line is missing before it");
                let text = String::from_utf8_lossy(plaintext);
                assert!(check_flood_event(&text, *seq), "{where_}: wrong event");
                if !terminated {
                    tail = Tail::NoNewline;
                }
            }
            Line::Failed(e) => {
                assert!(
                    !terminated && i == last,
                    "{where_}: a complete line failed: {e}"
                );
                assert!(
                    is_truncated(e),
                    "{where_}: torn line not called truncated: {e}"
                );
                tail = Tail::TornToken;
            }
            Line::Plain(raw) => {
                assert!(!terminated && i == last, "{where_}: a plain line: {raw:?}");
                let shape = b"INFO enclog:";
                let n = raw.len().min(shape.len());
                assert_eq!(&raw[..n], &shape[..n], "{where_}: not a cut line: {raw:?}");
                assert!(
                    raw.len() < shape.len() + 8,
                    "{where_}: a token was not found"
                );
                tail = Tail::TornPrefix;
            }
        }
    }
    let complete = lines.len() - usize::from(tail == Tail::TornToken || tail == Tail::TornPrefix);
    (complete, tail)
}

/// The findings of `enclog verify` as `(line, kind)` pairs, and its exit code.
fn verify(env: &Env, log: &std::path::Path, extra: &[&str]) -> (i32, Vec<(u64, String)>) {
    let mut args = vec!["verify", "--output", "json"];
    args.extend_from_slice(extra);
    let r = run(env.cli(&args).arg(log));
    let mut findings = Vec::new();
    for line in r.stdout_text().lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("verify prints JSON");
        if v.get("summary").is_none() {
            findings.push((
                v["line"].as_u64().unwrap(),
                v["kind"].as_str().unwrap().to_owned(),
            ));
        }
    }
    (r.code, findings)
}

/// Checks one crashed log with the real `enclog decrypt` and `enclog verify`.
fn check_cli(env: &Env, path: &std::path::Path, complete: usize, tail: &Tail) {
    let last = complete as u64 + u64::from(*tail == Tail::TornToken || *tail == Tail::TornPrefix);
    let name = path.display().to_string();

    let r = run(env.cli(&["decrypt"]).arg(path));
    let events = r
        .stdout_text()
        .lines()
        .filter(|l| l.ends_with("|end"))
        .count();
    match tail {
        Tail::TornToken => {
            assert_eq!(r.code, 1, "{}", r.stderr);
            assert_eq!(
                r.stderr,
                format!(
                    "enclog: {name}:{last}: the token ends early or was altered (the last line \
                     has no newline and does not open: a writer cut off mid-line, or an edit; \
                     v1 lines carry no length to tell which)\n"
                )
            );
        }
        _ => assert_eq!(
            (r.code, r.stderr.as_str()),
            (0, ""),
            "decrypt of a clean cut"
        ),
    }
    assert_eq!(events, complete, "decrypt printed every complete event");

    let (code, findings) = verify(env, path, &[]);
    assert_eq!(code, 1, "a crashed session is a finding: {findings:?}");
    let mut expected = vec![];
    match tail {
        // Killed during its first line: no line names a session, so none is unclosed.
        Tail::TornToken | Tail::TornPrefix if complete == 0 => {
            expected.push((last, "truncated".to_owned()));
        }
        Tail::Clean => expected.push((complete as u64, "unclosed".to_owned())),
        // The torn line's (unauthenticated) header claims the next number: it is the
        // session's last line.
        Tail::NoNewline => {
            expected.push((last, "truncated".to_owned()));
            expected.push((last, "unclosed".to_owned()));
        }
        // A token cut inside its header claims nothing: the session then ends a line earlier.
        Tail::TornToken if findings.contains(&(complete as u64, "unclosed".to_owned())) => {
            expected.push((complete as u64, "unclosed".to_owned()));
            expected.push((last, "truncated".to_owned()));
        }
        Tail::TornToken => {
            expected.push((last, "truncated".to_owned()));
            expected.push((last, "unclosed".to_owned()));
        }
        Tail::TornPrefix => {
            expected.push((complete as u64, "unclosed".to_owned()));
            expected.push((last, "truncated".to_owned()));
        }
    }
    assert_eq!(findings, expected, "verify of a crashed log ({tail:?})");

    let (code, findings) = verify(env, path, &["--allow-open"]);
    assert_eq!(
        (code, findings),
        (0, vec![]),
        "verify --allow-open of a crashed log"
    );
}

#[test]
fn a_writer_killed_at_random_moments_leaves_only_its_last_line_torn() {
    let trials = std::env::var("ENCLOG_CRASH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(TRIALS);
    let env = Env::new();
    let mut rng = Rng::seeded("crash");
    let mut tails = std::collections::BTreeMap::new();
    let started = Instant::now();
    for trial in 0..trials {
        let path = env.path(&format!("crash-{trial}.log"));
        let vars = vars(&path, &env.key_file);
        let vars: Vec<_> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
        let mut writer = child("flood", &vars)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn the writer");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::fs::metadata(&path).map_or(0, |m| m.len()) == 0 {
            assert!(Instant::now() < deadline, "the writer never started");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(rng.below(30_000)));
        writer.kill().expect("SIGKILL the writer");
        let status = writer.wait().expect("reap the writer");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL)
        );

        let log = std::fs::read(&path).expect("read the log");
        let (complete, tail) = check(&log, &env);
        // The real binary on every torn trial and on every tenth.
        if tail != Tail::Clean || trial % 10 == 0 {
            check_cli(&env, &path, complete, &tail);
        }
        *tails.entry(format!("{tail:?}")).or_insert(0u32) += 1;
        std::fs::remove_file(&path).expect("remove the log");
    }
    eprintln!(
        "crash: {trials} SIGKILL trials in {:.1} s; last line: {tails:?}",
        started.elapsed().as_secs_f64()
    );
}

/// Each way a kill can leave the last line, made exactly (the random trials may not hit all
/// of them in one run): the readers' verdicts are the ones the random trials accept.
#[test]
fn every_kind_of_torn_last_line_is_reported_as_truncated() {
    let env = Env::new();
    let sealer = enclog::Sealer::new(env.key.clone());
    let mut log = Vec::new();
    for n in 0..3 {
        let event = format!("INFO reliability: {}", crate::child::flood_event(n));
        sealer
            .seal_to(Some(b"INFO"), event.as_bytes(), &mut log)
            .unwrap();
    }
    let last_start = log[..log.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let cases = [
        (log.len() - 1, Tail::NoNewline),
        (log.len() - 100, Tail::TornToken),
        (last_start + "INFO enc".len(), Tail::TornPrefix),
        (last_start + "INFO enclog:AAA".len(), Tail::TornPrefix),
        (last_start, Tail::Clean),
        (200, Tail::TornToken),
        (5, Tail::TornPrefix),
    ];
    for (cut, tail) in cases {
        let path = env.path("cut.log");
        std::fs::write(&path, &log[..cut]).unwrap();
        let (complete, found) = check(&log[..cut], &env);
        assert_eq!(found, tail, "cut at {cut}");
        check_cli(&env, &path, complete, &tail);
    }
}
