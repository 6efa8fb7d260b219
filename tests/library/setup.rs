//! `init_file`: the one-call setup. The only test of this binary that installs the global
//! subscriber (others use scoped dispatchers), so it can run beside them.

use enclog::format::RecordKind;
use enclog::{Key, Keyring, Opener};

#[test]
fn init_file_seals_events_and_log_records_and_closes_the_session_on_drop() {
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("service.log");
    let guard = enclog::init_file(&path, key.clone()).unwrap();
    let thread = std::thread::spawn(|| {
        tracing::info!(email = "dora@example.com", "signed up");
        tracing::debug!("below the default level: not written");
        log::warn!("from the log crate: {}", "disk almost full");
    });
    thread.join().unwrap();
    assert!(
        enclog::init_file(dir.path().join("second.log"), key.clone()).is_err(),
        "a second global setup must be refused"
    );
    drop(guard);

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("dora@example.com") && !text.contains("disk almost full"));
    let mut opener = Opener::new(Keyring::from(key));
    let mut events = Vec::new();
    let mut closed = false;
    for line in text.lines() {
        let opened = opener.open(line.as_bytes()).unwrap().unwrap();
        let event = String::from_utf8_lossy(opened.plaintext).into_owned();
        match opened.record {
            RecordKind::Close => closed = true,
            // The subscriber is global: other tests' threads (a notify watcher logging through
            // `log`, say) may add events of their own. Only this test's are counted.
            _ if event.contains("library::setup") => events.push(event),
            _ => {}
        }
    }
    assert!(closed, "dropping the guard writes the close record");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].contains("INFO") && events[0].contains("dora@example.com"));
    assert!(events[1].contains("WARN") && events[1].contains("disk almost full"));
    assert!(
        text.lines().next().unwrap().starts_with("INFO enclog:"),
        "the level is in clear"
    );
    // Threat: a log others can read tells them how many events happened, and when. Created
    // 0640 (the process's umask may take more away, never add).
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o007, 0, "no access for others: {mode:o}");
    assert_eq!(mode & 0o600, 0o600, "the owner reads and writes: {mode:o}");
}
