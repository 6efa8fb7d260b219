//! The chain state file's tests: layout, permissions, locking, atomic and monotonic saves,
//! the default location, and that no key is ever shown.

use super::*;
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;

/// A chain key whose hex no message may contain.
pub(super) const KEY: [u8; 32] = [
    0x5a, 0xc3, 0x19, 0xe7, 0x42, 0x8d, 0xb0, 0x6f, 0x11, 0x2e, 0x9c, 0x74, 0xd5, 0x38, 0xa1, 0x0b,
    0xf6, 0x63, 0x27, 0x8a, 0xcd, 0x50, 0x94, 0x1f, 0xe2, 0x7b, 0x36, 0xa9, 0x0d, 0xc8, 0x45, 0x99,
];

pub(super) fn key_hex() -> String {
    format!("{:?}", Hex(&KEY))
}

pub(super) fn point(index: u64, end: Option<(u64, [u8; 16])>) -> SavedPoint {
    SavedPoint {
        vm: 0x22,
        key_id: KeyId([0xde, 0xad, 0xbe, 0xef]),
        session: (0..32).collect(),
        lineage: [0x11; 16],
        index,
        end,
        next_chain_key: Zeroizing::new(KEY),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The error loading a chain state file holding `text` (mode 0600) gives.
fn load_error(text: &str) -> ChainStateError {
    let dir = tempfile::tempdir().unwrap();
    let state = ChainState::open(dir.path().join("app.chain")).unwrap();
    replace(state.path(), text.as_bytes()).unwrap();
    state.load().unwrap_err()
}

/// A valid file's text for `point(7, closed)`.
pub(super) fn valid_text() -> String {
    text::render(&point(7, Some((42, [0x77; 16])))).to_string()
}

/// `text` with `line` (its first line starting with `prefix`) replaced, and the check
/// recomputed (so only the replaced line is wrong).
pub(super) fn with_line(prefix: &str, line: &str) -> String {
    let text = valid_text();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = lines.iter().position(|l| l.starts_with(prefix)).unwrap();
    lines[at] = line.to_owned();
    let body: String = lines
        .iter()
        .filter(|l| !l.starts_with('#') && !l.starts_with("check "))
        .map(|l| format!("{l}\n"))
        .collect();
    let check = Sha256::digest(body.as_bytes());
    lines
        .iter()
        .map(|l| {
            if l.starts_with("check ") {
                format!("check {:?}\n", Hex(&check[..8]))
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

pub(super) fn line_of(text: &str, prefix: &str) -> usize {
    1 + text.lines().position(|l| l.starts_with(prefix)).unwrap()
}

fn assert_same(a: &SavedPoint, b: &SavedPoint) {
    assert_eq!(a.vm, b.vm);
    assert_eq!(a.key_id, b.key_id);
    assert_eq!(a.session, b.session);
    assert_eq!(a.lineage, b.lineage);
    assert_eq!(a.index, b.index);
    assert_eq!(a.end, b.end);
    assert_eq!(*a.next_chain_key, *b.next_chain_key);
}

#[test]
fn a_saved_point_loads_back_the_same_open_or_closed_in_both_modes() {
    let dir = tempfile::tempdir().unwrap();
    let state = ChainState::open(dir.path().join("app.chain")).unwrap();
    let mut symmetric = point(0, None);
    symmetric.vm = 0x21;
    symmetric.session = vec![0xab; 16];
    for p in [
        symmetric,
        point(3, None),
        point(3, Some((9, [0x42; 16]))),
        point(u64::MAX, None),
    ] {
        state.save(&p).unwrap();
        assert_same(&state.load().unwrap().unwrap(), &p);
    }
}

#[test]
fn no_file_yet_loads_as_none() {
    let dir = tempfile::tempdir().unwrap();
    let state = ChainState::open(dir.path().join("app.chain")).unwrap();
    assert!(state.load().unwrap().is_none());
}

#[test]
fn files_are_created_private_in_a_private_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("state/enclog");
    let path = folder.join("app.chain");
    let state = ChainState::open(&path).unwrap();
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(&dir.path().join("state")), 0o700);
    assert_eq!(mode(&sibling(&path, ".lock")), 0o600);
    state.save(&point(0, None)).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert!(!sibling(&path, ".tmp").exists());
}

#[test]
fn an_existing_folder_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o750)).unwrap();
    let _state = ChainState::open(dir.path().join("app.chain")).unwrap();
    assert_eq!(mode(dir.path()), 0o750);
}

#[test]
fn a_file_group_or_others_can_access_is_refused_with_the_chmod_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.chain");
    let state = ChainState::open(&path).unwrap();
    state.save(&point(1, None)).unwrap();
    for loose in [0o640, 0o604, 0o620, 0o602] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
        let err = state.load().unwrap_err();
        assert!(
            matches!(err, ChainStateError::LoosePermissions { mode, .. } if mode == loose),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("chmod 600 {}", path.display())),
            "{message}"
        );
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(state.load().unwrap().is_some());
}

#[test]
fn a_file_of_another_user_is_refused() {
    // Only root can give a file away; elsewhere there is nothing to test.
    if secret_file::own_uid().unwrap() != 0 {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.chain");
    let state = ChainState::open(&path).unwrap();
    state.save(&point(1, None)).unwrap();
    std::os::unix::fs::chown(&path, Some(12345), None).unwrap();
    let err = state.load().unwrap_err();
    assert!(
        matches!(
            err,
            ChainStateError::ForeignOwner {
                owner: 12345,
                uid: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("sudo chown 0"), "{err}");
    // A file of root's is anyone's to use (as for key files).
    std::os::unix::fs::chown(&path, Some(0), None).unwrap();
    assert!(state.load().unwrap().is_some());
}

#[test]
fn a_second_open_of_the_same_state_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.chain");
    let first = ChainState::open(&path).unwrap();
    let err = ChainState::open(&path).unwrap_err();
    assert!(
        matches!(&err, ChainStateError::InUse { path: p } if *p == path),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("another process is writing"), "{message}");
    assert!(message.contains("each writer needs its own"), "{message}");
    assert!(message.contains("--chain FILE"), "{message}");
    // Another path is another lineage: no conflict.
    let _other = ChainState::open(dir.path().join("other.chain")).unwrap();
    drop(first);
    let again = ChainState::open(&path).unwrap();
    // The lock file is never replaced: saving leaves it where it was.
    let lock = sibling(&path, ".lock");
    let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&lock).unwrap());
    again.save(&point(0, None)).unwrap();
    let after = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&lock).unwrap());
    assert_eq!(inode, after);
}

#[test]
fn a_stale_tmp_file_is_replaced_by_a_private_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.chain");
    let state = ChainState::open(&path).unwrap();
    let tmp = sibling(&path, ".tmp");
    std::fs::write(&tmp, "left by a crash").unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
    state.save(&point(2, None)).unwrap();
    assert!(!tmp.exists());
    assert_eq!(mode(&path), 0o600);
    assert_eq!(state.load().unwrap().unwrap().index, 2);
}

#[test]
fn a_save_replaces_the_file_rather_than_writing_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.chain");
    let state = ChainState::open(&path).unwrap();
    state.save(&point(0, None)).unwrap();
    // A hard link keeps the old file: a save that wrote into it would change it too.
    let old = dir.path().join("old");
    std::fs::hard_link(&path, &old).unwrap();
    let before = std::fs::read(&old).unwrap();
    state.save(&point(1, None)).unwrap();
    assert_eq!(std::fs::read(&old).unwrap(), before);
    assert_eq!(state.load().unwrap().unwrap().index, 1);
}

#[test]
fn an_older_state_is_not_written_after_a_newer_one() {
    let dir = tempfile::tempdir().unwrap();
    let state = ChainState::open(dir.path().join("app.chain")).unwrap();
    // The start of session 5 was saved before the close of session 4 reached the file.
    state.save(&point(5, None)).unwrap();
    state.save(&point(4, Some((10, [1; 16])))).unwrap();
    let loaded = state.load().unwrap().unwrap();
    assert_eq!((loaded.index, loaded.end), (5, None));
    // The close of session 5 is later than its start; its start again is not.
    state.save(&point(5, Some((3, [2; 16])))).unwrap();
    state.save(&point(5, None)).unwrap();
    let loaded = state.load().unwrap().unwrap();
    assert_eq!((loaded.index, loaded.end), (5, Some((3, [2; 16]))));
    state.save(&point(6, None)).unwrap();
    assert_eq!(state.load().unwrap().unwrap().index, 6);
}

#[test]
fn threads_racing_to_save_leave_the_latest_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = ChainState::open(dir.path().join("app.chain")).unwrap();
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let state = &state;
            s.spawn(move || {
                // Each thread saves its own indexes, open then closed, out of order with
                // the other threads'.
                for i in (t..64).step_by(8) {
                    state.save(&point(i, None)).unwrap();
                    state.save(&point(i, Some((i + 2, [0; 16])))).unwrap();
                }
            });
        }
    });
    let loaded = state.load().unwrap().unwrap();
    assert_eq!((loaded.index, loaded.end.map(|e| e.0)), (63, Some(65)));
}

#[test]
fn a_save_with_a_session_of_the_wrong_length_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = ChainState::open(dir.path().join("app.chain")).unwrap();
    let mut bad = point(0, None);
    bad.session.truncate(16);
    assert!(state.save(&bad).is_err());
    assert!(state.load().unwrap().is_none());
}

#[test]
fn no_debug_output_or_error_message_shows_the_chain_key() {
    let key = key_hex();
    // Any 8 consecutive hex digits of the key would be a leak.
    let leaks = |text: &str| (0..key.len() - 8).any(|i| text.contains(&key[i..i + 8]));

    let p = point(3, Some((5, [9; 16])));
    let dbg = format!("{p:?}");
    assert!(!leaks(&dbg) && dbg.contains("redacted"), "{dbg}");

    let dir = tempfile::tempdir().unwrap();
    let state = ChainState::open(dir.path().join("app.chain")).unwrap();
    state.save(&p).unwrap();
    assert!(!leaks(&format!("{state:?}")));

    // Every way a file can be refused, with the key in the file each time.
    let mut texts = vec![
        valid_text().replace("ENCLOG-CHAIN-1", "ENCLOG-CHAIN-9"),
        valid_text().replace("index 7", "index 8"),
        valid_text().replace("next-chain-key ", "next-chain-key  "),
        valid_text().replace("next-chain-key ", "next-chain-keys "),
        valid_text().replace("\nnext-chain-key ", "\nnext-chain-key 0"),
        format!("{}{key}\n", valid_text()),
        valid_text().replace("index 7", &format!("index {key}")),
        valid_text().replace("ENCLOG-CHAIN-1", &key),
    ];
    texts.push(with_line(
        "session ",
        &format!("session 22 deadbeef {key}{key}0"),
    ));
    let mut errors = Vec::new();
    for text in &texts {
        assert!(leaks(text));
        errors.push(load_error(text));
    }
    errors.push(ChainStateError::InUse {
        path: state.path().to_owned(),
    });
    std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    errors.push(state.load().unwrap_err());
    for err in errors {
        let mut message = format!("{err} / {err:?}");
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(&format!(" / {cause}"));
            source = cause.source();
        }
        assert!(!leaks(&message), "{message}");
    }
}

#[test]
fn default_path_follows_the_documented_order() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    };
    let all: &[(&str, &str)] = &[
        ("ENCLOG_STATE_DIR", "/srv/state"),
        ("XDG_STATE_HOME", "/home/ann/.state"),
        ("HOME", "/home/ann"),
    ];
    let path = |vars, root| resolve("app", env(vars), root).unwrap();
    assert_eq!(path(all, false), Path::new("/srv/state/app.chain"));
    assert_eq!(path(all, true), Path::new("/srv/state/app.chain"));
    let xdg: &[(&str, &str)] = &all[1..];
    assert_eq!(
        path(xdg, false),
        Path::new("/home/ann/.state/enclog/app.chain")
    );
    assert_eq!(
        path(xdg, true),
        Path::new("/home/ann/.state/enclog/app.chain")
    );
    let home: &[(&str, &str)] = &all[2..];
    assert_eq!(
        path(home, false),
        Path::new("/home/ann/.local/state/enclog/app.chain")
    );
    assert_eq!(path(home, true), Path::new("/var/lib/enclog/app.chain"));
    assert_eq!(path(&[], false), Path::new("/var/lib/enclog/app.chain"));
    // Empty variables count as unset; a relative XDG_STATE_HOME is ignored (XDG spec).
    let odd: &[(&str, &str)] = &[
        ("ENCLOG_STATE_DIR", ""),
        ("XDG_STATE_HOME", "state"),
        ("HOME", "/home/ann"),
    ];
    assert_eq!(
        path(odd, false),
        Path::new("/home/ann/.local/state/enclog/app.chain")
    );
}

#[test]
fn a_name_that_is_not_a_plain_file_name_is_refused() {
    for name in ["", ".", "..", "a/b", "../app", "/app", "a\0b"] {
        let err = resolve(name, |_| None, false).unwrap_err();
        assert!(matches!(&err, ChainStateError::BadName { name: n } if n == name));
        assert!(err.to_string().contains("not a plain file name"), "{err}");
    }
    assert!(ChainState::default_path("a/b").is_err());
    assert!(ChainState::open_default("..").is_err());
    for name in ["app", "app.v2", "..app", "my app"] {
        assert!(resolve(name, |_| None, false).is_ok(), "{name}");
    }
}

#[test]
fn default_path_reads_the_environment() {
    // Whatever this process's environment is, the name ends the path.
    let path = ChainState::default_path("billing").unwrap();
    assert_eq!(path.file_name().unwrap(), "billing.chain");
    assert!(path.is_absolute() || std::env::var_os("ENCLOG_STATE_DIR").is_some());
}
