//! Each thread's copy of the sessions of the two sealers it used last: reading the shared
//! session costs atomic read-modify-writes on every line (arc-swap's debt slots); this costs a
//! comparison.

use std::cell::RefCell;

use std::sync::Arc;

use super::session::Session;
use super::{Attempt, Line, Sealer};

/// A session cached by a thread, and the sealer it belongs to.
pub(super) struct CachedSession {
    pub(super) sealer: u64,
    pub(super) session: Arc<Session>,
}

/// A thread's cached sessions: those of the two sealers it used last, the latest first (a
/// thread that writes both an application log and an audit log alternates between two).
pub(super) struct SessionCache {
    pub(super) entries: [Option<CachedSession>; 2],
}

impl SessionCache {
    /// Moves `sealer`'s entry to the front; whether its session can still seal.
    pub(super) fn find(&mut self, sealer: u64, generation: u64) -> bool {
        let Some(i) =
            (self.entries.iter()).position(|e| e.as_ref().is_some_and(|c| c.sealer == sealer))
        else {
            return false;
        };
        if i != 0 {
            self.entries.swap(0, i);
        }
        self.entries[0]
            .as_ref()
            .is_some_and(|c| c.session.usable(generation))
    }

    /// The front entry's session (after `find` or `put`).
    pub(super) fn front(&self) -> &Arc<Session> {
        &self.entries[0]
            .as_ref()
            .expect("find or put left the sealer's session in front")
            .session
    }

    /// Drops `sealer`'s entry, if any (its session ended and the next cannot be cached).
    pub(super) fn forget(&mut self, sealer: u64) {
        for entry in &mut self.entries {
            if entry.as_ref().is_some_and(|c| c.sealer == sealer) {
                *entry = None;
            }
        }
    }

    /// Caches `session` for `sealer` in front, in place of this sealer's entry (which `find`
    /// left in front) or of the least recently used one.
    pub(super) fn put(&mut self, sealer: u64, session: Arc<Session>) {
        // Another sealer's entry in front moves back (evicting the older one); this sealer's
        // entry, or an empty slot, is overwritten.
        if self.entries[0].as_ref().is_some_and(|c| c.sealer != sealer) {
            self.entries[1] = self.entries[0].take();
        }
        self.entries[0] = Some(CachedSession { sealer, session });
    }

    #[cfg(test)]
    pub(super) fn holds(&self, sealer: u64) -> bool {
        self.entries.iter().flatten().any(|c| c.sealer == sealer)
    }
}

thread_local! {
    /// Each thread's copy of the current sessions of the sealers it last sealed with. Reading
    /// `Shared::session` costs atomic read-modify-writes on every line (arc-swap's debt slots);
    /// this costs a comparison. Safe because a session is replaced only once it is closed (its
    /// counter's top bit) or belongs to another fork generation, both of which `usable` checks
    /// before every line. Only sessions that never rotate are cached: a recipient-mode session
    /// must not outlive its rotation in an idle thread's cache (forward security).
    ///
    /// The cost: a thread keeps its copy until it seals with that sealer again, with two other
    /// sealers, or exits — so the subkey of a symmetric session that was closed, replaced by
    /// `set_key`, or whose `Sealer` was dropped can stay in memory as long as such a thread
    /// lives (ring does not wipe a freed key either; the master key it derives from is held
    /// for the writer's life anyway; `SECURITY.md`). A thread going round three sealers or
    /// more re-fills the cache on each line (one reference count taken).
    pub(super) static SESSION_CACHE: RefCell<SessionCache> = const {
        RefCell::new(SessionCache { entries: [None, None] })
    };
}

impl Sealer {
    /// Seals with the session in this thread's [`SESSION_CACHE`], after putting the current
    /// session there if the cache holds another sealer's or a finished one; a session that
    /// may not be cached (recipient mode) is used where it is. `Uncached` when no session is
    /// running yet, or this is a re-entered call (the outer call holds the cache).
    pub(super) fn seal_cached<R>(
        &self,
        generation: u64,
        line: &mut Line<'_>,
        out: &mut Vec<u8>,
        write: &mut Option<impl FnOnce(&[u8]) -> R>,
    ) -> Attempt<R> {
        // Uncached when the cache is in use (a re-entered call) or gone (a line sealed while
        // the thread's locals are destroyed).
        let cached = SESSION_CACHE.try_with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return Attempt::Uncached;
            };
            let id = self.shared.id;
            if !cache.find(id, generation) {
                // This sealer's entry, if any, is finished: it must not keep its key material
                // while the sealer goes on uncached (a key now without sessions, or one whose
                // sessions rotate).
                cache.forget(id);
                let guard = self.shared.session.load();
                let Some(current) = guard.as_ref().filter(|s| s.usable(generation)) else {
                    return Attempt::Uncached; // none yet: the shared path starts one
                };
                if !current.cacheable() {
                    return self.seal_with(current, line, out, write);
                }
                cache.put(id, Arc::clone(current));
            }
            self.seal_with(cache.front(), line, out, write)
        });
        cached.unwrap_or(Attempt::Uncached)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;

    /// One thread sealing for two sealers in turn: each line under its own sealer's key and
    /// session, each sealer's numbers consecutive (the thread's session cache holds one
    /// sealer's session at a time and must never hand it to the other).
    #[test]
    fn a_thread_alternating_between_sealers_keeps_each_on_its_own_session() {
        use crate::{Keyring, Opener};
        let (key_a, key_b) = (Key::generate().unwrap(), Key::generate().unwrap());
        let (a, b) = (Sealer::new(key_a.clone()), Sealer::new(key_b.clone()));
        let mut opener = Opener::new(
            [key_a.clone(), key_b.clone()]
                .into_iter()
                .collect::<Keyring>(),
        );
        for round in 0..3u64 {
            for (sealer, key) in [(&a, &key_a), (&b, &key_b)] {
                let line = sealer.seal_line(format!("{round}").as_bytes()).unwrap();
                let opened = opener.open(&line).unwrap().unwrap();
                assert_eq!(opened.key_id, key.id());
                assert_eq!(opened.plaintext, format!("{round}").as_bytes());
                let sequence = opened.sequence.unwrap();
                assert_eq!(Some(sequence.session), sealer.session_id());
                assert_eq!(sequence.seq, round);
            }
        }
        assert_ne!(a.session_id(), b.session_id());
        assert!(SESSION_CACHE.with(|c| {
            let c = c.borrow();
            c.holds(a.shared.id) && c.holds(b.shared.id)
        }));
    }

    /// The cache holds the two sealers used last: a third evicts the least recently used;
    /// a sealer whose cached session ended replaces its own entry, not the other one.
    #[test]
    fn the_thread_cache_keeps_the_two_sealers_used_last() {
        std::thread::spawn(|| {
            let [a, b, c] = [(); 3].map(|()| Sealer::new(Key::generate().unwrap()));
            let holds = |s: &Sealer| SESSION_CACHE.with(|cache| cache.borrow().holds(s.shared.id));
            a.seal_line(b"a").unwrap();
            b.seal_line(b"b").unwrap();
            assert!(holds(&a) && holds(&b));
            a.seal_line(b"a").unwrap(); // a is now the most recent
            c.seal_line(b"c").unwrap(); // evicts b
            assert!(holds(&a) && holds(&c) && !holds(&b));
            a.close_to(&mut Vec::new()).unwrap();
            a.seal_line(b"a, new session").unwrap(); // replaces a's entry
            assert!(holds(&a) && holds(&c));
        })
        .join()
        .unwrap();
    }

    /// A new sealer never inherits the cached session of a dropped one, even when it is
    /// allocated where the old one was (the cache tells sealers apart by id, not address):
    /// its line opens under its own key. The allocator reuses the freed block for the next
    /// sealer of the same size; the test checks that it did at least once.
    #[test]
    fn a_new_sealer_at_a_dropped_sealers_address_uses_its_own_key() {
        let mut reused = 0;
        for _ in 0..20 {
            let old = Sealer::new(Key::generate().unwrap());
            old.seal_line(b"x").unwrap(); // this thread caches old's session
            let old_address = Arc::as_ptr(&old.shared);
            drop(old);
            let key = Key::generate().unwrap();
            let new = Sealer::new(key.clone());
            reused += usize::from(Arc::as_ptr(&new.shared) == old_address);
            let line = new.seal_line(b"y").unwrap();
            let mut opener = crate::Opener::new(key.into());
            assert_eq!(opener.open(&line).unwrap().unwrap().plaintext, b"y");
        }
        assert!(
            reused > 0,
            "no sealer was allocated at a dropped one's address"
        );
    }

    /// Threat: a thread sealing with the session it cached after another thread closed it
    /// (a nonce sealed after the close record, or under a replaced key). The next line takes
    /// a new session from its first number.
    #[test]
    fn a_session_closed_by_another_thread_is_not_used_from_the_cache() {
        let key = Key::generate().unwrap();
        let sealer = Sealer::new(key.clone());
        let mut opener = crate::Opener::new(key.into());
        let first = sealer.seal_line(b"first").unwrap(); // cached by this thread
        let closer = sealer.clone();
        let close = std::thread::spawn(move || {
            let mut out = Vec::new();
            closer.close_to(&mut out).unwrap();
            out
        })
        .join()
        .unwrap();
        let second = sealer.seal_line(b"second").unwrap();
        let mut seq = |line: &[u8]| opener.open(line).unwrap().unwrap().sequence.unwrap();
        let (first, close, second) = (seq(&first), seq(&close), seq(&second));
        assert_eq!((close.session, close.seq), (first.session, 1));
        assert_ne!(second.session, first.session);
        assert_eq!(second.seq, 0);
    }

    /// Threat: a recipient-mode session key kept alive after its rotation by an idle thread's
    /// cache would expose that session's lines to a later memory disclosure (forward
    /// security). Such sessions are never cached.
    #[test]
    fn recipient_sessions_are_not_kept_in_a_threads_cache() {
        let identity = crate::Identity::generate().unwrap();
        let sealer = Sealer::new(identity.recipient());
        std::thread::spawn(move || {
            sealer.seal_line(b"event").unwrap();
            assert!(!SESSION_CACHE.with(|c| c.borrow().holds(sealer.shared.id)));
            let symmetric = Sealer::new(Key::generate().unwrap());
            symmetric.seal_line(b"event").unwrap();
            assert!(
                SESSION_CACHE.with(|c| c.borrow().holds(symmetric.shared.id)),
                "symmetric sessions are cached"
            );
        })
        .join()
        .unwrap();
    }

    /// A symmetric session replaced by a recipient (whose sessions are not cached) leaves this
    /// thread's cache at the next line, instead of keeping the old subkey while the thread
    /// logs on.
    #[test]
    fn a_key_change_to_a_recipient_empties_this_sealers_cache_entry() {
        std::thread::spawn(|| {
            let sealer = Sealer::new(Key::generate().unwrap());
            sealer.seal_line(b"symmetric").unwrap();
            assert!(SESSION_CACHE.with(|c| c.borrow().holds(sealer.shared.id)));
            let identity = crate::Identity::generate().unwrap();
            sealer.set_key(identity.recipient());
            sealer.seal_line(b"recipient").unwrap();
            assert!(!SESSION_CACHE.with(|c| c.borrow().holds(sealer.shared.id)));
        })
        .join()
        .unwrap();
    }
}
