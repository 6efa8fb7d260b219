//! The public-key mode from the command line: `genkey --recipient`, `recipient`,
//! `encrypt --recipient`/`--recipient-file`, and identities wherever readers take keys.
//!
//! Threat: a compromised writing host reading the logs it wrote.

use crate::fixture::{Identity, enclog, run};

#[test]
fn genkey_recipient_writes_a_private_identity_with_its_recipient_in_a_comment() {
    let id = Identity::new();
    let file = std::fs::read_to_string(id.path("identity.key")).unwrap();
    assert!(
        file.contains(&format!("# recipient: {}", id.recipient)),
        "{file}"
    );
    assert!(file.lines().any(|l| l.starts_with("ENCLOG-IDENTITY-1-")));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(id.path("identity.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // `enclog recipient` prints the same recipient again.
    let out = run(&mut enclog(["recipient", &id.path("identity.key")]), b"");
    assert_eq!(
        (out.code, out.stdout_text().trim()),
        (0, id.recipient.as_str())
    );
    // Without -o the identity file goes to stdout and the recipient to stderr.
    let out = run(&mut enclog(["genkey", "--recipient"]), b"");
    assert_eq!(out.code, 0);
    assert!(out.stdout_text().contains("ENCLOG-IDENTITY-1-"));
    assert!(out.stderr.contains("ENCLOG-RECIPIENT-1-"), "{}", out.stderr);
}

#[test]
fn encrypt_to_a_recipient_then_decrypt_with_the_identity() {
    let id = Identity::new();
    let input = b"card 4111-1111-1111-1111\nsecond line \xff\xfe bytes\n\n";
    let sealed = run(
        &mut enclog(["encrypt", "--recipient", &id.recipient]),
        input,
    );
    assert_eq!(sealed.code, 0, "{}", sealed.stderr);
    assert!(!String::from_utf8_lossy(&sealed.stdout).contains("4111-1111-1111"));
    let log = id.path("app.log");
    std::fs::write(&log, &sealed.stdout).unwrap();

    let out = run(
        &mut enclog(["decrypt", "--key-file", &id.path("identity.key"), &log]),
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, input);
    // The same through a recipient file (public: world-readable is fine) and verify.
    std::fs::write(id.path("recipient.txt"), format!("{}\n", id.recipient)).unwrap();
    let again = run(
        &mut enclog(["encrypt", "--recipient-file", &id.path("recipient.txt")]),
        input,
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    std::fs::write(&log, &again.stdout).unwrap();
    let out = run(
        &mut enclog(["verify", "--key-file", &id.path("identity.key"), &log]),
        b"",
    );
    assert_eq!(out.code, 0, "{}{}", out.stderr, out.stdout_text());
}

/// The writer process exits; everything it held (the recipient, given on its command line or
/// in a file) opens nothing, and readers say why.
#[test]
fn a_finished_writer_cannot_decrypt_its_own_file_with_anything_it_held() {
    let id = Identity::new();
    let sealed = run(
        &mut enclog(["encrypt", "--recipient", &id.recipient]),
        b"secret payload\n",
    );
    assert_eq!(sealed.code, 0);
    let log = id.path("app.log");
    std::fs::write(&log, &sealed.stdout).unwrap();

    let held = id.path("held-by-writer.txt");
    crate::key_file::write_key_file(std::path::Path::new(&held), &id.recipient);
    let out = run(&mut enclog(["decrypt", "--key-file", &held, &log]), b"");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("recipient"), "{}", out.stderr);
    assert!(!out.stdout_text().contains("secret payload"));
    let out = run(
        enclog(["decrypt", &log]).env("ENCLOG_KEY", &id.recipient),
        b"",
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!out.stdout_text().contains("secret payload"));
}

#[test]
fn writers_refuse_an_identity_and_name_the_fix() {
    let id = Identity::new();
    let out = run(
        &mut enclog(["encrypt", "--key-file", &id.path("identity.key")]),
        b"x\n",
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.is_empty(),
        "nothing may be written with an unusable key"
    );
    assert!(out.stderr.contains("enclog recipient"), "{}", out.stderr);
    let out = run(
        &mut enclog(["encrypt", "--recipient", "ENCLOG-RECIPIENT-1-abc"]),
        b"x\n",
    );
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("--recipient"), "{}", out.stderr);
}
