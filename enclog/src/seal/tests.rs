//! The sealer's own tests: sealing in place, erased chain keys, the opener's cache and key
//! commitment.

use super::*;
use crate::Key;
use crate::seal::line::room_before;

/// Sealing in place: the line opens (the longest clear metadata a writer uses, its copy
/// verified), and the buffer is left holding ciphertext, not the event.
#[test]
fn sealing_in_place_opens_and_leaves_no_plaintext_in_the_buffer() {
    let key = Key::generate().unwrap();
    let sealer = Sealer::new(key.clone());
    let event = b"user alice@example.com paid 42.00 with card 4111111111111111";
    let clear = b"2026-11-26T20:27:30.123456Z ERROR";
    let start = room_before(48);
    let mut buf = vec![0u8; start];
    buf.extend_from_slice(event);
    let mut line = Vec::new();
    let mut written = Vec::new();
    sealer
        .seal_ordered_in_place(Some(clear), &mut buf, start, &mut line, |l| {
            written.extend_from_slice(l)
        })
        .unwrap();
    assert_eq!(written, line);
    assert!(
        !buf.windows(event.len()).any(|w| w == event),
        "plaintext left"
    );
    assert!(!buf.windows(5).any(|w| w == b"alice"), "plaintext left");
    let mut opener = crate::Opener::new(key.into());
    let opened = opener.open(&line).unwrap().unwrap();
    assert_eq!(opened.plaintext, event);
    assert_eq!(opened.meta, Some(&clear[..]));
    assert_eq!(opened.meta_status, crate::read::MetaStatus::Matches);
}

/// A Fernet line is sealed from a copy of the event (its IV comes first): the writer's
/// buffer must not keep the event all the same.
#[test]
fn sealing_in_place_under_a_fernet_key_leaves_no_plaintext_in_the_buffer() {
    let key = crate::fernet::FernetKey::generate().unwrap();
    let sealer = Sealer::new(key.clone());
    let event = b"user alice@example.com paid 42.00 with card 4111111111111111";
    let start = room_before(0);
    let mut buf = vec![0u8; start];
    buf.extend_from_slice(event);
    let mut line = Vec::new();
    sealer
        .seal_ordered_in_place(None, &mut buf, start, &mut line, |_| ())
        .unwrap();
    assert!(!buf.windows(5).any(|w| w == b"alice"), "plaintext left");
    let mut opener = crate::Opener::new(key.into());
    assert_eq!(opener.open(&line).unwrap().unwrap().plaintext, event);
}

/// Forward security of the links (FORMAT.md §5.3, §7.3): once a session's successor is
/// linked, the chain key that authenticated the link is gone from the sealer, so a writer
/// compromised later cannot authenticate a session in that successor's place.
#[test]
fn a_chain_key_is_erased_once_its_successor_is_linked() {
    let identity = crate::Identity::generate().unwrap();
    let sealer = Sealer::with_rotation(identity.recipient(), Rotation::default().max_lines(1));
    sealer.seal_line(b"first session").unwrap();
    let first = Arc::clone(&sealer.shared.session.load_full().unwrap().chain);
    assert!(first.next_chain_key().is_some(), "held until the successor");
    sealer.seal_line(b"second session").unwrap();
    let second = Arc::clone(&sealer.shared.session.load_full().unwrap().chain);
    assert_eq!(second.index, first.index + 1);
    assert!(first.next_chain_key().is_none(), "erased once used");
    assert!(second.next_chain_key().is_some());
}

/// Threat: the opener's session cache serving a v2 line under a key it does not commit to.
/// A v1 session of the same id is cached without a commitment; a v2 line with an all-zero
/// commitment must not open from that entry (a fresh opener refuses it too).
#[test]
fn the_openers_cache_never_skips_a_v2_lines_key_commitment() {
    let key = Key::generate().unwrap();
    let (id, generation) = ([0x42; 16], enclog_fork::generation());
    let mut v1 = Session::symmetric(&key, id, 0, generation, 0);
    v1.header.version = 1;
    let mut v1_line = Vec::new();
    v1.seal_record(0, RecordKind::Event, None, b"v1", &mut v1_line);
    let mut v2 = Session::symmetric(&key, id, 0, generation, 0);
    v2.header.commit = [0; 16];
    let mut v2_line = Vec::new();
    v2.seal_record(1, RecordKind::Event, None, b"no commitment", &mut v2_line);

    let mut fresh = crate::Opener::new(crate::Keyring::from(key.clone()));
    assert!(fresh.open(&v2_line).unwrap().is_err(), "refused alone");
    let mut warm = crate::Opener::new(crate::Keyring::from(key));
    assert!(warm.open(&v1_line).unwrap().is_ok());
    assert!(
        warm.open(&v2_line).unwrap().is_err(),
        "refused after the v1 line too"
    );
}
