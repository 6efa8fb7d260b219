//! The anchor (`FORMAT.md` §8): the ends of a log are invisible to a chain walk — the first
//! session given starts it, and cutting the last sessions leaves a valid chain. A writer's chain
//! state names its latest session ([`ChainHead`]); checked against it, the log must hold its
//! lineage from the root (index 0) up to that session, closed as the state says.
//!
//! Threat: whole sessions deleted at the start or the end of a log, which no link inside the
//! log names.

use crate::seal::ChainHead;

use super::chain::SessionKey;
use super::{Finding, FindingKind, Verifier};

impl Verifier {
    /// The findings of the anchor, if one was given; `add` takes each.
    pub(super) fn anchor_findings(&self, add: &mut impl FnMut(Finding)) {
        let Some(head) = &self.options.anchor else {
            return;
        };
        let named = (head.session.key_id, head.session.session);
        let Some(end_at) = self.chain.last_at else {
            // No version 2 line at all: the whole lineage is missing.
            let message = missing_lineage(head);
            add(self.anchor_finding(FindingKind::MissingEnd, None, named, message));
            return;
        };
        let Some(top) = self.chain.lineages.get(&head.lineage) else {
            let message = missing_lineage(head);
            add(self.anchor_finding(FindingKind::MissingEnd, Some(end_at), named, message));
            return;
        };
        // The lineage's first session read (by index).
        let first = (self.chain.sessions.values())
            .filter(|s| s.lineage == head.lineage)
            .min_by_key(|s| s.index);
        let lowest = first.map_or(0, |s| s.index);
        if lowest > 0 {
            let message = format!(
                "the log starts at session index {lowest} of lineage {}: the {lowest} session(s) \
                 before it, from the lineage's first (index 0), are not in the input; they were \
                 deleted, or are in older files (give every file, oldest first)",
                head.lineage
            );
            let at = first.map(|s| s.first_at).or(Some(end_at));
            add(self.anchor_finding(FindingKind::MissingStart, at, named, message));
        }
        if top.index < head.index {
            let message = format!(
                "the log ends with session {} (index {}), but the writer's chain state names \
                 session {} (index {}) as its latest: {} session(s) at the end are missing (the \
                 log was cut, or newer files were not given)",
                top.session.1,
                top.index,
                head.session.session,
                head.index,
                head.index - top.index
            );
            let at = self.chain.sessions.get(&top.session).map(|s| s.first_at);
            add(self.anchor_finding(FindingKind::MissingEnd, at.or(Some(end_at)), named, message));
            return;
        }
        if top.index > head.index {
            return; // the log goes on past the anchor (a state read earlier): nothing to check
        }
        let Some(session) = self
            .chain
            .sessions
            .get(&named)
            .filter(|_| top.session == named)
        else {
            let message = format!(
                "the log's session of index {} is {}, but the writer's chain state names {}: \
                 the session was replaced",
                top.index, top.session.1, head.session.session
            );
            add(self.anchor_finding(FindingKind::MissingEnd, Some(end_at), named, message));
            return;
        };
        if let (Some(count), Some(tag)) = (head.count, head.end_tag) {
            let closed = session.close.filter(|c| c.count == count && c.tag == tag);
            if closed.is_none() {
                let message = format!(
                    "the writer's chain state says session {} ended with a close record after \
                     {count} records, which is not in the input: the end of the log was cut",
                    head.session.session
                );
                add(self.anchor_finding(FindingKind::MissingEnd, Some(end_at), named, message));
            }
        }
    }

    fn anchor_finding(
        &self,
        kind: FindingKind,
        at: Option<super::sequence::Loc>,
        id: SessionKey,
        message: String,
    ) -> Finding {
        let at = at.unwrap_or(super::sequence::Loc { file: 0, line: 0 });
        self.chain_finding(kind, at, id, None, message)
    }
}

fn missing_lineage(head: &ChainHead) -> String {
    format!(
        "no session of the writer's lineage {} is in the input, but its chain state names \
         session {} (index {}): the log was cut, or it is another writer's",
        head.lineage, head.session.session, head.index
    )
}
