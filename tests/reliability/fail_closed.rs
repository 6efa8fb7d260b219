//! Threat: a writer that cannot use its key (malformed, of the wrong kind, missing, readable
//! by others) starting anyway and writing plaintext, as some secure-logging tools do. Every
//! entry point must refuse to start with an error that names the problem, and write nothing.

use std::os::unix::fs::PermissionsExt;

use enclog::{EncryptedLogger, Identity, Key, KeyError, SealingKey};

use crate::support::{Env, enclog, run_with_stdin};

/// Key files a writer must refuse, with a piece of the message that says why.
fn bad_key_files(env: &Env) -> Vec<(&'static str, std::path::PathBuf, &'static str)> {
    let identity = Identity::generate().unwrap();
    let mut typo = env.key.to_text().to_string();
    typo.replace_range(30..31, if &typo[30..31] == "A" { "B" } else { "A" });
    let mut files = Vec::new();
    for (name, text, why) in [
        (
            "malformed.key",
            "ENCLOG-KEY-1-not-a-key\n".to_owned(),
            "not a valid",
        ),
        ("typo.key", format!("{typo}\n"), "checksum mismatch"),
        (
            "identity.key",
            format!("{}\n", &*identity.to_text()),
            "identity",
        ),
        ("empty.key", "# nothing here\n".to_owned(), "holds no key"),
        ("binary.key", "\u{1}\u{2}garbage\u{7f}\n".to_owned(), ""),
    ] {
        let path = env.path(name);
        crate::key_file::write_key_file(&path, &text);
        files.push((name, path, why));
    }
    let loose = env.path("loose.key");
    std::fs::write(&loose, format!("{}\n", &*env.key.to_text())).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    files.push(("loose.key", loose, "chmod 600"));
    files.push(("missing.key", env.path("missing.key"), "missing.key"));
    files
}

/// An error and its sources, as `anyhow`'s `{:#}` shows them.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text = format!("{text}: {e}");
        source = e.source();
    }
    text
}

#[test]
fn library_writers_refuse_an_unusable_key() {
    let env = Env::new();
    for (name, path, why) in bad_key_files(&env) {
        let err = chain(&SealingKey::from_file(&path).unwrap_err());
        assert!(err.contains(why), "{name}: {err}");
        assert!(
            err.contains(name),
            "{name}: the message names the file: {err}"
        );
        // EncryptedLogger and EncryptedWriter take a `Key`: one cannot be had from this file.
        assert!(Key::from_file(&path).is_err(), "{name}");
    }
    for text in [
        "",
        "ENCLOG-KEY-1-",
        "ENCLOG-KEY-1-AAAA",
        "hello",
        "ENCLOG-RECIPIENT-1-xyz",
    ] {
        assert!(SealingKey::from_text(text).is_err(), "{text:?}");
    }
    let identity = Identity::generate().unwrap();
    assert!(matches!(
        SealingKey::from_text(&identity.to_text()),
        Err(KeyError::IdentityForWriter)
    ));
}

#[test]
fn encrypted_logger_init_starts_the_session_before_logging_and_refuses_a_second_logger() {
    let key = Key::generate().unwrap();
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let logger = EncryptedLogger::new(key.clone(), Shared(out.clone()))
        .init()
        .expect("the first logger installs");
    log::warn!("fail-closed-secret");
    logger.close_session();
    let second = EncryptedLogger::new(key.clone(), std::io::sink()).init();
    assert!(
        second
            .unwrap_err()
            .to_string()
            .contains("already installed"),
        "a second init is an error, not a panic"
    );
    let bytes = out.lock().unwrap().clone();
    assert!(!crate::support::contains(&bytes, b"fail-closed-secret"));
    assert_eq!(
        bytes.iter().filter(|&&b| b == b'\n').count(),
        2,
        "event and close record"
    );
}

#[test]
fn enclog_encrypt_with_an_unusable_key_writes_nothing_and_exits_2() {
    let env = Env::new();
    let secret = b"fail-closed plaintext line\n";
    for (name, path, why) in bad_key_files(&env) {
        let out = env.path("out.log");
        let r = run_with_stdin(
            enclog(["encrypt", "-o"])
                .arg(&out)
                .arg("--key-file")
                .arg(&path),
            secret,
        );
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{name}: wrote to stdout");
        assert!(!out.exists(), "{name}: created its output file");
        assert!(r.stderr.starts_with("enclog: "), "{name}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{name}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{name}: {}", r.stderr);

        let r = run_with_stdin(enclog(["encrypt", "--key-file"]).arg(&path), secret);
        assert_eq!((r.code, r.stdout.len()), (2, 0), "{name}: {}", r.stderr);
    }
    // No key at all, and a key command that fails: the same.
    let r = run_with_stdin(&mut enclog(["encrypt"]), secret);
    assert_eq!((r.code, r.stdout.len()), (2, 0), "{}", r.stderr);
    let r = run_with_stdin(&mut enclog(["encrypt", "--key-command", "exit 3"]), secret);
    assert_eq!((r.code, r.stdout.len()), (2, 0), "{}", r.stderr);
}
