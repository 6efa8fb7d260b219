//! The verifier's state machine: per session, the next expected number, the gaps still open
//! and a window of recent lines; what each line read does to it.

use std::ops::RangeInclusive;
use std::sync::Arc;

use crate::error::OpenError;
use crate::format::{self, RecordKind, SessionId};
use crate::key::KeyId;
use crate::read::decryptor::{Entry, LineError};
use crate::read::opener::{MetaStatus, Opened};

use super::ranges::SeqRanges;
use super::{Finding, FindingKind, Location, Verifier};

/// Sequenced lines remembered to name the first occurrence of a duplicate (about 3 MiB at most).
const RECENT_WINDOW: usize = 1 << 16;

/// A line position inside the verifier: file index and line number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Loc {
    pub(super) file: u32,
    pub(super) line: u64,
}

/// Sequence numbers not seen (yet) below a session's highest one.
#[derive(Clone, Copy, Debug)]
pub(super) struct Gap {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) noticed: Loc,
    /// The line holding `start - 1`, when known: where the gap begins.
    pub(super) after: Option<Loc>,
    /// The session's first line seen did not have sequence number 0.
    pub(super) initial: bool,
    /// Already reported by a checkpoint ([`Verifier::checkpoint`]): a later report leaves it out.
    pub(super) reported: bool,
}

/// Consecutive lines of one session with the same problem, each the next number after the
/// one before: out of order (a block moved, or files given newest first) or duplicates (a
/// block copied, or a file given twice). One finding, not one per line.
#[derive(Clone, Copy, Debug)]
pub(super) struct LineRun {
    /// [`FindingKind::OutOfOrder`] or [`FindingKind::Duplicate`].
    pub(super) kind: FindingKind,
    pub(super) first_at: Loc,
    pub(super) last_at: Loc,
    pub(super) first_seq: u64,
    pub(super) last_seq: u64,
    /// Out of order: the highest sequence number seen when the run began.
    pub(super) highest: u64,
    /// Out of order: the line holding `highest`; duplicate: the first copy of `first_seq`,
    /// when still remembered.
    pub(super) related: Option<Loc>,
    /// Out of order: the run begins the session's lines in a file, and numbers dropped there
    /// from those of an earlier file: what files given newest first look like.
    pub(super) at_file_start: bool,
}

#[derive(Clone, Debug)]
pub(super) struct SessionState {
    /// The key the session's first line seen was sealed under.
    pub(super) key: KeyId,
    /// The session's first line seen.
    pub(super) first_at: Loc,
    /// The run of out-of-order or duplicate lines being read, reported as one finding when it
    /// ends.
    pub(super) run: Option<LineRun>,
    /// One past the highest sequence number seen.
    pub(super) next: u64,
    /// Sorted, disjoint.
    pub(super) gaps: Vec<Gap>,
    /// The line holding the highest sequence number.
    pub(super) highest_at: Loc,
    /// The last line of the session in reading order.
    pub(super) last_at: Loc,
    pub(super) close: Option<(u64, Loc)>,
    /// The numbers read (taken: not copies), and where.
    pub(super) ranges: SeqRanges,
    /// Its [`FindingKind::Unclosed`] finding was reported by a checkpoint.
    pub(super) unclosed_reported: bool,
}

impl SessionState {
    pub(super) fn gap_index(&self, seq: u64) -> Option<usize> {
        let i = self.gaps.partition_point(|g| g.end < seq);
        (i < self.gaps.len() && self.gaps[i].start <= seq).then_some(i)
    }

    /// Removes `seq`, read at `at`, from the gap at `i`.
    pub(super) fn fill(&mut self, i: usize, seq: u64, at: Loc) {
        let gap = self.gaps[i];
        match (gap.start == seq, gap.end == seq) {
            (true, true) => {
                self.gaps.remove(i);
            }
            (true, false) => self.gaps[i].start = seq + 1,
            (false, true) => self.gaps[i].end = seq - 1,
            (false, false) => {
                self.gaps[i].end = seq - 1;
                self.gaps.insert(
                    i + 1,
                    Gap {
                        start: seq + 1,
                        after: Some(at),
                        initial: false,
                        ..gap
                    },
                );
            }
        }
    }
}

impl Verifier {
    pub(super) fn file_index(&mut self, file: &str) -> u32 {
        if self
            .files
            .get(self.current_file as usize)
            .is_some_and(|f| &**f == file)
        {
            return self.current_file;
        }
        let index = match self.files.iter().position(|f| &**f == file) {
            Some(i) => i,
            None => {
                self.files.push(Arc::from(file));
                self.files.len() - 1
            }
        };
        self.current_file = u32::try_from(index).unwrap_or(u32::MAX);
        self.current_file
    }

    pub(super) fn location(&self, at: Loc) -> Location {
        Location {
            file: self
                .files
                .get(at.file as usize)
                .cloned()
                .unwrap_or_else(|| Arc::from("?")),
            line: at.line,
        }
    }

    pub(super) fn opened(&mut self, at: Loc, opened: &Opened<'_>) {
        match opened.record {
            RecordKind::Event => self.events += 1,
            RecordKind::Close => self.close_records += 1,
        }
        if opened.meta_status == MetaStatus::Differs && opened.fields.is_some() {
            self.push(
                FindingKind::ClearFieldsEdited,
                at,
                opened.sequence.map(|s| s.session),
                opened.sequence.map(|s| s.seq),
                None,
                None,
                "the clear fields of this field-sealed line are not as written (their digest in \
                 the line's envelope does not match): its sealed values are authentic, its clear \
                 values are not; look for whatever rewrote the line (a shipper changing values, \
                 or tampering)"
                    .to_string(),
            );
        } else if opened.meta_status == MetaStatus::Differs {
            let shown = opened.meta.map(String::from_utf8_lossy).unwrap_or_default();
            self.push(
                FindingKind::MetadataMismatch,
                at,
                opened.sequence.map(|s| s.session),
                opened.sequence.map(|s| s.seq),
                None,
                None,
                format!(
                    "the clear metadata before the token was edited: it was written as \
                     {shown:?}; trust the encrypted copy, and look for whatever rewrote the line \
                     (a log router relabelling levels, or tampering)"
                ),
            );
        }
        let taken = match opened.sequence {
            Some(s) => self.sequenced(at, opened.key_id, s.session, s.seq, opened.record),
            None => {
                self.unsequenced += 1;
                false
            }
        };
        self.chain_line(at, opened, taken);
    }

    /// Takes a sequenced record into its session; whether it was taken as a record not seen
    /// before (a copy, a record after the close record or under another key is not).
    pub(super) fn sequenced(
        &mut self,
        at: Loc,
        key: KeyId,
        session: SessionId,
        seq: u64,
        record: RecordKind,
    ) -> bool {
        if let Some(state) = self.sessions.get(&session)
            && state.key != key
        {
            // Threat: a holder of a second key of the keyring sealing lines (or a close
            // record) under the session id of a session written with the first. The line is
            // not taken into the session: what it replaced shows as missing.
            let (first_key, first_at) = (state.key, self.location(state.first_at));
            let what = match record {
                RecordKind::Event => "an event",
                RecordKind::Close => "a close record",
            };
            self.push(
                FindingKind::KeyChanged,
                at,
                Some(session),
                Some(seq),
                None,
                Some(first_at.clone()),
                format!(
                    "{what} with seq {seq} of session {session} is sealed with key {key}, but \
                     the session was written with key {first_key} (first at {first_at}): a \
                     writer never changes key inside a session, so this line was forged with \
                     another key of the keyring or spliced in from elsewhere; treat it as \
                     untrusted, and find out who holds key {key}"
                ),
            );
            return false;
        }
        let Some(state) = self.sessions.get_mut(&session) else {
            let mut gaps = Vec::new();
            if seq > 0 {
                gaps.push(Gap {
                    start: 0,
                    end: seq - 1,
                    noticed: at,
                    after: None,
                    initial: true,
                    reported: false,
                });
            }
            let mut ranges = SeqRanges::default();
            ranges.insert(seq, at);
            self.sessions.insert(
                session,
                SessionState {
                    key,
                    first_at: at,
                    run: None,
                    next: seq.saturating_add(1),
                    gaps,
                    highest_at: at,
                    last_at: at,
                    close: (record == RecordKind::Close).then_some((seq, at)),
                    ranges,
                    unclosed_reported: false,
                },
            );
            self.remember(session, seq, at);
            return true;
        };
        let previous_at = std::mem::replace(&mut state.last_at, at);

        if let Some((close_seq, close_at)) = state.close.filter(|&(close, _)| seq > close) {
            let what = match record {
                RecordKind::Event => "an event",
                RecordKind::Close => "another close record",
            };
            let message = format!(
                "{what} with seq {seq} of session {session} comes after the session's close \
                 record (seq {close_seq}, at {}): a closed session never writes again, so this \
                 line was forged or spliced in from elsewhere; treat it as untrusted",
                self.location(close_at)
            );
            let related = self.location(close_at);
            self.push(
                FindingKind::AfterClose,
                at,
                Some(session),
                Some(seq),
                None,
                Some(related),
                message,
            );
            return false;
        }

        if seq >= state.next {
            if seq > state.next {
                state.gaps.push(Gap {
                    start: state.next,
                    end: seq - 1,
                    noticed: at,
                    after: Some(state.highest_at),
                    initial: false,
                    reported: false,
                });
            }
            state.next = seq.saturating_add(1);
            state.highest_at = at;
            state.ranges.insert(seq, at);
        } else if let Some(i) = state.gap_index(seq) {
            state.fill(i, seq, at);
            state.ranges.insert(seq, at);
            let run = LineRun {
                kind: FindingKind::OutOfOrder,
                first_at: at,
                last_at: at,
                first_seq: seq,
                last_seq: seq,
                highest: state.next - 1,
                related: Some(state.highest_at),
                at_file_start: previous_at.file != at.file && state.highest_at.file < at.file,
            };
            self.extend_run(session, previous_at, run);
        } else {
            let run = LineRun {
                kind: FindingKind::Duplicate,
                first_at: at,
                last_at: at,
                first_seq: seq,
                last_seq: seq,
                highest: state.next - 1,
                related: (self.recent.get(&(session, seq)).copied())
                    .or_else(|| state.ranges.locate(seq)),
                at_file_start: false,
            };
            self.extend_run(session, previous_at, run);
            return false;
        }
        if record == RecordKind::Close
            && let Some(state) = self.sessions.get_mut(&session)
        {
            state.close.get_or_insert((seq, at));
        }
        self.remember(session, seq, at);
        true
    }

    /// Adds the line `line` (a run of one) to the session's current run when it continues it
    /// (same kind, the session's previous line, the next number); otherwise ends the current
    /// run (its finding) and starts `line`'s.
    fn extend_run(&mut self, session: SessionId, previous_at: Loc, line: LineRun) {
        let Some(state) = self.sessions.get_mut(&session) else {
            return;
        };
        if let Some(run) = &mut state.run
            && run.kind == line.kind
            && run.last_at == previous_at
            && line.first_seq == run.last_seq + 1
        {
            run.last_at = line.last_at;
            run.last_seq = line.last_seq;
            return;
        }
        if let Some(ended) = state.run.replace(line) {
            let finding = self.run_finding(session, &ended);
            self.push_finding(finding);
        }
    }

    pub(super) fn remember(&mut self, session: SessionId, seq: u64, at: Loc) {
        if self.recent.contains_key(&(session, seq)) {
            return;
        }
        if self.recent_order.len() >= RECENT_WINDOW
            && let Some(old) = self.recent_order.pop_front()
        {
            self.recent.remove(&old);
        }
        self.recent.insert((session, seq), at);
        self.recent_order.push_back((session, seq));
    }

    pub(super) fn failed(&mut self, at: Loc, entry: &Entry<'_>, error: &LineError) {
        let (kind, advice) = match error {
            LineError::Open(OpenError::Corrupted { .. }) => (
                FindingKind::Corrupted,
                "the line was altered after it was written (tampering, or disk/transfer \
                 corruption); do not trust it, and compare with a backup",
            ),
            // The error already names the key and the fix.
            LineError::Open(OpenError::UnknownKey { .. }) => (FindingKind::UnknownKey, ""),
            LineError::Open(OpenError::Truncated { .. }) => {
                if !entry.terminated && self.options.allow_open_sessions {
                    // A live log's last line may still be being written.
                    return;
                }
                (
                    FindingKind::Truncated,
                    "a writer crashed mid-line or the file was cut (the rest of this line is \
                     lost), or the line was altered; compare with a backup",
                )
            }
            LineError::Open(OpenError::Unsupported { .. }) => (
                FindingKind::Unsupported,
                "read this log with a newer enclog",
            ),
            LineError::TooLong { .. } => (
                FindingKind::TooLong,
                "the line was not checked; raise the reader's line limit if such lines are \
                 expected",
            ),
            _ => (
                FindingKind::Malformed,
                "the token was damaged or is not an enclog token; the line cannot be checked",
            ),
        };
        let claim = match kind {
            FindingKind::Corrupted | FindingKind::Truncated | FindingKind::Malformed => {
                self.accept_claim(at, entry.raw)
            }
            _ => None,
        };
        self.push(
            kind,
            at,
            claim.map(|(session, _)| session),
            claim.map(|(_, seq)| seq),
            None,
            None,
            if advice.is_empty() {
                error.to_string()
            } else {
                format!("{error}: {advice}")
            },
        );
    }

    /// A line that failed to open still names a session and sequence number in its header,
    /// unauthenticated. When that claim is exactly what the session lacks (the next number, or
    /// one inside a gap), the line is taken as that record, so that one flipped bit is reported
    /// once (as corrupted) rather than also as a missing line.
    pub(super) fn accept_claim(&mut self, at: Loc, raw: &[u8]) -> Option<(SessionId, u64)> {
        let (session, seq) = claimed_sequence(raw)?;
        let state = self.sessions.get_mut(&session)?;
        if state.close.is_some_and(|(close, _)| seq > close) {
            return None;
        }
        if seq == state.next {
            state.next = seq.saturating_add(1);
            state.highest_at = at;
        } else if let Some(i) = state.gap_index(seq) {
            state.fill(i, seq, at);
        } else {
            return None;
        }
        state.ranges.insert(seq, at);
        state.last_at = at;
        Some((session, seq))
    }

    pub(super) fn run_finding(&self, session: SessionId, run: &LineRun) -> Finding {
        let related = run.related.map(|loc| self.location(loc));
        let count = run.last_seq - run.first_seq + 1;
        let (first, last) = (run.first_seq, run.last_seq);
        let mut message = match (run.kind, count) {
            (FindingKind::Duplicate, _) => {
                let first_text = match &related {
                    Some(loc) => format!("first at {loc}"),
                    None => "first seen too long ago to name its line".into(),
                };
                if count == 1 {
                    format!(
                        "seq {first} of session {session} appears again ({first_text}): the line \
                         was copied or replayed, or the same file was given twice; keep one copy"
                    )
                } else {
                    format!(
                        "seq {first}..={last} of session {session} ({count} lines, through {}) \
                         appear again ({first_text}): the lines were copied or replayed, or the \
                         same file was given twice; keep one copy",
                        self.location(run.last_at)
                    )
                }
            }
            (_, 1) => format!(
                "seq {first} of session {session} arrives after seq {} (at {}): the line was \
                 moved, or lines were merged out of order (by a shipper, or by threads that \
                 sealed and wrote in different orders); nothing is missing here",
                run.highest,
                related
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
            _ => format!(
                "seq {first}..={last} of session {session} ({count} lines, through {}) arrive \
                 after seq {} (at {}): the lines were moved, or files or lines were merged out \
                 of order; nothing is missing here",
                self.location(run.last_at),
                run.highest,
                related
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        };
        // The numbers drop where a later file begins: the files were most likely given in the
        // order `ls` sorts rotated logs, newest first.
        if run.at_file_start {
            message.push_str(&self.newest_first_hint());
        }
        let mut finding = self.finding(
            run.kind,
            run.first_at,
            Some(session),
            Some(run.first_seq),
            None,
            related,
            message,
        );
        if count > 1 {
            finding.through = Some(self.location(run.last_at));
        }
        finding
    }

    /// What to say when numbers drop where a later file begins: the files were most likely
    /// given in the order `ls` sorts rotated logs, newest first.
    pub(super) fn newest_first_hint(&self) -> String {
        let mut oldest_first: Vec<&str> = self.files.iter().rev().map(|f| &**f).collect();
        if oldest_first.len() > 8 {
            oldest_first.truncate(8);
            oldest_first.push("…");
        }
        format!(
            "; the files seem to be given newest first: give them oldest first ({})",
            oldest_first.join(" ")
        )
    }

    pub(super) fn missing_finding(&self, session: SessionId, gap: &Gap) -> Finding {
        let count = gap.end - gap.start + 1;
        let plural = if count == 1 { "line" } else { "lines" };
        let range = if count == 1 {
            format!("seq {}", gap.start)
        } else {
            format!("seq {}..={}", gap.start, gap.end)
        };
        let noticed = self.location(gap.noticed);
        let after = gap.after.map(|loc| self.location(loc));
        let message = if gap.initial {
            format!(
                "{range} of session {session} ({count} {plural}) never appeared: the session's \
                 first line seen, at {noticed}, does not have seq 0, so earlier lines are \
                 missing or in another file; give the older files first (e.g. app.log.1 before \
                 app.log)"
            )
        } else {
            let between = after
                .as_ref()
                .map_or_else(String::new, |a| format!(" between {a} and {noticed}"));
            format!(
                "{range} of session {session} ({count} {plural}) never appeared{between} (the \
                 gap was noticed at {noticed}): lines were deleted, or are in another file"
            )
        };
        self.finding(
            FindingKind::Missing,
            gap.noticed,
            Some(session),
            None,
            Some(gap.start..=gap.end),
            after,
            message,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn finding(
        &self,
        kind: FindingKind,
        at: Loc,
        session: Option<SessionId>,
        seq: Option<u64>,
        missing: Option<RangeInclusive<u64>>,
        related: Option<Location>,
        message: String,
    ) -> Finding {
        Finding {
            kind,
            at: self.location(at),
            session,
            seq,
            missing,
            related,
            through: None,
            message,
            file_index: at.file,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn push(
        &mut self,
        kind: FindingKind,
        at: Loc,
        session: Option<SessionId>,
        seq: Option<u64>,
        missing: Option<RangeInclusive<u64>>,
        related: Option<Location>,
        message: String,
    ) {
        let finding = self.finding(kind, at, session, seq, missing, related, message);
        self.push_finding(finding);
    }

    pub(super) fn push_finding(&mut self, finding: Finding) {
        self.findings_total += 1;
        self.counts[finding.kind.index()] += 1;
        if self.findings.len() < self.options.max_findings {
            self.findings.push(finding);
        }
    }
}

/// The (session, seq) that the header of the first token in `raw` claims, if it can be read.
/// Nothing here is authenticated: callers use it only as a hint.
pub(super) fn claimed_sequence(raw: &[u8]) -> Option<(SessionId, u64)> {
    let located = format::locate(raw)?;
    let chars = &raw[located.start..located.end];
    // Whole base64 groups, enough for the longest header.
    const GROUPS: usize = format::MAX_HEADER_LEN.div_ceil(3);
    let take = chars.len().min(GROUPS * 4) / 4 * 4;
    let mut prefix = [0u8; GROUPS * 3];
    let n = format::base64url::decode_slice(&chars[..take], &mut prefix)?;
    let (header, _) = format::Header::peek(&prefix[..n]).ok()?;
    Some((header.session_id(), header.seq))
}
