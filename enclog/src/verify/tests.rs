use super::sequence::claimed_sequence;
use super::*;
use crate::format::{self, RecordKind};

const K: crate::key::KeyId = crate::key::KeyId([1; 4]);

fn at(line: u64) -> Loc {
    Loc { file: 0, line }
}

fn verifier() -> Verifier {
    let mut v = Verifier::new();
    v.file_index("t.log");
    v
}

#[test]
fn records_after_a_close_record_are_reported() {
    let mut v = verifier();
    let s = SessionId::from_bytes([7; 16]);
    v.sequenced(at(1), K, s, 0, RecordKind::Event);
    v.sequenced(at(2), K, s, 1, RecordKind::Close);
    v.sequenced(at(3), K, s, 2, RecordKind::Event);
    v.sequenced(at(4), K, s, 3, RecordKind::Close);
    let report = v.finish();
    assert_eq!(report.count(FindingKind::AfterClose), 2);
    assert_eq!(report.findings_total, 2);
    assert_eq!(report.findings[0].at.line, 3);
    assert_eq!(report.findings[0].related.as_ref().map(|l| l.line), Some(2));
    assert_eq!(report.closed_sessions, 1);
}

#[test]
fn gaps_split_and_fill() {
    let mut v = verifier();
    let s = SessionId::from_bytes([1; 16]);
    v.sequenced(at(1), K, s, 0, RecordKind::Event);
    v.sequenced(at(2), K, s, 10, RecordKind::Event);
    v.sequenced(at(3), K, s, 5, RecordKind::Event);
    v.sequenced(at(4), K, s, 1, RecordKind::Event);
    v.sequenced(at(5), K, s, 9, RecordKind::Event);
    let report = v.finish();
    let missing: Vec<_> = report
        .findings
        .iter()
        .filter_map(|f| f.missing.clone())
        .collect();
    assert_eq!(missing, [2..=4, 6..=8]);
    assert_eq!(report.count(FindingKind::OutOfOrder), 3);
}

#[test]
fn findings_past_the_cap_are_counted_not_kept() {
    let mut v = Verifier::with_options(VerifyOptions {
        max_findings: 2,
        ..VerifyOptions::default()
    });
    v.file_index("t.log");
    let s = SessionId::from_bytes([2; 16]);
    for line in 1..=5 {
        v.sequenced(at(line), K, s, 0, RecordKind::Event);
    }
    let report = v.finish();
    assert_eq!(report.count(FindingKind::Duplicate), 4);
    assert_eq!(report.findings.len(), 2);
    assert_eq!(report.findings_dropped(), 3); // 4 duplicates + unclosed, 2 kept
}

#[test]
fn a_header_claim_is_read_from_a_damaged_token() {
    let mut raw = b"enclog:".to_vec();
    let mut header = vec![0x11, 1, 2, 3, 4];
    header.extend_from_slice(&[9; 16]);
    header.extend_from_slice(&[0x96, 0x01]); // seq 150
    header.extend_from_slice(&[0; 20]);
    format::base64url::encode_append(&header, &mut raw);
    assert_eq!(
        claimed_sequence(&raw),
        Some((SessionId::from_bytes([9; 16]), 150))
    );
    assert_eq!(claimed_sequence(b"enclog:AAAAAAAAAAAA"), None);

    // Recipient mode: a 32-byte session field, named by its first 16 bytes.
    let mut header = vec![0x12, 1, 2, 3, 4];
    header.extend_from_slice(&[5; 16]);
    header.extend_from_slice(&[6; 16]);
    header.push(7);
    header.extend_from_slice(&[0; 20]);
    let mut raw = b"enclog:".to_vec();
    format::base64url::encode_append(&header, &mut raw);
    assert_eq!(
        claimed_sequence(&raw),
        Some((SessionId::from_bytes([5; 16]), 7))
    );
}
