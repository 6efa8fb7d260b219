//! The chain walks of two parts of a log, verified apart, made one ([`Verifier::merge`]).
//!
//! Within a part, the walk ran as usual. Across parts, what does not depend on the order of
//! the parts is decided again, over the sessions of both: each link that named a session not in
//! its part is checked against that session if the other part has it (its MAC, lineage, index,
//! the close record it states; a session with two successors is a replayed chain); a link whose
//! session is in neither part is a missing session when its lineage has a lower index in either
//! part, else the start of a lineage — a new chain, unless it is the lineage the merged input
//! starts with or new chains are allowed. Which session is out of order, or interleaved, is
//! not decided across parts: those findings are each part's own.

use crate::format::{LineageId, LinkFrom};

use super::super::Verifier;
use super::super::sequence::Loc;
use super::{ChainWalk, SessionKey, Successor, Top, Verdict, Waiting};
use super::{end_claim, misfit, role};

impl Verifier {
    /// Adds `theirs` (another part's walk, its locations already in this verifier's files).
    pub(in crate::verify) fn merge_chain(&mut self, theirs: ChainWalk) {
        if !self.chain.started {
            self.chain.started = theirs.started;
            self.chain.first = theirs.first;
        }
        for (id, session) in theirs.sessions {
            // A session whose first record is in both parts is a copy: its lines are duplicates.
            self.chain.sessions.entry(id).or_insert(session);
        }
        for (lineage, top) in theirs.lineages {
            let mine = self.chain.lineages.entry(lineage).or_insert(top);
            if top.index > mine.index {
                *mine = top;
            }
        }
        self.chain.unchained += theirs.unchained;
        self.chain.unchecked += theirs.unchecked;
        self.chain.last_at = theirs.last_at.or(self.chain.last_at);
        self.chain.v1_sessions.extend(theirs.v1_sessions);

        let mut orphans = std::mem::take(&mut self.chain.orphan_closes);
        for (id, close) in theirs.orphan_closes {
            orphans.entry(id).or_insert(close);
        }
        for (id, close) in orphans {
            if !self.chain.sessions.contains_key(&id) {
                self.chain.orphan_closes.insert(id, close);
                continue;
            }
            self.close_merged(id, close);
        }

        let mut waiting = std::mem::take(&mut self.chain.waiting);
        for (prev, list) in theirs.waiting {
            waiting.entry(prev).or_default().extend(list);
        }
        for (prev, list) in waiting {
            if !self.chain.sessions.contains_key(&prev) {
                self.chain.waiting.insert(prev, list);
                continue;
            }
            for w in list {
                self.resolve(prev, w);
            }
        }

        self.reconsider_waiting();
    }

    /// `id`'s close record, from the other part: what its successor's link said of it is
    /// checked now.
    fn close_merged(&mut self, id: SessionKey, close: super::Close) {
        let Some(session) = self.chain.sessions.get_mut(&id) else {
            return;
        };
        if session.close.is_some() {
            return;
        }
        session.close = Some(close);
        let Some(successor) = session.successor.as_mut() else {
            return;
        };
        if let Some(claim) = successor.expects.take()
            && claim != (close.count, close.tag)
        {
            let successor = *successor;
            let finding = self.end_differs(successor.first_at, successor.session, id, claim, close);
            self.push_finding(finding);
        }
    }

    /// Checks `w`'s link against `prev`, which the other part holds.
    fn resolve(&mut self, prev: SessionKey, w: Waiting) {
        if matches!(w.verdict, Verdict::Headless) {
            self.chain.unchecked = self.chain.unchecked.saturating_sub(1);
        }
        let Some(p) = self.chain.sessions.get(&prev) else {
            return;
        };
        let role = role(&w.link);
        if let Some(key) = &p.next_chain_key
            && !w.link.authenticated_by(key)
        {
            let finding = self.forged_mac(w.first_at, w.session, prev, p.first_at, role);
            self.push_finding(finding);
            return;
        }
        if let Some(why) = misfit(&w.link, p.lineage, p.index) {
            let finding = self.forged_misfit(w.first_at, w.session, prev, p.first_at, role, &why);
            self.push_finding(finding);
            return;
        }
        let unverifiable = u64::from(p.next_chain_key.is_none());
        if matches!(w.link.from, LinkFrom::Branch { .. }) {
            self.chain.unchecked += unverifiable;
            return;
        }
        if let Some(other) = p.successor.filter(|s| s.session != w.session) {
            let finding = self.replayed(
                w.first_at,
                w.session,
                other.session,
                other.first_at,
                prev,
                p.first_at,
            );
            self.push_finding(finding);
            return;
        }
        let claim = end_claim(&w.link);
        if let (Some(claim), Some(close)) = (claim, p.close)
            && claim != (close.count, close.tag)
        {
            let finding = self.end_differs(w.first_at, w.session, prev, claim, close);
            self.push_finding(finding);
            return;
        }
        let expects = if p.close.is_some() { None } else { claim };
        self.chain.unchecked += unverifiable;
        if let Some(p) = self.chain.sessions.get_mut(&prev) {
            p.successor = Some(Successor {
                session: w.session,
                first_at: w.first_at,
                expects,
                early: false,
            });
        }
    }

    /// Decides again, over the merged sessions, what each link still naming a session not in
    /// the input means: a missing session when its lineage has a lower index, else the start
    /// of a lineage (quiet for the lineage the merged input starts with, or when new chains are
    /// allowed; otherwise a new chain).
    fn reconsider_waiting(&mut self) {
        let first_lineage = (self.chain.first)
            .and_then(|id| self.chain.sessions.get(&id))
            .map(|s| s.lineage);
        let mut headless = 0;
        let prevs: Vec<SessionKey> = self.chain.waiting.keys().copied().collect();
        for prev in prevs {
            let lines_read = self.sessions.get(&prev.1).is_some_and(|s| s.key == prev.0);
            let Some(list) = self.chain.waiting.get(&prev) else {
                continue;
            };
            let mut verdicts = Vec::with_capacity(list.len());
            for w in list {
                let verdict = match w.verdict {
                    Verdict::Quiet | Verdict::Headless => w.verdict,
                    _ if lines_read => {
                        headless += 1;
                        Verdict::Headless
                    }
                    _ => self.lineage_verdict(w, first_lineage),
                };
                verdicts.push(verdict);
            }
            if let Some(list) = self.chain.waiting.get_mut(&prev) {
                for (w, verdict) in list.iter_mut().zip(verdicts) {
                    w.verdict = verdict;
                }
            }
        }
        self.chain.unchecked += headless;
    }

    /// What `w` naming a session in no part means, from the sessions of its lineage.
    fn lineage_verdict(&self, w: &Waiting, first_lineage: Option<LineageId>) -> Verdict {
        let lower = (self.chain.sessions.iter())
            .filter(|(_, s)| s.lineage == w.link.lineage && s.index < w.link.index)
            .max_by_key(|(_, s)| s.index)
            .map(|(&session, s)| Top {
                index: s.index,
                session,
            });
        match lower {
            Some(after) => Verdict::Missing {
                count: (w.link.index - after.index - 1).max(1),
                after,
            },
            None if self.options.allow_new_chains || first_lineage == Some(w.link.lineage) => {
                Verdict::Start
            }
            None => Verdict::NewChain,
        }
    }
}

/// Locations of a part's walk moved by `offset` files (its files follow this verifier's).
pub(in crate::verify) fn shift(walk: &mut ChainWalk, shift: impl Fn(Loc) -> Loc) {
    for s in walk.sessions.values_mut() {
        s.first_at = shift(s.first_at);
        if let Some(close) = &mut s.close {
            close.at = shift(close.at);
        }
        if let Some(successor) = &mut s.successor {
            successor.first_at = shift(successor.first_at);
        }
    }
    for w in walk.waiting.values_mut().flatten() {
        w.first_at = shift(w.first_at);
    }
    for close in walk.orphan_closes.values_mut() {
        close.at = shift(close.at);
    }
    walk.last_at = walk.last_at.map(&shift);
}
