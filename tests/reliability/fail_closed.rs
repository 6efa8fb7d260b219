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

/// Files holding each kind of key, mode 0600, with the word a permission error must call them.
fn one_file_per_kind(env: &Env) -> Vec<(std::path::PathBuf, &'static str)> {
    let identity = Identity::generate().unwrap();
    let fernet = enclog::fernet::FernetKey::generate().unwrap();
    [
        ("app.key", env.key.to_text().to_string(), "key file"),
        (
            "reader.identity",
            identity.to_file_text().to_string(),
            "identity file",
        ),
        ("zato.key", fernet.to_text().to_string(), "Fernet key file"),
        (
            "writer.recipient",
            identity.recipient().to_string(),
            "recipient file",
        ),
    ]
    .into_iter()
    .map(|(name, text, noun)| {
        let path = env.path(&format!("kinds-{name}"));
        crate::key_file::write_key_file(&path, &text);
        (path, noun)
    })
    .collect()
}

/// What the loaders a key file can reach (the writer's and the reader's) say about it, leaving
/// out the refusals of a kind the loader does not take (an identity for a writer, a recipient
/// for a reader): those come after the file checks, which are what is tested here.
fn load_errors(path: &std::path::Path) -> Vec<String> {
    let wrong_role = |e: &KeyError| {
        matches!(e, KeyError::InFile { source, .. }
            if matches!(**source, KeyError::RecipientForReader | KeyError::IdentityForWriter))
    };
    let sealing = SealingKey::from_file(path).err();
    let reading = enclog::Keyring::new().add_file(path).err();
    [sealing, reading]
        .into_iter()
        .flatten()
        .filter(|e| !wrong_role(e))
        .map(|e| chain(&e))
        .collect()
}

/// A permission error names the kind of key the file actually holds, and what group or others
/// can do with it: a symmetric key of mode 0620 was called a "recipient file" that "can be
/// written", which sent its owner looking for the wrong problem.
#[test]
fn a_permission_error_names_the_kind_of_key_in_the_file() {
    let env = Env::new();
    for (path, noun) in one_file_per_kind(&env) {
        let modes: &[(u32, &str)] = if noun == "recipient file" {
            &[(0o620, "can be written"), (0o646, "can be written")]
        } else {
            &[
                (0o620, "is writable by group or others (mode 0620)"),
                (0o640, "is readable by group or others (mode 0640)"),
                (
                    0o606,
                    "is readable and writable by group or others (mode 0606)",
                ),
            ]
        };
        for &(mode, says) in modes {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let errors = load_errors(&path);
            assert!(!errors.is_empty(), "{noun} {mode:o}: refused");
            for err in errors {
                let expected = format!("{noun} {}", path.display());
                assert!(err.starts_with(&expected), "{noun} {mode:o}: {err}");
                assert!(err.contains(says), "{noun} {mode:o}: {err}");
                if noun != "recipient file" {
                    assert!(!err.contains("recipient"), "{noun} {mode:o}: {err}");
                }
            }
        }
    }
    // The case as it was reported, through the command line.
    let key = env.path("group-writable.key");
    crate::key_file::write_key_file(&key, &env.key.to_text());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o620)).unwrap();
    let r = run_with_stdin(enclog(["encrypt", "--key-file"]).arg(&key), b"x\n");
    assert_eq!((r.code, r.stdout.len()), (2, 0), "{}", r.stderr);
    assert!(
        r.stderr.contains("key file") && r.stderr.contains("chmod 600"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("recipient"), "{}", r.stderr);
}

/// Threat: a key or recipient file owned by another user, who can replace it at any time and
/// so choose the key the logs are sealed with, or who reads them (a 0644 recipient file that
/// another user had left in a 1777 folder was used). As ssh's `StrictModes`, a file must be
/// owned by the user enclog runs as or by root.
///
/// Needs root (to give files away, and to run enclog as another user); CI runs the tests as
/// root. As another user the test checks only what it can: its own files are accepted.
#[test]
fn a_key_file_owned_by_another_user_is_refused() {
    use std::os::unix::process::CommandExt;
    const NOBODY: u32 = 65534;
    const SOMEONE: u32 = 4242;
    let env = Env::new();
    let files = one_file_per_kind(&env);
    for (path, noun) in &files {
        assert!(load_errors(path).is_empty(), "{noun}: my own file is used");
    }
    match std::os::unix::fs::chown(&files[0].0, Some(NOBODY), None) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!(
                "not root: files owned by another user cannot be made; checked own files only"
            );
            return;
        }
        other => other.unwrap(),
    }
    for (path, noun) in &files {
        std::os::unix::fs::chown(path, Some(NOBODY), None).unwrap();
        let errors = load_errors(path);
        if *noun == "recipient file" {
            // A reader refuses a recipient whoever owns it; the writer's refusal is the one
            // that matters.
            assert!(enclog::Recipient::from_file(path).is_err());
        }
        assert!(!errors.is_empty(), "{noun}: refused");
        for err in errors {
            assert!(
                err.starts_with(&format!("{noun} {}", path.display())),
                "{err}"
            );
            assert!(
                err.contains(&format!(
                    "belongs to user id {NOBODY}, not to you (user id 0)"
                )),
                "{err}"
            );
            assert!(err.contains("sudo chown 0 "), "{err}");
        }
        std::os::unix::fs::chown(path, Some(0), None).unwrap();
        assert!(
            load_errors(path).is_empty(),
            "{noun}: owned by root again: used"
        );
    }

    // The reported case: a world-readable recipient file that another user left in a 1777
    // folder, used by a writer running as root.
    let shared = env.path("shared-tmp");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let identity = Identity::generate().unwrap();
    let recipient = shared.join("app.recipient");
    std::fs::write(&recipient, format!("{}\n", identity.recipient())).unwrap();
    std::fs::set_permissions(&recipient, std::fs::Permissions::from_mode(0o644)).unwrap();
    let encrypt = || {
        let mut cmd = enclog(["encrypt", "--recipient-file"]);
        cmd.arg(&recipient);
        cmd
    };
    for owner in [SOMEONE, NOBODY] {
        std::os::unix::fs::chown(&recipient, Some(owner), None).unwrap();
        let r = run_with_stdin(&mut encrypt(), b"secret\n");
        assert_eq!(
            (r.code, r.stdout.len()),
            (2, 0),
            "owner {owner}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("belongs to user id {owner}")),
            "{}",
            r.stderr
        );
    }
    // enclog running as that user (not root): its own file is used, root's too, a third
    // user's is not.
    for (owner, used) in [(NOBODY, true), (0, true), (SOMEONE, false)] {
        std::os::unix::fs::chown(&recipient, Some(owner), None).unwrap();
        let r = run_with_stdin(encrypt().uid(NOBODY).gid(NOBODY), b"secret\n");
        assert_eq!(
            r.code == 0,
            used,
            "owner {owner}, run as {NOBODY}: {}",
            r.stderr
        );
        if !used {
            assert!(
                r.stderr.contains(&format!(
                    "belongs to user id {owner}, not to you (user id {NOBODY}) or root"
                )),
                "{}",
                r.stderr
            );
        }
    }
}
