//! The verifier against logs mutated the ways logs get damaged or tampered with.

use std::sync::OnceLock;

use enclog::read::Decryptor;
use enclog::verify::{Finding, FindingKind, Report, Verifier, VerifyOptions};
use enclog::{Key, Keyring, Sealer};
use proptest::prelude::*;

fn key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| Key::generate().unwrap())
}

/// `n` event lines (line `i + 1` holds seq `i`), then a close record if `close`.
fn session_lines(sealer: &Sealer, n: usize, close: bool) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for i in 0..n {
        let meta: &[u8] = if i % 3 == 0 { b"INFO" } else { b"DEBUG" };
        let mut line = Vec::new();
        sealer
            .seal_to(
                Some(meta),
                format!("event number {i}").as_bytes(),
                &mut line,
            )
            .unwrap();
        lines.push(line);
    }
    if close {
        let mut line = Vec::new();
        sealer.close_to(&mut line).unwrap();
        lines.push(line);
    }
    lines
}

fn log(n: usize) -> Vec<Vec<u8>> {
    session_lines(&Sealer::new(key().clone()), n, true)
}

fn verify_with(files: &[(&str, &[u8])], options: VerifyOptions) -> Report {
    let mut verifier = Verifier::with_options(options);
    for (name, bytes) in files {
        let mut reader = Decryptor::new(*bytes, Keyring::from(key().clone()));
        verifier.observe_all(name, &mut reader).unwrap();
    }
    verifier.finish()
}

fn verify(bytes: &[u8]) -> Report {
    verify_with(&[("app.log", bytes)], VerifyOptions::default())
}

fn session_of(line: &[u8]) -> enclog::format::SessionId {
    let mut opener = enclog::Opener::new(Keyring::from(key().clone()));
    opener
        .open(line)
        .unwrap()
        .unwrap()
        .sequence
        .unwrap()
        .session
}

fn kinds(report: &Report) -> Vec<(FindingKind, u64)> {
    report
        .findings
        .iter()
        .map(|f| (f.kind, f.at.line))
        .collect()
}

fn only(report: &Report, kind: FindingKind) -> &Finding {
    let found: Vec<_> = report.findings.iter().filter(|f| f.kind == kind).collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind:?} expected in {:#?}",
        report.findings
    );
    found[0]
}

#[test]
fn a_clean_closed_log_is_clean() {
    let mut bytes = b"plain startup banner\n".to_vec();
    bytes.extend(log(100).concat());
    let report = verify(&bytes);
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!(report.lines, 102);
    assert_eq!(report.events, 100);
    assert_eq!(report.close_records, 1);
    assert_eq!(report.plain_lines, 1);
    assert_eq!(
        (
            report.sessions,
            report.closed_sessions,
            report.open_sessions
        ),
        (1, 1, 0)
    );
    assert!(report.to_string().ends_with("clean"), "{report}");
}

#[test]
fn a_deleted_line_is_missing_where_the_gap_is_noticed() {
    let mut lines = log(100);
    let session = session_of(&lines[0]);
    lines.remove(56); // line 57, seq 56
    let report = verify(&lines.concat());
    assert_eq!(kinds(&report), [(FindingKind::Missing, 57)]);
    let missing = &report.findings[0];
    assert_eq!(missing.missing, Some(56..=56));
    assert_eq!(missing.session, Some(session));
    assert_eq!(&*missing.at.file, "app.log");
    assert!(missing.message.contains("seq 56 of session"), "{missing}");
    assert!(missing.message.contains("deleted"), "{missing}");
}

#[test]
fn a_deleted_range_is_one_finding() {
    let mut lines = log(50);
    lines.drain(10..20);
    let report = verify(&lines.concat());
    assert_eq!(kinds(&report), [(FindingKind::Missing, 11)]);
    assert_eq!(report.findings[0].missing, Some(10..=19));
}

#[test]
fn a_deleted_first_line_says_earlier_lines_are_missing() {
    let mut lines = log(10);
    lines.remove(0);
    let report = verify(&lines.concat());
    let missing = only(&report, FindingKind::Missing);
    assert_eq!((missing.missing.clone(), missing.at.line), (Some(0..=0), 1));
    assert!(
        missing
            .message
            .contains("earlier lines are missing or in another file")
    );
}

#[test]
fn a_duplicated_line_names_its_first_occurrence() {
    let mut lines = log(30);
    lines.insert(10, lines[9].clone()); // line 10 copied as line 11
    let report = verify(&lines.concat());
    assert_eq!(kinds(&report), [(FindingKind::Duplicate, 11)]);
    let dup = &report.findings[0];
    assert_eq!(dup.seq, Some(9));
    assert_eq!(
        dup.related.as_ref().map(|l| l.to_string()).as_deref(),
        Some("app.log:10")
    );
}

#[test]
fn swapped_lines_are_out_of_order_and_nothing_is_missing() {
    let mut lines = log(30);
    lines.swap(19, 20); // lines 20 and 21
    let report = verify(&lines.concat());
    assert_eq!(kinds(&report), [(FindingKind::OutOfOrder, 21)]);
    let moved = &report.findings[0];
    assert_eq!(moved.seq, Some(19));
    assert_eq!(moved.related.as_ref().map(|l| l.line), Some(20));
}

#[test]
fn a_flipped_bit_is_corrupted_at_its_line_and_nothing_else() {
    let mut lines = log(40);
    // Line 30, inside the tag; the new character stays in the base64 alphabet, so the token
    // still decodes and fails only authentication.
    let at = lines[29].len() - 10;
    lines[29][at] = if lines[29][at] == b'A' { b'B' } else { b'A' };
    let report = verify(&lines.concat());
    assert_eq!(kinds(&report), [(FindingKind::Corrupted, 30)]);
    assert_eq!(report.findings[0].seq, Some(29));
    assert!(report.findings[0].message.contains("altered"));
}

#[test]
fn edited_clear_metadata_is_reported() {
    let mut lines = log(10);
    assert!(lines[3].starts_with(b"INFO "));
    lines[3].splice(0..4, *b"WARN");
    let report = verify(&lines.concat());
    assert_eq!(kinds(&report), [(FindingKind::MetadataMismatch, 4)]);
    assert!(report.findings[0].message.contains("\"INFO\""));
}

#[test]
fn a_cut_tail_is_truncated_and_unclosed() {
    let bytes = log(20).concat();
    let cut = &bytes[..bytes.len() - 10];
    let report = verify(cut);
    assert_eq!(
        kinds(&report),
        [(FindingKind::Truncated, 21), (FindingKind::Unclosed, 21)]
    );
    assert_eq!(report.findings[1].seq, Some(20));

    // Cut at a line boundary: only the missing close record tells.
    let lines = log(20);
    let report = verify(&lines[..15].concat());
    assert_eq!(kinds(&report), [(FindingKind::Unclosed, 15)]);
    let unclosed = &report.findings[0];
    assert_eq!(unclosed.seq, Some(14));
    assert!(unclosed.message.contains("crashed"), "{unclosed}");

    // Only the final newline cut: the record is intact but the file was cut.
    let report = verify(&bytes[..bytes.len() - 1]);
    assert_eq!(kinds(&report), [(FindingKind::Truncated, 21)]);
}

#[test]
fn a_live_log_may_have_open_sessions_and_a_line_being_written() {
    let sealer = Sealer::new(key().clone());
    let mut bytes = session_lines(&sealer, 10, false).concat();
    bytes.extend_from_slice(&sealer.seal_line(b"half written").unwrap()[..30]);
    let live = VerifyOptions::default().allow_open_sessions(true);
    let report = verify_with(&[("app.log", &bytes)], live.clone());
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!((report.open_sessions, report.closed_sessions), (1, 0));

    // Gaps are still findings in a live log.
    let mut lines = session_lines(&Sealer::new(key().clone()), 10, false);
    lines.remove(4);
    let report = verify_with(&[("app.log", &lines.concat())], live);
    assert_eq!(kinds(&report), [(FindingKind::Missing, 5)]);

    let report = verify(&bytes);
    assert_eq!(report.count(FindingKind::Unclosed), 1);
    assert_eq!(report.count(FindingKind::Truncated), 1);
}

#[test]
fn unknown_keys_and_malformed_tokens_are_reported_per_line() {
    let mut lines = log(5);
    let stranger = Sealer::new(Key::generate().unwrap())
        .seal_line(b"x")
        .unwrap();
    lines.insert(2, stranger);
    lines.insert(4, b"note enclog:AAAAAAAAAB\n".to_vec());
    let report = verify(&lines.concat());
    assert_eq!(
        kinds(&report),
        [(FindingKind::UnknownKey, 3), (FindingKind::Malformed, 5)]
    );
    assert!(report.findings[0].message.contains("add that key"));
    assert_eq!(report.failed_lines, 2);
    assert_eq!(report.sessions, 1);
}

#[test]
fn interleaved_sessions_are_checked_apart() {
    let (a, b) = (Sealer::new(key().clone()), Sealer::new(key().clone()));
    let (la, lb) = (session_lines(&a, 20, true), session_lines(&b, 20, true));
    let mut lines: Vec<Vec<u8>> = la
        .iter()
        .zip(&lb)
        .flat_map(|(x, y)| [x.clone(), y.clone()])
        .collect();
    let report = verify(&lines.concat());
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!((report.sessions, report.closed_sessions), (2, 2));

    // Line 12 is session b's seq 5.
    lines.remove(11);
    let report = verify(&lines.concat());
    assert_eq!(kinds(&report), [(FindingKind::Missing, 13)]);
    assert_eq!(report.findings[0].missing, Some(5..=5));
    assert_eq!(report.findings[0].session, Some(session_of(&lb[0])));
}

#[test]
fn a_log_spread_over_files_is_checked_in_the_order_given() {
    let sealer = Sealer::new(key().clone());
    let old = session_lines(&sealer, 10, false).concat();
    let new = session_lines(&sealer, 10, true).concat();
    let opts = VerifyOptions::default;

    let report = verify_with(&[("app.log.1", &old), ("app.log", &new)], opts());
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!(report.lines, 21);

    // Only the current file: the session's start is elsewhere.
    let report = verify_with(&[("app.log", &new)], opts());
    let missing = only(&report, FindingKind::Missing);
    assert_eq!(missing.missing, Some(0..=9));
    assert_eq!(missing.at.to_string(), "app.log:1");
    assert!(missing.message.contains("in another file"));

    // Files in the wrong order: every line of the older file is out of order.
    let report = verify_with(&[("app.log", &new), ("app.log.1", &old)], opts());
    assert_eq!(report.count(FindingKind::OutOfOrder), 10);
    assert_eq!(report.count(FindingKind::Missing), 0);
    assert_eq!(&*report.findings[0].at.file, "app.log.1");

    // The same file twice: duplicates, each pointing at the first copy in the other file.
    let report = verify_with(
        &[("app.log.1", &old), ("copy", &old), ("app.log", &new)],
        opts(),
    );
    assert_eq!(report.count(FindingKind::Duplicate), 10);
    assert_eq!(report.findings_total, 10);
    let first = &report.findings[0];
    assert_eq!(first.at.to_string(), "copy:1");
    assert_eq!(first.related.as_ref().unwrap().to_string(), "app.log.1:1");
}

/// A way a log gets damaged.
#[derive(Clone, Debug)]
enum Mutation {
    Delete(usize),
    Duplicate(usize),
    Swap(usize),
    BitFlip { line: usize, byte: usize, bit: u8 },
    Truncate(usize),
}

fn mutation(lines: usize) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..lines).prop_map(Mutation::Delete),
        (0..lines).prop_map(Mutation::Duplicate),
        (0..lines - 1).prop_map(Mutation::Swap),
        (0..lines, any::<usize>(), 0..8u8).prop_map(|(line, byte, bit)| Mutation::BitFlip {
            line,
            byte,
            bit
        }),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Threat: deletion, replay, reordering, alteration and truncation of a stored log. Each
    /// single mutation is flagged, and at the line it happened.
    #[test]
    fn every_mutation_is_flagged((events, m) in (2usize..40).prop_flat_map(|n| (Just(n), mutation(n + 1)))) {
        let mut lines = log(events);
        let n = lines.len(); // events + the close record; line i + 1 holds seq i
        let line_no = |i: usize| i as u64 + 1;
        let bytes = match &m {
            Mutation::Delete(i) => { lines.remove(*i); lines.concat() }
            Mutation::Duplicate(i) => { lines.insert(i + 1, lines[*i].clone()); lines.concat() }
            Mutation::Swap(i) => { lines.swap(*i, i + 1); lines.concat() }
            Mutation::BitFlip { line, byte, bit } => {
                let len = lines[*line].len() - 1; // not the newline
                lines[*line][byte % len] ^= 1 << bit;
                lines.concat()
            }
            Mutation::Truncate(at) => {
                // Keep at least the first line (a file cut to a few bytes of plain-looking text
                // cannot tell), and cut at least two bytes (the newline alone is tested apart).
                let first = lines[0].len();
                let all = lines.concat();
                let keep = first + at % (all.len() - 1 - first);
                all[..keep].to_vec()
            }
        };
        let report = verify(&bytes);
        prop_assert!(!report.is_clean());
        let has = |kind: FindingKind, line: u64| {
            report.findings.iter().any(|f| f.kind == kind && f.at.line == line)
        };
        match m {
            Mutation::Delete(i) if i == n - 1 => prop_assert_eq!(kinds(&report), [(FindingKind::Unclosed, line_no(i - 1))]),
            Mutation::Delete(i) => {
                prop_assert_eq!(kinds(&report), [(FindingKind::Missing, line_no(i))]);
                prop_assert_eq!(report.findings[0].missing.clone(), Some(i as u64..=i as u64));
            }
            Mutation::Duplicate(i) => {
                prop_assert_eq!(kinds(&report), [(FindingKind::Duplicate, line_no(i + 1))]);
                prop_assert_eq!(report.findings[0].related.as_ref().map(|l| l.line), Some(line_no(i)));
            }
            Mutation::Swap(i) => prop_assert_eq!(kinds(&report), [(FindingKind::OutOfOrder, line_no(i + 1))]),
            Mutation::BitFlip { line, .. } => {
                let at_line = report.findings.iter().any(|f| f.at.line == line_no(line) && f.kind != FindingKind::Unclosed);
                let seq_missing = report.findings.iter().any(|f| f.missing.as_ref().is_some_and(|r| r.contains(&(line as u64))));
                let close_lost = line == n - 1 && has(FindingKind::Unclosed, line_no(line - 1));
                prop_assert!(at_line || seq_missing || close_lost, "{:#?}", report.findings);
            }
            Mutation::Truncate(_) => {
                prop_assert!(report.count(FindingKind::Truncated) + report.count(FindingKind::Unclosed) > 0);
                prop_assert_eq!(report.count(FindingKind::Missing), 0);
            }
        }
    }
}
