//! What a writer's links say (FORMAT.md §5): across rotations, key changes, a close followed by
//! more lines, and restarts through a chain state — after a clean exit and after a crash.
//! (`library::verify_chain` checks what `verify` concludes from them.)

use enclog::format::{Link, LinkFrom};
use enclog::seal::{ChainState, Rotation};
use enclog::{Key, Keyring, Opener, Sealer};

/// Every link in `log`, with the session and seq of its record.
fn links(log: &[u8], keyring: Keyring) -> Vec<(enclog::read::Sequence, Link)> {
    let mut opener = Opener::new(keyring);
    log.split_inclusive(|&b| b == b'\n')
        .filter_map(|line| {
            let opened = opener.open(line).unwrap().unwrap();
            Some((opened.sequence.unwrap(), *opened.link?))
        })
        .collect()
}

#[test]
fn rotated_sessions_link_each_to_the_one_before_with_its_count_and_close_tag() {
    let key = Key::generate().unwrap();
    let sealer = Sealer::with_rotation(key.clone(), Rotation::default().max_lines(2));
    let mut log = Vec::new();
    for i in 0..5 {
        sealer
            .seal_to(None, format!("event {i}").as_bytes(), &mut log)
            .unwrap();
    }
    sealer.close_to(&mut log).unwrap();
    let links = links(&log, Keyring::from(key));
    assert_eq!(links.len(), 3, "5 events, 2 per session");
    assert_eq!(links[0].1.from, LinkFrom::Root);
    for pair in links.windows(2) {
        let ((prev_at, prev), (_, next)) = (&pair[0], &pair[1]);
        assert_eq!(next.lineage, prev.lineage);
        assert_eq!(next.index, prev.index + 1);
        match next.from {
            LinkFrom::Successor {
                prev: named, count, ..
            } => {
                assert_eq!(named.session, prev_at.session);
                assert_eq!(count, 3, "two events and the close record");
            }
            other => panic!("{other:?}"),
        }
        assert!(next.authenticated_by(prev.next_chain_key()));
    }
}

#[test]
fn a_key_change_links_the_session_under_the_new_key_to_the_old_one() {
    let (old, new) = (Key::generate().unwrap(), Key::generate().unwrap());
    let sealer = Sealer::new(old.clone());
    let mut log = sealer.seal_line(b"before").unwrap();
    sealer.set_key(new.clone());
    sealer.seal_to(None, b"after", &mut log).unwrap();
    let links = links(&log, [old.clone(), new].into_iter().collect());
    assert_eq!(links.len(), 2);
    match links[1].1.from {
        LinkFrom::Successor { prev, .. } => {
            assert_eq!((prev.key_id, prev.session), (old.id(), links[0].0.session));
        }
        other => panic!("{other:?}"),
    }
    assert!(links[1].1.authenticated_by(links[0].1.next_chain_key()));
}

#[test]
fn a_restart_continues_the_lineage_after_a_clean_exit_and_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/app.chain");
    let key = Key::generate().unwrap();
    let mut log = Vec::new();
    // Run 1 exits cleanly (close record).
    {
        let state = ChainState::open(&path).unwrap();
        let sealer = Sealer::with_chain_state(key.clone(), Rotation::default(), state).unwrap();
        sealer.seal_to(None, b"run 1", &mut log).unwrap();
        sealer.close_to(&mut log).unwrap();
    }
    // Run 2 crashes: no close record.
    {
        let state = ChainState::open(&path).unwrap();
        let sealer = Sealer::with_chain_state(key.clone(), Rotation::default(), state).unwrap();
        sealer.seal_to(None, b"run 2", &mut log).unwrap();
        std::mem::forget(sealer); // what a killed process leaves: the state says "open"
    }
    // Run 3. (The forgotten sealer still holds run 2's lock in this process: a killed
    // process would have released it. Reopen through a copy of the file.)
    let copy = dir.path().join("state/copy.chain");
    std::fs::copy(&path, &copy).unwrap();
    let state = ChainState::open(&copy).unwrap();
    let sealer = Sealer::with_chain_state(key.clone(), Rotation::default(), state).unwrap();
    sealer.seal_to(None, b"run 3", &mut log).unwrap();
    let links = links(&log, Keyring::from(key));
    assert_eq!(links.len(), 3);
    assert_eq!(links[0].1.from, LinkFrom::Root);
    assert!(matches!(
        links[1].1.from,
        LinkFrom::Successor { count: 2, .. }
    ));
    match links[2].1.from {
        LinkFrom::AfterCrash { prev } => assert_eq!(prev.session, links[1].0.session),
        other => panic!("run 3 should follow the crashed run 2: {other:?}"),
    }
    assert_eq!(
        links.iter().map(|(_, l)| l.index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(
        links
            .windows(2)
            .all(|w| w[1].1.authenticated_by(w[0].1.next_chain_key()))
    );
}
