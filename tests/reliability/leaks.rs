//! Threat: secrets escaping in clear: through a panic message that a panic hook logs, through
//! the `enclog` binary's own messages about bad lines or bad keys, through `Debug` output of
//! key-holding types, or through the command line (argv is visible to every local user).
//! (`tests/library/leaks.rs` covers messages, fields, spans and error chains in the file, and
//! the `Debug` of `Key`, `Sealer`, `Keyring`, `EncryptedWriter` and `Opener`.)

use enclog::fernet::FernetKey;
use enclog::{Identity, Key, Keyring, Sealer, SealingKey};

use crate::child::{PANIC_SECRET, vars};
use crate::support::{Env, Line, child, contains, enclog, lines, read_log, run};

#[test]
fn a_panic_logged_by_a_panic_hook_is_sealed() {
    let env = Env::new();
    let path = env.path("panic.log");
    let vars = vars(&path, &env.key_file);
    let vars: Vec<_> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let out = child("panic", &vars).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read(&path).unwrap();
    assert!(
        !contains(&log, PANIC_SECRET.as_bytes()),
        "panic message in clear"
    );
    assert!(!contains(&log, b"cannot charge"), "panic message in clear");
    assert!(
        log.starts_with(b"ERROR enclog:"),
        "{}",
        String::from_utf8_lossy(&log)
    );
    // The panic was logged, sealed: a key holder reads it with its location.
    let read = read_log(&log, env.keyring());
    let [(Line::Opened { plaintext, .. }, true)] = &read[..] else {
        panic!("{read:?}")
    };
    let text = String::from_utf8_lossy(plaintext);
    assert!(
        text.contains(PANIC_SECRET) && text.contains("child.rs"),
        "{text}"
    );
}

/// The key's text without its prefix, and some of its shorter pieces.
fn key_pieces(text: &str) -> Vec<String> {
    let body = text.split("-1-").last().unwrap_or(text);
    vec![
        body.to_owned(),
        body[..12].to_owned(),
        body[body.len() - 12..].to_owned(),
    ]
}

#[test]
fn the_cli_never_prints_plaintext_or_key_text_about_bad_lines() {
    let env = Env::new();
    let other = Key::generate().unwrap();
    let sealer = Sealer::new(env.key.clone());
    let secret = |i: usize| format!("leak-secret-{i}-alice@example.com");
    let mut log = Vec::new();
    for i in 0..6 {
        sealer
            .seal_to(Some(b"WARN"), secret(i).as_bytes(), &mut log)
            .unwrap();
    }
    let mut l = lines(&log);
    // 1: intact. 2: a flipped character (corrupted). 3: clear metadata edited. 4: sealed with
    // a key not given. 5: a line over --max-line. 6: cut short, no newline.
    let at = l[1].len() - 10;
    l[1][at] = if l[1][at] == b'A' { b'B' } else { b'A' };
    l[2] = [&b"INFO"[..], &l[2][4..]].concat();
    l[3] = Sealer::new(other.clone())
        .seal_line(secret(3).as_bytes())
        .unwrap();
    l[4] = [format!("{} ", "y".repeat(5000)).as_bytes(), &l[4][..]].concat();
    let cut = l[5].len() / 2;
    l[5].truncate(cut);
    let path = env.path("bad.log");
    std::fs::write(&path, l.concat()).unwrap();

    let mut forbidden: Vec<String> = (0..6).map(secret).collect();
    forbidden.push("alice@example.com".into());
    forbidden.extend(key_pieces(&env.key.to_text()));
    forbidden.extend(key_pieces(&other.to_text()));
    for args in [
        &["decrypt", "--max-line", "4000"][..],
        &["decrypt", "--max-line", "4000", "--output", "json"],
        &["verify"],
        &["verify", "--output", "json"],
    ] {
        let r = run(env.cli(args).arg(&path));
        assert_ne!(r.code, 0, "{args:?}: the bad lines were reported");
        assert!(
            r.stderr.lines().count() + r.stdout_text().lines().count() >= 5,
            "{args:?}: {}",
            r.stderr
        );
        let decrypt = args[0] == "decrypt";
        for f in &forbidden {
            assert!(
                !r.stderr.contains(f.as_str()),
                "{args:?}: {f} on stderr: {}",
                r.stderr
            );
            // decrypt prints on stdout the lines that open, as it should: lines 1 (intact) and
            // 3 (authentic, with edited clear metadata).
            if !decrypt || (f != &secret(0) && f != &secret(2) && f != "alice@example.com") {
                assert!(
                    !r.stdout_text().contains(f.as_str()),
                    "{args:?}: {f} on stdout: {}",
                    r.stdout_text()
                );
            }
        }
    }
}

#[test]
fn bad_key_text_is_never_echoed_by_the_cli() {
    let env = Env::new();
    let identity = Identity::generate().unwrap();
    let mut typo = env.key.to_text().to_string();
    typo.replace_range(30..31, if &typo[30..31] == "A" { "B" } else { "A" });
    let cases: Vec<(&str, String)> = vec![
        ("a mistyped key", typo.clone()),
        ("a cut key", env.key.to_text()[..40].to_owned()),
        (
            "an identity given to a writer",
            identity.to_text().to_string(),
        ),
        (
            "a recipient given to a reader",
            identity.recipient().to_string(),
        ),
        (
            "garbage",
            "ENCLOG-KEY-1-!!notbase64!!notbase64!!notbase64!!".into(),
        ),
    ];
    for (what, text) in &cases {
        let file = env.path("bad.key");
        let _ = std::fs::remove_file(&file);
        crate::key_file::write_key_file(&file, &format!("{text}\n"));
        for sub in ["decrypt", "verify", "encrypt"] {
            for how in ["--key-file", "ENCLOG_KEY"] {
                let mut cmd = enclog([sub]);
                if how == "ENCLOG_KEY" {
                    cmd.env("ENCLOG_KEY", text);
                } else {
                    cmd.arg("--key-file").arg(&file);
                }
                let r = run(&mut cmd);
                // A recipient is what a writer takes, an identity what a reader takes.
                if (what.contains("recipient") && sub == "encrypt")
                    || (what.contains("identity") && sub != "encrypt")
                {
                    continue;
                }
                assert_eq!(r.code, 2, "{what}, {sub} {how}: {}", r.stderr);
                for piece in key_pieces(text) {
                    assert!(
                        !r.stderr.contains(&piece),
                        "{what}, {sub} {how}: key text echoed: {}",
                        r.stderr
                    );
                }
            }
        }
    }
}

#[test]
fn key_bytes_never_appear_in_debug_output() {
    let raw: [u8; 32] = std::array::from_fn(|i| 0xa0 ^ (i as u8 * 7));
    let hex: String = raw[..8].iter().map(|b| format!("{b:02x}")).collect();
    let decimal = format!("{}, {}, {}", raw[0], raw[1], raw[2]);
    let key = Key::from_bytes(raw.into());
    let fernet = FernetKey::from_bytes(raw.into());
    let identity: Identity = "ENCLOG-IDENTITY-1-QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl-osCdc"
        .parse()
        .unwrap();
    let identity_hex = "404142434445464748";
    let identity_decimal = "64, 65, 66";
    let mut ring = Keyring::new();
    ring.add(key.clone());
    ring.add_fernet(fernet.clone());
    ring.add_identity(identity.clone());
    let symmetric = Sealer::new(key.clone());
    symmetric.seal_line(b"x").unwrap();
    let to_recipient = Sealer::new(identity.recipient());
    to_recipient.seal_line(b"x").unwrap();
    let logger = enclog::EncryptedLogger::new(key.clone(), std::io::sink());
    let decryptor = enclog::read::Decryptor::new(&b""[..], ring.clone());
    let shown = [
        format!("{key:?}"),
        format!("{key:#?}"),
        format!("{fernet:?}"),
        format!("{identity:?}"),
        format!("{ring:?}"),
        format!("{ring:#?}"),
        format!("{symmetric:?}"),
        format!("{to_recipient:?}"),
        format!("{:?}", SealingKey::from(key.clone())),
        format!("{:?}", SealingKey::from(fernet.clone())),
        format!("{logger:?}"),
        format!("{decryptor:?}"),
    ];
    let mut forbidden = vec![hex, decimal, identity_hex.into(), identity_decimal.into()];
    forbidden.extend(key_pieces(&key.to_text()));
    forbidden.extend(key_pieces(&fernet.to_text()));
    forbidden.extend(key_pieces(&identity.to_text()));
    for s in &shown {
        for f in &forbidden {
            assert!(!s.contains(f.as_str()), "{f} in {s}");
        }
    }
}

#[test]
fn no_option_takes_key_text_on_the_command_line() {
    // Each takes where a key is (a file, a folder, a command), never its text.
    let allowed = [
        "--key-file",
        "--keyring",
        "--key-command",
        "--index-key-file",
        "--state-key-file",
    ];
    for sub in [
        "genkey",
        "recipient",
        "decrypt",
        "tailf",
        "verify",
        "encrypt",
        "index",
        "grep",
    ] {
        let r = run(&mut enclog([sub, "--help"]));
        assert_eq!(r.code, 0);
        let help = r.stdout_text();
        for word in help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']') {
            // An option named in prose may be followed by punctuation (`--key-file).`).
            let name = word
                .split('=')
                .next()
                .unwrap()
                .trim_end_matches(['.', ')', ':', ';', '`']);
            if name.starts_with("--")
                && ["key", "secret", "identity", "password", "token"]
                    .iter()
                    .any(|k| name.contains(k))
            {
                assert!(
                    allowed.contains(&name),
                    "`enclog {sub}` has {name}:\n{help}"
                );
            }
        }
    }
    // A key pasted on the command line is refused as a usage error, and not echoed.
    let key = Key::generate().unwrap();
    let text = key.to_text();
    let r = run(&mut enclog(["decrypt", "--key", &text]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    for piece in key_pieces(&text) {
        assert!(!r.stderr.contains(&piece), "{}", r.stderr);
    }
}

/// Threat: a crash of `enclog` (which holds keys and plaintext) leaving a core file with both.
/// A running `enclog` has its core file size limited to 0, whatever the shell allowed.
#[test]
fn the_cli_runs_with_core_dumps_off() {
    let env = Env::new();
    let log = env.dir.path().join("app.log");
    std::fs::write(&log, b"").unwrap();
    let mut tailf = enclog(["tailf", "--key-file"])
        .arg(&env.key_file)
        .arg(&log)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let limits_path = format!("/proc/{}/limits", tailf.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let core = loop {
        // The limit is set first thing in main; read until the process got there.
        let limits = std::fs::read_to_string(&limits_path).unwrap_or_default();
        let core = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .map(|l| {
                l.split_whitespace()
                    .skip(4)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            });
        if core.as_deref() == Some("0 0") || std::time::Instant::now() > deadline {
            break core;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let _ = tailf.kill();
    let _ = tailf.wait();
    assert_eq!(
        core.as_deref(),
        Some("0 0"),
        "core file size (soft hard) of a running enclog"
    );
}

/// Threat: another process of the same user reading a running `enclog`'s memory or environment
/// (`/proc/PID/mem`, `/proc/PID/environ`, ptrace), where its key is. `enclog` makes itself
/// non-dumpable at start (`PR_SET_DUMPABLE` = 0), which the kernel shows by giving the files of
/// `/proc/PID` to root instead of the process's user.
///
/// Root owns the `/proc` files of its own processes either way, so enclog runs as user 65534
/// when the tests run as root (as in CI); otherwise as the test's own user.
#[test]
fn the_cli_runs_non_dumpable() {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    const NOBODY: u32 = 65534;
    let env = Env::new();
    let as_root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    let mut cmd = enclog(["decrypt"]);
    cmd.env("ENCLOG_KEY", &*env.key.to_text())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if as_root {
        cmd.uid(NOBODY).gid(NOBODY);
    }
    // `decrypt` waits on its standard input, kept open until the end of the test.
    let mut decrypt = cmd.spawn().unwrap();
    let proc_dir = format!("/proc/{}", decrypt.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let owner = loop {
        // Before `exec` the child is still this test, and when root it is non-dumpable for a
        // moment after changing user: wait until the process runs enclog (which root can see,
        // and another user need not: its own child is dumpable until enclog says otherwise),
        // then until its `/proc` files change hands.
        let exe = std::fs::read_link(format!("{proc_dir}/exe")).ok();
        let running_enclog = !as_root || exe.is_some_and(|e| e.ends_with("enclog"));
        let owner = std::fs::metadata(format!("{proc_dir}/environ")).map(|m| m.uid());
        if running_enclog && owner.as_ref().is_ok_and(|&uid| uid == 0) {
            break owner.ok();
        }
        if std::time::Instant::now() > deadline {
            break owner.ok();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    drop(decrypt.stdin.take());
    let status = decrypt.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        owner,
        Some(0),
        "owner of {proc_dir}/environ of a running enclog: root when it is not dumpable"
    );
}
