//! A writer's lineage (`FORMAT.md` §5): each session's place in it ([`ChainPoint`]), kept after
//! the session's key is gone, and where the next session comes from ([`Origin`]).
//!
//! Threats: a session deleted, reordered, replayed or forged between two others, which
//! per-session sequence numbers cannot show. Each session starts with a link record naming the
//! session before it, authenticated with that session's `next_chain_key`; the writer erases that
//! key once the link is sealed, so a writer compromised later cannot link a session of its own
//! in place of an earlier one (the recipient mode's forward security, §7.3).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use super::chain_state::SavedPoint;
use crate::format::{ChainKey, Header, LineageId, LinkFrom, SessionRef};

/// How a session ended, as the next link states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum End {
    /// With a close record: `count` records (the close record's seq + 1), its tag.
    Closed { count: u64, tag: [u8; 16] },
    /// Without one: the previous run of the writer crashed (known from its chain state).
    Unclosed,
}

/// A session's place in its lineage.
#[derive(Debug)]
pub(super) struct ChainPoint {
    pub(super) at: SessionRef,
    pub(super) lineage: LineageId,
    pub(super) index: u64,
    /// Authenticates the next link; erased (set to `None`) once that link is sealed.
    next_chain_key: ArcSwapOption<ChainKey>,
    /// Set once, when the session ends.
    end: OnceLock<End>,
}

impl ChainPoint {
    pub(super) fn new(
        at: SessionRef,
        lineage: LineageId,
        index: u64,
        next_chain_key: ChainKey,
        end: Option<End>,
    ) -> ChainPoint {
        let point = ChainPoint {
            at,
            lineage,
            index,
            next_chain_key: ArcSwapOption::from_pointee(next_chain_key),
            end: OnceLock::new(),
        };
        if let Some(end) = end {
            point.set_end(end);
        }
        point
    }

    pub(super) fn set_end(&self, end: End) {
        let _ = self.end.set(end);
    }

    pub(super) fn end(&self) -> Option<End> {
        self.end.get().copied()
    }

    pub(super) fn next_chain_key(&self) -> Option<Arc<ChainKey>> {
        self.next_chain_key.load_full()
    }

    /// Erases the next chain key: its link is sealed (forward security: a writer compromised
    /// later cannot authenticate another session in this one's successor's place).
    pub(super) fn erase_key(&self) {
        self.next_chain_key.store(None);
    }
}

impl ChainPoint {
    /// A point read back from a writer's chain state; `None` if its session field does not fit
    /// its mode (the state's own checks refuse that first).
    pub(super) fn from_saved(saved: &SavedPoint) -> Option<ChainPoint> {
        let at = SessionRef::from_parts(saved.vm, saved.key_id, &saved.session)?;
        let end = match saved.end {
            Some((count, tag)) => End::Closed { count, tag },
            // The run that saved it ended without closing its session: it crashed.
            None => End::Unclosed,
        };
        Some(ChainPoint::new(
            at,
            LineageId(saved.lineage),
            saved.index,
            ChainKey::from_bytes(*saved.next_chain_key),
            Some(end),
        ))
    }

    /// What a chain state saves of this point; `None` once its chain key was erased (its
    /// successor exists, and the state saved for it is later).
    pub(super) fn to_saved(&self) -> Option<SavedPoint> {
        let key = self.next_chain_key()?;
        Some(SavedPoint {
            vm: Header::vm_byte(self.at.mode),
            key_id: self.at.key_id,
            session: self.at.raw[..self.at.mode.session_len()].to_vec(),
            lineage: self.lineage.0,
            index: self.index,
            end: match self.end() {
                Some(End::Closed { count, tag }) => Some((count, tag)),
                _ => None,
            },
            next_chain_key: key.0.clone(),
        })
    }
}

/// Where a new session comes from.
pub(super) enum Origin {
    /// Nothing before it: a new lineage.
    Root,
    /// The session before it in this process's lineage (closed, or from the chain state).
    After(Arc<ChainPoint>),
    /// The parent's session at a fork, and how many numbers it had handed out.
    Fork(Arc<ChainPoint>, u64),
}

/// What a new session's link record says: its lineage, index, origin, and the chain key to
/// authenticate it with (`None` for a root). `fresh_lineage` is used for a root or a branch.
pub(super) fn link_for(
    origin: &Origin,
    fresh_lineage: LineageId,
) -> (LineageId, u64, LinkFrom, Option<Arc<ChainKey>>) {
    let link = link_from(origin, fresh_lineage);
    if link.3.is_none() && link.2 != LinkFrom::Root {
        // The chain key is gone: another thread linked a successor meanwhile, and this
        // session will not be installed. Were it ever written, a root is honest (a new chain
        // to `verify`); a link without its MAC would not parse.
        return (fresh_lineage, 0, LinkFrom::Root, None);
    }
    link
}

fn link_from(
    origin: &Origin,
    fresh_lineage: LineageId,
) -> (LineageId, u64, LinkFrom, Option<Arc<ChainKey>>) {
    match origin {
        Origin::Root => (fresh_lineage, 0, LinkFrom::Root, None),
        Origin::Fork(parent, fork_point) => (
            fresh_lineage,
            0,
            LinkFrom::Branch {
                prev: parent.at,
                fork_point: *fork_point,
            },
            parent.next_chain_key(),
        ),
        Origin::After(prev) => {
            let from = match wait_for_end(prev) {
                End::Closed { count, tag } => LinkFrom::Successor {
                    prev: prev.at,
                    count,
                    end_tag: tag,
                },
                End::Unclosed => LinkFrom::AfterCrash { prev: prev.at },
            };
            (prev.lineage, prev.index + 1, from, prev.next_chain_key())
        }
    }
}

/// The end of a session that was just closed in this process: the thread that closed it sets
/// it right after sealing the close record, so a thread that starts the successor meanwhile
/// waits microseconds. Bounded: were the closing thread stopped for good, the link says the
/// session ended without a close record rather than hang the writer.
fn wait_for_end(prev: &ChainPoint) -> End {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        if let Some(end) = prev.end() {
            return end;
        }
        if Instant::now() >= deadline {
            return End::Unclosed;
        }
        std::thread::yield_now();
    }
}
