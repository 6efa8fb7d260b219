//! `init_file`: the one-call setup. It installs the global subscriber and keeps its chain state
//! in a default folder, so the test runs it in child processes of its own (this test binary
//! re-run for this one test), each with `ENCLOG_STATE_DIR` pointing into a temporary folder: no
//! test writes into the real state folder, and two runs are two process starts.

use std::path::Path;
use std::process::Command;

use enclog::format::{LinkFrom, RecordKind};
use enclog::{Key, Keyring, Opener};

const CHILD: &str = "ENCLOG_SETUP_TEST_LOG";
const CHILD_KEY: &str = "ENCLOG_SETUP_TEST_KEY";
const TEST: &str = "setup::init_file_seals_events_closes_on_drop_and_chains_across_restarts";

/// One run of a service: what the child process does.
fn service_run(log: &Path, key: Key) {
    let guard = enclog::init_file(log, key.clone()).unwrap();
    let state = guard.chain_state_path().expect("a default chain state");
    println!("chain state: {}", state.display());
    let thread = std::thread::spawn(|| {
        tracing::info!(email = "dora@example.com", "signed up");
        tracing::debug!("below the default level: not written");
        log::warn!("from the log crate: {}", "disk almost full");
    });
    thread.join().unwrap();
    assert!(
        enclog::init_file(log.with_extension("second"), key).is_err(),
        "a second global setup must be refused"
    );
    drop(guard);
}

#[test]
fn init_file_seals_events_closes_on_drop_and_chains_across_restarts() {
    if let (Some(log), Some(key)) = (std::env::var_os(CHILD), std::env::var(CHILD_KEY).ok()) {
        service_run(Path::new(&log), key.parse().unwrap());
        return;
    }
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let states = dir.path().join("state");
    let path = dir.path().join("service.log");
    for _run in 0..2 {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, &path)
            .env(CHILD_KEY, &*key.to_text())
            .env("ENCLOG_STATE_DIR", &states)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains(&states.display().to_string()), "{said}");
    }

    // The chain state: one private file in the state folder, named after the log.
    let files: Vec<_> = std::fs::read_dir(&states)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".chain"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].starts_with("service.log-"), "{files:?}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(states.join(&files[0]))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("dora@example.com") && !text.contains("disk almost full"));
    let mut opener = Opener::new(Keyring::from(key));
    let mut events = Vec::new();
    let mut closes = Vec::new();
    let mut links = Vec::new();
    for line in text.lines() {
        let opened = opener.open(line.as_bytes()).unwrap().unwrap();
        let sequence = opened.sequence.unwrap();
        if let Some(link) = &opened.link {
            links.push((sequence.session, link.from));
        }
        let event = String::from_utf8_lossy(opened.plaintext).into_owned();
        match opened.record {
            RecordKind::Close => closes.push((sequence.session, sequence.seq + 1)),
            // The subscriber is global: other threads (a notify watcher logging through `log`,
            // say) may add events of their own. Only this test's are counted.
            _ if event.contains("library::setup") => events.push(event),
            _ => {}
        }
    }
    assert_eq!(
        closes.len(),
        2,
        "dropping the guard writes the close record"
    );
    assert_eq!(events.len(), 4, "{events:?}");
    assert!(events[0].contains("INFO") && events[0].contains("dora@example.com"));
    assert!(events[1].contains("WARN") && events[1].contains("disk almost full"));
    // The second run's session continues the first's lineage.
    assert_eq!(links.len(), 2, "{links:?}");
    assert_eq!(links[0].1, LinkFrom::Root);
    match links[1].1 {
        LinkFrom::Successor { prev, count, .. } => {
            assert_eq!((prev.session, count), closes[0], "{links:?}");
        }
        other => panic!("the second run is not the first's successor: {other:?}"),
    }
    assert!(
        text.lines().next().unwrap().starts_with("INFO enclog:"),
        "the level is in clear"
    );
    // Threat: a log others can read tells them how many events happened, and when. Created
    // 0640 (the process's umask may take more away, never add).
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o007, 0, "no access for others: {mode:o}");
    assert_eq!(mode & 0o600, 0o600, "the owner reads and writes: {mode:o}");
}
