//! Where keys come from, `genkey`, and every way a key can be wrong.

use std::os::unix::fs::PermissionsExt;

use crate::fixture::{Env, enclog, run};

#[test]
fn genkey_writes_a_private_file_and_refuses_to_overwrite_it() {
    let env = Env::new();
    let path = env.path("new.key");
    let r = run(enclog(["genkey", "-o"]).arg(&path), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "the key goes to the file only");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    let id = enclog::Keyring::new().add_text(&text).unwrap().to_string();
    assert!(r.stderr.contains(&id), "key id on stderr: {}", r.stderr);
    assert!(!r.stderr.contains(text.trim()), "the key is not echoed");

    let again = run(enclog(["genkey", "-o"]).arg(&path), b"");
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("already exists") && again.stderr.contains("--force"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "old key kept"
    );

    let forced = run(enclog(["genkey", "--force", "-o"]).arg(&path), b"");
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_ne!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn genkey_to_stdout_works_as_enclog_key() {
    let r = run(&mut enclog(["genkey"]), b"");
    assert_eq!(r.code, 0);
    let key = r.stdout_text();
    assert!(key.starts_with("ENCLOG-KEY-1-") && key.ends_with('\n'));
    assert!(r.stderr.starts_with("enclog: key id "), "{}", r.stderr);
    let sealed = run(
        enclog(["encrypt"]).env("ENCLOG_KEY", key.trim()),
        b"via env\n",
    );
    assert_eq!(sealed.code, 0, "{}", sealed.stderr);
    let opened = run(
        enclog(["decrypt"]).env("ENCLOG_KEY", key.trim()),
        &sealed.stdout,
    );
    assert_eq!(opened.stdout, b"via env\n");
}

/// `enclog genkey > app.key` makes the file with the shell's umask (usually 0644), and every
/// reader refuses a key file others can read: genkey says so at once, and how to fix it.
#[test]
fn genkey_to_a_file_others_can_read_warns_how_to_fix_it() {
    let env = Env::new();
    for (args, instead) in [
        (&["genkey"][..], "`enclog genkey -o FILE`"),
        (
            &["genkey", "--recipient"][..],
            "`enclog genkey --recipient -o FILE`",
        ),
    ] {
        let path = env.path("redirected.key");
        let file = std::fs::File::create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = crate::enclog_bin::command()
            .args(args)
            .stdout(file)
            .output()
            .unwrap();
        let r = crate::enclog_bin::Run::checked(out);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let path = path.canonicalize().unwrap();
        let warning = r.stderr.lines().last().unwrap();
        assert_eq!(
            warning,
            format!(
                "enclog: warning: standard output is the file {path}, which group or others can \
                 read (mode 0644); enclog refuses to load a key from such a file: run \
                 `chmod 600 {path}`, or write it with {instead} (mode 0600)",
                path = path.display()
            )
        );
        // The secret was written all the same, and the warning is true: readers refuse it
        // until the file is fixed as it says.
        let loaded = || run(enclog(["decrypt", "--key-file"]).arg(&path), b"");
        let refused = loaded();
        assert_eq!(refused.code, 2);
        assert!(refused.stderr.contains("mode 0644"), "{}", refused.stderr);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(loaded().code, 0, "{}", loaded().stderr);
        std::fs::remove_file(&path).unwrap();
    }
}

/// A key or identity written to a pipe, or to a file only its owner can read, needs no warning.
#[test]
fn genkey_to_a_pipe_or_a_private_file_does_not_warn() {
    let env = Env::new();
    for args in [&["genkey"][..], &["genkey", "--recipient"][..]] {
        let piped = run(&mut enclog(args), b"");
        assert_eq!(piped.code, 0, "{}", piped.stderr);
        assert!(!piped.stderr.contains("warning"), "{}", piped.stderr);

        let path = env.path("private.key");
        let file = std::fs::File::create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let out = crate::enclog_bin::command()
            .args(args)
            .stdout(file)
            .output()
            .unwrap();
        let r = crate::enclog_bin::Run::checked(out);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stderr.contains("warning"), "{}", r.stderr);
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn no_key_lists_the_options() {
    let r = run(&mut enclog(["decrypt"]), b"");
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    for option in [
        "--key-file",
        "--keyring",
        "--key-command",
        "ENCLOG_KEY_FILE",
        "ENCLOG_KEY",
        "ENCLOG_KEY_COMMAND",
    ] {
        assert!(r.stderr.contains(option), "{option} missing: {}", r.stderr);
    }
    let r = run(&mut enclog(["encrypt"]), b"x\n");
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty(), "nothing written without a key");
}

#[test]
fn key_file_from_the_environment() {
    let env = Env::new();
    let sealed = env.encrypt(b"hi\n");
    let r = run(
        enclog(["decrypt"]).env("ENCLOG_KEY_FILE", &env.key),
        &sealed,
    );
    assert_eq!(
        (r.code, r.stdout.as_slice()),
        (0, &b"hi\n"[..]),
        "{}",
        r.stderr
    );
}

#[test]
fn key_command_supplies_the_key() {
    let env = Env::new();
    let sealed = env.encrypt(b"from a command\n");
    let command = format!("cat '{}'", env.key.display());
    let r = run(&mut enclog(["decrypt", "--key-command", &command]), &sealed);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, b"from a command\n");
    let r = run(
        enclog(["encrypt"]).env("ENCLOG_KEY_COMMAND", &command),
        b"x\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Threat: a key command's error output holding the key (`cat app.key >&2`, a `set -x` trace)
/// reaching enclog's standard error, which often ends up in a journal. Its status and the size
/// of what it wrote are shown, never the text.
#[test]
fn a_failing_key_command_shows_its_status_but_never_its_stderr() {
    let fake_key = "ENCLOG-KEY-1-s3cr3tK3yT3xtTh4tMustN0tL3ak";
    let command = format!("echo 'vault: permission denied' >&2; echo '{fake_key}' >&2; exit 3");
    let r = run(&mut enclog(["decrypt", "--key-command", &command]), b"");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("exit status 3"), "{}", r.stderr);
    assert!(
        r.stderr.contains("wrote 2 lines") && r.stderr.contains("run it yourself"),
        "says how much it wrote and how to see it: {}",
        r.stderr
    );
    // The command itself (as given) is named; its output is not: take the key out of the
    // message's quoting of the command before looking for it.
    let without_command = r.stderr.replace(&command, "");
    assert!(!without_command.contains("s3cr3tK3y"), "{}", r.stderr);
    assert!(
        !without_command.contains("permission denied"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);

    // A command that succeeds but writes to standard error: summarised the same way.
    let env = Env::new();
    let command = format!("echo '{fake_key}' >&2; cat '{}'", env.key.display());
    let r = run(&mut enclog(["decrypt", "--key-command", &command]), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("wrote 1 line "), "{}", r.stderr);
    assert!(
        !r.stderr.replace(&command, "").contains("s3cr3tK3y"),
        "{}",
        r.stderr
    );
}

/// Threat: the key handed to the very command that is to supply it (a helper logging its
/// environment would log the key). `ENCLOG_KEY`, `ENCLOG_KEY_FILE`, `ENCLOG_KEY_COMMAND` and any
/// other `ENCLOG_KEY…` variable are removed from its environment; other variables are passed on.
#[test]
fn the_key_command_runs_without_the_enclog_key_variables() {
    let env = Env::new();
    let other = env.path("other.key");
    crate::key_file::write_key_file(&other, &enclog::Key::generate().unwrap().to_text());
    let seen = env.path("environment.txt");
    let command = format!("env > '{}'; cat '{}'", seen.display(), env.key.display());
    let sealed = env.encrypt(b"hi\n");
    for sub in ["decrypt", "encrypt"] {
        let mut cmd = enclog([sub, "--key-command", &command]);
        cmd.env("ENCLOG_KEY", "ENCLOG-KEY-1-from-the-environment")
            .env("ENCLOG_KEY_FILE", &other)
            .env("ENCLOG_KEY_COMMAND", "false")
            .env("ENCLOG_KEY_PASSPHRASE", "any ENCLOG_KEY… variable")
            .env("ENCLOG_TEST_MARKER", "passed-on");
        let r = run(&mut cmd, &sealed);
        assert_eq!(
            r.code, 0,
            "{sub}: --key-command wins over the environment: {}",
            r.stderr
        );
        let environment = std::fs::read_to_string(&seen)
            .unwrap_or_else(|e| panic!("{sub}: the key command did not run: {e}"));
        assert!(
            environment.contains("ENCLOG_TEST_MARKER=passed-on"),
            "{sub}: {environment}"
        );
        assert!(!environment.contains("ENCLOG_KEY"), "{sub}: {environment}");
        std::fs::remove_file(&seen).unwrap();
    }
}

#[test]
fn loose_permissions_say_how_to_fix() {
    let env = Env::new();
    std::fs::set_permissions(&env.key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = run(&mut env.cmd(&["decrypt"]), b"");
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("enclog: --key-file: "), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("chmod 600 {}", env.key.display())),
        "{}",
        r.stderr
    );
}

#[test]
fn malformed_key_is_named_and_not_echoed() {
    let env = Env::new();
    let bad = env.path("bad.key");
    std::fs::write(&bad, "ENCLOG-KEY-1-thisisnotarealkeyatallXXXX\n").unwrap();
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = run(enclog(["decrypt", "--key-file"]).arg(&bad), b"");
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("enclog: --key-file: "), "{}", r.stderr);
    assert!(r.stderr.contains("bad.key"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("thisisnotarealkey"),
        "key text echoed: {}",
        r.stderr
    );

    let r = run(
        enclog(["encrypt"]).env("ENCLOG_KEY", "nonsense-key"),
        b"x\n",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("enclog: ENCLOG_KEY: "), "{}", r.stderr);
    assert!(!r.stderr.contains("nonsense-key"), "{}", r.stderr);
}

#[test]
fn missing_key_file_is_named() {
    let env = Env::new();
    let r = run(
        enclog(["decrypt", "--key-file"]).arg(env.path("nope.key")),
        b"",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nope.key"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);
}

#[test]
fn keyring_folder_opens_logs_across_key_rotation() {
    let old = Env::new();
    let new = Env::new();
    let mut log = old.encrypt(b"before rotation\n");
    log.extend(new.encrypt(b"after rotation\n"));
    let ring = tempfile::tempdir().unwrap();
    for (name, env) in [("2026-01.key", &old), ("2026-02.key", &new)] {
        let dest = ring.path().join(name);
        std::fs::copy(&env.key, &dest).unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let r = run(enclog(["decrypt", "--keyring"]).arg(ring.path()), &log);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, b"before rotation\nafter rotation\n");
}

#[test]
fn a_reader_key_file_given_to_a_directory_option_is_explained() {
    let env = Env::new();
    let r = run(enclog(["decrypt", "--key-file"]).arg(env.dir.path()), b"");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--keyring"), "{}", r.stderr);
}

#[test]
fn the_wrong_kind_of_key_says_which_kind_is_needed() {
    let env = Env::new();
    let identity = enclog::Identity::generate().unwrap();
    let identity_file = env.path("reader.identity");
    crate::key_file::write_key_file(&identity_file, &identity.to_file_text());
    let recipient_file = env.path("writer.recipient");
    crate::key_file::write_key_file(&recipient_file, &identity.recipient().to_string());

    // A writer given the secret identity.
    let r = run(
        enclog(["encrypt", "--key-file"]).arg(&identity_file),
        b"x\n",
    );
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.starts_with("enclog: --key-file: "), "{}", r.stderr);
    assert!(r.stderr.contains("identity"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);

    // A reader given the public recipient.
    let r = run(enclog(["decrypt", "--key-file"]).arg(&recipient_file), b"");
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("enclog: --key-file: "), "{}", r.stderr);
    assert!(r.stderr.contains("recipient"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);

    // And the right way round, the public-key mode works end to end.
    let sealed = run(
        enclog(["encrypt", "--key-file"]).arg(&recipient_file),
        b"public\n",
    );
    assert_eq!(sealed.code, 0, "{}", sealed.stderr);
    let opened = run(
        enclog(["decrypt", "--key-file"]).arg(&identity_file),
        &sealed.stdout,
    );
    assert_eq!(
        (opened.code, opened.stdout.as_slice()),
        (0, &b"public\n"[..]),
        "{}",
        opened.stderr
    );
}

/// Threat: `genkey --force -o app.key` where `app.key` is a symbolic link (planted by another
/// user, or left over) overwriting the file the link points to, or creating it when the link
/// dangles. The new key replaces the link itself; without `--force` any existing name, a link
/// included, is refused.
#[test]
fn genkey_force_replaces_a_link_itself_never_the_file_it_points_to() {
    let env = Env::new();
    let victim = env.write("victim.txt", b"not yours to overwrite\n");
    let missing = env.path("created-through-the-link.txt");
    for (name, target) in [("linked.key", &victim), ("dangling.key", &missing)] {
        let link = env.path(name);
        std::os::unix::fs::symlink(target, &link).unwrap();
        for args in [&["genkey"][..], &["genkey", "--recipient"][..]] {
            let refused = run(enclog(args).arg("-o").arg(&link), b"");
            assert_eq!(refused.code, 2, "{name}: {}", refused.stderr);
            assert!(
                refused.stderr.contains("already exists") && refused.stderr.contains("--force"),
                "{name}: {}",
                refused.stderr
            );
            assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        }

        let forced = run(enclog(["genkey", "--force", "-o"]).arg(&link), b"");
        assert_eq!(forced.code, 0, "{name}: {}", forced.stderr);
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(meta.is_file(), "{name}: the link was replaced by a file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
        let key = std::fs::read_to_string(&link).unwrap();
        assert!(key.starts_with("ENCLOG-KEY-1-"), "{name}");
    }
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"not yours to overwrite\n",
        "the link's target is untouched"
    );
    assert!(!missing.exists(), "nothing created through a dangling link");
    // No temporary file left behind.
    let names: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

/// `genkey --force` over a regular file gives a private file even when the old one was not.
#[test]
fn genkey_force_over_a_loose_file_leaves_a_private_one() {
    let env = Env::new();
    let path = env.write("loose.key", b"old\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = run(enclog(["genkey", "--force", "-o"]).arg(&path), b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let r = run(enclog(["genkey", "--force", "-o"]).arg(env.dir.path()), b"");
    assert_eq!(r.code, 2, "a folder is not replaced: {}", r.stderr);
    assert!(env.dir.path().is_dir());
}

/// Runs `cmd` with `stdin`, giving up (and failing) after 20 s instead of hanging the suite.
fn run_within_deadline(cmd: &mut std::process::Command, stdin: &[u8]) -> crate::fixture::Run {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A child that refuses at once may be gone before its input is written: not an error here.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("enclog still running after 20 s: it hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    crate::fixture::Run::checked(child.wait_with_output().unwrap())
}

/// Threat: a key file that is a named pipe nothing writes to, which made `encrypt` and
/// `decrypt` wait forever in `open`. It is refused at once, with what to do.
#[test]
fn a_key_file_that_is_a_fifo_with_no_writer_is_refused_at_once() {
    let env = Env::new();
    let fifo = env.path("key.fifo");
    let made = std::process::Command::new("mkfifo")
        .args(["-m", "600"])
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for sub in ["decrypt", "encrypt"] {
        let r = run_within_deadline(
            crate::enclog_bin::command()
                .args([sub, "--key-file"])
                .arg(&fifo),
            b"x\n",
        );
        assert_eq!(r.code, 2, "{sub}: {}", r.stderr);
        assert!(
            r.stderr.contains("named pipe") && r.stderr.contains("no program is writing"),
            "{sub}: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{sub}");
    }
}

/// `--key-file <(pass show logs/app)`: a pipe with a writer, even a slow one, is read as before.
#[test]
fn a_key_file_that_is_a_pipe_with_a_writer_is_read() {
    let env = Env::new();
    let key = std::fs::read_to_string(&env.key).unwrap();
    let sealed = env.encrypt(b"through a pipe\n");
    for writer in ["printf '%s' \"$KEY\"", "sleep 0.3; printf '%s' \"$KEY\""] {
        let script = format!("exec \"$ENCLOG\" decrypt --key-file <({writer})");
        let r = run_within_deadline(
            std::process::Command::new("bash")
                .args(["-c", &script])
                .env("ENCLOG", env!("CARGO_BIN_EXE_enclog"))
                .env("KEY", key.trim())
                .env_remove("ENCLOG_KEY")
                .env_remove("ENCLOG_KEY_FILE")
                .env_remove("ENCLOG_KEY_COMMAND"),
            &sealed,
        );
        assert_eq!(r.code, 0, "{writer}: {}", r.stderr);
        assert_eq!(r.stdout, b"through a pipe\n", "{writer}");
    }
}
