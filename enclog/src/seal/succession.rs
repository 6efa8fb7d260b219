//! How a session ends and the next one starts (`Shared`'s half of the sealer): close records
//! left pending for the successor's first record, idle retirement by the background thread,
//! and the writer's place in its lineage saved to its chain state. See "Idle rotation" in the
//! module above.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::chain::{self, End};
use super::chain_state;
use super::housekeeping;
use super::session::{OrderGuard, Session};
use super::{PendingClose, Shared};
use crate::format::RecordKind;

impl Shared {
    /// Appends the close records of sessions retired while idle (in the order they were
    /// retired) to `out`; those of a parent process are dropped in a forked child.
    pub(super) fn take_pending_close(&self, generation: u64, out: &mut Vec<u8>) {
        if !self.has_pending.load(Ordering::Acquire)
            || !self.has_pending.swap(false, Ordering::AcqRel)
        {
            return;
        }
        if let Some(pending) = self.pending_close.swap(None) {
            for close in pending.iter().filter(|c| c.fork_generation == generation) {
                out.extend_from_slice(&close.line);
            }
        }
    }

    /// Closes `session` and removes it, keeping only its sealed close record (see "Idle
    /// rotation"). Under the session's order lock, so that its close record is numbered after
    /// every line already handed to the writer.
    pub(super) fn retire(&self, session: &Arc<Session>, generation: u64) {
        {
            let _order = OrderGuard::lock(&session.write_order);
            if let Some(seq) = session.close() {
                self.close_pending(session, seq, generation);
            }
        }
        // Its key goes; its place in the lineage stays, for the next session's link.
        let current = self.session.load();
        if current.as_ref().is_some_and(|s| Arc::ptr_eq(s, session)) {
            let tombstone = Session::tombstone(Arc::clone(&session.chain), generation);
            self.session
                .compare_and_swap(&*current, Some(Arc::new(tombstone)));
        }
    }

    /// Seals the close record `seq` of `session` into `pending_close`, for the successor's
    /// first record (or `close_to`) to write first, and only then records the session's end,
    /// which lets a successor start. So the close record reaches the writer before any record
    /// of the successor, whichever thread writes first (threat: `verify` seeing the lines of two
    /// consecutive sessions mixed, which is also what an attacker splicing them would leave).
    pub(super) fn close_pending(&self, session: &Session, seq: u64, generation: u64) {
        let mut line = Vec::new();
        let tag = session.seal_record(seq, RecordKind::Close, None, b"", &mut line);
        let close = PendingClose {
            fork_generation: generation,
            line,
        };
        // Appended, not replaced: sessions closed in turn with no line between them leave one
        // close record each.
        self.pending_close.rcu(|pending| {
            let mut all = pending.as_deref().cloned().unwrap_or_default();
            all.push(close.clone());
            Some(Arc::new(all))
        });
        self.has_pending.store(true, Ordering::Release);
        self.ended(session, seq, tag);
    }

    /// See [`Sealer::write_close`].
    pub(super) fn write_close(&self, session: &Session, seq: u64, out: &mut Vec<u8>) {
        let tag = session.seal_record(seq, RecordKind::Close, None, b"", out);
        self.ended(session, seq, tag);
    }

    /// Records that `session` ended with the close record `seq` of tag `tag`: its successor
    /// may start (its link states the end) and the chain state is saved.
    pub(super) fn ended(&self, session: &Session, seq: u64, tag: [u8; 16]) {
        session.chain.set_end(End::Closed {
            count: seq + 1,
            tag,
        });
        self.save_chain(&session.chain, session.fork_generation);
    }

    /// Saves the writer's place in its lineage to its chain state, if it has one (and only in
    /// the process that opened it: a forked child's lineage is its own).
    pub(super) fn save_chain(&self, point: &chain::ChainPoint, generation: u64) {
        let Some((state, opened_in)) = &self.chain_state else {
            return;
        };
        if *opened_in != generation {
            return;
        }
        let Some(saved) = point.to_saved() else {
            return; // its chain key is gone: a later state was saved already
        };
        if let Err(e) = state.save(&saved) {
            chain_state::report_save_failure(&e);
        }
    }
}

impl housekeeping::Chore for Shared {
    /// Retires the session once its `max_age` passed; otherwise says when that will be.
    fn run(&self, now: Instant) -> Option<Instant> {
        let generation = enclog_fork::generation();
        let session = self.session.load_full()?;
        if !session.usable(generation) {
            return None;
        }
        let due = session.retire_at()?;
        if now < due {
            return Some(due);
        }
        if session.events() == 0 {
            // Like rotation at a seal, a session seals one line before it goes (else a sealer
            // racing this thread with a tiny `max_age` would start sessions forever); it has
            // protected no line yet. Look again shortly, to retire it soon after that line.
            let again = session
                .max_age()
                .clamp(Duration::from_millis(10), Duration::from_secs(1));
            return Some(now + again);
        }
        self.retire(&session, generation);
        None
    }
}
