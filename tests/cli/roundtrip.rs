//! genkey → encrypt → decrypt gives back every byte.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::fixture::{Env, lines, run};

fn round_trip(plain: &[u8]) {
    let env = Env::new();
    let sealed = env.encrypt(plain);
    let r = run(&mut env.cmd(&["decrypt"]), &sealed);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, plain, "decrypt(encrypt(x)) != x");
    assert_eq!(r.stderr, "");
}

#[test]
fn ascii_lines() {
    round_trip(b"GET /index.html 200\nPOST /login 302\n");
}

#[test]
fn utf8_lines() {
    round_trip("naïve café — 日本語 — 🦀\nΑθήνα\n".as_bytes());
}

#[test]
fn empty_lines() {
    round_trip(b"\n\nbetween\n\n");
}

#[test]
fn non_utf8_bytes_and_carriage_returns() {
    round_trip(b"\xff\xfe\x00\x01 binary\n\x80latin1 caf\xe9\nwindows line\r\n\r\n");
}

#[test]
fn long_lines() {
    let mut plain = vec![b'a'; 1 << 20];
    plain.push(b'\n');
    plain.extend(std::iter::repeat_n(b'z', 70_000));
    plain.push(b'\n');
    round_trip(&plain);
}

#[test]
fn a_10_mb_line() {
    let mut plain: Vec<u8> = (0..10 * 1024 * 1024)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    plain.push(b'\n');
    round_trip(&plain);
}

#[test]
fn encrypted_lines_hide_the_plaintext_and_end_with_a_close_record() {
    let env = Env::new();
    let sealed = env.encrypt(b"alice@example.com signed in\nsecond\n");
    let text = String::from_utf8(sealed).unwrap();
    assert!(!text.contains("alice"), "{text}");
    // Two events and the session's close record.
    assert_eq!(text.lines().count(), 3);
    assert!(text.lines().all(|l| l.starts_with("enclog:")), "{text}");
    let verified = run(&mut env.cmd(&["verify", "-"]), text.as_bytes());
    assert_eq!(
        verified.code,
        0,
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

#[test]
fn output_file_is_appended_to() {
    let env = Env::new();
    let log = env.path("app.log");
    for plain in [&b"first run\n"[..], b"second run\n"] {
        let r = run(env.cmd(&["encrypt"]).arg("-o").arg(&log), plain);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let r = run(env.cmd(&["decrypt"]).arg(&log), b"");
    assert_eq!(r.stdout, b"first run\nsecond run\n");
    let sealed = std::fs::read(&log).unwrap();
    assert_eq!(lines(&sealed).len(), 4, "two events, two close records");
}

/// Threat: a log others can read tells them how many events happened, and when. `encrypt -o`
/// creates its file 0640 (a umask may remove more); an existing file keeps its mode.
#[test]
fn encrypt_creates_its_output_file_unreadable_by_others() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let log = env.path("new.log");
    let r = run(env.cmd(&["encrypt"]).arg("-o").arg(&log), b"event\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o007, 0, "no access for others: {mode:o}");
    assert_eq!(mode & 0o600, 0o600, "the owner reads and writes: {mode:o}");

    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = run(env.cmd(&["encrypt"]).arg("-o").arg(&log), b"more\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "an existing file keeps its mode");
}

#[test]
fn encrypt_writes_each_line_as_it_arrives() {
    let env = Env::new();
    let (mut child, mut stdin, rx) = spawn_encrypt(&env);
    stdin.write_all(b"one\n").unwrap();
    stdin.flush().unwrap();
    // stdin is still open: the line must come out anyway.
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("no encrypted line while the input stays open");
    assert!(first.starts_with("enclog:"), "{first}");
    drop(stdin);
    let close = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("close record");
    assert!(close.starts_with("enclog:"));
    assert!(child.wait().unwrap().success());
}

/// A complete line comes out even when the input then stops in the middle of the next line
/// (both in one write): encrypt waits for the rest with nothing of its own left unwritten.
#[test]
fn encrypt_writes_a_line_when_the_input_stops_mid_line() {
    let env = Env::new();
    let (mut child, mut stdin, rx) = spawn_encrypt(&env);
    stdin.write_all(b"one\npart of tw").unwrap();
    stdin.flush().unwrap();
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the complete line was held back while the next one is incomplete");
    assert!(first.starts_with("enclog:"), "{first}");
    stdin.write_all(b"o\n").unwrap();
    drop(stdin);
    let mut sealed = first + "\n";
    for line in rx.iter() {
        sealed += &line;
        sealed += "\n";
    }
    assert!(child.wait().unwrap().success());
    let opened = run(&mut env.cmd(&["decrypt"]), sealed.as_bytes());
    assert_eq!(opened.stdout_text(), "one\npart of two\n");
}

#[test]
fn ctrl_c_does_not_cut_a_pipeline_short() {
    let env = Env::new();
    let (mut child, mut stdin, rx) = spawn_encrypt(&env);
    stdin.write_all(b"before ctrl-c\n").unwrap();
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("first line");
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    // The program upstream logs while shutting down, then closes the pipe.
    stdin.write_all(b"shutting down\n").unwrap();
    drop(stdin);
    let mut sealed = first + "\n";
    for line in rx.iter() {
        sealed += &line;
        sealed += "\n";
    }
    assert!(child.wait().unwrap().success());
    let opened = run(&mut env.cmd(&["decrypt"]), sealed.as_bytes());
    assert_eq!(opened.stdout_text(), "before ctrl-c\nshutting down\n");
    let verified = run(&mut env.cmd(&["verify"]), sealed.as_bytes());
    assert_eq!(
        verified.code,
        0,
        "closed cleanly: {}",
        verified.stdout_text()
    );
}

/// `enclog encrypt` running with piped stdin; its stdout lines arrive on the receiver.
fn spawn_encrypt(
    env: &Env,
) -> (
    std::process::Child,
    std::process::ChildStdin,
    mpsc::Receiver<String>,
) {
    let mut child = crate::enclog_bin::command()
        .arg("encrypt")
        .arg("--key-file")
        .arg(&env.key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    (child, stdin, rx)
}

/// `encrypt`'s default limit on one line: 12 MiB less 1 KiB.
const ENCRYPT_MAX_LINE: usize = 12 * 1024 * 1024 - 1024;

/// The default limit is chosen so that its sealed line is still read by `decrypt`'s default
/// `--max-line` (16 MiB): a line of exactly the limit is one event, and comes back whole.
#[test]
fn a_line_of_encrypts_limit_is_one_event_that_decrypt_reads_by_default() {
    let env = Env::new();
    let mut plain = vec![b'x'; ENCRYPT_MAX_LINE];
    plain.push(b'\n');
    let r = run(&mut env.cmd(&["encrypt"]), &plain);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(lines(&r.stdout).len(), 2, "one event and the close record");
    let back = run(&mut env.cmd(&["decrypt"]), &r.stdout);
    assert_eq!((back.code, back.stderr.as_str()), (0, ""));
    assert!(back.stdout == plain, "the line did not come back whole");
}

/// Threat: one endless input line exhausting `encrypt`'s memory (a 200 MB line took 655 MB).
/// A line longer than the limit is split into events of at most the limit, never dropped:
/// every byte comes back, stderr names the line, and the exit status is 1.
#[test]
fn a_line_over_encrypts_limit_is_split_into_events_and_reported() {
    let env = Env::new();
    let long: Vec<u8> = (0..ENCRYPT_MAX_LINE + 1)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    let mut plain = b"before\n".to_vec();
    plain.extend_from_slice(&long);
    plain.extend_from_slice(b"\nafter\n");
    let r = run(&mut env.cmd(&["encrypt"]), &plain);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "enclog: <stdin>:2: line is {} bytes, longer than the {}-byte limit; it was sealed \
             as 2 consecutive events, which decrypt shows as 2 lines (raise --max-line to keep \
             such lines whole)\n",
            ENCRYPT_MAX_LINE + 1,
            ENCRYPT_MAX_LINE
        )
    );
    assert_eq!(lines(&r.stdout).len(), 5, "4 events and the close record");
    let back = run(&mut env.cmd(&["decrypt"]), &r.stdout);
    assert_eq!((back.code, back.stderr.as_str()), (0, ""));
    let mut expected = b"before\n".to_vec();
    expected.extend_from_slice(&long[..ENCRYPT_MAX_LINE]);
    expected.push(b'\n');
    expected.extend_from_slice(&long[ENCRYPT_MAX_LINE..]);
    expected.extend_from_slice(b"\nafter\n");
    assert!(
        back.stdout == expected,
        "the pieces did not come back in order"
    );
}

/// `--max-line` sets the limit: a line of 10 bytes under `--max-line 4` is three events of
/// 4, 4 and 2 bytes; a line of exactly 4 bytes, and a last line without newline, stay whole.
#[test]
fn encrypts_max_line_option_sets_where_lines_are_split() {
    let env = Env::new();
    let r = run(
        &mut env.cmd(&["encrypt", "--max-line", "4"]),
        b"0123456789\nabcd\nxyz",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("enclog: <stdin>:1: line is 10 bytes, longer than the 4-byte limit; it was sealed as 3 consecutive events"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let back = run(&mut env.cmd(&["decrypt"]), &r.stdout);
    assert_eq!(back.stdout, b"0123\n4567\n89\nabcd\nxyz\n");
    let zero = run(&mut env.cmd(&["encrypt", "--max-line", "0"]), b"x\n");
    assert_eq!((zero.code, zero.stdout.len()), (2, 0), "{}", zero.stderr);
}
