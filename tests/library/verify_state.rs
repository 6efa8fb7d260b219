//! A log verified in runs (a saved state between them) and in parts (states merged) finds what
//! one run over every file finds. Threats: a deletion at the boundary between two runs or two
//! parts going unseen; a file read again after logrotate renamed it passing for copied lines;
//! a deletion hidden by editing the saved state.

use enclog::read::Decryptor;
use enclog::seal::Rotation;
use enclog::verify::{
    Finding, FindingKind, Report, StateError, StateKey, Verifier, VerifyOptions, VerifyState,
};
use enclog::{Identity, Key, Keyring, Opener, Sealer};

/// Lines of a writer whose sessions rotate every 4 events: `sessions` sessions of 4 events and
/// a close record each (5 lines), the last one closed only if `close`.
fn rotating_log(key: &Key, sessions: usize, close: bool) -> Vec<Vec<u8>> {
    let sealer = Sealer::with_rotation(key.clone(), Rotation::default().max_lines(4));
    let mut log = Vec::new();
    for i in 0..sessions * 4 {
        sealer
            .seal_to(None, format!("event {i}").as_bytes(), &mut log)
            .unwrap();
    }
    if close {
        sealer.close_to(&mut log).unwrap();
    }
    log.split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// A finding as compared between runs: everything but nothing hidden.
fn sig(f: &Finding) -> String {
    format!(
        "{} at {} session {:?} seq {:?} missing {:?} through {:?} related {:?}: {}",
        f.kind.as_str(),
        f.at,
        f.session.map(|s| s.to_string()),
        f.seq,
        f.missing,
        f.through.as_ref().map(ToString::to_string),
        f.related.as_ref().map(ToString::to_string),
        f.message
    )
}

fn sigs<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<String> {
    let mut out: Vec<String> = findings.into_iter().map(sig).collect();
    out.sort();
    out
}

/// What the merge promises whatever the order: the kind, session and numbers of each finding.
fn what(f: &Finding) -> String {
    format!(
        "{} session {:?} seq {:?} missing {:?}",
        f.kind.as_str(),
        f.session.map(|s| s.to_string()),
        f.seq,
        f.missing
    )
}

fn whats(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = report.findings.iter().map(what).collect();
    out.sort();
    out
}

fn one_run(files: &[(&str, &[u8])], ring: &Keyring, options: VerifyOptions) -> Report {
    let mut verifier = Verifier::with_options(options);
    for (name, bytes) in files {
        verifier
            .observe_all(name, &mut Decryptor::new(*bytes, ring.clone()))
            .unwrap();
    }
    verifier.finish()
}

/// Verifies each group of files in a run of its own, the state saved, sealed and opened again
/// between runs; the last run is final. Returns each run's report.
fn runs(groups: &[&[(&str, &[u8])]], key: &Key, options: VerifyOptions) -> Vec<Report> {
    let ring = Keyring::from(key.clone());
    let mut opener = Opener::new(ring.clone());
    let mut sealed: Option<Vec<u8>> = None;
    let mut reports = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let mut verifier = match &sealed {
            Some(bytes) => {
                Verifier::resume(VerifyState::open(bytes, &ring).unwrap(), options.clone())
            }
            None => Verifier::with_options(options.clone()),
        };
        for (name, bytes) in group.iter() {
            verifier.observe_file(name, *bytes, &mut opener).unwrap();
        }
        reports.push(if i + 1 == groups.len() {
            verifier.checkpoint_final()
        } else {
            verifier.checkpoint()
        });
        sealed = Some(verifier.state().seal(&StateKey::from_key(key)));
    }
    reports
}

/// The ways the boundary between two files can be damaged, each as (what, file 1, file 2).
fn damaged_boundaries(key: &Key) -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let lines = rotating_log(key, 4, true); // 20 lines, sessions at lines 1, 6, 11, 16
    let split = |lines: &[Vec<u8>], at: usize| (lines[..at].concat(), lines[at..].concat());
    let mut cases = Vec::new();
    let (a, b) = split(&lines, 8);
    cases.push(("clean", a, b));
    for (what, remove, at) in [
        ("the last line of the first file deleted", 7, 7),
        ("the first line of the second file deleted", 8, 8),
        ("the session at the boundary deleted whole", 10, 10),
    ] {
        let mut kept = lines.clone();
        if what.contains("whole") {
            kept.drain(5..10); // the second session: lines 6..=10
        } else {
            kept.remove(remove);
        }
        let (a, b) = split(&kept, at.min(kept.len()));
        cases.push((what, a, b));
    }
    let mut unclosed = lines.clone();
    unclosed.pop();
    let (a, b) = split(&unclosed, 8);
    cases.push(("the last session not closed", a, b));
    let mut copied = lines.clone();
    copied.insert(12, lines[3].clone()); // a line of the first file copied into the second
    let (a, b) = split(&copied, 8);
    cases.push(("a line of the first file copied into the second", a, b));
    cases
}

#[test]
fn two_runs_with_a_state_find_what_one_run_over_both_files_finds() {
    let key = Key::generate().unwrap();
    let ring = Keyring::from(key.clone());
    for (what, old, new) in damaged_boundaries(&key) {
        let files: [(&str, &[u8]); 2] = [("app.log.1", &old), ("app.log", &new)];
        let single = one_run(&files, &ring, VerifyOptions::default());
        let reports = runs(&[&files[..1], &files[1..]], &key, VerifyOptions::default());
        let union = sigs(reports.iter().flat_map(|r| &r.findings));
        assert_eq!(union, sigs(&single.findings), "{what}");
        assert_eq!(single.is_clean(), what == "clean", "{what}: {single}");
        // The lines are counted once over the runs.
        assert_eq!(
            reports.iter().map(|r| r.lines).sum::<u64>(),
            single.lines,
            "{what}"
        );
    }
}

#[test]
fn a_line_deleted_at_the_boundary_is_named_between_the_two_files() {
    let key = Key::generate().unwrap();
    let lines = rotating_log(&key, 2, true); // 10 lines: seq 0..=4, then 0..=4
    let old = lines[..3].concat(); // seq 0, 1, 2
    let new = lines[4..].concat(); // seq 3 deleted; seq 4 (the close record) first
    let files: [(&str, &[u8]); 2] = [("app.log.1", &old), ("app.log", &new)];
    let reports = runs(&[&files[..1], &files[1..]], &key, VerifyOptions::default());
    assert!(reports[0].is_clean(), "{}", reports[0]);
    let missing = &reports[1].findings[0];
    assert_eq!(missing.kind, FindingKind::Missing);
    assert_eq!(missing.missing, Some(3..=3));
    assert_eq!(missing.at.to_string(), "app.log:1");
    assert_eq!(missing.related.as_ref().unwrap().to_string(), "app.log.1:3");
    assert!(
        missing
            .message
            .contains("never appeared between app.log.1:3 and app.log:1"),
        "{}",
        missing.message
    );
}

/// Runs of a cron job over one writer's log, with the file rotated (renamed) between runs and
/// a run twice between rotations: nothing is read twice, nothing is a copy, and lines added to
/// a file after it was verified are read.
#[test]
fn a_file_read_again_after_logrotate_renamed_it_is_not_a_copy() {
    let key = Key::generate().unwrap();
    let lines = rotating_log(&key, 3, true); // 15 lines
    let live = VerifyOptions::default().allow_open_sessions(true);
    // Monday 01:00: app.log holds 4 lines. 02:00: 6. Then logrotate: app.log.1 holds the 8
    // lines written before the writer moved to the new app.log, which gets the rest.
    let monday = lines[..4].concat();
    let later = lines[..6].concat();
    let rotated = lines[..8].concat();
    let current = lines[8..].concat();
    let reports = runs(
        &[
            &[("app.log", &monday)],
            &[("app.log", &later)],
            &[("app.log", &later)], // cron ran twice
            &[("app.log.1", &rotated), ("app.log", &current)],
        ],
        &key,
        live,
    );
    for report in &reports {
        assert!(report.is_clean(), "{report}: {:#?}", report.findings);
    }
    let lines_read: Vec<u64> = reports.iter().map(|r| r.lines).collect();
    assert_eq!(lines_read, [4, 2, 0, 9]);

    // What observe_file says of each file.
    let ring = Keyring::from(key.clone());
    let mut opener = Opener::new(ring.clone());
    let mut first = Verifier::with_options(VerifyOptions::default().allow_open_sessions(true));
    first
        .observe_file("app.log", &later[..], &mut opener)
        .unwrap();
    let state = first.state();
    let mut next = Verifier::resume(state, VerifyOptions::default());
    let read = next
        .observe_file("app.log.1", &rotated[..], &mut opener)
        .unwrap();
    assert_eq!(read.known_as.as_deref(), Some("app.log"));
    assert_eq!((read.lines_skipped, read.lines_read), (6, 2));
    assert_eq!(read.bytes_skipped, later.len() as u64);
    let read = next
        .observe_file("app.log", &current[..], &mut opener)
        .unwrap();
    assert_eq!((read.known_as, read.lines_skipped), (None, 0));
    assert!(next.finish().is_clean());
}

/// A line being written when the run reads it (no newline yet) is left to the next run, which
/// reads it whole: not a cut line, not a copy.
#[test]
fn a_last_line_still_being_written_is_read_whole_by_the_next_run() {
    let key = Key::generate().unwrap();
    let lines = rotating_log(&key, 1, true);
    let mut partial = lines[..2].concat();
    partial.extend_from_slice(&lines[2][..lines[2].len() / 2]);
    let whole = lines.concat();
    let live = VerifyOptions::default().allow_open_sessions(true);
    let reports = runs(
        &[&[("app.log", &partial)], &[("app.log", &whole)]],
        &key,
        live,
    );
    assert!(reports.iter().all(Report::is_clean), "{reports:#?}");
    assert_eq!((reports[0].lines, reports[1].lines), (2, 3));
}

/// Threat: whoever can edit the state hides a deletion (a gap marked as read). The state is
/// sealed with a key of the verifier's keyring: any edit is refused, with what to do.
#[test]
fn a_state_edited_by_hand_is_refused() {
    let key = Key::generate().unwrap();
    let ring = Keyring::from(key.clone());
    let lines = rotating_log(&key, 1, true);
    let mut verifier = Verifier::new();
    verifier
        .observe_file(
            "app.log",
            &lines.concat()[..],
            &mut Opener::new(ring.clone()),
        )
        .unwrap();
    let sealed = verifier.state().seal(&StateKey::from_key(&key));
    assert!(VerifyState::open(&sealed, &ring).is_ok());

    for at in [25, 26, sealed.len() / 2, sealed.len() - 1] {
        let mut edited = sealed.clone();
        edited[at] ^= 0x01;
        let err = VerifyState::open(&edited, &ring).unwrap_err();
        assert!(
            matches!(err, StateError::Unauthenticated { .. }),
            "byte {at}: {err:?}"
        );
        assert!(
            err.to_string().contains("fails authentication")
                && err
                    .to_string()
                    .contains("delete it and verify the whole log again"),
            "{err}"
        );
    }
    // Cut short, or bytes added: refused the same way.
    for edited in [
        sealed[..sealed.len() - 1].to_vec(),
        [&sealed[..], b"\n"].concat(),
    ] {
        let err = VerifyState::open(&edited, &ring).unwrap_err();
        assert!(matches!(err, StateError::Unauthenticated { .. }), "{err:?}");
    }
    // Its key id changed: it names a key not given.
    let mut renamed = sealed.clone();
    renamed[21] ^= 0x01;
    let err = VerifyState::open(&renamed, &ring).unwrap_err();
    assert!(matches!(err, StateError::UnknownKey { .. }), "{err:?}");
    assert!(err.to_string().contains("give that key"), "{err}");
    // Sealed under another key: that key is needed.
    let other = Key::generate().unwrap();
    let err = VerifyState::open(&sealed, &Keyring::from(other)).unwrap_err();
    assert!(matches!(err, StateError::UnknownKey { .. }), "{err:?}");
    // Another version, or not a state at all.
    let mut newer = sealed.clone();
    newer[20] = 9;
    assert!(matches!(
        VerifyState::open(&newer, &ring).unwrap_err(),
        StateError::Version { version: 9, .. }
    ));
    assert!(matches!(
        VerifyState::open(&lines[0], &ring).unwrap_err(),
        StateError::NotAState { .. }
    ));
}

#[test]
fn an_identity_seals_the_state_in_the_recipient_mode() {
    let identity = Identity::generate().unwrap();
    let sealer = Sealer::new(identity.recipient());
    let mut log = sealer.seal_line(b"event").unwrap();
    sealer.close_to(&mut log).unwrap();
    let ring = Keyring::from(identity.clone());
    let mut verifier = Verifier::new();
    verifier
        .observe_file("app.log", &log[..], &mut Opener::new(ring.clone()))
        .unwrap();
    let key = StateKey::from_keyring(&ring, None).unwrap();
    assert_eq!(key.id(), identity.id());
    let state = VerifyState::open(&verifier.state().seal(&key), &ring).unwrap();
    assert_eq!((state.key_id(), state.sessions()), (Some(identity.id()), 1));
}

/// Three hosts, each with its own writer and three rotated files; shards verified apart.
struct Archive {
    files: Vec<(String, Vec<u8>)>,
    ring: Keyring,
}

impl Archive {
    fn new() -> Archive {
        let key = Key::generate().unwrap();
        let mut files = Vec::new();
        for host in ["web1", "web2", "db1"] {
            let lines = rotating_log(&key, 6, true); // 30 lines: 3 files of 2 sessions
            for (i, chunk) in lines.chunks(10).enumerate() {
                files.push((format!("{host}/app.log.{}", 2 - i), chunk.concat()));
            }
        }
        Archive {
            files,
            ring: Keyring::from(key),
        }
    }

    fn file(&self, name: &str) -> &[u8] {
        &self.files.iter().find(|(n, _)| n == name).unwrap().1
    }

    fn edit(&mut self, name: &str, edit: impl FnOnce(&mut Vec<Vec<u8>>)) {
        let file = &mut self.files.iter_mut().find(|(n, _)| n == name).unwrap().1;
        let mut lines: Vec<Vec<u8>> = file
            .split_inclusive(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect();
        edit(&mut lines);
        *file = lines.concat();
    }

    fn options() -> VerifyOptions {
        VerifyOptions::default().allow_new_chains(true) // three writers
    }

    fn one_run(&self) -> Report {
        let files: Vec<(&str, &[u8])> = self
            .files
            .iter()
            .map(|(n, b)| (n.as_str(), &b[..]))
            .collect();
        one_run(&files, &self.ring, Archive::options())
    }

    /// The state of a shard: the files named, in that order.
    fn shard(&self, names: &[&str]) -> VerifyState {
        let mut verifier = Verifier::with_options(Archive::options());
        let mut opener = Opener::new(self.ring.clone());
        for name in names {
            verifier
                .observe_file(name, self.file(name), &mut opener)
                .unwrap();
        }
        // Through the sealed bytes, as a shard's state travels.
        let key = StateKey::from_keyring(&self.ring, None).unwrap();
        VerifyState::open(&verifier.state().seal(&key), &self.ring).unwrap()
    }

    fn merged(&self, shards: &[&[&str]]) -> Report {
        let mut verifier = Verifier::with_options(Archive::options());
        for names in shards {
            verifier.merge(self.shard(names));
        }
        verifier.finish()
    }
}

const SHARD_1: &[&str] = &[
    "web1/app.log.2",
    "web1/app.log.1",
    "web1/app.log.0",
    "web2/app.log.2",
];
const SHARD_2: &[&str] = &["web2/app.log.1", "web2/app.log.0", "db1/app.log.2"];
const SHARD_3: &[&str] = &["db1/app.log.1", "db1/app.log.0"];

#[test]
fn shards_of_a_clean_archive_merge_clean_in_any_order() {
    let archive = Archive::new();
    assert!(archive.one_run().is_clean());
    for order in [
        [SHARD_1, SHARD_2, SHARD_3],
        [SHARD_3, SHARD_1, SHARD_2],
        [SHARD_2, SHARD_3, SHARD_1],
    ] {
        let report = archive.merged(&order);
        assert!(report.is_clean(), "{report}: {:#?}", report.findings);
        assert_eq!((report.lines, report.sessions, report.chains), (90, 18, 3));
    }
}

/// Threat: a whole session deleted where two shards meet (web2's session at the end of
/// web2/app.log.2, in shard 1; its successor is in shard 2).
#[test]
fn a_session_deleted_at_a_shard_boundary_is_found_with_its_place() {
    let mut archive = Archive::new();
    archive.edit("web2/app.log.2", |lines| {
        lines.drain(5..10);
    });
    let single = archive.one_run();
    assert_eq!(single.count(FindingKind::MissingSessions), 1, "{single}");
    let found = single
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::MissingSessions)
        .unwrap();
    assert_eq!(found.at.to_string(), "web2/app.log.1:1");
    assert_eq!(
        found.related.as_ref().unwrap().to_string(),
        "web2/app.log.2:5"
    );

    let in_order = archive.merged(&[SHARD_1, SHARD_2, SHARD_3]);
    assert_eq!(sigs(&in_order.findings), sigs(&single.findings));
    for order in [[SHARD_2, SHARD_1, SHARD_3], [SHARD_3, SHARD_2, SHARD_1]] {
        let report = archive.merged(&order);
        assert_eq!(whats(&report), whats(&single), "{report}");
        let found = report
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::MissingSessions)
            .unwrap();
        assert_eq!(found.at.to_string(), "web2/app.log.1:1");
    }
}

/// Threat: lines copied into another part of an archive (or one file given to two shards).
#[test]
fn a_duplicate_across_shards_is_found_in_any_order() {
    let mut archive = Archive::new();
    // A copy of web2/app.log.2 (in shard 1) where shard 2 starts.
    let copy = archive.file("web2/app.log.2").to_vec();
    archive.files.push(("copy/web2/app.log.2".into(), copy));
    let with_copy: Vec<&str> = [&["copy/web2/app.log.2"][..], SHARD_2].concat();
    let mut files: Vec<(&str, &[u8])> = Vec::new();
    for name in SHARD_1.iter().chain(&with_copy).chain(SHARD_3) {
        files.push((name, archive.file(name)));
    }
    let single = one_run(&files, &archive.ring, Archive::options());
    assert_eq!(single.count(FindingKind::Duplicate), 2, "{single}"); // one per session
    let in_order = archive.merged(&[SHARD_1, &with_copy, SHARD_3]);
    assert_eq!(sigs(&in_order.findings), sigs(&single.findings));
    let reversed = archive.merged(&[SHARD_3, &with_copy, SHARD_1]);
    assert_eq!(whats(&reversed), whats(&single));
}

#[test]
fn merging_is_commutative_and_associative_for_missing_duplicate_unclosed_and_chain_findings() {
    let mut archive = Archive::new();
    // A line deleted where web1's files meet, db1's last session never closed, and a line of
    // web2 copied into db1's files.
    archive.edit("web1/app.log.1", |lines| {
        lines.remove(0);
    });
    archive.edit("db1/app.log.0", |lines| {
        lines.pop();
    });
    let copied = archive.file("web2/app.log.1").to_vec();
    archive.edit("db1/app.log.2", |lines| {
        lines.insert(
            3,
            copied
                .split_inclusive(|&b| b == b'\n')
                .nth(2)
                .unwrap()
                .to_vec(),
        );
    });
    let single = archive.one_run();
    for kind in [
        FindingKind::Missing,
        FindingKind::Unclosed,
        FindingKind::Duplicate,
    ] {
        assert_eq!(single.count(kind), 1, "{kind:?}: {single}");
    }
    let expected = whats(&single);
    let (a, b, c) = (SHARD_1, SHARD_2, SHARD_3);
    for order in [
        [a, b, c],
        [a, c, b],
        [b, a, c],
        [b, c, a],
        [c, a, b],
        [c, b, a],
    ] {
        assert_eq!(whats(&archive.merged(&order)), expected, "{order:?}");
    }
    // (a + b) + c and a + (b + c), each merge saved and sealed as a state of its own.
    let key = StateKey::from_keyring(&archive.ring, None).unwrap();
    let pair = |x: &[&str], y: &[&str]| {
        let mut v = Verifier::with_options(Archive::options());
        v.merge(archive.shard(x));
        v.merge(archive.shard(y));
        VerifyState::open(&v.state().seal(&key), &archive.ring).unwrap()
    };
    let mut left = Verifier::with_options(Archive::options());
    left.merge(pair(a, b));
    left.merge(archive.shard(c));
    let mut right = Verifier::with_options(Archive::options());
    right.merge(archive.shard(a));
    right.merge(pair(b, c));
    assert_eq!(whats(&left.finish()), expected);
    assert_eq!(whats(&right.finish()), expected);
}

/// Without new chains allowed, three writers' logs are two new chains (the first one starts
/// the input), whichever shard is merged first.
#[test]
fn three_writers_merged_are_two_new_chains_in_any_order() {
    let archive = Archive::new();
    let strict = |order: &[&[&str]]| {
        let mut verifier = Verifier::new();
        for names in order {
            let mut part = Verifier::new();
            let mut opener = Opener::new(archive.ring.clone());
            for name in *names {
                part.observe_file(name, archive.file(name), &mut opener)
                    .unwrap();
            }
            verifier.merge(part.state());
        }
        verifier.finish()
    };
    let files: Vec<(&str, &[u8])> = (archive.files.iter())
        .map(|(n, b)| (n.as_str(), &b[..]))
        .collect();
    let single = one_run(&files, &archive.ring, VerifyOptions::default());
    assert_eq!(single.count(FindingKind::NewChain), 2, "{single}");
    assert_eq!(single.findings_total, 2);
    for order in [[SHARD_1, SHARD_2, SHARD_3], [SHARD_3, SHARD_2, SHARD_1]] {
        let report = strict(&order);
        assert_eq!(report.count(FindingKind::NewChain), 2, "{report}");
        assert_eq!(report.findings_total, 2, "{:#?}", report.findings);
    }
}
