//! Threat: hostile or broken input (wrong keys, special files, huge lines, forged tokens,
//! files changing under the reader) making the real `enclog` binary panic, exhaust memory,
//! print a vague error or the wrong exit status, or stop before the good lines. The rows of
//! the bad-input matrix in TESTING.md that `tests/cli/` does not cover already.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use base64_simd::URL_SAFE_NO_PAD;
use enclog::{Identity, Sealer};

use crate::support::{Env, Run, enclog, lines, run, run_with_stdin};

/// A log of `n` events `good i` and its close record.
fn good_log(env: &Env, n: usize) -> Vec<u8> {
    let sealer = Sealer::new(env.key.clone());
    let mut log = Vec::new();
    for i in 0..n {
        sealer
            .seal_to(None, format!("good {i}").as_bytes(), &mut log)
            .unwrap();
    }
    sealer.close_to(&mut log).unwrap();
    log
}

#[test]
fn a_key_of_the_wrong_kind_is_named() {
    let env = Env::new();
    let identity = Identity::generate().unwrap();
    let recipient = env.path("app.recipient");
    // Mode 0600: a world-readable recipient file is refused by readers for its mode first.
    crate::key_file::write_key_file(&recipient, &format!("{}\n", identity.recipient()));
    let log = env.path("app.log");
    std::fs::write(&log, good_log(&env, 2)).unwrap();
    for sub in ["decrypt", "verify", "tailf"] {
        let r = run(enclog([sub, "--key-file"]).arg(&recipient).arg(&log));
        assert_eq!(r.code, 2, "{sub}: {}", r.stderr);
        assert!(
            r.stderr.contains("recipient") && r.stderr.contains("identity"),
            "{sub}: says a reader needs the identity: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty());
    }
    // A symmetric key where the log was sealed to a recipient: a wrong key, by id.
    let sealer = Sealer::new(identity.recipient());
    let sealed = sealer.seal_line(b"to the recipient").unwrap();
    let r = run_with_stdin(&mut env.cli(&["decrypt"]), &sealed);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("<stdin>:1: the line was sealed with key"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&identity.id().to_string()),
        "{}",
        r.stderr
    );
}

/// Runs `cmd` as the unprivileged user `nobody` (for root, which reads through mode 000).
#[allow(unsafe_code)]
fn as_nobody(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

#[test]
fn an_unreadable_file_is_an_error_and_the_next_file_is_still_read() {
    // Mode 000 stops everyone but root (CAP_DAC_OVERRIDE), and the tests run as root: the
    // binary is run as `nobody` then, with the key in the environment and a folder it can
    // enter. (`tests/cli/decrypt.rs` checks mode 000 as the current user.)
    let env = Env::new();
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let secret = env.path("secret.log");
    std::fs::write(&secret, good_log(&env, 1)).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let good = env.path("good.log");
    std::fs::write(&good, good_log(&env, 2)).unwrap();
    std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = enclog(["decrypt"]);
    cmd.arg(&secret)
        .arg(&good)
        .env("ENCLOG_KEY", &*env.key.to_text());
    #[allow(unsafe_code)]
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        as_nobody(&mut cmd);
    }
    let r = run(&mut cmd);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout_text(), "good 0\ngood 1\n");
    assert_eq!(
        r.stderr,
        format!(
            "enclog: {}: permission denied (check the file's permissions with `ls -l`, or run as \
             a user who can read it)\n",
            secret.display()
        )
    );
}

#[test]
fn a_file_that_opens_but_fails_to_read_is_an_error() {
    // /proc/self/mem opens for anyone, root included, and reading it at offset 0 fails (EIO):
    // an honest stand-in for a disk read error.
    let env = Env::new();
    let good = env.path("good.log");
    std::fs::write(&good, good_log(&env, 1)).unwrap();
    for sub in ["decrypt", "verify"] {
        let r = run(env.cli(&[sub]).arg("/proc/self/mem").arg(&good));
        assert_eq!(r.code, 2, "{sub}: {}", r.stderr);
        assert!(
            r.stderr
                .starts_with("enclog: /proc/self/mem: cannot read: ")
                && r.stderr.contains("error"),
            "{sub}: {}",
            r.stderr
        );
        assert_eq!(r.stderr.lines().count(), 1, "{sub}: {}", r.stderr);
        if sub == "decrypt" {
            assert_eq!(r.stdout_text(), "good 0\n");
        }
    }
}

/// Runs `cmd` with `stdin` and returns its result and its peak resident set size in KiB
/// (`wait4`'s rusage, the child's own).
// Reaped with `wait4` (for its rusage), which `Child::wait` cannot give.
#[allow(clippy::zombie_processes)]
fn run_measured(
    cmd: &mut Command,
    stdin: impl FnOnce(&mut dyn Write) + Send + 'static,
) -> (Run, i64) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin(&mut input));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        out.read_to_end(&mut b).unwrap();
        b
    });
    let mut stderr = String::new();
    err.read_to_string(&mut stderr).unwrap();
    let stdout = reader.join().unwrap();
    feeder.join().unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; waits for our own child (not reaped by `Child`).
    #[allow(unsafe_code)]
    let (pid, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        (
            libc::wait4(child.id() as i32, &mut status, 0, &mut usage),
            usage,
        )
    };
    assert_eq!(pid, child.id() as i32);
    assert!(libc::WIFEXITED(status), "killed: {status}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let run = Run {
        code: libc::WEXITSTATUS(status),
        stdout,
        stderr,
    };
    (run, usage.ru_maxrss)
}

#[test]
fn a_100_mb_line_without_newline_is_skipped_in_bounded_memory() {
    let env = Env::new();
    let before = good_log(&env, 2);
    let lines_before = lines(&before);
    // The close record goes after the huge line, so good lines surround it.
    let head = lines_before[..2].concat();
    let (r, peak_kib) = run_measured(env.cli(&["decrypt"]).as_mut_cmd(), move |w| {
        let _ = w.write_all(&head);
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            if w.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout, b"good 0\ngood 1\n");
    assert_eq!(
        r.stderr,
        "enclog: <stdin>:3: line is 104857600 bytes, longer than the 16777216-byte limit; it \
         was skipped (raise the limit if this log really has such lines)\n"
    );
    eprintln!("bad_input: 100 MB line: peak RSS {} MiB", peak_kib / 1024);
    // The cap is 16 MiB: the line is never held whole.
    assert!(peak_kib < 48 * 1024, "peak RSS {peak_kib} KiB");
}

/// Threat: one endless line exhausting `encrypt`'s memory (a 200 MB line once took 655 MB):
/// the line is read in pieces of at most `--max-line` (12 MiB less 1 KiB by default), each
/// sealed as it is complete, so the line is never held whole.
#[test]
fn encrypt_seals_a_100_mb_line_in_bounded_memory() {
    let env = Env::new();
    let (r, peak_kib) = run_measured(env.cli(&["encrypt"]).as_mut_cmd(), move |w| {
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            if w.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("enclog: <stdin>:1: line is 104857600 bytes, longer than the")
            && r.stderr.contains("sealed as 9 consecutive events"),
        "{}",
        r.stderr
    );
    assert_eq!(lines(&r.stdout).len(), 10, "9 events and the close record");
    eprintln!(
        "bad_input: encrypt of a 100 MB line: peak RSS {} MiB",
        peak_kib / 1024
    );
    // One piece of 12 MiB, its sealed line of 16 MiB and the sealer's scratch: never 100 MB.
    assert!(peak_kib < 80 * 1024, "peak RSS {peak_kib} KiB");
}

trait AsMutCmd {
    fn as_mut_cmd(&mut self) -> &mut Command;
}
impl AsMutCmd for Command {
    fn as_mut_cmd(&mut self) -> &mut Command {
        self
    }
}

#[test]
fn a_token_of_valid_shape_with_a_forged_tag_is_corrupted() {
    let env = Env::new();
    let mut l = lines(&good_log(&env, 3));
    let token = &l[1][7..l[1].len() - 1];
    let mut bytes = URL_SAFE_NO_PAD.decode_to_vec(token).unwrap();
    let n = bytes.len();
    bytes[n - 16..].copy_from_slice(&[0x42; 16]);
    l[1] = format!("enclog:{}\n", URL_SAFE_NO_PAD.encode_to_string(&bytes)).into_bytes();
    // And a whole line made up under the key's id: header, random body, random tag.
    let mut made_up = bytes[..22].to_vec();
    made_up.extend_from_slice(&[7u8; 40]);
    l.insert(
        2,
        format!("enclog:{}\n", URL_SAFE_NO_PAD.encode_to_string(&made_up)).into_bytes(),
    );
    let path = env.path("forged.log");
    std::fs::write(&path, l.concat()).unwrap();
    let name = path.display().to_string();
    let r = run(env.cli(&["decrypt"]).arg(&path));
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout_text(), "good 0\ngood 2\n");
    let id = env.key.id();
    assert_eq!(
        r.stderr,
        format!(
            "enclog: {name}:2: the line fails authentication under key {id}\n\
             enclog: {name}:3: the line fails authentication under key {id}\n"
        )
    );
    let r = run(env.cli(&["verify"]).arg(&path));
    assert_eq!(r.code, 1);
    let out = r.stdout_text();
    assert!(out.contains(&format!("{name}:2: corrupted line")), "{out}");
    assert!(out.contains(&format!("{name}:3: corrupted line")), "{out}");
}

#[test]
fn a_file_that_shrinks_while_being_decrypted() {
    let env = Env::new();
    let sealer = Sealer::new(env.key.clone());
    let mut log = Vec::new();
    let mut i = 0;
    while log.len() < 8 << 20 {
        sealer
            .seal_to(
                None,
                format!("event {i} {}", "s".repeat(200)).as_bytes(),
                &mut log,
            )
            .unwrap();
        i += 1;
    }
    let path = env.path("shrinking.log");
    std::fs::write(&path, &log).unwrap();
    let mut child = env
        .cli(&["decrypt"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Not reading its output: the binary blocks on a full pipe early in the file. Cut the
    // file in the middle of a line well past that point, then read everything.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).unwrap();
    let cut = 6 << 20;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut as u64)
        .unwrap();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let printed = [&first[..], &rest].concat();
    // Every line before the cut came out, in order, and nothing else.
    let complete = log[..cut].iter().filter(|&&b| b == b'\n').count();
    let text = String::from_utf8(printed).unwrap();
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(got.len(), complete, "{stderr}");
    for (n, line) in got.iter().enumerate() {
        assert!(
            line.starts_with(&format!("event {n} ")),
            "line {}: {line}",
            n + 1
        );
    }
    // The line cut in two is reported as truncated, by its number.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "enclog: {}:{}: the token ends early or was altered (the last line has no \
             newline and does not open: a writer cut off mid-line, or an edit; v1 lines carry \
             no length to tell which)\n",
            path.display(),
            complete + 1
        )
    );
}

#[test]
fn verify_gives_the_same_verdicts_on_bad_files() {
    let env = Env::new();
    let empty = env.path("empty.log");
    std::fs::write(&empty, b"").unwrap();
    let garbage: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let binary = env.path("binary.log");
    std::fs::write(&binary, &garbage).unwrap();
    let gz = env.path("broken.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    let missing = env.path("missing.log");
    for (what, path, code, says) in [
        ("empty file", &empty, 0, "ok: 0 lines"),
        (
            "directory",
            &env.dir.path().to_path_buf(),
            2,
            "is a directory",
        ),
        ("missing file", &missing, 2, "no such file"),
        ("gzip garbage", &gz, 2, "cannot decompress"),
        // 10,000 bytes cycling 0..=255: plain lines, the last one cut (no newline).
        ("binary garbage", &binary, 1, "truncated or altered line"),
    ] {
        let r = run(env.cli(&["verify"]).arg(path));
        assert_eq!(r.code, code, "{what}: {} {}", r.stdout_text(), r.stderr);
        assert!(
            r.stdout_text().contains(says) || r.stderr.contains(says),
            "{what}: {} {}",
            r.stdout_text(),
            r.stderr
        );
    }
}
