//! A temporary folder with a key, and running the binary.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The binary, with no key or colour setting inherited from the environment.
pub(crate) fn enclog<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::from_std(crate::enclog_bin::command());
    cmd.args(args);
    cmd
}

pub(crate) use crate::enclog_bin::Run;

/// Runs `cmd` with `stdin`; asserts it exited and did not panic.
pub(crate) fn run(cmd: &mut Command, stdin: &[u8]) -> Run {
    let out = cmd
        .write_stdin(stdin.to_vec())
        .output()
        .expect("run enclog");
    Run::checked(out)
}

/// A temporary folder holding a key file `app.key`.
pub(crate) struct Env {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) key: PathBuf,
}

impl Env {
    pub(crate) fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = dir.path().join("app.key");
        let r = run(enclog(["genkey", "-o"]).arg(&key), b"");
        assert_eq!(r.code, 0, "{}", r.stderr);
        Env { dir, key }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `enclog <subcommand> --key-file app.key <the rest of args>`: the key goes right after the
    /// subcommand, so that options given after (in `args`, or added with `.arg`) keep their
    /// values (`cmd(&["encrypt", "-o"]).arg(path)` is `-o path`).
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let (subcommand, rest) = args.split_first().expect("a subcommand");
        let mut cmd = enclog([subcommand]);
        cmd.arg("--key-file").arg(&self.key).args(rest);
        cmd
    }

    /// The lines of `plain` encrypted by `enclog encrypt` (close record included).
    pub(crate) fn encrypt(&self, plain: &[u8]) -> Vec<u8> {
        let r = run(&mut self.cmd(&["encrypt"]), plain);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    }

    /// The id of `app.key`, as messages show it.
    pub(crate) fn key_id(&self) -> String {
        enclog::SealingKey::from_file(&self.key)
            .unwrap()
            .id()
            .to_string()
    }

    /// Writes `bytes` to a file of the folder; returns its path.
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write test file");
        path
    }
}

/// A temporary folder holding an identity `identity.key` (`genkey --recipient`), and its
/// recipient.
pub(crate) struct Identity {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) recipient: String,
}

impl Identity {
    pub(crate) fn new() -> Identity {
        let dir = tempfile::tempdir().unwrap();
        let identity = dir.path().join("identity.key");
        let out = run(
            &mut enclog(["genkey", "--recipient", "-o", identity.to_str().unwrap()]),
            b"",
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let recipient = out.stdout_text().trim().to_owned();
        assert!(recipient.starts_with("ENCLOG-RECIPIENT-1-"), "{recipient}");
        Identity { dir, recipient }
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }
}

/// The lines of `bytes`, newline kept.
pub(crate) fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// Whether the current user can read a file whose mode is 000 (root can).
pub(crate) fn reads_through_permissions(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("probe");
    std::fs::write(&probe, b"x").unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::read(&probe).is_ok()
}

/// Flips one bit of the sealed bytes of a token line: changes one base64 character near its
/// end into the character whose value differs by one bit (`A` = 0 ↔ `B` = 1), so the line
/// stays well-formed base64 and fails authentication.
pub(crate) fn flip(line: &[u8]) -> Vec<u8> {
    let mut line = line.to_vec();
    let at = line.len() - 8;
    line[at] = if line[at] == b'A' { b'B' } else { b'A' };
    line
}
