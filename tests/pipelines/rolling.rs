//! tracing-appender's rolling file with `latest_symlink`, followed by `enclog tailf` across a
//! real roll (minutely rotation: the test waits for a minute boundary).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use enclog::{EncryptedWriter, Key};
use tracing_appender::rolling::{Builder, Rotation};

#[test]
fn tailf_follows_the_latest_symlink_across_a_roll() {
    let dir = tempfile::tempdir().unwrap();
    let key = Key::generate().unwrap();
    let key_file = super::key_file(dir.path(), &key);
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let appender = Builder::new()
        .rotation(Rotation::MINUTELY)
        .filename_prefix("app")
        .filename_suffix("log")
        .latest_symlink("app.latest.log")
        .build(&logs)
        .unwrap();
    let writer = EncryptedWriter::new(key, appender);
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish(),
    );
    let log = |i: usize| {
        tracing::dispatcher::with_default(&dispatch, || tracing::info!("event {i}"));
    };
    log(0);
    let latest = logs.join("app.latest.log");
    assert!(latest.exists(), "tracing-appender made no latest symlink");

    let mut tailf = crate::enclog_bin::command()
        .args(["tailf", "--from-start", "--key-file", &key_file])
        .arg(&latest)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = tailf.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    // Log until the appender has rolled to a second file, then a few more events.
    let files = || std::fs::read_dir(&logs).unwrap().count();
    let deadline = Instant::now() + Duration::from_secs(75);
    let mut i = 1;
    let mut after_roll = 0;
    while after_roll < 5 {
        assert!(Instant::now() < deadline, "tracing-appender never rolled");
        log(i);
        i += 1;
        if files() > 2 {
            after_roll += 1;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let total = i;

    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.len() < total {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    // SIGINT: Ctrl-C ends tailf with status 0.
    let _ = Command::new("kill")
        .args(["-INT", &tailf.id().to_string()])
        .status();
    let status = tailf.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut tailf.stderr.take().unwrap(), &mut stderr).unwrap();
    let events: Vec<usize> = seen
        .iter()
        .filter_map(|l| l.rsplit("event ").next()?.trim().parse().ok())
        .collect();
    assert_eq!(events, (0..total).collect::<Vec<_>>(), "stderr: {stderr}");
    assert_eq!(status.code(), Some(0), "tailf after Ctrl-C: {stderr}");
}
