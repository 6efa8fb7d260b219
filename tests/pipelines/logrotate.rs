//! A real logrotate (Debian's package; `scripts/test.sh` installs it) rotating, in `create`
//! style, the log of a running writer: a service using `init_file`, and `enclog encrypt -o`.
//! Threat: a writer that goes on in the renamed file (the new one stays empty, readers of the
//! path miss the lines, `compress` cuts them off), or a hand-over `verify` cannot tell from a
//! deletion. Each test prints the delay between the rotation and the first line in the new
//! file.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{enclog, key_file};

const CHILD_LOG: &str = "ENCLOG_LOGROTATE_TEST_LOG";
const CHILD_KEY: &str = "ENCLOG_LOGROTATE_TEST_KEY";

fn logrotate_bin() -> &'static str {
    [
        "/usr/sbin/logrotate",
        "/sbin/logrotate",
        "/usr/bin/logrotate",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect(
        "logrotate is not installed: run scripts/test.sh (it installs Debian's logrotate) \
             or `apt-get install logrotate`",
    )
}

/// A logrotate config for `log` in `dir` (`create` style, no compression), with its state
/// file there too.
struct Logrotate {
    conf: PathBuf,
    state: PathBuf,
}

impl Logrotate {
    fn new(dir: &Path, log: &Path) -> Logrotate {
        let conf = dir.join("logrotate.conf");
        std::fs::write(
            &conf,
            format!(
                "{} {{\n    rotate 10\n    create 0640\n    missingok\n    notifempty\n}}\n",
                log.display()
            ),
        )
        .unwrap();
        Logrotate {
            conf,
            state: dir.join("logrotate.state"),
        }
    }

    /// `logrotate -f`: rotates now. Returns when it has finished (rename and create done).
    fn force(&self) -> Instant {
        let out = Command::new(logrotate_bin())
            .arg("-f")
            .arg("-s")
            .arg(&self.state)
            .arg(&self.conf)
            .output()
            .expect("run logrotate");
        assert!(
            out.status.success(),
            "logrotate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Instant::now()
    }
}

fn line_count(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Rotates `log` when `rotate_at(lines written so far)` says, while the writer runs (until
/// `running` says it stopped); returns the delays from each rotation to the first line in the
/// new file.
fn rotate_while_running(
    log: &Path,
    logrotate: &Logrotate,
    rotations: &[usize],
    total: impl Fn() -> usize,
) -> Vec<Duration> {
    let mut delays = Vec::new();
    for &at in rotations {
        wait_for("lines before the rotation", || total() >= at);
        let rotated = logrotate.force();
        wait_for("the first line in the new file", || line_count(log) > 0);
        delays.push(rotated.elapsed());
    }
    delays
}

/// The rotated files, oldest first, then the log.
fn oldest_first(log: &Path, rotations: usize) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = (1..=rotations)
        .rev()
        .map(|n| PathBuf::from(format!("{}.{n}", log.display())))
        .collect();
    files.push(log.to_owned());
    files
}

fn verify_and_decrypt(key: &str, files: &[PathBuf]) -> String {
    let mut args = vec!["verify", "--key-file", key];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let out = enclog(&args);
    assert!(
        out.status.success(),
        "verify oldest first: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut args = vec!["decrypt", "--key-file", key];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let out = enclog(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What the child process does: 300 events, 10 ms apart, through `init_file`.
/// `enclog tailf --from-start` on `log`, started before the writer: its decrypted lines as they
/// come.
struct Tailf {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Tailf {
    fn start(key_path: &str, log: &Path) -> Tailf {
        // The writer creates the file; tailf is started first, on an empty one.
        std::fs::File::create(log).unwrap();
        let mut child = crate::enclog_bin::command()
            .args(["tailf", "--from-start", "--key-file", key_path])
            .arg(log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Tailf { child, lines }
    }

    /// The numbers after `word` in the first `n` lines printed (or those printed within 20
    /// s), then stops tailf (Ctrl-C).
    fn numbers(mut self, word: &str, n: usize) -> Vec<usize> {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while seen.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        seen.iter()
            .filter_map(|l| l.rsplit(word).next()?.trim().parse().ok())
            .collect()
    }
}

/// The lines of the log and its `rotations` rotated files.
fn total_lines(log: &Path, rotations: usize) -> usize {
    oldest_first(log, rotations)
        .iter()
        .map(|f| line_count(f))
        .sum()
}

/// Waits for the writer `child` to end well; prints the delays between each rotation and the
/// first line in the new file, which must each be under a second.
fn finished(child: Child, writer: &str, delays: &[Duration]) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{writer} under logrotate: first line in the new file after {delays:?}");
    assert!(
        delays.iter().all(|d| *d < Duration::from_secs(1)),
        "{delays:?}"
    );
}

fn service(log: &Path, key: &str) {
    let key: enclog::Key = key.parse().unwrap();
    let guard = enclog::init_file(log, key).unwrap();
    for i in 0..300 {
        tracing::info!("event {i}");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(guard);
}

#[test]
fn init_file_under_logrotate_create_twice_leaves_one_clean_chain() {
    if let (Some(log), Ok(key)) = (std::env::var_os(CHILD_LOG), std::env::var(CHILD_KEY)) {
        service(Path::new(&log), &key);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = enclog::Key::generate().unwrap();
    let key_path = key_file(dir.path(), &key);
    let log = dir.path().join("app.log");
    let logrotate = Logrotate::new(dir.path(), &log);
    let tailf = Tailf::start(&key_path, &log);
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "logrotate::init_file_under_logrotate_create_twice_leaves_one_clean_chain",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_LOG, &log)
        .env(CHILD_KEY, &*key.to_text())
        .env("ENCLOG_STATE_DIR", dir.path().join("state"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let total = || total_lines(&log, 2);
    let delays = rotate_while_running(&log, &logrotate, &[100, 200], total);
    finished(child, "init_file", &delays);

    let files = oldest_first(&log, 2);
    let text = verify_and_decrypt(&key_path, &files);
    let events: Vec<&str> = text.lines().collect();
    assert_eq!(events.len(), 300, "every event once");
    for (i, event) in events.iter().enumerate() {
        assert!(event.ends_with(&format!("event {i}")), "in order: {event}");
    }
    for file in &files {
        assert!(line_count(file) > 0, "{} has lines", file.display());
    }
    // tailf, started before the writer, printed every event once, in order, across both
    // rotations (the lines the writer put in a renamed file before it noticed included).
    assert_eq!(tailf.numbers("event ", 300), (0..300).collect::<Vec<_>>());
}

#[test]
fn encrypt_under_logrotate_create_three_times_leaves_one_clean_chain() {
    let dir = tempfile::tempdir().unwrap();
    let key = enclog::Key::generate().unwrap();
    let key_path = key_file(dir.path(), &key);
    let log = dir.path().join("app.log");
    let logrotate = Logrotate::new(dir.path(), &log);
    let tailf = Tailf::start(&key_path, &log);
    let mut child = crate::enclog_bin::command()
        .args(["encrypt", "--key-file", &key_path, "-o"])
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let mut fed = String::new();
        for i in 0..400 {
            let line = format!("line {i}\n");
            stdin.write_all(line.as_bytes()).unwrap();
            stdin.flush().unwrap();
            fed.push_str(&line);
            std::thread::sleep(Duration::from_millis(5));
        }
        fed
    });
    let total = || total_lines(&log, 3);
    let delays = rotate_while_running(&log, &logrotate, &[100, 200, 300], total);
    let fed = feeder.join().unwrap();
    finished(child, "encrypt -o", &delays);

    let text = verify_and_decrypt(&key_path, &oldest_first(&log, 3));
    assert_eq!(text, fed, "every line once, in order");
    assert_eq!(tailf.numbers("line ", 400), (0..400).collect::<Vec<_>>());
}
