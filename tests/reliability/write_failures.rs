//! Threat: a failing destination (a full disk, a reader that went away, a device error)
//! crashing the application, flooding stderr with one message per event, losing lines
//! silently, or making the writer fall back to plaintext.
//!
//! Each case runs in a child process (the library reports on the process's stderr, which is
//! read here): 100 events, each holding a secret. The last case is the `enclog` command's own
//! standard output on a full disk.

use crate::child::{result_line, vars};
use crate::support::{Env, Line, child, contains, enclog, read_log, run, run_with_stdin};

/// Runs `role`; returns (lost lines reported by `lost_lines()`, stderr).
fn failing(role: &str, env: &Env, log: &std::path::Path) -> (u64, String) {
    let vars = vars(log, &env.key_file);
    let vars: Vec<_> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let out = child(role, &vars).output().expect("run the writer");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "the writer failed or panicked: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let result = result_line(&out.stdout).expect("the child printed its result");
    let lost = result.strip_prefix("lost=").unwrap().parse().unwrap();
    (lost, stderr)
}

/// The library's own messages on stderr (the test harness prints other lines).
fn reports(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("enclog: "))
        .collect()
}

fn assert_no_secret(stderr: &str) {
    assert!(
        !stderr.contains("event-secret") && !stderr.contains("4111"),
        "plaintext on stderr: {stderr}"
    );
}

#[test]
fn a_full_disk_is_reported_once_and_every_line_counted() {
    let env = Env::new();
    for role in ["dev-full", "logger-dev-full"] {
        let (lost, stderr) = failing(role, &env, &env.path("unused.log"));
        assert_eq!(lost, 100, "{role}");
        let reports = reports(&stderr);
        assert_eq!(
            reports.len(),
            1,
            "{role}: one report, not one per line: {stderr}"
        );
        assert!(
            reports[0]
                .starts_with("enclog: cannot write an encrypted log line: No space left on device")
                && reports[0].contains("the line was dropped (lost so far: 1)"),
            "{role}: {}",
            reports[0]
        );
        assert_no_secret(&stderr);
    }
}

#[test]
fn a_closed_pipe_is_reported_once_and_does_not_kill_the_process() {
    let env = Env::new();
    let (lost, stderr) = failing("closed-pipe", &env, &env.path("unused.log"));
    assert_eq!(lost, 100);
    let reports = reports(&stderr);
    assert_eq!(reports.len(), 1, "{stderr}");
    assert!(reports[0].contains("Broken pipe"), "{}", reports[0]);
    assert_no_secret(&stderr);
}

#[test]
fn a_writer_that_fails_then_recovers_resumes_and_counts_the_gap() {
    let env = Env::new();
    let log_path = env.path("flaky.log");
    let (lost, stderr) = failing("flaky", &env, &log_path);
    assert_eq!(lost, 50, "events 30..80 were lost");
    assert_eq!(
        reports(&stderr),
        [
            "enclog: cannot write an encrypted log line: No space left on device (os error 28); \
             the line was dropped (lost so far: 1); further failures are counted silently until \
             a write succeeds",
            "enclog: writing encrypted log lines again (50 lost in total)",
        ]
    );
    assert_no_secret(&stderr);

    // What reached the destination: events 0..30 and 80..100, sealed, nothing in clear, and
    // the gap is visible to a reader as missing sequence numbers.
    let log = std::fs::read(&log_path).unwrap();
    assert!(!contains(&log, b"event-secret") && !contains(&log, b"4111"));
    let mut numbers = Vec::new();
    for (line, terminated) in read_log(&log, env.keyring()) {
        assert!(terminated);
        let Line::Opened { seq, plaintext, .. } = line else {
            panic!("{line:?}")
        };
        let text = String::from_utf8(plaintext).unwrap();
        let i: u64 = text
            .split("event-secret-")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        numbers.push((seq, i));
    }
    let expected: Vec<u64> = (0..30).chain(80..100).collect();
    assert_eq!(
        numbers.iter().map(|&(_, i)| i).collect::<Vec<_>>(),
        expected
    );
    // A lost line still took its sequence number: `enclog verify` shows the gap.
    assert_eq!(numbers[30], (80, 80));
}

/// `enclog::non_blocking`, lossy and overloaded for a few hundred milliseconds: every event is
/// written or counted, and stderr gets one message for the first drop and one summary — not
/// one per drop, nor a "writing again" after each batch (a queue drop is not a failed write).
#[test]
fn an_overloaded_lossy_non_blocking_writer_counts_every_drop_and_reports_twice() {
    let env = Env::new();
    let vars = vars(&env.path("unused.log"), &env.key_file);
    let vars: Vec<_> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let out = child("non-blocking-overload", &vars)
        .output()
        .expect("run the writer");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let result = result_line(&out.stdout).expect("the child printed its result");
    let mut fields = result
        .split(' ')
        .map(|f| f.split('=').nth(1).unwrap().parse::<u64>().unwrap());
    let (lost, written) = (fields.next().unwrap(), fields.next().unwrap());
    assert!(lost > 0, "the overload dropped nothing: {result}");
    assert_eq!(
        lost + written,
        3_000,
        "every event written or counted: {result}"
    );
    let reports = reports(&stderr);
    assert_eq!(reports.len(), 2, "{stderr}");
    assert!(
        reports[0].starts_with("enclog: a log event was dropped: the queue is full (lossy mode;")
            && reports[0].contains("raise buffered_lines_limit"),
        "{}",
        reports[0]
    );
    assert_eq!(
        reports[1],
        format!("enclog: {lost} log events were dropped before reaching the writer thread")
    );
    assert_no_secret(&stderr);
}

/// The `enclog` command on a full disk: whatever it was printing, one message naming standard
/// output (and the secret, when one was being written), exit status 2.
#[test]
fn every_command_reports_a_full_standard_output_once_with_exit_2() {
    let full = std::path::Path::new("/dev/full");
    if !full.exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let env = Env::new();
    let log = env.path("app.log");
    let sealed = run_with_stdin(&mut env.cli(&["encrypt"]), b"one\ntwo\n");
    std::fs::write(&log, &sealed.stdout).unwrap();
    let identity = env.path("identity.key");
    let made = run(enclog(["genkey", "--recipient", "-o"])
        .arg(&identity)
        .stdout(std::process::Stdio::null()));
    assert_eq!(made.code, 0, "{}", made.stderr);
    let with = |mut cmd: std::process::Command, arg: &std::path::Path| {
        cmd.arg(arg);
        cmd
    };
    let generic = "cannot write to standard output";
    let cases = [
        (with(env.cli(&["decrypt"]), &log), generic),
        (with(env.cli(&["verify"]), &log), generic),
        (enclog(["demo"]), generic),
        (enclog(["man"]), generic),
        (enclog(["completions", "bash"]), generic),
        (
            enclog(["genkey"]),
            "cannot write the key to standard output",
        ),
        (
            enclog(["genkey", "--recipient"]),
            "cannot write the identity to standard output",
        ),
        (
            with(enclog(["recipient"]), &identity),
            "cannot write the recipient to standard output",
        ),
    ];
    for (mut cmd, message) in cases {
        let file = std::fs::OpenOptions::new().write(true).open(full).unwrap();
        let r = run(cmd.stdout(file));
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (
                2,
                &*format!("enclog: {message}: No space left on device (os error 28)\n")
            ),
            "{cmd:?}"
        );
    }
}
