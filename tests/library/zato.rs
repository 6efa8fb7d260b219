//! zato-enclog compatibility, both directions, against the real zato-enclog 1.0.7:
//! - the fixtures it wrote (`tests/zato/fixtures`, see `tests/zato/README.md`) decrypt to exactly
//!   what Python logged, traceback lines included;
//! - lines sealed here are decrypted by zato-enclog's own `enclog open` (needs the venv that
//!   `scripts/zato-venv.sh` creates, named by `ENCLOG_ZATO_PYTHON`).

use std::path::{Path, PathBuf};
use std::process::Command;

use enclog::fernet::{FernetError, FernetKey, MARKER as FERNET_MARKER};

/// Every fixture case; the test fails if the folder holds a case not listed here.
const CASES: &[&str] = &["basic", "exception", "suffix", "message-only"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/zato/fixtures")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The fixtures' key, parsed from its text (git does not keep the file's 0600 mode).
fn fixture_key() -> FernetKey {
    let text = String::from_utf8(read(&fixtures().join("fernet.key"))).unwrap();
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .expect("fernet.key holds a key line");
    line.parse().expect("fernet.key holds a valid Fernet key")
}

/// Opens the Fernet token of one line and rebuilds the line with the text around the token
/// kept; `None` for a line without a token (a traceback line).
///
/// The one place to switch when the library's `Opener` reads zato-enclog lines: replace the
/// body with `opener.open(line)` and rebuild from `before`/`plaintext`/`after`.
fn open_line(key: &FernetKey, line: &[u8]) -> Option<Result<(Vec<u8>, u64), FernetError>> {
    let marker = line
        .windows(FERNET_MARKER.len())
        .position(|w| w == FERNET_MARKER)?;
    let start = marker + FERNET_MARKER.len();
    let len = line[start..]
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
        .count();
    let end = start + len;
    let mut out = line[..marker].to_vec();
    Some(key.open(&line[start..end], &mut out).map(|timestamp| {
        out.extend_from_slice(&line[end..]);
        (out, timestamp)
    }))
}

/// A decrypted log: the rebuilt text, the plaintext of each token in order, and the lines
/// (numbered from 1) whose token did not open.
#[derive(Debug, Default)]
struct Decrypted {
    text: Vec<u8>,
    messages: Vec<String>,
    plain_lines: usize,
    failures: Vec<(usize, FernetError)>,
}

fn decrypt_log(key: &FernetKey, log: &[u8]) -> Decrypted {
    let mut result = Decrypted::default();
    for (i, line) in log.split_inclusive(|&b| b == b'\n').enumerate() {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        match open_line(key, body) {
            None => {
                result.plain_lines += 1;
                result.text.extend_from_slice(line);
            }
            Some(Ok((rebuilt, timestamp))) => {
                // Tokens carry their creation time; the fixtures were written after 2025.
                assert!(
                    timestamp > 1_735_689_600,
                    "line {}: timestamp {timestamp}",
                    i + 1
                );
                let mut tokens = Vec::new();
                key.open(token_of(body), &mut tokens).unwrap();
                result.messages.push(String::from_utf8(tokens).unwrap());
                result.text.extend_from_slice(&rebuilt);
                result.text.extend_from_slice(&line[body.len()..]);
            }
            Some(Err(e)) => result.failures.push((i + 1, e)),
        }
    }
    result
}

fn token_of(line: &[u8]) -> &[u8] {
    let start = line
        .windows(FERNET_MARKER.len())
        .position(|w| w == FERNET_MARKER)
        .unwrap()
        + FERNET_MARKER.len();
    let len = line[start..]
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
        .count();
    &line[start..start + len]
}

fn expected_messages(case: &str) -> Vec<String> {
    serde_json::from_slice(&read(&fixtures().join(format!("{case}.messages.json")))).unwrap()
}

#[test]
fn fixture_folder_holds_exactly_the_listed_cases() {
    let mut found: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|name| name.strip_suffix(".messages.json").map(str::to_owned))
        .collect();
    found.sort();
    let mut listed: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed, "add new fixture cases to CASES");
}

#[test]
fn every_fixture_decrypts_to_exactly_what_python_logged() {
    let key = fixture_key();
    for case in CASES {
        let log = read(&fixtures().join(format!("{case}.log")));
        let expected = read(&fixtures().join(format!("{case}.expected.log")));
        let decrypted = decrypt_log(&key, &log);
        assert!(
            decrypted.failures.is_empty(),
            "{case}: {:?}",
            decrypted.failures
        );
        assert_eq!(
            decrypted.messages,
            expected_messages(case),
            "{case}: messages"
        );
        assert_eq!(
            String::from_utf8_lossy(&decrypted.text),
            String::from_utf8_lossy(&expected),
            "{case}: rebuilt log"
        );
        assert_eq!(
            decrypted.text, expected,
            "{case}: rebuilt log, byte for byte"
        );
        // The ciphertext hides every message of a few characters or more.
        let log_text = String::from_utf8(log).unwrap();
        for message in decrypted.messages.iter().filter(|m| m.len() >= 12) {
            assert!(
                !log_text.contains(message.as_str()),
                "{case}: {message:?} in clear"
            );
        }
    }
}

#[test]
fn fixtures_cover_the_promised_cases() {
    let basic = expected_messages("basic");
    assert!(
        basic.iter().any(|m| m.contains("alice@example.com")),
        "%-style arguments"
    );
    assert!(
        basic.iter().any(|m| m.contains("91% full on web1")),
        "%(name)s arguments"
    );
    assert!(
        basic
            .iter()
            .any(|m| m.contains("日本語") && m.contains('🔐')),
        "UTF-8"
    );
    assert!(basic.iter().any(|m| m.lines().count() >= 4), "multi-line");
    assert!(basic.iter().any(String::is_empty), "empty message");
    assert!(
        basic.iter().any(|m| m.chars().count() == 5000),
        "5,000 characters"
    );
    let suffix = read(&fixtures().join("suffix.expected.log"));
    assert!(
        String::from_utf8(suffix)
            .unwrap()
            .lines()
            .all(|l| !l.starts_with("INFO") || l.ends_with(") end"))
    );
}

#[test]
fn traceback_lines_pass_through_unchanged() {
    let key = fixture_key();
    let log = read(&fixtures().join("exception.log"));
    let decrypted = decrypt_log(&key, &log);
    assert!(decrypted.failures.is_empty(), "{:?}", decrypted.failures);
    assert_eq!(decrypted.messages.len(), 5);
    assert!(
        decrypted.plain_lines >= 15,
        "{} plain lines",
        decrypted.plain_lines
    );
    let text = String::from_utf8(decrypted.text).unwrap();
    for line in String::from_utf8(log).unwrap().lines() {
        if !line.contains("enclogdata:") {
            assert!(
                text.lines().any(|l| l == line),
                "traceback line lost: {line:?}"
            );
        }
    }
    assert!(text.contains(
        "ERROR - app.exception - payment ord-1 failed\nTraceback (most recent call last):\n"
    ));
    assert!(text.contains("RuntimeError: cannot charge order ord-1\n"));
}

#[test]
fn a_bad_token_is_reported_with_its_line_and_later_lines_still_decrypt() {
    let key = fixture_key();
    let log = read(&fixtures().join("basic.log"));
    let good = decrypt_log(&key, &log);
    let mut lines: Vec<Vec<u8>> = log
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    assert!(lines.len() >= 8);

    // Line 3: one ciphertext character altered. Line 6: the token cut mid-way (a crash while
    // writing), followed by a newline as the next write would add.
    let at = lines[2]
        .windows(11)
        .position(|w| w == FERNET_MARKER)
        .unwrap()
        + 11
        + 60;
    lines[2][at] = if lines[2][at] == b'A' { b'B' } else { b'A' };
    let cut = lines[5]
        .windows(11)
        .position(|w| w == FERNET_MARKER)
        .unwrap()
        + 11
        + 50;
    lines[5].truncate(cut);
    lines[5].push(b'\n');
    let altered = decrypt_log(&key, &lines.concat());

    assert_eq!(altered.failures.len(), 2, "{:?}", altered.failures);
    assert_eq!(altered.failures[0].0, 3);
    assert!(
        matches!(altered.failures[0].1, FernetError::Corrupted { key_id } if key_id == key.id())
    );
    assert_eq!(altered.failures[1].0, 6);
    assert!(
        matches!(altered.failures[1].1, FernetError::Truncated { .. }),
        "{}",
        altered.failures[1].1
    );
    let mut expected = good.messages.clone();
    expected.remove(5);
    expected.remove(2);
    assert_eq!(
        altered.messages, expected,
        "the other lines, before and after, still decrypt"
    );
    assert_eq!(altered.messages.last(), good.messages.last());
}

#[test]
fn a_wrong_key_fails_every_line_without_revealing_anything() {
    let wrong = FernetKey::generate().unwrap();
    let decrypted = decrypt_log(&wrong, &read(&fixtures().join("basic.log")));
    assert_eq!(decrypted.failures.len(), expected_messages("basic").len());
    assert!(decrypted.messages.is_empty() && decrypted.text.is_empty());
    let message = decrypted.failures[0].1.to_string();
    assert!(
        message.contains(&wrong.id().to_string()) && message.contains("another key"),
        "{message}"
    );
}

/// Runs zato-enclog's own command line, `enclog open PATH --key KEY` (its only ways to take a
/// key are argv and a terminal prompt), through the venv's python.
fn zato_open(path: &Path, key: &FernetKey) -> std::process::Output {
    let python = crate::python_env::zato_python();
    Command::new(&python)
        .args(["-c", "from zato.enclog import cli_main; cli_main()", "open"])
        .arg(path)
        .args(["--key", &key.to_text()])
        .env("PYTHONUTF8", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (ENCLOG_ZATO_PYTHON): {e}; recreate it with scripts/zato-venv.sh",
                python.display()
            )
        })
}

#[test]
fn zato_enclog_itself_decrypts_lines_sealed_here() {
    let key = FernetKey::generate().unwrap();
    let long: String = "lorem ipsum ".repeat(417);
    let messages = [
        "user alice@example.com signed in",
        "Zażółć gęślą jaźń — 日本語 — 🔐",
        "first line\nsecond line\n\tthird",
        "",
        "100% done, 5%s left",
        "{\"user\":\"Jane Xi\"}",
        &long[..5000],
    ];
    let mut log = Vec::new();
    let mut expected = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let prefix = format!("2026-11-26 10:00:0{i},000 - INFO - app - ");
        log.extend_from_slice(prefix.as_bytes());
        key.seal(message.as_bytes(), &mut log).unwrap();
        log.push(b'\n');
        expected.extend_from_slice(prefix.as_bytes());
        expected.extend_from_slice(message.as_bytes());
        expected.push(b'\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, &log).unwrap();

    let output = zato_open(&path, &key);
    assert!(
        output.status.success(),
        "zato-enclog open failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(output.stdout, expected);
    // And our own reader agrees, timestamps included.
    let ours = decrypt_log(&key, &log);
    assert_eq!(
        ours.messages,
        messages.iter().map(|m| m.to_string()).collect::<Vec<_>>()
    );
}

#[test]
fn zato_enclog_rejects_a_token_altered_here() {
    // Proves the check above is a real decryption by zato-enclog, not a pass-through.
    let key = FernetKey::generate().unwrap();
    let mut line = b"INFO - ".to_vec();
    key.seal(b"transfer 100 EUR", &mut line).unwrap();
    let at = line.len() - 40;
    line[at] = if line[at] == b'A' { b'B' } else { b'A' };
    line.push(b'\n');
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, &line).unwrap();
    let output = zato_open(&path, &key);
    assert!(
        !output.status.success(),
        "zato-enclog accepted an altered token"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("Invalid crypto key"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty());
}
