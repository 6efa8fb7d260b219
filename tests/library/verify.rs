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
    let bytes = log(100).concat();
    let report = verify(&bytes);
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!(report.lines, 101);
    assert_eq!(report.events, 100);
    assert_eq!(report.close_records, 1);
    assert_eq!(report.plain_lines, 0);
    assert_eq!(report.unauthenticated_text, 0);
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

/// Two writers sharing one file (two lineages: new chains allowed).
#[test]
fn interleaved_sessions_are_checked_apart() {
    let (a, b) = (Sealer::new(key().clone()), Sealer::new(key().clone()));
    let (la, lb) = (session_lines(&a, 20, true), session_lines(&b, 20, true));
    let mut lines: Vec<Vec<u8>> = la
        .iter()
        .zip(&lb)
        .flat_map(|(x, y)| [x.clone(), y.clone()])
        .collect();
    let shared = || VerifyOptions::default().allow_new_chains(true);
    let report = verify_with(&[("app.log", &lines.concat())], shared());
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!((report.sessions, report.closed_sessions), (2, 2));

    // Line 12 is session b's seq 5.
    lines.remove(11);
    let report = verify_with(&[("app.log", &lines.concat())], shared());
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

    // Files in the wrong order: the older file's lines are out of order, as one run.
    let report = verify_with(&[("app.log", &new), ("app.log.1", &old)], opts());
    assert_eq!(report.count(FindingKind::OutOfOrder), 1);
    assert_eq!(report.count(FindingKind::Missing), 0);
    assert_eq!(&*report.findings[0].at.file, "app.log.1");

    // The same file twice: the copy's lines are duplicates, as one run pointing at the first
    // copy in the other file.
    let report = verify_with(
        &[("app.log.1", &old), ("copy", &old), ("app.log", &new)],
        opts(),
    );
    assert_eq!(report.count(FindingKind::Duplicate), 1);
    assert_eq!(report.findings_total, 1);
    let first = &report.findings[0];
    assert_eq!(first.at.to_string(), "copy:1");
    assert_eq!(first.through.as_ref().unwrap().to_string(), "copy:10");
    assert_eq!(first.related.as_ref().unwrap().to_string(), "app.log.1:1");
    assert!(
        first.message.starts_with("seq 0..=9 of session")
            && first
                .message
                .contains("(10 lines, through copy:10) appear again (first at app.log.1:1)"),
        "{}",
        first.message
    );
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

/// Threat: forged plain text passing for part of the log. The line carries no token, so
/// nothing in it is authenticated: a finding unless plain lines are allowed.
#[test]
fn a_plain_line_is_a_finding_unless_plain_lines_are_allowed() {
    let mut bytes = b"plain startup banner\n".to_vec();
    bytes.extend(log(100).concat());
    let report = verify(&bytes);
    assert_eq!(kinds(&report), [(FindingKind::PlainLine, 1)]);
    assert_eq!(report.plain_lines, 1);
    assert!(report.findings[0].message.contains("allow plain lines"));
    assert!(report.to_string().ends_with(": 1 plain_line"), "{report}");

    let allowed = VerifyOptions::default().allow_plain_lines(true);
    let report = verify_with(&[("app.log", &bytes)], allowed);
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!(report.plain_lines, 1);
}

/// A file of nothing but plain lines is never clean, and is one finding, not one per line
/// (blank lines neither count nor break the run).
#[test]
fn a_file_of_plain_lines_is_one_finding_and_never_clean() {
    let mut bytes = Vec::new();
    for i in 0..1000 {
        bytes.extend_from_slice(format!("ERROR payment {i} failed\n").as_bytes());
        if i % 100 == 0 {
            bytes.extend_from_slice(b"\n \r\n");
        }
    }
    let report = verify(&bytes);
    assert!(!report.is_clean());
    assert_eq!(kinds(&report), [(FindingKind::PlainLine, 1)]);
    let run = &report.findings[0];
    assert_eq!(run.through.as_ref().unwrap().line, 1020);
    assert!(
        run.message
            .starts_with("1000 lines, from here through line 1020,")
    );

    // A plain run ends at an enclog line: two runs, two findings.
    let mut bytes = b"one\ntwo\n".to_vec();
    bytes.extend(log(3).concat());
    bytes.extend_from_slice(b"three\n");
    let report = verify(&bytes);
    assert_eq!(
        kinds(&report),
        [(FindingKind::PlainLine, 1), (FindingKind::PlainLine, 7)]
    );
    // The cut last line of a crashed writer stays `truncated`, not plain text.
    let report = verify(b"INFO encl");
    assert_eq!(kinds(&report), [(FindingKind::Truncated, 1)]);
}

/// Threat: words put before or after a valid token reading as part of the event. Counted
/// always; a finding (one per run) in strict mode. Matching clear metadata is authenticated.
#[test]
fn text_around_a_token_is_counted_and_a_finding_when_strict() {
    let lines = log(5); // clear metadata on every line: not counted
    let mut bytes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if (1..=2).contains(&i) {
            bytes.extend_from_slice(b"web1 app[7]: ");
        }
        bytes.extend_from_slice(line);
        if i == 4 {
            bytes.pop();
            bytes.extend_from_slice(b" (user=root)\n");
        }
    }
    let report = verify(&bytes);
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!(report.unauthenticated_text, 3);
    assert!(
        report
            .to_string()
            .contains("3 with unauthenticated text around the token"),
        "{report}"
    );

    let strict = VerifyOptions::default().strict(true);
    let report = verify_with(&[("app.log", &bytes)], strict);
    assert_eq!(
        kinds(&report),
        [
            (FindingKind::UnauthenticatedText, 2),
            (FindingKind::UnauthenticatedText, 5)
        ]
    );
    assert_eq!(report.findings[0].through.as_ref().unwrap().line, 3);
}

/// zato-enclog lines have no sequence numbers: the report says they were not checked.
#[test]
fn zato_lines_are_counted_as_unsequenced() {
    let key = enclog::fernet::FernetKey::generate().unwrap();
    let mut bytes = Vec::new();
    for _ in 0..3 {
        key.seal(b"event", &mut bytes).unwrap();
        bytes.push(b'\n');
    }
    let mut verifier = Verifier::new();
    let mut reader = Decryptor::new(&bytes[..], Keyring::from(key));
    verifier.observe_all("app.log", &mut reader).unwrap();
    let report = verifier.finish();
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!((report.unsequenced, report.sessions), (3, 0));
    assert!(report.to_string().contains("3 unsequenced (zato-enclog)"));
}

/// Files given newest first (`app.log app.log.1 app.log.2`, as a shell glob sorts them): one
/// finding per older file, with a hint naming the right order, not one finding per line.
#[test]
fn files_given_newest_first_give_a_finding_per_file_with_a_hint() {
    let sealer = Sealer::new(key().clone());
    let oldest = session_lines(&sealer, 100, false).concat();
    let older = session_lines(&sealer, 100, false).concat();
    let new = session_lines(&sealer, 100, true).concat();
    let files = [
        ("app.log", &new[..]),
        ("app.log.1", &older[..]),
        ("app.log.2", &oldest[..]),
    ];
    let report = verify_with(&files, VerifyOptions::default());
    assert_eq!(
        kinds(&report),
        [(FindingKind::OutOfOrder, 1), (FindingKind::OutOfOrder, 1)]
    );
    let first = &report.findings[0];
    assert_eq!(&*first.at.file, "app.log.1");
    assert_eq!(first.through.as_ref().unwrap().to_string(), "app.log.1:100");
    assert!(
        first.message.starts_with("seq 100..=199 of session")
            && first.message.contains("(100 lines, through app.log.1:100)")
            && first.message.ends_with(
                "the files seem to be given newest first: give them oldest first \
                 (app.log.2 app.log.1 app.log)"
            ),
        "{}",
        first.message
    );
    assert_eq!(&*report.findings[1].at.file, "app.log.2");

    // Two moved lines in one file are not a newest-first hint, nor is a line of the older
    // file moved into the middle of the newer one.
    let mut lines = log(30);
    lines.swap(19, 20);
    let report = verify(&lines.concat());
    assert!(!report.findings[0].message.contains("newest first"));
    let lines = log(30);
    let (old, new) = lines.split_at(10);
    let mut new = new.to_vec();
    let mut old = old.to_vec();
    new.insert(5, old.remove(3));
    let report = verify_with(
        &[("app.log.1", &old.concat()), ("app.log", &new.concat())],
        VerifyOptions::default(),
    );
    let moved = only(&report, FindingKind::OutOfOrder);
    assert_eq!(moved.at.to_string(), "app.log:6");
    assert!(!moved.message.contains("newest first"), "{}", moved.message);
}

/// Seals `plaintext` (or a close record) with raw key `key` under `session` at `seq` (not 0),
/// as FORMAT.md §3–§4 say (version 2), the way a holder of that key could forge a line of any
/// session.
fn forge(key: &[u8; 32], session: [u8; 16], seq: u64, close: bool, plaintext: &[u8]) -> Vec<u8> {
    use base64::Engine;
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};

    use hmac::{KeyInit as _, Mac};
    assert!(
        seq > 0,
        "a session's first record carries its link: not forged here"
    );
    let id = Key::from_bytes(zeroize::Zeroizing::new(*key)).id();
    // A version 2 header (FORMAT.md §3): vm, type, key id, key commitment, session, seq.
    let mut header = vec![0x21, u8::from(close)];
    header.extend_from_slice(&id.to_bytes());
    let mut commit = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    commit.update(b"enclog-v2 commit");
    commit.update(&session);
    header.extend_from_slice(&commit.finalize().into_bytes()[..16]);
    header.extend_from_slice(&session);
    let mut v = seq;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            header.push(byte);
            break;
        }
        header.push(byte | 0x80);
    }
    let mut nonce = session.to_vec();
    nonce.extend_from_slice(&seq.to_be_bytes());
    let sealed = XChaCha20Poly1305::new_from_slice(key)
        .unwrap()
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &header,
            },
        )
        .unwrap();
    header.extend_from_slice(&sealed);
    let mut line = b"enclog:".to_vec();
    line.extend_from_slice(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(&header)
            .as_bytes(),
    );
    line.push(b'\n');
    line
}

/// Threat: a holder of a second key of the keyring replacing a line of a session written
/// under the first key, with a forged close record. Sessions are told apart by key and id: the
/// forged lines are `key_changed`, the replaced line is missing, the session unclosed.
#[test]
fn a_line_sealed_with_another_key_inside_a_session_is_a_finding() {
    let (raw_a, raw_b) = ([0xa1; 32], [0xb2; 32]);
    let key_a = Key::from_bytes(zeroize::Zeroizing::new(raw_a));
    let key_b = Key::from_bytes(zeroize::Zeroizing::new(raw_b));
    let mut lines = session_lines(&Sealer::new(key_a.clone()), 5, false);
    let session = {
        let mut opener = enclog::Opener::new(Keyring::from(key_a.clone()));
        opener
            .open(&lines[0])
            .unwrap()
            .unwrap()
            .sequence
            .unwrap()
            .session
    };
    let session_bytes: [u8; 16] = session.to_bytes();
    // The forgery itself opens: a keyring holding both keys cannot tell it from a real line.
    lines[2] = forge(&raw_b, session_bytes, 2, false, b"transfer approved");
    lines.push(forge(&raw_b, session_bytes, 5, true, b""));
    let mut ring = Keyring::from(key_a);
    ring.add(key_b.clone());
    let mut verifier = Verifier::new();
    let bytes = lines.concat();
    verifier
        .observe_all("app.log", &mut Decryptor::new(&bytes[..], ring))
        .unwrap();
    let report = verifier.finish();
    assert_eq!((report.events, report.failed_lines), (5, 0));
    assert_eq!(
        kinds(&report),
        [
            (FindingKind::KeyChanged, 3),
            (FindingKind::Missing, 4),
            (FindingKind::Unclosed, 5),
            (FindingKind::KeyChanged, 6),
        ]
    );
    let changed = &report.findings[0];
    assert_eq!(changed.session, Some(session));
    assert!(
        changed.message.contains(&format!(
            "is sealed with key {}, but the session was written with key {} (first at \
                 app.log:1): a writer never changes key",
            key_b.id(),
            Key::from_bytes(zeroize::Zeroizing::new(raw_a)).id()
        )),
        "{}",
        changed.message
    );
    assert_eq!(report.sessions, 1);
}
