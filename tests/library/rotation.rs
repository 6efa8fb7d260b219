//! Log rotation: writers that follow their path (`enclog::file::LogFile`). Threat: a service
//! whose log logrotate renamed keeps writing into `app.log.1` while `app.log` stays empty
//! (readers following the path miss those lines; a `compress` cuts them off), or a reopen that
//! breaks the chain so `verify` cannot tell a rotation from a deletion.
//!
//! `init_file` installs the global subscriber and keeps a chain state in a default folder, so
//! its tests run it in child processes (this binary re-run for one test), with
//! `ENCLOG_STATE_DIR` in a temporary folder, as `setup.rs` does.

use std::fs::File;
use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use enclog::format::{LinkFrom, RecordKind, SessionId};
use enclog::read::Decryptor;
use enclog::verify::{Report, Verifier};
use enclog::{Key, Keyring, Opener};

const CHILD_LOG: &str = "ENCLOG_ROTATION_TEST_LOG";
const CHILD_KEY: &str = "ENCLOG_ROTATION_TEST_KEY";
const CHILD_MODE: &str = "ENCLOG_ROTATION_TEST_MODE";

/// One record of a log, opened.
#[derive(Debug)]
struct Record {
    kind: RecordKind,
    session: SessionId,
    seq: u64,
    /// The session this record's link continues, with the record count it states.
    after: Option<(SessionId, u64)>,
    root: bool,
    text: String,
}

fn records(key: &Key, path: &Path) -> Vec<Record> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut opener = Opener::new(Keyring::from(key.clone()));
    text.lines()
        .map(|line| {
            let opened = opener
                .open(line.as_bytes())
                .expect("an enclog line")
                .expect("opens");
            let sequence = opened.sequence.unwrap();
            let (after, root) = match opened.link.as_ref().map(|l| l.from) {
                Some(LinkFrom::Successor { prev, count, .. }) => {
                    (Some((prev.session, count)), false)
                }
                Some(LinkFrom::Root) => (None, true),
                _ => (None, false),
            };
            Record {
                kind: opened.record,
                session: sequence.session,
                seq: sequence.seq,
                after,
                root,
                text: String::from_utf8_lossy(opened.plaintext).into_owned(),
            }
        })
        .collect()
}

/// `enclog verify` over `files`, oldest first.
fn verify(key: &Key, files: &[&Path]) -> Report {
    let mut verifier = Verifier::new();
    for file in files {
        let mut reader = Decryptor::new(
            BufReader::new(File::open(file).unwrap()),
            Keyring::from(key.clone()),
        );
        verifier
            .observe_all(&file.display().to_string(), &mut reader)
            .unwrap();
    }
    verifier.finish()
}

fn line_count(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Creates `path` as logrotate's `create` does: `O_EXCL`, failing if the writer made it first.
fn create_new(path: &Path) -> File {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .unwrap()
}

fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The old file ends with its session's close record, and the new file's first record starts
/// that session's successor.
fn assert_handed_over(old: &[Record], new: &[Record]) {
    let close = old.last().expect("the old file has lines");
    assert_eq!(
        close.kind,
        RecordKind::Close,
        "the old file ends with a close record"
    );
    let first = new.first().expect("the new file has lines");
    assert_eq!(
        first.after,
        Some((close.session, close.seq + 1)),
        "the new file starts with the closed session's successor: {first:?}"
    );
}

/// The events (by their text) in `records`, numbered `event N`.
fn event_numbers(records: &[Record]) -> Vec<u32> {
    records
        .iter()
        .filter(|r| r.kind == RecordKind::Event)
        .filter_map(|r| r.text.rsplit("event ").next()?.parse().ok())
        .collect()
}

/// What the child process does.
fn service(log: &Path, key: Key, mode: &str) {
    let guard = enclog::init_file(log, key).unwrap();
    match mode {
        "reopen" => {
            for i in 0..5 {
                tracing::info!("event {i}");
            }
            let old = log.with_extension("log.1");
            std::fs::rename(log, &old).unwrap();
            assert!(guard.reopen().unwrap(), "the path names another file");
            assert!(!guard.reopen().unwrap(), "and now the open one");
            for i in 5..10 {
                tracing::info!("event {i}");
            }
        }
        // Long enough for a deleted log to come back after `MISSING_PATH_GRACE`.
        "long" => {
            for i in 0..300 {
                tracing::info!("event {i}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        _ => {
            for i in 0..100 {
                tracing::info!("event {i}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    drop(guard);
}

/// A service running `test` (this test binary again) as a child in `mode`, logging to
/// `app.log` in a temporary folder with a fresh key (its chain state in the same folder).
struct Service {
    key: Key,
    dir: tempfile::TempDir,
    log: std::path::PathBuf,
    child: Child,
}

impl Service {
    fn start(test: &str, mode: &str) -> Service {
        let key = Key::generate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let child = Command::new(std::env::current_exe().unwrap())
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_LOG, &log)
            .env(CHILD_KEY, &*key.to_text())
            .env(CHILD_MODE, mode)
            .env("ENCLOG_STATE_DIR", dir.path().join("state"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Service {
            key,
            dir,
            log,
            child,
        }
    }

    /// Waits until the service has logged `n` events.
    fn wait_for_events(&self, n: usize) {
        wait_for("the first events", Duration::from_secs(20), || {
            line_count(&self.log) >= n
        });
    }
}

fn wait_child(child: Child) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the service failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the service if this process is the child; `true` then.
fn as_child() -> bool {
    match (std::env::var_os(CHILD_LOG), std::env::var(CHILD_KEY)) {
        (Some(log), Ok(key)) => {
            let mode = std::env::var(CHILD_MODE).unwrap_or_default();
            service(Path::new(&log), key.parse().unwrap(), &mode);
            true
        }
        _ => false,
    }
}

#[test]
fn init_file_follows_a_rename_and_create_within_a_second_and_the_chain_goes_on() {
    if as_child() {
        return;
    }
    let service = Service::start(
        "rotation::init_file_follows_a_rename_and_create_within_a_second_and_the_chain_goes_on",
        "log",
    );
    service.wait_for_events(20);
    let Service {
        key,
        dir,
        log,
        child,
    } = service;
    let old = dir.path().join("app.log.1");
    // logrotate's `create 0600`: rename, then a new empty file of its own mode.
    std::fs::rename(&log, &old).unwrap();
    let renamed = Instant::now();
    let created = create_new(&log);
    created
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .unwrap();
    drop(created);
    wait_for("a line in the new file", Duration::from_secs(5), || {
        line_count(&log) > 0
    });
    let delay = renamed.elapsed();
    println!("init_file: first line in the new file {delay:?} after the rename");
    assert!(delay < Duration::from_secs(1), "{delay:?}");
    wait_child(child);

    let (before, after) = (records(&key, &old), records(&key, &log));
    assert_handed_over(&before, &after);
    let mut numbers = event_numbers(&before);
    numbers.extend(event_numbers(&after));
    assert_eq!(
        numbers,
        (0..100).collect::<Vec<_>>(),
        "every event once, in order"
    );
    let both = verify(&key, &[&old, &log]);
    assert!(both.is_clean(), "{both}");
    let alone = verify(&key, &[&log]);
    assert!(alone.is_clean(), "the new file alone: {alone}");
    // Never chmod: the mode logrotate gave the new file stays.
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

#[test]
fn init_file_creates_its_log_again_when_it_is_deleted() {
    if as_child() {
        return;
    }
    let service = Service::start(
        "rotation::init_file_creates_its_log_again_when_it_is_deleted",
        "long",
    );
    service.wait_for_events(20);
    let Service {
        key,
        dir: _dir,
        log,
        child,
    } = service;
    std::fs::remove_file(&log).unwrap();
    let deleted = Instant::now();
    wait_for("the log again", Duration::from_secs(5), || {
        line_count(&log) > 0
    });
    let delay = deleted.elapsed();
    println!("init_file: log created again {delay:?} after its deletion");
    // Not before the grace left to logrotate's own create, and soon after it.
    assert!(delay >= enclog::file::MISSING_PATH_GRACE, "{delay:?}");
    assert!(delay < Duration::from_secs(3), "{delay:?}");
    wait_child(child);
    let after = records(&key, &log);
    assert!(after[0].after.is_some(), "a successor: {:?}", after[0]);
    assert_eq!(after.last().unwrap().kind, RecordKind::Close);
    let numbers = event_numbers(&after);
    assert_eq!(numbers.last(), Some(&299));
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    let alone = verify(&key, &[&log]);
    assert!(alone.is_clean(), "{alone}");
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode & 0o007,
        0,
        "created without access for others: {mode:o}"
    );
}

#[test]
fn log_guard_reopen_hands_over_at_once() {
    if as_child() {
        return;
    }
    let Service {
        key,
        dir,
        log,
        child,
    } = Service::start("rotation::log_guard_reopen_hands_over_at_once", "reopen");
    wait_child(child);
    let old = dir.path().join("app.log.1");
    let (before, after) = (records(&key, &old), records(&key, &log));
    assert_handed_over(&before, &after);
    assert_eq!(event_numbers(&before), [0, 1, 2, 3, 4]);
    assert_eq!(event_numbers(&after), [5, 6, 7, 8, 9]);
    let both = verify(&key, &[&old, &log]);
    assert!(both.is_clean(), "{both}");
}

/// Logs `events` through a `non_blocking::file` writer (in this process: no global
/// subscriber), calling `between(i)` before each.
fn log_non_blocking(
    path: &Path,
    key: &Key,
    events: u32,
    mut between: impl FnMut(u32, &enclog::non_blocking::NonBlockingGuard),
) {
    let (writer, guard) = enclog::non_blocking::file(path, key.clone()).unwrap();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..events {
            between(i, &guard);
            tracing::info!("event {i}");
        }
    });
    drop(guard);
}

#[test]
fn non_blocking_file_follows_a_rename_and_create() {
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let old = dir.path().join("app.log.1");
    let mut renamed = None;
    log_non_blocking(&log, &key, 60, |i, _| {
        if i == 20 {
            wait_for("20 events written", Duration::from_secs(5), || {
                line_count(&log) >= 20
            });
            std::fs::rename(&log, &old).unwrap();
            create_new(&log);
            renamed = Some(Instant::now());
        }
        // Slow down until the worker has moved over (the check runs every 100 ms): 40 events
        // left, 50 ms each at most, so even a slow machine has 2 s to notice the rename.
        if renamed.is_some() && line_count(&log) == 0 {
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let (before, after) = (records(&key, &old), records(&key, &log));
    assert_handed_over(&before, &after);
    let mut numbers = event_numbers(&before);
    numbers.extend(event_numbers(&after));
    assert_eq!(numbers, (0..60).collect::<Vec<_>>());
    assert!(
        event_numbers(&after).len() >= 20,
        "the writer moved to the new file"
    );
    let both = verify(&key, &[&old, &log]);
    assert!(both.is_clean(), "{both}");
}

#[test]
fn non_blocking_guard_reopen_hands_over_without_waiting_for_the_check() {
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let old = dir.path().join("app.log.1");
    log_non_blocking(&log, &key, 10, |i, guard| {
        if i == 5 {
            wait_for("5 events written", Duration::from_secs(5), || {
                line_count(&log) >= 5
            });
            std::fs::rename(&log, &old).unwrap();
            guard.reopen();
            // The worker is idle: it hands over now, close record and all.
            wait_for("the close record", Duration::from_secs(5), || {
                line_count(&old) == 6 && log.exists()
            });
        }
    });
    let (before, after) = (records(&key, &old), records(&key, &log));
    assert_handed_over(&before, &after);
    assert_eq!(event_numbers(&before), [0, 1, 2, 3, 4]);
    assert_eq!(event_numbers(&after), [5, 6, 7, 8, 9]);
}

/// `copytruncate`: logrotate copies the file, then truncates it in place. The writer's file is
/// opened with `O_APPEND`, so it goes on at the new end (no hole of zeros before its next line)
/// and never reopens (the path names the same file).
#[test]
fn copytruncate_keeps_working() {
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let copy = dir.path().join("app.log.1");
    log_non_blocking(&log, &key, 20, |i, _| {
        if i == 10 {
            wait_for("10 events written", Duration::from_secs(5), || {
                line_count(&log) >= 10
            });
            std::fs::copy(&log, &copy).unwrap();
            File::options()
                .write(true)
                .open(&log)
                .unwrap()
                .set_len(0)
                .unwrap();
            // Longer than the check interval: a reopen would have happened by now.
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    let bytes = std::fs::read(&log).unwrap();
    assert!(
        bytes.starts_with(b"enclog:"),
        "no hole before the next line"
    );
    let (before, after) = (records(&key, &copy), records(&key, &log));
    assert_eq!(event_numbers(&before), (0..10).collect::<Vec<_>>());
    assert_eq!(event_numbers(&after), (10..20).collect::<Vec<_>>());
    assert_eq!(
        after[0].session, before[0].session,
        "no reopen: one session"
    );
    assert!(!after[0].root && after[0].after.is_none());
    let both = verify(&key, &[&copy, &log]);
    assert!(both.is_clean(), "{both}");
}

/// The new file's mode is logrotate's (`create MODE`): a reopen never changes it, and a file
/// the writer creates itself is 0640 at most.
#[test]
fn a_reopen_never_changes_an_existing_files_mode() {
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let sealer = enclog::Sealer::new(key.clone());
    let mut file = enclog::file::LogFile::open(&log).unwrap();
    let created = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(created & !0o640, 0, "{created:o}");
    std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    for mode in [0o600, 0o644] {
        let made: PathBuf = log.clone();
        create_new(&made);
        std::fs::set_permissions(&made, std::fs::Permissions::from_mode(mode)).unwrap();
        wait_for("the check", Duration::from_secs(5), || file.rotated());
        assert!(file.reopen_if_requested(&sealer).unwrap());
        let now = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(now, mode, "{now:o}");
        std::fs::remove_file(&log).unwrap();
    }
}

/// logrotate's `create` renames the log, then creates the new one with `O_EXCL`: a writer that
/// made the missing path first would make it fail. The writer waits `MISSING_PATH_GRACE` before
/// it creates a missing path, and follows a file someone else made at its next check.
#[test]
fn a_missing_path_is_left_to_logrotates_create_for_a_second() {
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let sealer = enclog::Sealer::new(key.clone());
    let file = enclog::file::LogFile::open(&log).unwrap();
    std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    let renamed = Instant::now();
    // Checks (every 100 ms) pass with the path missing: a slow logrotate. (Short enough to
    // leave most of the grace for the check below on a loaded machine.)
    std::thread::sleep(Duration::from_millis(250));
    assert!(!file.rotated(), "no reopen (which creates the path) yet");
    assert!(!log.exists());
    create_new(&log);
    wait_for("the check", Duration::from_secs(5), || file.rotated());
    assert!(
        renamed.elapsed() < enclog::file::MISSING_PATH_GRACE,
        "a file someone made is followed at the next check"
    );
    let mut file = file;
    assert!(file.reopen_if_requested(&sealer).unwrap());

    // Left missing: the writer creates it again after the grace.
    std::fs::remove_file(&log).unwrap();
    let deleted = Instant::now();
    wait_for("the check", Duration::from_secs(5), || file.rotated());
    let delay = deleted.elapsed();
    assert!(
        delay >= enclog::file::MISSING_PATH_GRACE && delay < Duration::from_secs(3),
        "{delay:?}"
    );
}

/// A pre-fork server: the writer is made in the parent, and a forked child (a worker) must
/// follow rotations too. Threat: the child's background thread, started empty, watching
/// nothing, so the worker writes into the rotated file forever.
#[test]
fn a_forked_child_follows_a_rotation_of_its_parents_log() {
    use crate::fork::{exit_child, fork, wait};
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let old = dir.path().join("app.log.1");
    let file = enclog::file::LogFile::open(&log).unwrap();
    let writer = enclog::EncryptedWriter::follow_file(file, enclog::Sealer::new(key.clone()));
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("parent event 0");
        let pid = fork();
        if pid == 0 {
            // Its first line starts the child's session (and its background thread).
            tracing::info!("child event 1");
            std::fs::rename(&log, &old).unwrap();
            create_new(&log);
            // Longer than a check interval (100 ms), with a margin.
            std::thread::sleep(Duration::from_millis(400));
            for i in 2..7 {
                tracing::info!("child event {i}");
            }
            exit_child(0);
        }
        wait(pid);
        let (before, after) = (records(&key, &old), records(&key, &log));
        assert_eq!(event_numbers(&before), [0, 1], "{before:?}");
        assert_eq!(
            event_numbers(&after),
            [2, 3, 4, 5, 6],
            "the child's lines after the rotation are in the new file"
        );
        assert_handed_over(&before, &after);
        assert_ne!(
            before.last().unwrap().session,
            before[0].session,
            "the close record is the child's session's, not the parent's"
        );
    });
}
