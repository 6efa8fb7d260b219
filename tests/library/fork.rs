//! Threat: `fork()` copying a sealer's session and sequence counter into two processes, which
//! would then seal different lines under the same nonce.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use enclog::read::{Decryptor, Outcome};
use enclog::{Key, Keyring, Sealer};

fn append(path: &std::path::Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

fn log_lines(sealer: &Sealer, file: &mut std::fs::File, who: &str, n: usize) {
    let mut line = Vec::new();
    for i in 0..n {
        line.clear();
        sealer
            .seal_to(None, format!("{who} {i}").as_bytes(), &mut line)
            .unwrap();
        file.write_all(&line).unwrap();
    }
}

/// Waits for a child made by [`fork`] and asserts it exited 0 (also used by `recipient`).
pub(crate) fn wait(pid: libc::pid_t) {
    let mut status = 0;
    #[allow(unsafe_code)]
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {status}"
    );
}

/// `fork()`, asserting it worked: 0 in the child.
#[allow(unsafe_code)]
pub(crate) fn fork() -> libc::pid_t {
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    pid
}

/// Ends a forked child without running the test harness's code after `fork`.
#[allow(unsafe_code)]
pub(crate) fn exit_child(code: i32) -> ! {
    unsafe { libc::_exit(code) }
}

/// Reads the log; returns lines per session and asserts no (session, seq) appears twice.
fn check(path: &std::path::Path, key: &Key) -> HashMap<enclog::format::SessionId, Vec<String>> {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = Decryptor::new(file, Keyring::from(key.clone()));
    let mut seen = HashMap::new();
    let mut sessions: HashMap<_, Vec<String>> = HashMap::new();
    while let Some(entry) = reader.next_entry().unwrap() {
        let Outcome::Opened(o) = entry.outcome else {
            panic!("line {} did not open", entry.line_no)
        };
        let s = o.sequence.unwrap();
        if let Some(first) = seen.insert((s.session, s.seq), entry.line_no) {
            panic!(
                "nonce reused: lines {first} and {} share {s}",
                entry.line_no
            );
        }
        sessions
            .entry(s.session)
            .or_default()
            .push(String::from_utf8_lossy(o.plaintext).into_owned());
    }
    sessions
}

#[test]
fn parent_and_child_keep_logging_without_sharing_a_nonce() {
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fork.log");
    let sealer = Sealer::new(key.clone());
    let mut file = append(&path);
    log_lines(&sealer, &mut file, "parent-before", 100);

    // A second thread keeps sealing while the fork happens: the child inherits its state
    // mid-seal and must still start its own session without waiting on anything.
    let stop = Arc::new(AtomicBool::new(false));
    let background = {
        let (sealer, stop, mut file) = (sealer.clone(), stop.clone(), append(&path));
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                log_lines(&sealer, &mut file, &format!("thread-{i}"), 1);
                i += 1;
            }
        })
    };
    let pid = fork();
    if pid == 0 {
        let mut file = append(&path);
        log_lines(&sealer, &mut file, "child", 500);
        exit_child(0);
    }
    log_lines(&sealer, &mut file, "parent-after", 500);
    stop.store(true, Ordering::Relaxed);
    background.join().unwrap();
    wait(pid);

    let sessions = check(&path, &key);
    assert_eq!(sessions.len(), 2, "the child must start its own session");
    let child = sessions
        .values()
        .find(|v| v.iter().any(|l| l.starts_with("child")))
        .unwrap();
    assert_eq!(
        child.len(),
        500,
        "the child's session holds only the child's lines"
    );
    assert!(child.iter().all(|l| l.starts_with("child")));
}

#[test]
fn daemon_style_double_fork_gets_a_session_of_its_own() {
    let key = Key::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("daemon.log");
    let done = dir.path().join("grandchild.done");
    let sealer = Sealer::new(key.clone());
    let mut file = append(&path);
    log_lines(&sealer, &mut file, "parent", 50);

    let pid = fork();
    if pid == 0 {
        #[allow(unsafe_code)]
        unsafe {
            libc::setsid()
        };
        let mut file = append(&path);
        log_lines(&sealer, &mut file, "child", 50);
        if fork() == 0 {
            let mut file = append(&path);
            log_lines(&sealer, &mut file, "grandchild", 50);
            std::fs::write(&done, b"").unwrap();
            exit_child(0);
        }
        exit_child(0);
    }
    wait(pid);
    log_lines(&sealer, &mut file, "parent-again", 50);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !done.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "grandchild never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    let sessions = check(&path, &key);
    assert_eq!(
        sessions.len(),
        3,
        "parent, child and grandchild each have a session"
    );
    for lines in sessions.values() {
        let who = lines[0]
            .split(' ')
            .next()
            .unwrap()
            .trim_end_matches("-again");
        assert!(
            lines.iter().all(|l| l.starts_with(who)),
            "a session mixes processes"
        );
    }
}
