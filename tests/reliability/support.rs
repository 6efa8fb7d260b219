//! Shared helpers: keys in a temporary folder, running the `enclog` binary and the child
//! roles, and reading a log back.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use enclog::format::SessionId;
use enclog::read::{Decryptor, LineError, OpenError, Outcome};
use enclog::{Key, Keyring};

/// A temporary folder with a symmetric key file `app.key` (mode 0600).
pub(crate) struct Env {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) key: Key,
    pub(crate) key_file: PathBuf,
}

impl Env {
    pub(crate) fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = Key::generate().expect("key");
        let key_file = dir.path().join("app.key");
        crate::key_file::write_key_file(&key_file, &key.to_text());
        Env { dir, key, key_file }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn keyring(&self) -> Keyring {
        Keyring::from(self.key.clone())
    }

    /// `enclog <args> --key-file app.key`.
    pub(crate) fn cli(&self, args: &[&str]) -> Command {
        let mut cmd = enclog(args);
        cmd.arg("--key-file").arg(&self.key_file);
        cmd
    }
}

/// The `enclog` binary with no key or colour setting inherited from the environment.
pub(crate) fn enclog<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Command {
    let mut cmd = crate::enclog_bin::command();
    cmd.args(args);
    cmd.stdin(Stdio::null());
    cmd
}

pub(crate) use crate::enclog_bin::Run;

/// Runs `cmd` to the end; asserts it exited (not killed by a signal) and did not panic.
pub(crate) fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run enclog");
    Run::checked(out)
}

/// Runs `cmd` with `stdin` as its standard input.
pub(crate) fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Run {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn enclog");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        // The binary may stop reading early (a key error): a broken pipe is not our failure.
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait enclog");
    feeder.join().expect("stdin feeder");
    Run::checked(out)
}

/// This test binary run again as a child in `role` (see [`crate::child`]), with `vars` set.
pub(crate) fn child(role: &str, vars: &[(&str, &OsStr)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("current exe"));
    cmd.args(["--exact", "child::entry", "--nocapture", "--test-threads=1"])
        .env(crate::child::ROLE, role)
        .stdin(Stdio::null());
    for (name, value) in vars {
        cmd.env(name, value);
    }
    cmd
}

/// One line of a log read back with the library.
#[derive(Debug)]
pub(crate) enum Line {
    /// Opened: its session, sequence number, plaintext, and whether it is a close record.
    Opened {
        session: SessionId,
        seq: u64,
        plaintext: Vec<u8>,
        close: bool,
    },
    /// A token that did not open, and why.
    Failed(LineError),
    /// No token.
    Plain(Vec<u8>),
}

/// Reads every line of `log`; returns each line with whether it ended with a newline.
pub(crate) fn read_log(log: &[u8], keyring: Keyring) -> Vec<(Line, bool)> {
    let mut reader = Decryptor::new(log, keyring);
    let mut lines = Vec::new();
    while let Some(entry) = reader.next_entry().expect("read from memory") {
        let line = match entry.outcome {
            Outcome::Opened(o) => {
                let s = o.sequence.expect("v1 lines carry a sequence");
                Line::Opened {
                    session: s.session,
                    seq: s.seq,
                    plaintext: o.plaintext.to_vec(),
                    close: o.record == enclog::format::RecordKind::Close,
                }
            }
            Outcome::Failed(e) => Line::Failed(e),
            Outcome::Plain => Line::Plain(entry.raw.to_vec()),
            other => panic!("line {}: unexpected {other:?}", entry.line_no),
        };
        lines.push((line, entry.terminated));
    }
    lines
}

/// Asserts every line opened and no (session, seq) appears twice; returns the plaintexts of
/// the events per session, in file order.
pub(crate) fn events_by_session(
    log: &[u8],
    keyring: Keyring,
) -> HashMap<SessionId, Vec<(u64, String)>> {
    let mut seen = HashMap::new();
    let mut sessions: HashMap<SessionId, Vec<(u64, String)>> = HashMap::new();
    for (i, (line, terminated)) in read_log(log, keyring).into_iter().enumerate() {
        assert!(terminated, "line {} has no newline", i + 1);
        let Line::Opened {
            session,
            seq,
            plaintext,
            close,
        } = line
        else {
            panic!("line {} did not open: {line:?}", i + 1)
        };
        if let Some(first) = seen.insert((session, seq), i + 1) {
            panic!(
                "lines {first} and {} share {session}#{seq}: a nonce reused",
                i + 1
            );
        }
        if !close {
            sessions
                .entry(session)
                .or_default()
                .push((seq, String::from_utf8_lossy(&plaintext).into_owned()));
        }
    }
    sessions
}

/// Whether `err` is the reader's "cut short" diagnosis.
pub(crate) fn is_truncated(err: &LineError) -> bool {
    matches!(err, LineError::Open(OpenError::Truncated { .. }))
}

/// Opens `path` for appending (O_APPEND), creating it.
pub(crate) fn append(path: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log for appending")
}

/// A small deterministic generator (xorshift), so a failing trial can be replayed from the
/// seed printed with it.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// A seed from the clock, or `ENCLOG_RELIABILITY_SEED` to replay a run.
    pub(crate) fn seeded(what: &str) -> Rng {
        let seed = std::env::var("ENCLOG_RELIABILITY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("{what}: ENCLOG_RELIABILITY_SEED={seed}");
        Rng::new(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The lines of `bytes`, newline kept.
pub(crate) fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// Whether `haystack` contains `needle`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
