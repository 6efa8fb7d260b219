//! `enclog tailf`: following a file through appends and rotations; every line exactly once,
//! in order.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use crate::fixture::{Env, flip};

/// Generous: a slow CI machine must not fail these tests; a correct follower answers in ms.
const WAIT: Duration = Duration::from_secs(10);

struct Tail {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Tail {
    fn spawn(args: &[&std::ffi::OsStr]) -> Tail {
        let mut child = crate::enclog_bin::command()
            .arg("tailf")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines_of(child.stdout.take().unwrap());
        let stderr = lines_of(child.stderr.take().unwrap());
        Tail {
            child,
            stdout,
            stderr,
        }
    }

    fn expect(&self, want: &str) {
        match self.stdout.recv_timeout(WAIT) {
            Ok(line) => assert_eq!(line, want),
            Err(_) => panic!(
                "`{want}` not printed within {WAIT:?}; stderr: {:?}",
                self.stderr.try_iter().collect::<Vec<_>>()
            ),
        }
    }

    fn expect_stderr(&self, contains: &str) {
        let mut seen = Vec::new();
        loop {
            let line = self
                .stderr
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no stderr line containing `{contains}` in {seen:?}"));
            assert!(!line.contains("panicked"), "{line}");
            if line.contains(contains) {
                return;
            }
            seen.push(line);
        }
    }

    /// Ctrl-C: exits 0; returns what was printed after the lines already expected.
    fn interrupt(mut self) -> Vec<String> {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(status.success());
        let status = self.child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "Ctrl-C exits 0");
        let rest: Vec<String> = self.stdout.iter().collect();
        let errors: Vec<String> = self.stderr.iter().collect();
        assert!(!errors.iter().any(|l| l.contains("panicked")), "{errors:?}");
        rest
    }
}

fn lines_of(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn sealer(env: &Env) -> enclog::Sealer {
    enclog::Sealer::new(enclog::SealingKey::from_file(&env.key).unwrap())
}

fn append(path: &Path, bytes: &[u8]) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
}

#[test]
fn follows_pieces_and_every_kind_of_rotation() {
    rotation_scenario(&[]);
}

#[test]
fn follows_every_kind_of_rotation_when_polling() {
    rotation_scenario(&["--poll"]);
}

fn rotation_scenario(extra: &[&str]) {
    let env = Env::new();
    let s = sealer(&env);
    let log = env.path("app.log");
    let mut start = Vec::new();
    for i in 0..15 {
        start.extend(s.seal_line(format!("old {i}").as_bytes()).unwrap());
    }
    append(&log, &start);

    let mut args: Vec<&std::ffi::OsStr> = vec![
        "-n".as_ref(),
        "3".as_ref(),
        log.as_ref(),
        "--key-file".as_ref(),
        env.key.as_ref(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let tail = Tail::spawn(&args);
    for i in 12..15 {
        tail.expect(&format!("old {i}"));
    }

    // Half a line, then the rest.
    let line = s.seal_line(b"in two pieces").unwrap();
    let (a, b) = line.split_at(line.len() / 2);
    append(&log, a);
    std::thread::sleep(Duration::from_millis(300));
    append(&log, b);
    tail.expect("in two pieces");

    // Rotation by rename and create.
    std::fs::rename(&log, env.path("app.log.1")).unwrap();
    append(&log, &s.seal_line(b"after rename").unwrap());
    tail.expect("after rename");
    append(&log, &s.seal_line(b"appended to the new file").unwrap());
    tail.expect("appended to the new file");

    // Rotation by copy and truncate (copytruncate).
    std::fs::copy(&log, env.path("app.log.2")).unwrap();
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    append(&log, &s.seal_line(b"short").unwrap());
    tail.expect("short");

    // Deleted and created again.
    std::fs::remove_file(&log).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    append(&log, &s.seal_line(b"recreated").unwrap());
    tail.expect("recreated");

    let rest = tail.interrupt();
    assert!(
        rest.is_empty(),
        "printed more than once or out of order: {rest:?}"
    );
}

#[test]
fn a_bad_line_is_reported_and_following_goes_on() {
    let env = Env::new();
    let s = sealer(&env);
    let log = env.path("app.log");
    append(&log, b"");
    let tail = Tail::spawn(&[log.as_ref(), "--key-file".as_ref(), env.key.as_ref()]);
    let bad = flip(&s.seal_line(b"tampered").unwrap());
    append(&log, &bad);
    append(&log, b"a plain line\n");
    append(&log, &s.seal_line(b"still following").unwrap());
    tail.expect_stderr("app.log:1: the line fails authentication");
    tail.expect("a plain line");
    tail.expect("still following");
    assert!(tail.interrupt().is_empty());
}

#[test]
fn a_key_added_to_the_keyring_folder_is_picked_up() {
    let first = Env::new();
    let later = Env::new();
    let ring = tempfile::tempdir().unwrap();
    let install = |env: &Env, name: &str| {
        let dest = ring.path().join(name);
        std::fs::copy(&env.key, &dest).unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    install(&first, "1.key");
    let log = first.path("app.log");
    append(&log, &sealer(&first).seal_line(b"first key").unwrap());
    let tail = Tail::spawn(&[log.as_ref(), "--keyring".as_ref(), ring.path().as_ref()]);
    tail.expect("first key");
    install(&later, "2.key");
    append(&log, &sealer(&later).seal_line(b"new key").unwrap());
    tail.expect("new key");
    assert!(tail.interrupt().is_empty());
}

#[test]
fn from_start_prints_the_whole_file() {
    let env = Env::new();
    let s = sealer(&env);
    let log = env.path("app.log");
    for i in 0..25 {
        append(&log, &s.seal_line(format!("line {i}").as_bytes()).unwrap());
    }
    let tail = Tail::spawn(&[
        "--from-start".as_ref(),
        log.as_ref(),
        "--key-file".as_ref(),
        env.key.as_ref(),
    ]);
    for i in 0..25 {
        tail.expect(&format!("line {i}"));
    }
    assert!(tail.interrupt().is_empty());
}

/// Like `decrypt`: control characters in followed events and plain lines shown escaped.
#[test]
fn control_characters_are_escaped_when_asked() {
    let env = Env::new();
    let log = env.path("app.log");
    append(
        &log,
        &sealer(&env).seal_line(b"user=\x1b]0;pwned\x07").unwrap(),
    );
    append(&log, b"plain \x1b[2K\n");
    let tail = Tail::spawn(&[
        "--from-start".as_ref(),
        "--escape".as_ref(),
        "always".as_ref(),
        log.as_ref(),
        "--key-file".as_ref(),
        env.key.as_ref(),
    ]);
    tail.expect("user=\\x1b]0;pwned\\x07");
    tail.expect("plain \\x1b[2K");
    assert!(tail.interrupt().is_empty());
}

/// Like `decrypt`: with `--authenticated-only`, plain lines and the text around tokens (here a
/// forged syslog header) are not printed, only the sealed events. Threat: forged text read as
/// if enclog had vouched for it.
#[test]
fn authenticated_only_prints_only_sealed_events() {
    let env = Env::new();
    let log = env.path("app.log");
    let s = sealer(&env);
    append(&log, b"2026-12-06T08:00:00Z ERROR FORGED plain line\n");
    append(&log, b"FORGED header: ");
    append(&log, &s.seal_line(b"event one").unwrap());
    append(&log, b"FORGED plain line\n");
    append(&log, &s.seal_line(b"event two").unwrap());
    let tail = Tail::spawn(&[
        "--from-start".as_ref(),
        "--authenticated-only".as_ref(),
        log.as_ref(),
        "--key-file".as_ref(),
        env.key.as_ref(),
    ]);
    tail.expect("event one");
    tail.expect("event two");
    assert!(tail.interrupt().is_empty());
}

/// Like `decrypt`: clear metadata edited from `ERROR` to `DEBUG` is flagged on stdout where
/// it is printed. Threat: a log router or an attacker relabelling an ERROR line.
#[test]
fn edited_clear_metadata_is_flagged_where_it_is_printed() {
    let env = Env::new();
    let log = env.path("app.log");
    let mut line = Vec::new();
    sealer(&env)
        .seal_to(Some(b"ERROR"), b"disk full", &mut line)
        .unwrap();
    append(
        &log,
        &[&b"DEBUG"[..], line.strip_prefix(b"ERROR").unwrap()].concat(),
    );
    let tail = Tail::spawn(&[
        "--from-start".as_ref(),
        log.as_ref(),
        "--key-file".as_ref(),
        env.key.as_ref(),
    ]);
    tail.expect("DEBUG [clear metadata edited: authentic \"ERROR\"] disk full");
    assert!(tail.interrupt().is_empty());
}

/// Field-sealed JSON lines come out restored, as `decrypt` prints them: an edited clear field
/// marked, and with `--authenticated-only` a member a shipper added removed and an edited line
/// left out (said on stderr).
#[test]
fn field_sealed_lines_are_restored_and_edited_clear_fields_flagged() {
    let env = Env::new();
    let log = env.path("app.jsonl");
    let s = sealer(&env);
    let selection = enclog::fields::Selection::new(["user"]).index(["user"]);
    let seal = |line: &str| {
        let mut out = Vec::new();
        s.seal_json_fields(line.as_bytes(), &selection, &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    };
    append(&log, seal(r#"{"level":"INFO","user":"alice"}"#).as_bytes());
    let added = seal(r#"{"level":"INFO","user":"bob"}"#).replacen('{', r#"{"host":"web1","#, 1);
    append(&log, added.as_bytes());
    let edited = seal(r#"{"level":"ERROR","user":"carol"}"#).replacen("ERROR", "DEBUG", 1);
    append(&log, edited.as_bytes());
    let args = |extra: &'static str| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "--from-start".as_ref(),
            log.as_ref(),
            "--key-file".as_ref(),
            env.key.as_ref(),
        ];
        if !extra.is_empty() {
            args.push(extra.as_ref());
        }
        args
    };
    let tail = Tail::spawn(&args(""));
    tail.expect(r#"{"level":"INFO","user":"alice"}"#);
    tail.expect(r#"{"host":"web1","level":"INFO","user":"bob"}"#);
    tail.expect(r#"[clear fields edited] {"level":"DEBUG","user":"carol"}"#);
    assert!(tail.interrupt().is_empty());

    let tail = Tail::spawn(&args("--authenticated-only"));
    tail.expect(r#"{"level":"INFO","user":"alice"}"#);
    tail.expect(r#"{"level":"INFO","user":"bob"}"#);
    tail.expect_stderr(":3: the clear fields of this field-sealed line were edited");
    assert!(tail.interrupt().is_empty());
}

#[test]
fn a_missing_key_is_exit_2() {
    let env = Env::new();
    let out = crate::enclog_bin::command()
        .args(["tailf", "--keyring"])
        .arg(env.path("no-such-dir"))
        .arg(env.path("app.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-dir"));
}

#[test]
fn a_file_that_does_not_exist_yet_is_waited_for() {
    let env = Env::new();
    let log = env.path("later.log");
    let tail = Tail::spawn(&[log.as_ref(), "--key-file".as_ref(), env.key.as_ref()]);
    tail.expect_stderr("does not exist yet");
    append(&log, &sealer(&env).seal_line(b"it appeared").unwrap());
    tail.expect("it appeared");
    assert!(tail.interrupt().is_empty());
}

#[test]
fn a_directory_is_exit_2() {
    let env = Env::new();
    let out = crate::enclog_bin::command()
        .arg("tailf")
        .arg(env.dir.path())
        .arg("--key-file")
        .arg(&env.key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is a directory"), "{stderr}");
}

/// Threat: a file name driving the terminal or forging an output line through a message that
/// names it; the name is shown escaped (`\x1b`, `\x0a`), on one line.
#[test]
fn a_file_name_is_escaped_in_messages() {
    let env = Env::new();
    let dir = env.path("logs\x1b[31m\nx");
    std::fs::create_dir(&dir).unwrap();
    let out = crate::enclog_bin::command()
        .arg("tailf")
        .arg(&dir)
        .arg("--key-file")
        .arg(&env.key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.contains("logs\\x1b[31m\\x0ax is a directory"),
        "{stderr:?}"
    );
}

impl Tail {
    /// The next `n` lines printed.
    fn lines(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                self.stdout.recv_timeout(WAIT).unwrap_or_else(|_| {
                    panic!(
                        "only {i} of {n} lines printed within {WAIT:?}; stderr: {:?}",
                        self.stderr.try_iter().collect::<Vec<_>>()
                    )
                })
            })
            .collect()
    }

    /// Whether tailf has the file now named `path` open (Linux: its descriptors in /proc).
    fn has_open(&self, path: &Path) -> bool {
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).unwrap();
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
    }
}

/// Each prefix's lines exactly once and in order, and nothing else.
fn assert_each_once_in_order(lines: &[String], prefixes: &[(&str, usize)]) {
    let total: usize = prefixes.iter().map(|(_, n)| n).sum();
    assert_eq!(lines.len(), total, "{lines:?}");
    for (prefix, n) in prefixes {
        let of: Vec<&String> = lines.iter().filter(|l| l.starts_with(prefix)).collect();
        let want: Vec<String> = (0..*n).map(|i| format!("{prefix} {i}")).collect();
        assert_eq!(of, want.iter().collect::<Vec<_>>(), "{prefix}: {lines:?}");
    }
}

/// The measured problem of issue 16: after logrotate's rename and create, a writer that has not
/// noticed yet goes on writing into the renamed file (here for 200 ms), then closes its session
/// there and goes on in the new file. `tail -F` never shows the lines written into the renamed
/// file after its switch; tailf prints every line once.
#[test]
fn lines_written_into_the_renamed_file_before_the_writer_reopens_are_printed_once() {
    let env = Env::new();
    let s = sealer(&env);
    let log = env.path("app.log");
    let rotated = env.path("app.log.1");
    for i in 0..5 {
        append(
            &log,
            &s.seal_line(format!("before {i}").as_bytes()).unwrap(),
        );
    }
    let tail = Tail::spawn(&[
        "--from-start".as_ref(),
        log.as_ref(),
        "--key-file".as_ref(),
        env.key.as_ref(),
    ]);
    let mut lines = tail.lines(5);

    let mut old = OpenOptions::new().append(true).open(&log).unwrap();
    std::fs::rename(&log, &rotated).unwrap();
    append(&log, b""); // logrotate `create`
    tail.expect_stderr("the file was rotated");
    let writer = std::thread::spawn(move || {
        for i in 0..20 {
            old.write_all(&s.seal_line(format!("late {i}").as_bytes()).unwrap())
                .unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        // The writer notices: its close record into the old file, then the new file.
        let mut close = Vec::new();
        s.close_to(&mut close).unwrap();
        old.write_all(&close).unwrap();
        for i in 0..10 {
            append(&log, &s.seal_line(format!("new {i}").as_bytes()).unwrap());
        }
    });
    lines.extend(tail.lines(30));
    writer.join().unwrap();
    assert_each_once_in_order(&lines, &[("before", 5), ("late", 20), ("new", 10)]);
    let rest = tail.interrupt();
    assert!(rest.is_empty(), "printed more than once: {rest:?}");
}

/// A writer that reopens its file closes its session in the old one: tailf lets go of the old
/// file when it reads that close record, without waiting for `--grace`.
#[test]
fn the_old_files_close_record_ends_its_reading_before_the_grace_period() {
    let env = Env::new();
    let s = sealer(&env);
    let log = env.path("app.log");
    let rotated = env.path("app.log.1");
    append(&log, b"");
    let tail = Tail::spawn(&[
        "--grace".as_ref(),
        "60s".as_ref(),
        log.as_ref(),
        "--key-file".as_ref(),
        env.key.as_ref(),
    ]);
    let mut old = OpenOptions::new().append(true).open(&log).unwrap();
    old.write_all(&s.seal_line(b"before").unwrap()).unwrap();
    tail.expect("before");
    std::fs::rename(&log, &rotated).unwrap();
    append(&log, b"");
    tail.expect_stderr("the file was rotated");
    old.write_all(&s.seal_line(b"late").unwrap()).unwrap();
    tail.expect("late");
    assert!(tail.has_open(&rotated), "the old file is still read");

    let mut close = Vec::new();
    s.close_to(&mut close).unwrap();
    old.write_all(&close).unwrap();
    append(&log, &s.seal_line(b"new").unwrap());
    tail.expect("new");
    let deadline = std::time::Instant::now() + WAIT;
    while tail.has_open(&rotated) {
        assert!(
            std::time::Instant::now() < deadline,
            "the old file is still open {WAIT:?} after its close record (--grace 60s)"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(tail.interrupt().is_empty());
}

#[test]
fn grace_is_in_the_help_and_checked() {
    let help = crate::enclog_bin::command()
        .args(["tailf", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--grace <DURATION>"), "{help}");
    assert!(help.contains("[default: 3s]"), "{help}");
    let out = crate::enclog_bin::command()
        .args(["tailf", "--grace", "3", "app.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no unit"));
}
