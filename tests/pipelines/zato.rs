//! Migration from zato-enclog through the `enclog` command: its logs decrypt with its key,
//! byte for byte as its own plain formatter would have written them, and `enclog encrypt` with
//! that key writes lines the real zato-enclog 1.0.7 `enclog open` decrypts.

use std::path::Path;
use std::process::{Command, Stdio};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/zato/fixtures")
}

/// The fixtures' Fernet key in a 0600 file (git does not keep modes).
fn fernet_key_file(dir: &Path) -> (String, String) {
    let text = std::fs::read_to_string(fixtures().join("fernet.key")).unwrap();
    let key = text
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap();
    let path = dir.join("fernet.key");
    crate::key_files::write_key_file(&path, key);
    (path.to_str().unwrap().to_owned(), key.trim().to_owned())
}

#[test]
fn enclog_decrypt_reads_every_zato_fixture_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (key_file, _) = fernet_key_file(dir.path());
    for case in ["basic", "exception", "suffix", "message-only"] {
        let log = fixtures().join(format!("{case}.log"));
        let out = super::enclog(&["decrypt", "--key-file", &key_file, log.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = std::fs::read(fixtures().join(format!("{case}.expected.log"))).unwrap();
        assert!(
            out.stdout == expected,
            "{case}: output differs from {case}.expected.log"
        );
    }
}

#[test]
fn zato_enclog_open_reads_what_enclog_encrypt_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let (key_file, key) = fernet_key_file(dir.path());
    let input = "plain ascii\nnaïve café ünïcode ✓\n\n100% done, %s kept\n";
    let log = dir.path().join("migrated.log");
    let mut encrypt = crate::enclog_bin::command()
        .args([
            "encrypt",
            "--key-file",
            &key_file,
            "-o",
            log.to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut encrypt.stdin.take().unwrap(), input.as_bytes()).unwrap();
    assert!(encrypt.wait().unwrap().success());
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.lines().all(|l| l.starts_with("enclogdata:")),
        "{written}"
    );

    let out = Command::new(crate::python_env::zato_python())
        .args(["-c", "from zato.enclog import cli_main; cli_main()", "open"])
        .arg(&log)
        .args(["--key", &key])
        .env("PYTHONUTF8", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zato-enclog open: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), input);
}
