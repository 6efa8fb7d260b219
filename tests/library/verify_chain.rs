//! The chain walk of the verifier (`FORMAT.md` §8) against logs whose whole sessions were
//! deleted, moved, mixed, replayed or replaced, which no session's sequence numbers show.
//! (Links a writer never writes, forged with the key, are tested in
//! `enclog/src/verify/chain/tests.rs`.)

use std::io::Write;
use std::path::Path;

use enclog::format::LinkFrom;
use enclog::read::Decryptor;
use enclog::seal::Rotation;
use enclog::verify::{FindingKind, Report, Verifier, VerifyOptions};
use enclog::{Identity, Key, Keyring, Opener, Sealer};

use crate::fork::{exit_child, fork, wait};

/// The findings that only the chain walk makes.
const CHAIN_KINDS: [FindingKind; 6] = [
    FindingKind::NewChain,
    FindingKind::ForgedLink,
    FindingKind::MissingSessions,
    FindingKind::SessionsOutOfOrder,
    FindingKind::ReplayedChain,
    FindingKind::Interleaved,
];

/// `events` events sealed by `sealer`, then its close record.
fn write(sealer: &Sealer, who: &str, events: usize) -> Vec<u8> {
    let mut log = Vec::new();
    for i in 0..events {
        sealer
            .seal_to(None, format!("{who} {i}").as_bytes(), &mut log)
            .unwrap();
    }
    sealer.close_to(&mut log).unwrap();
    log
}

/// A writer rotating every 3 events, over 12 events: 4 sessions of 4 lines (3 events and a
/// close record), as sessions of lines.
fn four_sessions(key: impl Into<enclog::SealingKey>, ring: &Keyring) -> Vec<Vec<Vec<u8>>> {
    let sealer = Sealer::with_rotation(key, Rotation::default().max_lines(3));
    let sessions = sessions_of(&write(&sealer, "event", 12), ring);
    assert_eq!(sessions.len(), 4);
    assert!(sessions.iter().all(|s| s.len() == 4));
    sessions
}

/// The lines of `log`, grouped into runs of one session.
fn sessions_of(log: &[u8], ring: &Keyring) -> Vec<Vec<Vec<u8>>> {
    let mut opener = Opener::new(ring.clone());
    let mut sessions: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut last = None;
    for line in log.split_inclusive(|&b| b == b'\n') {
        let session = opener
            .open(line)
            .unwrap()
            .unwrap()
            .sequence
            .unwrap()
            .session;
        if last != Some(session) {
            sessions.push(Vec::new());
            last = Some(session);
        }
        sessions.last_mut().unwrap().push(line.to_vec());
    }
    sessions
}

fn verify_with(log: &[u8], ring: &Keyring, options: VerifyOptions) -> Report {
    let mut verifier = Verifier::with_options(options);
    verifier
        .observe_all("app.log", &mut Decryptor::new(log, ring.clone()))
        .unwrap();
    verifier.finish()
}

fn verify(log: &[u8], ring: &Keyring) -> Report {
    verify_with(log, ring, VerifyOptions::default())
}

/// Every finding, as (kind, line).
fn kinds(report: &Report) -> Vec<(FindingKind, u64)> {
    report
        .findings
        .iter()
        .map(|f| (f.kind, f.at.line))
        .collect()
}

fn symmetric() -> (Key, Keyring) {
    let key = Key::generate().unwrap();
    let ring = Keyring::from(key.clone());
    (key, ring)
}

#[test]
fn a_rotating_writer_makes_one_clean_chain_of_four_sessions() {
    let (key, ring) = symmetric();
    let log = four_sessions(key, &ring).concat().concat();
    let report = verify(&log, &ring);
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!(
        (report.chains, report.sessions, report.closed_sessions),
        (1, 4, 4)
    );
    assert_eq!((report.unchained_lines, report.unchecked_links), (0, 0));
}

/// Threat: every line of a session deleted: no session's numbers have a gap, but the next
/// session names the deleted one.
#[test]
fn a_deleted_middle_session_is_missing_sessions_between_its_neighbours() {
    let (key, ring) = symmetric();
    let sessions = four_sessions(key, &ring);
    for deleted in [1, 2] {
        let mut kept = sessions.clone();
        kept.remove(deleted);
        let report = verify(&kept.concat().concat(), &ring);
        // The session after the gap starts at line 4·deleted + 1; the one before ends at 4·deleted.
        let line = 4 * deleted as u64;
        assert_eq!(
            kinds(&report),
            [(FindingKind::MissingSessions, line + 1)],
            "session {deleted} deleted"
        );
        let finding = &report.findings[0];
        assert_eq!(finding.related.as_ref().map(|l| l.line), Some(line));
        assert!(
            finding.message.starts_with("1 session of lineage "),
            "{}",
            finding.message
        );
        assert!(
            finding
                .message
                .contains(&format!(", which ends at app.log:{line})")),
            "{}",
            finding.message
        );
    }
}

/// Deleting the first session is invisible by design (`FORMAT.md` §8): the input's first
/// session starts the walk whatever it names, because a log has to start somewhere, and a log
/// whose older files were rotated away (or not given) looks exactly the same.
#[test]
fn a_deleted_first_session_is_invisible_by_design() {
    let (key, ring) = symmetric();
    let sessions = four_sessions(key, &ring);
    let report = verify(&sessions[1..].concat().concat(), &ring);
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!((report.chains, report.sessions), (1, 3));
}

/// Deleting the last session is invisible by design (`FORMAT.md` §8): the end of a log is
/// invisible to a chain walk, since the sessions before stay a valid chain; only an anchor
/// kept elsewhere (the writer's chain state, or a copy of it) shows it.
#[test]
fn a_deleted_last_session_is_invisible_by_design() {
    let (key, ring) = symmetric();
    let sessions = four_sessions(key, &ring);
    let report = verify(&sessions[..3].concat().concat(), &ring);
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!((report.chains, report.sessions), (1, 3));
}

#[test]
fn swapped_sessions_are_out_of_order_and_nothing_is_missing() {
    let (key, ring) = symmetric();
    let sessions = four_sessions(key, &ring);
    for (i, j) in [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3), (0, 3)] {
        let mut swapped = sessions.clone();
        swapped.swap(i, j);
        let report = verify(&swapped.concat().concat(), &ring);
        assert!(!report.is_clean(), "sessions {i} and {j} swapped");
        let found = kinds(&report);
        assert!(
            !found.is_empty()
                && found
                    .iter()
                    .all(|&(kind, _)| kind == FindingKind::SessionsOutOfOrder),
            "sessions {i} and {j} swapped: {:#?}",
            report.findings
        );
    }
    // Two neighbours: one finding, at the session (line 9) that comes after its successor
    // (line 5).
    let mut swapped = sessions.clone();
    swapped.swap(1, 2);
    let report = verify(&swapped.concat().concat(), &ring);
    assert_eq!(kinds(&report), [(FindingKind::SessionsOutOfOrder, 9)]);
    let finding = &report.findings[0];
    assert_eq!(finding.related.as_ref().map(|l| l.line), Some(5));
    assert!(
        finding
            .message
            .contains("which names it as its predecessor")
            && finding.message.contains("nothing is missing"),
        "{}",
        finding.message
    );
}

#[test]
fn the_mixed_lines_of_two_consecutive_sessions_are_interleaved() {
    let (key, ring) = symmetric();
    let sessions = four_sessions(key, &ring);
    let mut lines = sessions[0].clone();
    for (one, two) in sessions[1].iter().zip(&sessions[2]) {
        lines.push(one.clone());
        lines.push(two.clone());
    }
    lines.extend(sessions[3].iter().cloned());
    let report = verify(&lines.concat(), &ring);
    // Session 1's close record (line 11) comes after session 2's first record (line 6).
    assert_eq!(kinds(&report), [(FindingKind::Interleaved, 11)]);
    assert_eq!(report.findings[0].related.as_ref().map(|l| l.line), Some(6));
}

/// A whole session copied to the end is reported line by line as duplicates (one run), not
/// also as a chain finding.
#[test]
fn a_session_replayed_at_the_end_is_duplicates_only() {
    let (key, ring) = symmetric();
    let mut sessions = four_sessions(key, &ring);
    sessions.push(sessions[1].clone());
    let report = verify(&sessions.concat().concat(), &ring);
    assert!(!report.is_clean());
    assert_eq!(kinds(&report), [(FindingKind::Duplicate, 17)]);
    assert!(CHAIN_KINDS.iter().all(|&kind| report.count(kind) == 0));
}

/// Threat: a holder of the public recipient (or a second writer) replacing a session with one
/// of its own. Its session is a root: a new chain; the replaced one is missing.
#[test]
fn a_fresh_writers_session_in_place_of_a_middle_session_is_a_new_chain_and_missing_sessions() {
    let identity = Identity::generate().unwrap();
    let ring = Keyring::from(identity.clone());
    let mut sessions = four_sessions(identity.recipient(), &ring);
    let intruder = Sealer::with_rotation(identity.recipient(), Rotation::default().max_lines(3));
    let forged = sessions_of(&write(&intruder, "forged", 3), &ring);
    assert_eq!(forged.len(), 1);
    sessions[1] = forged[0].clone();
    let log = sessions.concat().concat();

    let report = verify(&log, &ring);
    assert_eq!(
        kinds(&report),
        [
            (FindingKind::NewChain, 5),
            (FindingKind::MissingSessions, 9)
        ]
    );
    assert_eq!(report.chains, 2);
    let allowed = verify_with(&log, &ring, VerifyOptions::default().allow_new_chains(true));
    assert_eq!(kinds(&allowed), [(FindingKind::MissingSessions, 9)]);
}

/// Threat: a session of another writer spliced in between two sessions of the first: the
/// sessions around it still link to each other, but it links to nothing (a root).
#[test]
fn another_writers_session_spliced_after_a_session_is_a_new_chain() {
    let (key, ring) = symmetric();
    let mut sessions = four_sessions(key.clone(), &ring);
    let other = sessions_of(&write(&Sealer::new(key), "spliced", 2), &ring);
    sessions.insert(1, other[0].clone());
    let report = verify(&sessions.concat().concat(), &ring);
    assert_eq!(kinds(&report), [(FindingKind::NewChain, 5)]);
    assert!(
        report.findings[0].message.contains("(a root)"),
        "{}",
        report.findings[0].message
    );
}

#[test]
fn two_writers_in_one_file_are_a_new_chain_unless_new_chains_are_allowed() {
    let (key, ring) = symmetric();
    let first = four_sessions(key.clone(), &ring).concat().concat();
    let second = write(&Sealer::new(key), "other writer", 3);
    let log = [first, second].concat();
    let report = verify(&log, &ring);
    assert_eq!(kinds(&report), [(FindingKind::NewChain, 17)]);
    let allowed = verify_with(&log, &ring, VerifyOptions::default().allow_new_chains(true));
    assert!(allowed.is_clean(), "{:#?}", allowed.findings);
    assert_eq!((allowed.chains, allowed.sessions), (2, 5));
}

#[test]
fn a_key_replaced_mid_stream_continues_the_chain_under_the_new_key() {
    let (old, new) = (Key::generate().unwrap(), Key::generate().unwrap());
    let sealer = Sealer::new(old.clone());
    let mut log = Vec::new();
    for i in 0..3 {
        sealer
            .seal_to(None, format!("before {i}").as_bytes(), &mut log)
            .unwrap();
    }
    sealer.set_key(new.clone());
    log.extend(write(&sealer, "after", 3));
    let ring: Keyring = [old.clone(), new.clone()].into_iter().collect();

    let report = verify(&log, &ring);
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!((report.chains, report.sessions), (1, 2));
    // The new key's first session names the old key's session as its predecessor.
    let sessions = sessions_of(&log, &ring);
    let mut opener = Opener::new(ring.clone());
    let link = opener.open(&sessions[1][0]).unwrap().unwrap().link.unwrap();
    let LinkFrom::Successor { prev, count, .. } = link.from else {
        panic!("not a successor: {:?}", link.from)
    };
    assert_eq!((prev.key_id, count, link.index), (old.id(), 4, 1));
}

fn append(path: &Path, bytes: &[u8]) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

/// A forked child starts a lineage of its own, branching from its parent's session: the
/// parent's and the child's lines in one file verify clean, with no new chain.
#[test]
fn a_forked_childs_session_branches_from_its_parents_and_verifies_clean() {
    let (key, ring) = symmetric();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fork.log");
    let sealer = Sealer::new(key);
    let mut before = Vec::new();
    for i in 0..5 {
        sealer
            .seal_to(None, format!("parent {i}").as_bytes(), &mut before)
            .unwrap();
    }
    append(&path, &before);
    let pid = fork();
    if pid == 0 {
        append(&path, &write(&sealer, "child", 5));
        exit_child(0);
    }
    wait(pid);
    append(&path, &write(&sealer, "parent after", 5));

    let log = std::fs::read(&path).unwrap();
    let report = verify(&log, &ring);
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!((report.chains, report.sessions, report.lines), (2, 2, 17));
    let sessions = sessions_of(&log, &ring);
    let mut opener = Opener::new(ring.clone());
    let parent = opener
        .open(&sessions[0][0])
        .unwrap()
        .unwrap()
        .sequence
        .unwrap()
        .session;
    let link = opener.open(&sessions[1][0]).unwrap().unwrap().link.unwrap();
    let LinkFrom::Branch { prev, fork_point } = link.from else {
        panic!("the child's session is not a branch: {:?}", link.from)
    };
    assert_eq!((prev.session, fork_point, link.index), (parent, 5, 0));
}

/// Lines of format version 1 have no link: counted as unchained, never a chain finding, and
/// the version 2 sessions around them still form one chain.
#[test]
fn version_1_lines_are_unchained_and_a_new_chain_after_chained_sessions() {
    let vectors = include_str!("../vectors/v1.txt");
    let v1_line = |name: &str| {
        let block = vectors
            .split("\n\n")
            .find(|b| b.contains(&format!("name: {name}\n")))
            .unwrap();
        let line = block
            .lines()
            .find_map(|l| l.strip_prefix("line: "))
            .unwrap();
        format!("{line}\n").into_bytes()
    };
    // Seq 0 and 1 of one version 1 session, under the vectors' key.
    let v1 = [v1_line("empty-event"), v1_line("hello")].concat();
    let key: Key = "ENCLOG-KEY-1-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-aSBtd"
        .parse()
        .unwrap();
    let ring = Keyring::from(key.clone());
    let sessions = four_sessions(key, &ring);
    let log = [
        sessions[..2].concat().concat(),
        v1,
        sessions[2..].concat().concat(),
    ]
    .concat();

    let report = verify(&log, &ring);
    // After chained sessions, a version 1 session is a new chain (writers write version 2:
    // someone without the chain keys sealed it, or an old writer shares the log); it has no
    // close record either; the chain itself is whole.
    assert_eq!(
        kinds(&report),
        [(FindingKind::NewChain, 9), (FindingKind::Unclosed, 10)]
    );
    assert_eq!((report.unchained_lines, report.chains), (2, 1));
    assert!(report.to_string().contains(", 2 unchained"), "{report}");
    // Before the chained sessions (a log written before version 2): counted, not a finding.
    let older = [
        [v1_line("empty-event"), v1_line("hello")].concat(),
        sessions.concat().concat(),
    ]
    .concat();
    let report = verify(&older, &ring);
    assert_eq!(kinds(&report), [(FindingKind::Unclosed, 2)]);
    assert_eq!(report.unchained_lines, 2);
}

/// A rearrangement of whole sessions (0..6, as `order` lists them; an index twice is a replay).
fn rearranged(sessions: &[Vec<Vec<u8>>], order: &[usize]) -> Vec<u8> {
    order
        .iter()
        .map(|&i| sessions[i].concat())
        .collect::<Vec<_>>()
        .concat()
}

/// Every way of deleting, moving or replaying whole sessions of a six-session chain that keeps
/// its first and last session in place is a finding — with no help from sequence numbers
/// (each session is whole) — and with the anchor (`VerifyOptions::anchor`) so are the ends.
/// Exhaustive over single deletions, all swaps of two sessions, moving one session anywhere,
/// and replaying one session anywhere.
#[test]
fn every_deletion_move_or_replay_of_whole_sessions_is_a_finding() {
    let (key, ring) = symmetric();
    let dir = tempfile::tempdir().unwrap();
    let state = enclog::seal::ChainState::open(dir.path().join("app.chain")).unwrap();
    let sealer = Sealer::with_chain_state(key, Rotation::default().max_lines(2), state).unwrap();
    let sessions = sessions_of(&write(&sealer, "event", 12), &ring);
    assert_eq!(sessions.len(), 6);
    let head = enclog::seal::ChainState::head(dir.path().join("app.chain"))
        .unwrap()
        .unwrap();
    let anchored = VerifyOptions::default().anchor(head);
    let all: Vec<usize> = (0..6).collect();
    assert!(verify(&rearranged(&sessions, &all), &ring).is_clean());
    assert!(verify_with(&rearranged(&sessions, &all), &ring, anchored.clone()).is_clean());

    let mut orders: Vec<(String, Vec<usize>)> = Vec::new();
    for gone in 0..6 {
        let order: Vec<usize> = all.iter().copied().filter(|&i| i != gone).collect();
        orders.push((format!("session {gone} deleted"), order));
    }
    for a in 0..6 {
        for b in a + 1..6 {
            let mut order = all.clone();
            order.swap(a, b);
            orders.push((format!("sessions {a} and {b} swapped"), order));
        }
    }
    for from in 0..6 {
        for to in 0..6 {
            let mut order = all.clone();
            let moved = order.remove(from);
            order.insert(to, moved);
            if order != all {
                orders.push((format!("session {from} moved to {to}"), order));
            }
        }
        for at in 0..=6 {
            let mut order = all.clone();
            order.insert(at, from);
            orders.push((format!("session {from} replayed at {at}"), order));
        }
    }
    for (what, order) in &orders {
        let log = rearranged(&sessions, order);
        let anchored_report = verify_with(&log, &ring, anchored.clone());
        assert!(!anchored_report.is_clean(), "{what}, anchored: clean");
        // Without the anchor, only a deletion of the first or the last session passes (the
        // ends are invisible to a chain walk, FORMAT.md §8).
        let plain = verify(&log, &ring);
        let at_an_end = what == "session 0 deleted" || what == "session 5 deleted";
        assert_eq!(plain.is_clean(), at_an_end, "{what}: {plain}");
    }
}
