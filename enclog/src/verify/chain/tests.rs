//! The chain walk's checks of a link against the session it names, on sessions forged with
//! the key: links a writer never writes, which the public API cannot make.

use super::*;
use crate::format::{Mode, SessionRef};
use crate::read::Decryptor;
use crate::seal::forge_first_record;
use crate::verify::VerifyOptions;
use crate::{Key, Keyring, Opener, Sealer};

/// A writer's session of two events and its close record, as lines; its link, the session
/// as a link names it, and what its successor's link states (count, end tag).
struct First {
    lines: Vec<Vec<u8>>,
    link: Link,
    at: SessionRef,
    end: (u64, [u8; 16]),
}

fn first_session(key: &Key) -> First {
    let sealer = Sealer::new(key.clone());
    let mut log = Vec::new();
    sealer.seal_to(None, b"one", &mut log).unwrap();
    sealer.seal_to(None, b"two", &mut log).unwrap();
    sealer.close_to(&mut log).unwrap();
    let lines: Vec<Vec<u8>> = log
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    let mut opener = Opener::new(Keyring::from(key.clone()));
    let (link, session) = {
        let opened = opener.open(&lines[0]).unwrap().unwrap();
        (
            *opened.link.clone().unwrap(),
            opened.sequence.unwrap().session,
        )
    };
    let tag = opener.open(&lines[2]).unwrap().unwrap().tag;
    let mut raw = [0u8; 32];
    raw[..16].copy_from_slice(&session.to_bytes());
    First {
        lines,
        link,
        at: SessionRef::new(Mode::Symmetric, key.id(), raw),
        end: (3, tag),
    }
}

fn kinds(key: &Key, lines: &[Vec<u8>]) -> Vec<(FindingKind, u64)> {
    let log = lines.concat();
    let mut verifier = Verifier::with_options(VerifyOptions::default().allow_open_sessions(true));
    verifier
        .observe_all(
            "app.log",
            &mut Decryptor::new(&log[..], Keyring::from(key.clone())),
        )
        .unwrap();
    let report = verifier.finish();
    report
        .findings
        .iter()
        .map(|f| (f.kind, f.at.line))
        .collect()
}

/// The first record of a successor of `first`, as its writer would link it (with `change`
/// applied to the lineage, index, link origin and chain key), under session id `id`.
fn successor(
    key: &Key,
    first: &First,
    id: u8,
    change: impl FnOnce(&mut LineageId, &mut u64, &mut LinkFrom, &mut ChainKey),
) -> Vec<u8> {
    let (mut lineage, mut index) = (first.link.lineage, first.link.index + 1);
    let mut from = LinkFrom::Successor {
        prev: first.at,
        count: first.end.0,
        end_tag: first.end.1,
    };
    let mut chain_key = first.link.next_chain_key().clone();
    change(&mut lineage, &mut index, &mut from, &mut chain_key);
    forge_first_record(key, [id; 16], lineage, index, &from, &chain_key)
}

#[test]
fn a_successor_linked_as_its_writer_would_is_clean() {
    let key = Key::generate().unwrap();
    let first = first_session(&key);
    let mut lines = first.lines.clone();
    lines.push(successor(&key, &first, 1, |_, _, _, _| {}));
    assert_eq!(kinds(&key, &lines), []);
}

/// Threat: a holder of the key (or of the recipient) starting a session in a lineage whose
/// chain keys it does not hold.
#[test]
fn a_link_that_does_not_verify_with_the_chain_key_is_forged() {
    let key = Key::generate().unwrap();
    let first = first_session(&key);
    let mut lines = first.lines.clone();
    lines.push(successor(&key, &first, 1, |_, _, _, chain_key| {
        *chain_key = ChainKey::from_bytes([7; 32]);
    }));
    assert_eq!(kinds(&key, &lines), [(FindingKind::ForgedLink, 4)]);
}

#[test]
fn a_link_whose_count_end_tag_index_or_lineage_does_not_follow_is_forged() {
    let key = Key::generate().unwrap();
    let first = first_session(&key);
    type Change = fn(&mut LineageId, &mut u64, &mut LinkFrom, &mut ChainKey);
    let changes: [(&str, Change); 4] = [
        ("count", |_, _, from, _| {
            if let LinkFrom::Successor { count, .. } = from {
                *count = 2;
            }
        }),
        ("end tag", |_, _, from, _| {
            if let LinkFrom::Successor { end_tag, .. } = from {
                end_tag[0] ^= 1;
            }
        }),
        ("index", |_, index, _, _| *index += 1),
        ("lineage", |lineage, _, _, _| {
            *lineage = LineageId::from_bytes([3; 16])
        }),
    ];
    for (what, change) in changes {
        let mut lines = first.lines.clone();
        lines.push(successor(&key, &first, 1, change));
        assert_eq!(
            kinds(&key, &lines),
            [(FindingKind::ForgedLink, 4)],
            "{what}"
        );
    }
}

/// A successor read before its predecessor's close record: its count is checked when the
/// close record comes, and the two sessions' lines are mixed.
#[test]
fn a_count_is_checked_against_a_close_record_that_comes_later() {
    let key = Key::generate().unwrap();
    let first = first_session(&key);
    let forged = successor(&key, &first, 1, |_, _, from, _| {
        if let LinkFrom::Successor { count, .. } = from {
            *count = 2;
        }
    });
    let lines = [&first.lines[..2], &[forged], &first.lines[2..]].concat();
    assert_eq!(
        kinds(&key, &lines),
        [(FindingKind::ForgedLink, 3), (FindingKind::Interleaved, 4)]
    );
}

/// Threat: an old chain state restored (or captured and reused): a second session linked,
/// validly, to a session that already has a successor.
#[test]
fn two_successors_of_one_session_are_a_replayed_chain() {
    let key = Key::generate().unwrap();
    let first = first_session(&key);
    let mut lines = first.lines.clone();
    lines.push(successor(&key, &first, 1, |_, _, _, _| {}));
    lines.push(successor(&key, &first, 2, |_, _, _, _| {}));
    assert_eq!(kinds(&key, &lines), [(FindingKind::ReplayedChain, 5)]);
}

/// Threat: a session whose link names itself, which would otherwise pass as a link to a
/// session read without its first record (unchecked) and start a lineage unseen.
#[test]
fn a_link_naming_its_own_session_is_forged() {
    let key = Key::generate().unwrap();
    let first = first_session(&key);
    let mut raw = [0u8; 32];
    raw[..16].copy_from_slice(&[9; 16]);
    let itself = SessionRef::new(Mode::Symmetric, key.id(), raw);
    let forged = forge_first_record(
        &key,
        [9; 16],
        LineageId::from_bytes([4; 16]),
        1,
        &LinkFrom::AfterCrash { prev: itself },
        &ChainKey::from_bytes([1; 32]),
    );
    let mut lines = first.lines.clone();
    lines.push(forged);
    assert_eq!(kinds(&key, &lines), [(FindingKind::ForgedLink, 4)]);
}

fn report(key: &Key, lines: &[Vec<u8>], options: VerifyOptions) -> crate::verify::Report {
    let log = lines.concat();
    let mut verifier = Verifier::with_options(options);
    let mut reader = Decryptor::new(&log[..], Keyring::from(key.clone()));
    verifier.observe_all("app.log", &mut reader).unwrap();
    verifier.finish()
}

fn lines_of(log: &[u8]) -> Vec<Vec<u8>> {
    log.split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// Threat: a session forged in format version 1 (which readers still open, and which anyone
/// who can seal lines can make) spliced between chained sessions, to get past the chain walk.
#[test]
fn a_v1_session_after_chained_sessions_is_a_new_chain_unless_allowed() {
    let key = Key::generate().unwrap();
    let sealer = Sealer::with_rotation(key.clone(), crate::seal::Rotation::default().max_lines(1));
    let mut log = Vec::new();
    for event in ["a", "b"] {
        sealer.seal_to(None, event.as_bytes(), &mut log).unwrap();
    }
    sealer.close_to(&mut log).unwrap();
    let real = lines_of(&log);
    let forged = lines_of(&crate::seal::forge_v1_session(
        &key,
        [0x66; 16],
        &[b"FORGED: payment approved"],
    ));
    let spliced = [&real[..2], &forged[..], &real[2..]].concat();
    let strict = report(&key, &spliced, VerifyOptions::default());
    assert_eq!(strict.count(FindingKind::NewChain), 1, "{strict}");
    assert_eq!(strict.unchained_lines, 2);
    let allowed = report(
        &key,
        &spliced,
        VerifyOptions::default().allow_new_chains(true),
    );
    assert!(allowed.is_clean(), "{allowed}");
    // Before any chained session (a log written before version 2): counted, not a finding.
    let older = report(
        &key,
        &[&forged[..], &real[..]].concat(),
        VerifyOptions::default(),
    );
    assert!(older.is_clean() && older.unchained_lines == 2, "{older}");
}

/// Threat: a version 2 session linked to a forged version 1 session (which has no chain key)
/// passing as a link that could not be checked.
#[test]
fn a_link_naming_a_v1_session_is_forged() {
    let key = Key::generate().unwrap();
    let first = first_session(&key);
    let v1_id = [0x77; 16];
    let forged_v1 = lines_of(&crate::seal::forge_v1_session(&key, v1_id, &[b"x"]));
    let mut raw = [0u8; 32];
    raw[..16].copy_from_slice(&v1_id);
    let from = LinkFrom::AfterCrash {
        prev: SessionRef::new(Mode::Symmetric, key.id(), raw),
    };
    let next = forge_first_record(
        &key,
        [0x88; 16],
        first.link.lineage,
        first.link.index + 1,
        &from,
        &ChainKey::from_bytes([1; 32]),
    );
    let log = [&first.lines[..], &forged_v1[..], &[next][..]].concat();
    let found = report(&key, &log, VerifyOptions::default().allow_new_chains(true));
    assert_eq!(found.count(FindingKind::ForgedLink), 1, "{found}");
}

/// Threat: a middle session's last lines and close record cut from a log verified as live
/// (`allow_open_sessions`): its successor shows it ended, so it is unclosed all the same.
#[test]
fn a_middle_session_cut_before_its_close_is_unclosed_even_in_a_live_log() {
    let key = Key::generate().unwrap();
    let sealer = Sealer::with_rotation(key.clone(), crate::seal::Rotation::default().max_lines(2));
    let mut log = Vec::new();
    for event in ["a0", "a1", "b0", "b1", "c0", "c1"] {
        sealer.seal_to(None, event.as_bytes(), &mut log).unwrap();
    }
    let lines = lines_of(&log);
    assert_eq!(lines.len(), 8, "three sessions, the last one still open");
    // Session B: b0, b1 and its close record (indexes 3, 4, 5). Cut b1 and the close record.
    let cut = [&lines[..4], &lines[6..]].concat();
    let live = VerifyOptions::default().allow_open_sessions(true);
    let found = report(&key, &cut, live.clone());
    assert_eq!(found.count(FindingKind::Unclosed), 1, "{found}");
    // The last session, still being written, is not a finding in a live log.
    assert!(report(&key, &lines, live).is_clean());
}

/// Threat: a forged successor placed after the lines of the session it names but before that
/// session's first record (moved later): its link is checked when the first record comes.
#[test]
fn a_link_is_checked_when_the_first_record_of_the_session_it_names_comes_later() {
    let key = Key::generate().unwrap();
    let first = first_session(&key);
    let forged = successor(&key, &first, 1, |_, _, _, chain_key| {
        *chain_key = ChainKey::from_bytes([7; 32]);
    });
    // "two", the close record, the forged successor, then "one" (the first record).
    let lines = [
        first.lines[1].clone(),
        first.lines[2].clone(),
        forged,
        first.lines[0].clone(),
    ];
    let found = report(
        &key,
        &lines,
        VerifyOptions::default().allow_open_sessions(true),
    );
    assert_eq!(found.count(FindingKind::ForgedLink), 1, "{found}");
    assert_eq!(found.unchecked_links, 0, "{found}");
}
