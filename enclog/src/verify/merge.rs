//! Parts of a log verified apart (shards: other machines, other days), made one:
//! [`Verifier::merge`].
//!
//! What each part found in its own lines stays as it found it: damaged lines, plain text,
//! lines and sessions out of order, sessions interleaved, copies within the part. Across parts,
//! the merge decides what depends only on *which* lines and sessions the parts hold, not on the
//! order they are given in: for each session, the union of the numbers read (a number in two
//! parts is a duplicate; a number above a close record is a record after close; what no part
//! holds is missing), and for each link that named a session outside its part, the chain
//! findings over the sessions of all parts (see `chain/merge.rs`). So merging is associative
//! and commutative for missing lines, duplicates, unclosed sessions and chain findings; the
//! order only chooses which copy of a duplicate is "again" and which lineage starts the input.

use super::chain;
use super::ranges::{SeqRange, SeqRanges};
use super::sequence::{Gap, LineRun, Loc, SessionState};
use super::{FindingKind, Verifier, VerifyState};

impl Verifier {
    /// Adds a part of the log verified apart (by another run, on another machine) and saved
    /// with [`state`](Self::state): its files, sessions and chain become this verifier's, and
    /// the findings it had not reported, and its counts, travel into this verifier's report.
    /// Missing lines, duplicates across parts, unclosed sessions and chain findings come out as
    /// one run over all the parts' files would give them, whatever the order of the merges;
    /// lines and sessions out of order are each part's own findings.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Opener, Sealer};
    /// use enclog::verify::{FindingKind, Verifier};
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let lines: Vec<_> = (0..6).map(|_| sealer.seal_line(b"event")).collect::<Result<_, _>>()?;
    /// let mut opener = Opener::new(Keyring::from(key));
    /// // Two machines, one file each; the first line of the second file was deleted.
    /// let mut one = Verifier::new();
    /// one.observe_file("app.log.1", &lines[..3].concat()[..], &mut opener)?;
    /// let mut two = Verifier::new();
    /// two.observe_file("app.log", &lines[4..].concat()[..], &mut opener)?;
    /// for order in [[one.state(), two.state()], [two.state(), one.state()]] {
    ///     let mut merged = Verifier::new();
    ///     for part in order {
    ///         merged.merge(part);
    ///     }
    ///     let report = merged.finish();
    ///     assert_eq!(report.count(FindingKind::Missing), 1);
    ///     let missing = report.findings.iter().find(|f| f.kind == FindingKind::Missing).unwrap();
    ///     assert_eq!(missing.missing, Some(3..=3));
    ///     assert_eq!(missing.at.to_string(), "app.log:1");
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn merge(&mut self, state: VerifyState) {
        let mut theirs = state.verifier;
        let offset = u32::try_from(self.files.len()).unwrap_or(u32::MAX);
        let shift = |at: Loc| Loc {
            file: at.file.saturating_add(offset),
            line: at.line,
        };

        self.marks.resize(self.files.len(), None);
        theirs.marks.resize(theirs.files.len(), None);
        self.files.append(&mut theirs.files);
        self.marks.append(&mut theirs.marks);

        // A run of text being read ends where the part ends.
        if let Some(run) = self.text_run.take() {
            let finding = self.text_run_finding(&run);
            self.push_finding(finding);
        }
        self.text_run = theirs.text_run.map(|mut run| {
            run.first = shift(run.first);
            run.last = shift(run.last);
            run
        });
        for mut finding in theirs.findings {
            finding.file_index = finding.file_index.saturating_add(offset);
            if self.findings.len() < self.options.max_findings {
                self.findings.push(finding);
            }
        }
        self.findings_total += theirs.findings_total;
        for (mine, theirs) in self.counts.iter_mut().zip(theirs.counts) {
            *mine += theirs;
        }
        self.lines += theirs.lines;
        self.events += theirs.events;
        self.close_records += theirs.close_records;
        self.plain_lines += theirs.plain_lines;
        self.failed_lines += theirs.failed_lines;
        self.unsequenced += theirs.unsequenced;
        self.unauthenticated_text += theirs.unauthenticated_text;

        let mut sessions: Vec<_> = theirs.sessions.into_iter().collect();
        sessions.sort_by_key(|(id, s)| (s.first_at.file, s.first_at.line, id.0));
        for (id, mut session) in sessions {
            shift_session(&mut session, &shift);
            match self.sessions.get(&id) {
                None => {
                    self.sessions.insert(id, session);
                }
                Some(mine) if mine.key != session.key => {
                    let (first_key, first_at) = (mine.key, self.location(mine.first_at));
                    let message = format!(
                        "session {id} was read under key {} in one part of the log and under \
                         key {first_key} in another (first at {first_at}): a writer never \
                         changes key inside a session, so one of them was forged with another key \
                         of the keyring or spliced in from elsewhere; treat it as untrusted",
                        session.key
                    );
                    self.push(
                        FindingKind::KeyChanged,
                        session.first_at,
                        Some(id),
                        None,
                        None,
                        Some(first_at),
                        message,
                    );
                }
                Some(_) => self.merge_session(id, session),
            }
        }
        let mut walk = theirs.chain;
        chain::shift(&mut walk, shift);
        self.merge_chain(walk);
    }

    /// A session both parts read: the union of its numbers, findings for what is in both or
    /// after its close record, and its gaps recomputed.
    fn merge_session(&mut self, id: crate::format::SessionId, theirs: SessionState) {
        let Some(mut mine) = self.sessions.remove(&id) else {
            return;
        };
        // A run of lines being read in the first part ends where it ends.
        if let Some(run) = mine.run.take() {
            let finding = self.run_finding(id, &run);
            self.push_finding(finding);
        }
        let mut added = Vec::new();
        for range in &theirs.ranges.ranges {
            for (start, end, held) in mine.ranges.held_in(range.start, range.end) {
                let copy = range.part(start, end);
                let run = LineRun {
                    kind: FindingKind::Duplicate,
                    first_at: copy.first_at(),
                    last_at: copy.last_at(),
                    first_seq: start,
                    last_seq: end,
                    highest: mine.next - 1,
                    related: held.locate(start),
                    at_file_start: false,
                };
                let finding = self.run_finding(id, &run);
                self.push_finding(finding);
            }
            for (start, end) in mine.ranges.missing_in(range.start, range.end) {
                added.push(range.part(start, end));
            }
        }
        for range in added {
            mine.ranges.insert_range(range);
        }
        let close = match (mine.close, theirs.close) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
        if let Some((close_seq, close_at)) = close {
            let after = after_close(&mut mine.ranges, close_seq);
            for range in after {
                let related = self.location(close_at);
                let message = format!(
                    "seq {}..={} of session {id} were read in one part of the log, but the \
                     session's close record (seq {close_seq}, at {related}) is in another: a \
                     closed session never writes again, so these lines were forged or spliced in \
                     from elsewhere; treat them as untrusted",
                    range.start, range.end
                );
                self.push(
                    FindingKind::AfterClose,
                    range.first_at(),
                    Some(id),
                    Some(range.start),
                    None,
                    Some(related),
                    message,
                );
            }
        }
        let reported = |start: u64, end: u64| {
            (mine.gaps.iter().chain(&theirs.gaps))
                .any(|g| g.reported && g.start <= start && end <= g.end)
        };
        let top = mine.ranges.ranges.last().map_or(0, |r| r.end);
        let gaps = (mine.ranges.missing_in(0, top).into_iter())
            .map(|(start, end)| Gap {
                start,
                end,
                noticed: end
                    .checked_add(1)
                    .and_then(|next| mine.ranges.locate(next))
                    .unwrap_or(mine.highest_at),
                after: start
                    .checked_sub(1)
                    .and_then(|prev| mine.ranges.locate(prev)),
                initial: start == 0,
                reported: reported(start, end),
            })
            .collect();
        let highest_at = (mine.ranges.ranges.last()).map_or(mine.highest_at, SeqRange::last_at);
        self.sessions.insert(
            id,
            SessionState {
                key: mine.key,
                first_at: mine.first_at,
                run: theirs.run,
                next: top.saturating_add(1),
                gaps,
                highest_at,
                last_at: theirs.last_at,
                close,
                ranges: mine.ranges,
                unclosed_reported: mine.unclosed_reported || theirs.unclosed_reported,
            },
        );
    }
}

/// Takes out of `ranges` the numbers above the close record's (`close_seq`), which a part
/// that did not know that record read.
fn after_close(ranges: &mut SeqRanges, close_seq: u64) -> Vec<SeqRange> {
    let Some(first_after) = close_seq.checked_add(1) else {
        return Vec::new();
    };
    let mut after = Vec::new();
    let mut kept = Vec::with_capacity(ranges.ranges.len());
    for range in ranges.ranges.drain(..) {
        if range.end < first_after {
            kept.push(range);
        } else if range.start >= first_after {
            after.push(range);
        } else {
            kept.push(range.part(range.start, close_seq));
            after.push(range.part(first_after, range.end));
        }
    }
    ranges.ranges = kept;
    after
}

/// Moves a part's session to this verifier's file indexes.
fn shift_session(s: &mut SessionState, shift: &impl Fn(Loc) -> Loc) {
    s.first_at = shift(s.first_at);
    s.highest_at = shift(s.highest_at);
    s.last_at = shift(s.last_at);
    if let Some(run) = &mut s.run {
        run.first_at = shift(run.first_at);
        run.last_at = shift(run.last_at);
        run.related = run.related.map(shift);
    }
    for gap in &mut s.gaps {
        gap.noticed = shift(gap.noticed);
        gap.after = gap.after.map(shift);
    }
    if let Some((_, at)) = &mut s.close {
        *at = shift(*at);
    }
    for range in &mut s.ranges.ranges {
        let at = shift(range.first_at());
        range.file = at.file;
    }
}
