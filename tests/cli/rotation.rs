//! `enclog encrypt -o FILE` under log rotation. Threat: `app | enclog encrypt -o app.log` going
//! on in the renamed `app.log.1` after logrotate, so the new `app.log` stays empty and readers
//! of the path miss every line after the rotation.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::time::{Duration, Instant};

use crate::fixture::{Env, run};

fn line_count(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn spawn_encrypt(env: &Env, extra: &[&str]) -> (Child, ChildStdin) {
    let mut child = crate::enclog_bin::command()
        .arg("encrypt")
        .arg("--key-file")
        .arg(&env.key)
        .arg("-o")
        .arg(env.path("app.log"))
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    (child, stdin)
}

/// `verify` over `files` (oldest first) is clean, and `decrypt` gives `expected` back.
fn assert_clean_and_complete(env: &Env, files: &[&str], expected: &str) {
    let paths: Vec<_> = files.iter().map(|f| env.path(f)).collect();
    let r = run(env.cmd(&["verify"]).args(&paths), b"");
    assert_eq!(r.code, 0, "verify {files:?}: {}", r.stderr);
    let r = run(env.cmd(&["decrypt"]).args(&paths), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(String::from_utf8_lossy(&r.stdout), expected);
}

#[test]
fn encrypt_goes_on_in_the_new_file_after_a_rename_and_verify_sees_one_chain() {
    let env = Env::new();
    let (log, old) = (env.path("app.log"), env.path("app.log.1"));
    let (child, mut stdin) = spawn_encrypt(&env, &[]);
    let mut expected = String::new();
    let mut renamed = None;
    let mut delay = None;
    for i in 0..60 {
        let line = format!("line {i}\n");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
        expected.push_str(&line);
        if i == 19 {
            wait_for("20 lines", || line_count(&log) >= 20);
            std::fs::rename(&log, &old).unwrap();
            // logrotate's `create`: O_EXCL, which fails if the writer made the file first.
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&log)
                .unwrap();
            renamed = Some(Instant::now());
        }
        if let Some(at) = renamed
            && delay.is_none()
        {
            std::thread::sleep(Duration::from_millis(5));
            if line_count(&log) > 0 {
                delay = Some(at.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let delay = delay.expect("a line reached the new file while lines were fed");
    println!("encrypt -o: first line in the new file {delay:?} after the rename");
    assert!(delay < Duration::from_secs(1), "{delay:?}");
    assert!(line_count(&log) > 10, "the new file gets the later lines");
    assert_clean_and_complete(&env, &["app.log.1", "app.log"], &expected);
    // The new file alone starts from its first link without a finding.
    let r = run(env.cmd(&["verify"]).arg(&log), b"");
    assert_eq!(r.code, 0, "verify app.log alone: {}", r.stderr);
}

#[test]
fn sighup_reopens_encrypts_output_and_the_pid_file_names_the_process() {
    let env = Env::new();
    let (log, old, pid_file) = (
        env.path("app.log"),
        env.path("app.log.1"),
        env.path("enclog.pid"),
    );
    let (child, mut stdin) = spawn_encrypt(&env, &["--pid-file", pid_file.to_str().unwrap()]);
    wait_for("the pid file", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|t| t.ends_with('\n'))
    });
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid as u32, child.id());
    stdin.write_all(b"one\ntwo\n").unwrap();
    stdin.flush().unwrap();
    wait_for("two lines", || line_count(&log) == 2);
    // A postrotate script: rename (no new file), then `kill -HUP $(cat enclog.pid)`.
    std::fs::rename(&log, &old).unwrap();
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    std::thread::sleep(Duration::from_millis(20));
    stdin.write_all(b"three\n").unwrap();
    stdin.flush().unwrap();
    // Well before the 100 ms check would have noticed the rename: the SIGHUP did it.
    wait_for("the line in the new file", || line_count(&log) == 1);
    assert_eq!(line_count(&old), 3, "two lines and the close record");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!pid_file.exists(), "the pid file is removed at exit");
    assert_clean_and_complete(&env, &["app.log.1", "app.log"], "one\ntwo\nthree\n");
}

/// Threats: a link planted at the pid file's path making encrypt overwrite its target; a pid
/// file that names a running process being taken over; a pid file without `-o` (SIGHUP would
/// then end encrypt).
#[test]
fn the_pid_file_never_follows_a_link_nor_takes_a_running_processs_file() {
    let env = Env::new();
    let victim = env.write("victim.txt", b"keep me\n");
    let link = env.path("enclog.pid");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let mut cmd = env.cmd(&["encrypt"]);
    cmd.arg("-o")
        .arg(env.path("app.log"))
        .arg("--pid-file")
        .arg(&link);
    let r = run(&mut cmd, b"x\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"keep me\n",
        "the link's target is untouched"
    );

    // A pid file naming a running process (this test's): refused, and left as it was.
    let held = env.write("held.pid", format!("{}\n", std::process::id()).as_bytes());
    let mut cmd = env.cmd(&["encrypt"]);
    cmd.arg("-o")
        .arg(env.path("app.log"))
        .arg("--pid-file")
        .arg(&held);
    let r = run(&mut cmd, b"y\n");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("running"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&held).unwrap(),
        format!("{}\n", std::process::id())
    );

    // Without -o there is nothing to reopen: refused by the option parser.
    let r = run(&mut env.cmd(&["encrypt", "--pid-file", "p.pid"]), b"z\n");
    assert_eq!(r.code, 2, "{}", r.stderr);
}
