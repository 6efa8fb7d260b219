//! The chain walk (`FORMAT.md` §8): the first record of each version 2 session names the
//! session before it in its writer's lineage, authenticated with that session's chain key.
//! Reading a log in order, the walk checks each link against the session it names, and each
//! lineage's indexes against each other.
//!
//! Threats it answers, which per-session sequence numbers cannot show: whole sessions deleted
//! (every line of them: no gap in any session's numbers), moved, or replayed; a session forged
//! by someone who can seal lines but holds no chain key (a holder of the public recipient, or
//! of the key without the writer's chain state), as a new root or with a link that does not
//! verify; an old chain state restored (one session with two successors); the lines of two
//! sessions mixed.
//!
//! Memory stays bounded: per session the walk keeps its lineage, index, chain key, where its
//! first record and close record are, the close record's count and tag, and its successor; per
//! lineage its highest index and the session holding it. A session's link is kept only while
//! the session it names has not been read.

use std::collections::HashMap;

use crate::format::{ChainKey, LineageId, Link, LinkFrom, RecordKind, SessionId};
use crate::key::KeyId;
use crate::read::opener::Opened;

use super::sequence::Loc;
use super::{Finding, FindingKind, Verifier};

/// A session as the walk names it: by its key and its id together, as the sequence check does.
pub(super) type SessionKey = (KeyId, SessionId);

/// What the chain walk remembers of the input.
#[derive(Clone, Debug, Default)]
pub(super) struct ChainWalk {
    /// A version 2 session was read: the first one starts the walk, whatever it names.
    pub(super) started: bool,
    /// The session that started the walk (a merge asks whether another input explains it).
    pub(super) first: Option<SessionKey>,
    pub(super) sessions: HashMap<SessionKey, ChainSession>,
    pub(super) lineages: HashMap<LineageId, Top>,
    /// Sessions whose link names a session not read (yet), by the session they name.
    pub(super) waiting: HashMap<SessionKey, Vec<Waiting>>,
    /// Close records of sessions whose first record was not read (yet): a merge gives them to
    /// that session when another input holds it.
    pub(super) orphan_closes: HashMap<SessionKey, Close>,
    /// Lines of version 1 and zato-enclog lines.
    pub(super) unchained: u64,
    /// Links naming a session whose first record is missing, so not checked.
    pub(super) unchecked: u64,
    /// The last version 2 line read (where a finding about the end of the input points).
    pub(super) last_at: Option<Loc>,
    /// Sessions read in format version 1: they have no link and no chain key.
    pub(super) v1_sessions: std::collections::HashSet<SessionKey>,
}

impl ChainWalk {
    /// Whether a session's successor was read (so the session has ended).
    pub(super) fn has_successor(&self, id: SessionKey) -> bool {
        self.sessions
            .get(&id)
            .is_some_and(|s| s.successor.is_some())
    }

    /// Lineages seen.
    pub(super) fn chains(&self) -> u64 {
        self.lineages.len() as u64
    }
}

/// A version 2 session whose first record was read.
#[derive(Clone, Debug)]
pub(super) struct ChainSession {
    pub(super) lineage: LineageId,
    pub(super) index: u64,
    /// `None` once the session is settled (closed, its successor read and checked) and a saved
    /// state pruned it: nothing honest links to it again.
    pub(super) next_chain_key: Option<ChainKey>,
    pub(super) first_at: Loc,
    pub(super) close: Option<Close>,
    /// The session read as its successor (a branch is not one).
    pub(super) successor: Option<Successor>,
    /// A root of a lineage not seen before it: a new chain, unless its lineage is the one the
    /// input starts with (or new chains are allowed).
    pub(super) starts_lineage: bool,
    /// Its new chain finding was reported by a checkpoint.
    pub(super) start_reported: bool,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Close {
    pub(super) count: u64,
    pub(super) tag: [u8; 16],
    pub(super) at: Loc,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Successor {
    pub(super) session: SessionKey,
    pub(super) first_at: Loc,
    /// What the successor's link says of this session's end (count, end tag), still to be
    /// checked against its close record.
    pub(super) expects: Option<(u64, [u8; 16])>,
    /// The successor was read before this session's first record (reported as out of order):
    /// its coming before the close record is not interleaving.
    pub(super) early: bool,
}

/// A lineage's highest index read, and the session holding it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Top {
    pub(super) index: u64,
    pub(super) session: SessionKey,
}

/// A session whose link names a session not read (yet).
#[derive(Clone, Debug)]
pub(super) struct Waiting {
    pub(super) session: SessionKey,
    pub(super) first_at: Loc,
    pub(super) link: Link,
    /// What to report if the named session never comes.
    pub(super) verdict: Verdict,
    /// Its finding was reported by a checkpoint.
    pub(super) reported: bool,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Verdict {
    /// Nothing: reported already (a lower index than its lineage's).
    Quiet,
    /// Nothing: the session starts what the input holds of its lineage, and that is no
    /// finding (the input's first session, or new chains are allowed). A merge asks again,
    /// over the sessions of every part.
    Start,
    /// The named session's lines were read, but not its first record (a `missing` finding of
    /// its own): the link is checked if that record comes later, else counted as unchecked.
    Headless,
    /// Sessions of a lineage already read are missing: `count` of them, after `after`.
    Missing { count: u64, after: Top },
    /// A lineage not read before, naming a session not in the input.
    NewChain,
}

impl Verifier {
    /// Takes an opened line into the chain walk; `taken`: the sequence check took it as a record
    /// not seen before (a copy of a session's lines is reported as duplicates, not here).
    pub(super) fn chain_line(&mut self, at: Loc, opened: &Opened<'_>, taken: bool) {
        if opened.version < 2 {
            self.chain.unchained += 1;
            if let (1, Some(s)) = (opened.version, opened.sequence) {
                self.v1_line(at, (opened.key_id, s.session));
            }
            return;
        }
        let (true, Some(s)) = (taken, opened.sequence) else {
            return;
        };
        self.chain.last_at = Some(at);
        let id = (opened.key_id, s.session);
        if let Some(link) = &opened.link {
            self.session_starts(at, id, link);
        }
        if opened.record == RecordKind::Close {
            self.session_closes(at, id, s.seq, opened.tag);
        }
    }

    /// A line of format version 1. Writers write version 2 only, and readers still open version
    /// 1: so a version 1 session after the input's chained sessions start is one sealed by
    /// someone without the lineage's chain keys (a holder of the public recipient, say), or by
    /// an old writer sharing the log (threat: a session forged in the old format to get past
    /// the chain walk). A finding once per such session, unless new chains are allowed.
    fn v1_line(&mut self, at: Loc, id: SessionKey) {
        if !self.chain.v1_sessions.insert(id) || !self.chain.started {
            return;
        }
        if self.options.allow_new_chains {
            return;
        }
        let message = format!(
            "session {} is in format version 1 (no link, no chain key) but comes after chained \
             sessions: writers write version 2, so it was sealed by someone without this log's \
             chain keys (anyone holding the public recipient can), or by an old writer sharing \
             the log (then verify with new chains allowed: `--allow-new-chains`)",
            id.1
        );
        let finding = self.chain_finding(FindingKind::NewChain, at, id, None, message);
        self.push_finding(finding);
    }

    /// A session's first record, with its link.
    fn session_starts(&mut self, at: Loc, id: SessionKey, link: &Link) {
        if self.chain.sessions.contains_key(&id) {
            return;
        }
        let first = !std::mem::replace(&mut self.chain.started, true);
        if first {
            self.chain.first = Some(id);
        }
        let top = self.chain.lineages.get(&link.lineage).copied();
        let (mut own, joins) = match link.from.prev() {
            None => self.root_starts(at, id, link, top),
            Some(prev) => self.link_to(at, id, link, (prev.key_id, prev.session), first, top),
        };

        // Sessions read before this one that name it: their links are checked now, and this
        // session is out of order (which says more than a lower index or a new lineage).
        let early = self.chain.waiting.remove(&id).unwrap_or_default();
        // Links counted as unchecked while this session's first record was missing are
        // checked now.
        let headless = early
            .iter()
            .filter(|w| matches!(w.verdict, Verdict::Headless))
            .count() as u64;
        self.chain.unchecked -= headless;
        let mut successor = None;
        let mut findings = Vec::new();
        for w in &early {
            let role = role(&w.link);
            if !w.link.authenticated_by(link.next_chain_key()) {
                findings.push(self.forged_mac(w.first_at, w.session, id, at, role));
            } else if let Some(why) = misfit(&w.link, link.lineage, link.index) {
                findings.push(self.forged_misfit(w.first_at, w.session, id, at, role, &why));
            } else if !matches!(w.link.from, LinkFrom::Branch { .. }) {
                match successor {
                    Some(Successor {
                        session, first_at, ..
                    }) => findings
                        .push(self.replayed(w.first_at, w.session, session, first_at, id, at)),
                    None => {
                        successor = Some(Successor {
                            session: w.session,
                            first_at: w.first_at,
                            expects: end_claim(&w.link),
                            early: true,
                        })
                    }
                }
            }
        }
        if let Some(w) = early.first() {
            let keep = own.as_ref().is_some_and(|f| {
                matches!(f.kind, FindingKind::ForgedLink | FindingKind::ReplayedChain)
            });
            let after = self.after_named(at, id, link, w);
            if keep {
                findings.push(after);
            } else {
                own = Some(after);
            }
        }
        findings.extend(own);

        if joins && top.is_none_or(|t| t.index < link.index) {
            self.chain.lineages.insert(
                link.lineage,
                Top {
                    index: link.index,
                    session: id,
                },
            );
        }
        let starts_lineage = matches!(link.from, LinkFrom::Root)
            && link.index == 0
            && top.is_none()
            && early.is_empty();
        self.chain.sessions.insert(
            id,
            ChainSession {
                lineage: link.lineage,
                index: link.index,
                next_chain_key: Some(link.next_chain_key().clone()),
                first_at: at,
                close: None,
                successor,
                starts_lineage,
                start_reported: false,
            },
        );
        for finding in findings {
            self.push_finding(finding);
        }
    }

    /// A root: a new lineage, unless its lineage was read already (then it comes late). The
    /// finding, and whether the session joins its lineage.
    fn root_starts(
        &self,
        at: Loc,
        id: SessionKey,
        link: &Link,
        top: Option<Top>,
    ) -> (Option<Finding>, bool) {
        if link.index != 0 {
            let message = format!(
                "session {} starts as a root (the first session of a lineage) but claims index \
                 {} of lineage {}: a writer never writes this, so the session was forged; treat \
                 it as untrusted",
                id.1, link.index, link.lineage
            );
            return (
                Some(self.chain_finding(FindingKind::ForgedLink, at, id, None, message)),
                false,
            );
        }
        // A root of a lineage not seen is a lineage start: whether it is a new chain depends on
        // which lineage the input starts with, which a report decides (`start_findings`), so
        // that parts of a log merged in any order agree.
        (top.map(|top| self.index_lower(at, id, link, top)), true)
    }

    /// The lineage starts that are new chains: every root of a lineage not seen before it,
    /// but the lineage the input starts with (unless new chains are allowed); `add` takes each.
    pub(super) fn start_findings(&self, add: &mut impl FnMut(Finding)) {
        if self.options.allow_new_chains {
            return;
        }
        let first_lineage = (self.chain.first)
            .and_then(|id| self.chain.sessions.get(&id))
            .map(|s| s.lineage);
        for (&id, s) in &self.chain.sessions {
            if !s.starts_lineage || s.start_reported || Some(s.lineage) == first_lineage {
                continue;
            }
            let message = format!(
                "session {} starts a new lineage {} (a root) after the input's first session: a \
                 writer restarted without its chain state, another writer logging to the same \
                 file, or a session forged by someone who can seal lines but holds no chain key \
                 (a holder of the recipient); if several writers share this log, verify with new \
                 chains allowed (`--allow-new-chains`)",
                id.1, s.lineage
            );
            add(self.chain_finding(FindingKind::NewChain, s.first_at, id, None, message));
        }
    }

    /// A session naming `prev`: checked now if `prev` was read, else kept until it is.
    fn link_to(
        &mut self,
        at: Loc,
        id: SessionKey,
        link: &Link,
        prev: SessionKey,
        first: bool,
        top: Option<Top>,
    ) -> (Option<Finding>, bool) {
        let branch = matches!(link.from, LinkFrom::Branch { .. });
        let role = role(link);
        if prev == id {
            // Its own lines are read, its chain key is its own: such a link would pass as
            // unchecked, and a forger would start a lineage without a new chain finding.
            let why = "a session cannot come from itself";
            return (Some(self.forged_misfit(at, id, prev, at, role, why)), false);
        }
        let Some(p) = self.chain.sessions.get(&prev) else {
            if self.chain.v1_sessions.contains(&prev) {
                // A version 1 session has no chain key: no link can name it honestly.
                let why = "it names a session of format version 1, which has no chain key";
                let found = self.sessions.get(&prev.1).map_or(at, |s| s.first_at);
                return (
                    Some(self.forged_misfit(at, id, prev, found, role, why)),
                    false,
                );
            }
            if self.sessions.get(&prev.1).is_some_and(|s| s.key == prev.0) {
                // Its lines were read but not its first record (a `missing` finding of its own):
                // its chain key is unknown, so this link cannot be checked yet; it is if that
                // record comes later (threat: a forged successor placed there).
                self.chain.unchecked += 1;
                self.chain.waiting.entry(prev).or_default().push(Waiting {
                    session: id,
                    first_at: at,
                    link: link.clone(),
                    verdict: Verdict::Headless,
                    reported: false,
                });
                return (None, true);
            }
            let (finding, verdict) = match top {
                _ if first => (None, Verdict::Start),
                Some(top) if link.index <= top.index => {
                    (Some(self.index_lower(at, id, link, top)), Verdict::Quiet)
                }
                Some(top) => (
                    None,
                    Verdict::Missing {
                        count: link
                            .index
                            .saturating_sub(top.index)
                            .saturating_sub(1)
                            .max(1),
                        after: top,
                    },
                ),
                None if self.options.allow_new_chains => (None, Verdict::Start),
                None => (None, Verdict::NewChain),
            };
            self.chain.waiting.entry(prev).or_default().push(Waiting {
                session: id,
                first_at: at,
                link: link.clone(),
                verdict,
                reported: false,
            });
            return (finding, true);
        };
        if let Some(key) = &p.next_chain_key
            && !link.authenticated_by(key)
        {
            return (Some(self.forged_mac(at, id, prev, p.first_at, role)), false);
        }
        // A saved state prunes a settled session's chain key (closed, its successor read and
        // checked): nothing honest links to it again but a forked child, whose link is then
        // counted as unchecked; a second successor is reported as replayed below.
        let unverifiable = p.next_chain_key.is_none();
        if let Some(why) = misfit(link, p.lineage, p.index) {
            return (
                Some(self.forged_misfit(at, id, prev, p.first_at, role, &why)),
                false,
            );
        }
        let lower = top
            .filter(|t| link.index <= t.index)
            .map(|t| self.index_lower(at, id, link, t));
        if branch {
            self.chain.unchecked += u64::from(unverifiable);
            return (lower, true);
        }
        if let Some(other) = p.successor {
            let finding = self.replayed(at, id, other.session, other.first_at, prev, p.first_at);
            return (Some(finding), true);
        }
        let claim = end_claim(link);
        if let (Some(claim), Some(close)) = (claim, p.close)
            && claim != (close.count, close.tag)
        {
            return (Some(self.end_differs(at, id, prev, claim, close)), false);
        }
        let expects = if p.close.is_some() { None } else { claim };
        self.chain.unchecked += u64::from(unverifiable);
        if let Some(p) = self.chain.sessions.get_mut(&prev) {
            p.successor = Some(Successor {
                session: id,
                first_at: at,
                expects,
                early: false,
            });
        }
        (lower, true)
    }

    /// A session's close record: what its successor's link said of it is checked, and a
    /// successor read before it (but after its first record) means mixed lines.
    fn session_closes(&mut self, at: Loc, id: SessionKey, seq: u64, tag: [u8; 16]) {
        let close = Close {
            count: seq.saturating_add(1),
            tag,
            at,
        };
        let Some(s) = self.chain.sessions.get_mut(&id) else {
            self.chain.orphan_closes.entry(id).or_insert(close);
            return;
        };
        if s.close.is_some() {
            return;
        }
        s.close = Some(close);
        let Some(successor) = s.successor.as_mut() else {
            return;
        };
        let expects = successor.expects.take();
        let successor = *successor;
        if let Some(claim) = expects
            && claim != (close.count, close.tag)
        {
            let finding = self.end_differs(successor.first_at, successor.session, id, claim, close);
            self.push_finding(finding);
        }
        if !successor.early {
            let message = format!(
                "the close record of session {} comes after the first record of its successor, \
                 session {} (at {}): the lines of two consecutive sessions of one writer are \
                 mixed, so lines were moved between them or merged out of order (by a shipper, \
                 or by threads writing without the order lock); look at the lines between both \
                 places",
                id.1,
                successor.session.1,
                self.location(successor.first_at)
            );
            let finding = self.chain_finding(
                FindingKind::Interleaved,
                at,
                id,
                Some(successor.first_at),
                message,
            );
            self.push_finding(finding);
        }
    }

    /// The findings of sessions still waiting for the session they name, as if the input
    /// ended here; `add` takes each. Returns how many of their links could not be checked.
    pub(super) fn chain_findings(&self, add: &mut impl FnMut(Finding)) -> u64 {
        let mut unchecked = 0;
        for (prev, waiting) in &self.chain.waiting {
            // Links to a session read without its first record: counted as unchecked already.
            let waiting: Vec<&Waiting> = (waiting.iter())
                .filter(|w| !matches!(w.verdict, Verdict::Headless) && !w.reported)
                .collect();
            let Some(&w) = waiting.first() else {
                continue;
            };
            // The named session came later, without its first record.
            if let Some(late) = self.sessions.get(&prev.1).filter(|s| s.key == prev.0) {
                unchecked += waiting.len() as u64;
                let message = format!(
                    "session {} (its first record missing, so its link and chain key are unknown) \
                     comes after session {} (at {}), which names it as its {}: the sessions were \
                     moved, or the files were given out of order; its link could not be checked",
                    prev.1,
                    w.session.1,
                    self.location(w.first_at),
                    role(&w.link)
                );
                add(self.chain_finding(
                    FindingKind::SessionsOutOfOrder,
                    late.first_at,
                    *prev,
                    Some(w.first_at),
                    message,
                ));
                continue;
            }
            for w in waiting {
                match w.verdict {
                    Verdict::Quiet | Verdict::Start | Verdict::Headless => {}
                    Verdict::Missing { count, after } => {
                        add(self.missing_sessions(w, *prev, count, after))
                    }
                    Verdict::NewChain => {
                        let message = format!(
                            "session {} names session {} as its {}, but neither that session nor \
                             any session of its lineage {} is in the input: the log of another \
                             writer (or of this one, from files not given here) was mixed in, or \
                             the session was forged; give every file, oldest first, or verify \
                             with new chains allowed (`--allow-new-chains`) if several writers share this log",
                            w.session.1,
                            prev.1,
                            role(&w.link),
                            w.link.lineage
                        );
                        add(self.chain_finding(
                            FindingKind::NewChain,
                            w.first_at,
                            w.session,
                            None,
                            message,
                        ));
                    }
                }
            }
        }
        unchecked
    }

    fn missing_sessions(&self, w: &Waiting, prev: SessionKey, count: u64, after: Top) -> Finding {
        // Where the lineage's last session read before the gap ends: its close record, else
        // its highest line.
        let end = self
            .chain
            .sessions
            .get(&after.session)
            .and_then(|s| s.close.map(|c| c.at))
            .or_else(|| self.sessions.get(&after.session.1).map(|s| s.highest_at));
        let plural = if count == 1 { "session" } else { "sessions" };
        let end_text = end.map_or_else(String::new, |loc| {
            format!(", which ends at {}", self.location(loc))
        });
        let message = format!(
            "{count} {plural} of lineage {} never appeared between session {} (index {}{end_text}) \
             and session {} (index {}), which names session {} as its predecessor: whole sessions \
             were deleted, or are in files not given here; give every file, oldest first",
            w.link.lineage, after.session.1, after.index, w.session.1, w.link.index, prev.1
        );
        self.chain_finding(
            FindingKind::MissingSessions,
            w.first_at,
            w.session,
            end,
            message,
        )
    }

    /// `id` comes after `w`, a session that names it.
    fn after_named(&self, at: Loc, id: SessionKey, link: &Link, w: &Waiting) -> Finding {
        let mut message = format!(
            "session {} (index {} of lineage {}) comes after session {} (at {}), which names it \
             as its {}: the sessions were moved, or the files were given out of order; nothing \
             is missing here",
            id.1,
            link.index,
            link.lineage,
            w.session.1,
            self.location(w.first_at),
            role(&w.link)
        );
        if w.first_at.file < at.file {
            message.push_str(&self.newest_first_hint());
        }
        self.chain_finding(
            FindingKind::SessionsOutOfOrder,
            at,
            id,
            Some(w.first_at),
            message,
        )
    }

    /// `id`'s index is not above its lineage's highest index read.
    fn index_lower(&self, at: Loc, id: SessionKey, link: &Link, top: Top) -> Finding {
        let top_at = self.chain.sessions.get(&top.session).map(|s| s.first_at);
        let top_text = top_at.map_or_else(String::new, |loc| {
            format!(", first at {}", self.location(loc))
        });
        let mut message = format!(
            "session {} (index {} of lineage {}) comes after session {} (index {}{top_text}) of \
             the same lineage: the sessions were moved, or the files were given out of order",
            id.1, link.index, link.lineage, top.session.1, top.index
        );
        if top_at.is_some_and(|loc| loc.file < at.file) {
            message.push_str(&self.newest_first_hint());
        }
        self.chain_finding(FindingKind::SessionsOutOfOrder, at, id, top_at, message)
    }

    fn forged_mac(
        &self,
        at: Loc,
        id: SessionKey,
        prev: SessionKey,
        prev_at: Loc,
        role: &str,
    ) -> Finding {
        let message = format!(
            "the link of session {} names session {} (first at {}) as its {role}, but does not \
             verify with that session's chain key: the session was not started by the writer of \
             that lineage but by someone who can seal lines without its chain keys (a holder of \
             the recipient, or of the key without the writer's chain state), or its first record \
             was spliced in from elsewhere; treat the session as untrusted",
            id.1,
            prev.1,
            self.location(prev_at)
        );
        self.chain_finding(FindingKind::ForgedLink, at, id, Some(prev_at), message)
    }

    fn forged_misfit(
        &self,
        at: Loc,
        id: SessionKey,
        prev: SessionKey,
        prev_at: Loc,
        role: &str,
        why: &str,
    ) -> Finding {
        let message = format!(
            "the link of session {} names session {} (first at {}) as its {role}, but {why}: a \
             writer never links so, so the link was forged or the session spliced in from \
             elsewhere; treat the session as untrusted",
            id.1,
            prev.1,
            self.location(prev_at)
        );
        self.chain_finding(FindingKind::ForgedLink, at, id, Some(prev_at), message)
    }

    fn end_differs(
        &self,
        at: Loc,
        id: SessionKey,
        prev: SessionKey,
        claim: (u64, [u8; 16]),
        close: Close,
    ) -> Finding {
        let tag = if claim.1 == close.tag {
            "the same"
        } else {
            "another"
        };
        let message = format!(
            "the link of session {} says its predecessor, session {}, ended with its close record \
             at seq {}, but that session's close record (at {}) is seq {} with {tag} tag: the \
             close record was replaced, or the link was forged; treat both sessions as untrusted",
            id.1,
            prev.1,
            claim.0.saturating_sub(1),
            self.location(close.at),
            close.count - 1
        );
        self.chain_finding(FindingKind::ForgedLink, at, id, Some(close.at), message)
    }

    fn replayed(
        &self,
        at: Loc,
        id: SessionKey,
        other: SessionKey,
        other_at: Loc,
        prev: SessionKey,
        prev_at: Loc,
    ) -> Finding {
        let message = format!(
            "session {} and session {} (first at {}) both name session {} (first at {}) as their \
             predecessor: one session has two successors, so the writer's lineage was replayed \
             or forked (a writer restarted from an old copy of its chain state, such as a \
             restored backup or snapshot), or one of them was forged by someone holding a copy \
             of the chain state; find out which writer wrote each",
            id.1,
            other.1,
            self.location(other_at),
            prev.1,
            self.location(prev_at)
        );
        self.chain_finding(FindingKind::ReplayedChain, at, id, Some(other_at), message)
    }

    /// A finding about the session `id` at `at` (its first record, seq 0, unless it is a close
    /// record).
    pub(super) fn chain_finding(
        &self,
        kind: FindingKind,
        at: Loc,
        id: SessionKey,
        related: Option<Loc>,
        message: String,
    ) -> Finding {
        let seq = (kind != FindingKind::Interleaved).then_some(0);
        let related = related.map(|loc| self.location(loc));
        self.finding(kind, at, Some(id.1), seq, None, related, message)
    }
}

/// What the named session is to `link`'s session.
fn role(link: &Link) -> &'static str {
    match link.from {
        LinkFrom::Branch { .. } => "parent (a fork)",
        _ => "predecessor",
    }
}

/// The count and end tag a successor's link states of its predecessor's close record.
fn end_claim(link: &Link) -> Option<(u64, [u8; 16])> {
    match link.from {
        LinkFrom::Successor { count, end_tag, .. } => Some((count, end_tag)),
        _ => None,
    }
}

/// Why `link` cannot follow a session of `lineage` at `index`, if it cannot.
fn misfit(link: &Link, lineage: LineageId, index: u64) -> Option<String> {
    match link.from {
        LinkFrom::Root => None,
        LinkFrom::Branch { .. } if link.lineage == lineage => Some(format!(
            "a branch starts a lineage of its own, and this one continues its parent's ({lineage})"
        )),
        LinkFrom::Branch { .. } if link.index != 0 => Some(format!(
            "a branch starts its lineage at index 0, and this one claims index {}",
            link.index
        )),
        LinkFrom::Branch { .. } => None,
        _ if link.lineage != lineage => Some(format!(
            "its lineage {} is not that session's ({lineage})",
            link.lineage
        )),
        _ if index.checked_add(1) != Some(link.index) => Some(format!(
            "its index {} does not follow that session's ({index})",
            link.index
        )),
        _ => None,
    }
}

mod merge;

pub(super) use merge::shift;

#[cfg(test)]
mod tests;
