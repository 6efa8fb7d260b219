//! [`Verifier`]: checks the sequence numbers of a log, session by session, and reports lines
//! that were deleted, copied, moved, altered or cut off.
//!
//! Every enclog line carries its writer's session id and a sequence number that starts at 0 and
//! grows by one per line; a writer that shuts down cleanly ends its session with a close record.
//! Reading a log in order, a gap in the numbers is a deleted line, a number seen twice is a
//! copied line, a number lower than one already seen is a moved line, and a session without a
//! close record ended in a crash or was cut off.
//!
//! Nothing unauthenticated is called clean: a line without a token is a finding (unless plain
//! lines are allowed), text around a token is counted (and a finding in strict mode), lines in
//! zato-enclog's format are counted as unsequenced, and a session id that turns up under a
//! second key is a finding: a session is identified by its key and its id together.
//!
//! A run of lines with the same problem is one finding (plain lines, lines out of order,
//! duplicates), so that files given newest first, or a file given twice, give a handful of
//! findings (with a hint for the order), not one per line.
//!
//! # The chain walk
//!
//! Sequence numbers cannot show a whole session deleted: every session left is complete. So
//! in format version 2 each session's first record carries a **link** (`FORMAT.md` §5): its
//! writer's lineage, its index in it, and the session before it, authenticated with a chain
//! key that only that earlier session carried. Reading in order, the verifier walks these
//! links (`FORMAT.md` §8):
//!
//! | finding | what the walk saw |
//! |---|---|
//! | [`FindingKind::MissingSessions`] | a session's index jumps in its lineage, or the session it names is not in the input |
//! | [`FindingKind::SessionsOutOfOrder`] | a session after its successor, or after a higher index of its lineage |
//! | [`FindingKind::Interleaved`] | a successor's first record before its predecessor's close record |
//! | [`FindingKind::ReplayedChain`] | two sessions claiming to succeed one session (a branch of a forked child does not count) |
//! | [`FindingKind::ForgedLink`] | a link whose MAC, lineage, index, count or end tag does not fit the session it names |
//! | [`FindingKind::NewChain`] | a lineage not seen before, after the input's first session (unless [`VerifyOptions::allow_new_chains`]) |
//!
//! The input's first version 2 session starts the walk whatever it names, and the end of a log
//! links to nothing: deleting the first or the last sessions cannot be seen this way. Lines
//! of version 1 and zato-enclog lines have no link: they are counted in
//! [`Report::unchained_lines`]. A session copied whole is reported as duplicate lines only.
//!
//! ```
//! use enclog::{Key, Keyring, Sealer};
//! use enclog::read::Decryptor;
//! use enclog::seal::Rotation;
//! use enclog::verify::{FindingKind, Verifier};
//! let key = Key::generate()?;
//! // A new session every 2 events: 3 sessions of 2 events and a close record each.
//! let sealer = Sealer::with_rotation(key.clone(), Rotation::default().max_lines(2));
//! let mut log = Vec::new();
//! for i in 0..6 {
//!     sealer.seal_to(None, format!("event {i}").as_bytes(), &mut log)?;
//! }
//! sealer.close_to(&mut log)?;
//! let lines: Vec<&[u8]> = log.split_inclusive(|&b| b == b'\n').collect();
//! let without_the_middle_session = [&lines[..3], &lines[6..]].concat().concat();
//!
//! let mut verifier = Verifier::new();
//! let ring = Keyring::from(key);
//! verifier.observe_all("app.log", &mut Decryptor::new(&without_the_middle_session[..], ring))?;
//! let report = verifier.finish();
//! assert_eq!(report.count(FindingKind::Missing), 0); // each session left is whole
//! assert_eq!(report.count(FindingKind::MissingSessions), 1);
//! assert_eq!(report.findings[0].at.to_string(), "app.log:4");
//! assert_eq!(report.chains, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # A log in runs, and in parts
//!
//! A log too big for one run is verified run by run: a cron job reads what was added since its
//! last run, and a saved [`VerifyState`] carries the rest (each session's numbers read, its
//! gaps, the chain's ends; not the lines). [`Verifier::observe_file`] knows a file verified
//! before again by its first bytes, under any name (logrotate's `app.log.1`, `app.log.2.gz`),
//! and reads only the lines added since; [`Verifier::checkpoint`] reports what a run found
//! (sessions still open wait for a final run: [`Verifier::checkpoint_final`]);
//! [`Verifier::state`] and [`Verifier::resume`] carry the verifier to the next run. The runs
//! report together what one run over every file reports, a line deleted where two runs meet
//! included.
//!
//! A log too big for one machine is verified in parts (shards), each saved with
//! [`Verifier::state`] and [`Verifier::merge`]d on one machine. Missing lines, duplicates,
//! unclosed sessions and chain findings (missing sessions, forged links, replayed chains, new
//! chains) depend only on which lines the parts hold, so the merge gives them as one run over
//! all the files would, in any order of the parts (merging is associative and commutative for
//! them). Findings of order — lines or sessions out of order, sessions interleaved — need the
//! lines in reading order, so each part finds its own and the merge adds none across parts; so
//! do the findings of single lines (damaged, plain, under an unknown key).
//!
//! ```
//! use enclog::{Key, Keyring, Opener, Sealer};
//! use enclog::verify::{FindingKind, StateKey, Verifier, VerifyOptions, VerifyState};
//! let key = Key::generate()?;
//! let sealer = Sealer::new(key.clone());
//! let mut log = sealer.seal_line(b"before the rotation")?;
//! let ring = Keyring::from(key.clone());
//! let mut opener = Opener::new(ring.clone());
//! let live = VerifyOptions::default().allow_open_sessions(true);
//!
//! // 01:00: the cron job verifies app.log and saves its state.
//! let mut verifier = Verifier::with_options(live.clone());
//! verifier.observe_file("app.log", &log[..], &mut opener)?;
//! assert!(verifier.checkpoint().is_clean());
//! let saved = verifier.state().seal(&StateKey::from_key(&key));
//!
//! // The writer goes on; logrotate renames app.log to app.log.1.
//! sealer.seal_to(None, b"after", &mut log)?;
//! sealer.close_to(&mut log)?;
//!
//! // 02:00: only the two new lines of app.log.1 are read; the writer is gone: a final run.
//! let mut verifier = Verifier::resume(VerifyState::open(&saved, &ring)?, live);
//! let read = verifier.observe_file("app.log.1", &log[..], &mut opener)?;
//! assert_eq!((read.lines_skipped, read.lines_read), (1, 2));
//! assert!(verifier.checkpoint_final().is_clean());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Memory stays bounded: per session the verifier keeps the gaps still open (one entry per
//! anomaly, not per line), what the chain walk needs (its lineage, index, chain key, close
//! record and successor), plus a fixed-size window of recent lines used to name the first
//! occurrence of a duplicate, and at most [`VerifyOptions::max_findings`] findings.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, BufRead};
use std::sync::Arc;

use crate::format::SessionId;
use crate::read::decryptor::{Decryptor, Entry, Outcome};

mod anchor;
mod chain;
mod files;
mod merge;
mod options;
mod ranges;
mod report;
mod sequence;
mod state;
mod unauthenticated;

use chain::ChainWalk;
use sequence::{Loc, SessionState};
use unauthenticated::TextRun;

pub use files::FileProgress;
pub use options::VerifyOptions;
pub use report::{Finding, FindingKind, Location, Report};
pub use state::{StateError, StateKey, StateLock, VerifyState};

/// Checks the sequence numbers and integrity of a log read in order, possibly across several
/// files (oldest first, e.g. `app.log.1` then `app.log`).
///
/// Feed it every [`Entry`] of a [`Decryptor`] ([`Verifier::observe`] for one,
/// [`Verifier::observe_all`] for a whole reader), then call [`Verifier::finish`]. It reports,
/// per session: missing ranges of sequence numbers, duplicates, lines out of order, lines that
/// fail authentication, unknown keys, malformed and truncated tokens, clear metadata that
/// differs from its encrypted copy, a session id sealed under a second key, records after a
/// close record, and sessions never closed; lines without a token (plain text); and, between
/// the sessions of each writer, what the chain walk finds (see [the module](self)).
///
/// Gaps are provisional while reading, because a line that arrives late fills its gap (and is
/// reported as out of order instead); missing ranges are therefore reported by `finish`.
///
/// ```
/// use enclog::{Key, Keyring, Sealer};
/// use enclog::read::Decryptor;
/// use enclog::verify::{FindingKind, Verifier};
/// let key = Key::generate()?;
/// let sealer = Sealer::new(key.clone());
/// let mut lines = Vec::new();
/// for i in 0..4 {
///     lines.push(sealer.seal_line(format!("event {i}").as_bytes())?);
/// }
/// lines.swap(1, 2);
/// let log = lines.concat();
///
/// let mut verifier = Verifier::new();
/// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
/// let report = verifier.finish();
/// assert_eq!(report.count(FindingKind::OutOfOrder), 1);
/// assert_eq!(report.count(FindingKind::Missing), 0);
/// assert_eq!(report.count(FindingKind::Unclosed), 1); // no close record was written
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Verifier {
    options: VerifyOptions,
    files: Vec<Arc<str>>,
    current_file: u32,
    /// Keyed by session id; each state holds the key its session was sealed under, so that a
    /// second key using the same id is a finding rather than a continuation.
    sessions: HashMap<SessionId, SessionState>,
    recent: HashMap<(SessionId, u64), Loc>,
    recent_order: VecDeque<(SessionId, u64)>,
    findings: Vec<Finding>,
    findings_total: u64,
    counts: [u64; FindingKind::ALL.len()],
    lines: u64,
    events: u64,
    close_records: u64,
    plain_lines: u64,
    failed_lines: u64,
    unsequenced: u64,
    unauthenticated_text: u64,
    /// The run of plain lines (or, in strict mode, of lines with text around the token) being
    /// read, reported as one finding when it ends.
    text_run: Option<TextRun>,
    /// What the chain walk keeps of the version 2 sessions read.
    chain: ChainWalk,
    /// What is known of each file's bytes, by file index: how a saved state recognises a file
    /// it has verified (under another name, after a rotation).
    marks: Vec<Option<files::FileMark>>,
    /// Added to the line numbers of the file being read: its first lines were verified before.
    line_offset: u64,
    /// Files read by this verifier (not by the runs before it): a second file with the same
    /// content in one run is a copy, not a re-read.
    read_here: HashSet<u32>,
}

/// How far a report goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// More input may come: sessions still open are not findings (unless a successor shows
    /// they ended), nor are the ends of the log.
    Checkpoint,
    /// The input ends here.
    Final,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

impl Verifier {
    /// A verifier with the default [`VerifyOptions`] (every session must be closed).
    ///
    /// ```
    /// let report = enclog::verify::Verifier::new().finish();
    /// assert!(report.is_clean() && report.lines == 0);
    /// ```
    pub fn new() -> Verifier {
        Verifier::with_options(VerifyOptions::default())
    }

    /// A verifier with `options` (e.g. [`VerifyOptions::allow_open_sessions`] for a live log).
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{Verifier, VerifyOptions};
    /// let key = Key::generate()?;
    /// let log = Sealer::new(key.clone()).seal_line(b"the writer is still running")?;
    /// let live = VerifyOptions::default().allow_open_sessions(true);
    /// let mut verifier = Verifier::with_options(live);
    /// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
    /// let report = verifier.finish();
    /// assert!(report.is_clean() && report.open_sessions == 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_options(options: VerifyOptions) -> Verifier {
        Verifier {
            options,
            files: Vec::new(),
            current_file: 0,
            sessions: HashMap::new(),
            recent: HashMap::new(),
            recent_order: VecDeque::new(),
            findings: Vec::new(),
            findings_total: 0,
            counts: [0; FindingKind::ALL.len()],
            lines: 0,
            events: 0,
            close_records: 0,
            plain_lines: 0,
            failed_lines: 0,
            unsequenced: 0,
            unauthenticated_text: 0,
            text_run: None,
            chain: ChainWalk::default(),
            marks: Vec::new(),
            line_offset: 0,
            read_here: HashSet::new(),
        }
    }

    /// Reads every entry of `decryptor` as lines of the file labelled `file`. I/O errors are
    /// returned as such; what was read before one still counts.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::Verifier;
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let (mut old, mut new) = (Vec::new(), Vec::new());
    /// sealer.seal_to(None, b"in the rotated file", &mut old)?;
    /// sealer.seal_to(None, b"in the current file", &mut new)?;
    /// sealer.close_to(&mut new)?;
    ///
    /// let mut verifier = Verifier::new();
    /// let ring = Keyring::from(key);
    /// verifier.observe_all("app.log.1", &mut Decryptor::new(&old[..], ring.clone()))?;
    /// verifier.observe_all("app.log", &mut Decryptor::new(&new[..], ring))?;
    /// assert!(verifier.finish().is_clean());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe_all<R: BufRead>(
        &mut self,
        file: &str,
        decryptor: &mut Decryptor<R>,
    ) -> io::Result<()> {
        while let Some(entry) = decryptor.next_entry()? {
            self.observe(file, &entry);
        }
        Ok(())
    }

    /// Takes one entry, read from the file labelled `file`. Entries must come in reading order:
    /// the lines of each file in order, files oldest first.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::Verifier;
    /// let key = Key::generate()?;
    /// let log = Sealer::new(key.clone()).seal_line(b"hello")?;
    /// let mut verifier = Verifier::new();
    /// let mut reader = Decryptor::new(&log[..], Keyring::from(key));
    /// while let Some(entry) = reader.next_entry()? {
    ///     verifier.observe("app.log", &entry);
    /// }
    /// assert_eq!(verifier.finish().open_sessions, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn observe(&mut self, file: &str, entry: &Entry<'_>) {
        let index = self.file_index(file);
        self.observe_in(index, entry);
    }

    /// [`observe`](Self::observe) for the file of index `file`.
    fn observe_in(&mut self, file: u32, entry: &Entry<'_>) {
        let at = Loc {
            file,
            line: entry.line_no + self.line_offset,
        };
        self.lines += 1;
        match &entry.outcome {
            Outcome::Plain => {
                self.plain_lines += 1;
                if entry.terminated {
                    // Blank lines say nothing: never a finding, and they do not break a run.
                    if !unauthenticated::is_blank(entry.raw) {
                        let finding =
                            (!self.options.allow_plain_lines).then_some(FindingKind::PlainLine);
                        self.text_line(at, finding);
                    }
                    return;
                }
                self.text_line(at, None);
                // A writer cut off inside `LEVEL enclog:` or the token's first characters
                // leaves a last line in which no token can be found: still a cut line, not
                // plain text.
                if !self.options.allow_open_sessions {
                    self.push(
                        FindingKind::Truncated,
                        at,
                        None,
                        None,
                        None,
                        None,
                        "the last line has no newline and holds no token: a writer was cut \
                         off before its token (a crash), or the file was cut"
                            .into(),
                    );
                }
            }
            Outcome::Opened(opened) => {
                let finding = self.text_around(opened);
                self.text_line(at, finding);
                self.opened(at, opened);
                if !entry.terminated && !self.options.allow_open_sessions {
                    self.push(
                        FindingKind::Truncated,
                        at,
                        opened.sequence.map(|s| s.session),
                        opened.sequence.map(|s| s.seq),
                        None,
                        None,
                        "the last line has no newline: the file was cut just after its token \
                         (a crash, or a copy of a file still being written); the line itself is \
                         intact"
                            .into(),
                    );
                }
            }
            Outcome::Failed(error) => {
                self.text_line(at, None);
                self.failed_lines += 1;
                self.failed(at, entry, error);
            }
        }
    }

    /// The report so far (a snapshot: reading may go on). Sessions not closed yet count as
    /// unclosed, as they would if the input ended here.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{FindingKind, Verifier};
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let first = sealer.seal_line(b"event")?;
    /// let mut verifier = Verifier::new();
    /// let ring = Keyring::from(key);
    /// verifier.observe_all("app.log", &mut Decryptor::new(&first[..], ring.clone()))?;
    /// assert_eq!(verifier.report().count(FindingKind::Unclosed), 1); // as if the log ended here
    /// let mut rest = Vec::new();
    /// sealer.close_to(&mut rest)?;
    /// verifier.observe_all("app.log", &mut Decryptor::new(&rest[..], ring))?;
    /// assert!(verifier.report().is_clean());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn report(&self) -> Report {
        let mut findings = self.findings.clone();
        let mut total = self.findings_total;
        let mut counts = self.counts;
        let unchecked_links = self.pending(End::Final, &mut |finding: Finding| {
            total += 1;
            counts[finding.kind.index()] += 1;
            findings.push(finding);
        });
        self.summary(findings, total, counts, unchecked_links)
    }

    /// The findings of the input read since this verifier was made, [resumed](Self::resume)
    /// or last checkpointed, for a run that is **not the last** over a log that goes on: the
    /// lines read, the runs of lines being read (ended here), the gaps and the chain findings
    /// as they stand (missing lines and sessions, new chains), and the sessions without a close
    /// record that a successor shows have ended. A session still open is left to a later run,
    /// and so are the ends of the log ([`VerifyOptions::anchor`]):
    /// [`checkpoint_final`](Self::checkpoint_final) or [`finish`](Self::finish) decides them.
    ///
    /// What it reports is not reported again: the counts start again from zero, and a saved
    /// [`state`](Self::state) remembers which gaps and chain findings were reported. A line that
    /// fills a gap already reported is still reported where it arrives (out of order): the one
    /// case where the runs report more than one run over the whole log would.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{FindingKind, Verifier};
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let lines: Vec<_> = (0..4).map(|_| sealer.seal_line(b"event")).collect::<Result<_, _>>()?;
    /// let ring = Keyring::from(key);
    /// let mut verifier = Verifier::new();
    /// let first = [&lines[0][..], &lines[2][..]].concat(); // seq 1 deleted
    /// verifier.observe_all("app.log", &mut Decryptor::new(&first[..], ring.clone()))?;
    /// let report = verifier.checkpoint();
    /// assert_eq!(report.count(FindingKind::Missing), 1);
    /// assert_eq!(report.count(FindingKind::Unclosed), 0); // the writer may still be running
    ///
    /// verifier.observe_all("app.log", &mut Decryptor::new(&lines[3][..], ring))?;
    /// let report = verifier.finish();
    /// assert_eq!(report.count(FindingKind::Missing), 0); // reported already
    /// assert_eq!(report.count(FindingKind::Unclosed), 1); // the log ends here
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checkpoint(&mut self) -> Report {
        self.deliver(End::Checkpoint)
    }

    /// Like [`finish`](Self::finish), for the last run over a log whose verifier is kept (to
    /// save its [`state`](Self::state)): open gaps, unclosed sessions (unless
    /// [`VerifyOptions::allow_open_sessions`]) and the ends of the log are reported, then
    /// remembered as reported like [`checkpoint`](Self::checkpoint)'s.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{FindingKind, Verifier};
    /// let key = Key::generate()?;
    /// let log = Sealer::new(key.clone()).seal_line(b"the writer crashed after this")?;
    /// let mut verifier = Verifier::new();
    /// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
    /// assert_eq!(verifier.checkpoint_final().count(FindingKind::Unclosed), 1);
    /// assert!(verifier.checkpoint_final().is_clean()); // said once
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checkpoint_final(&mut self) -> Report {
        self.deliver(End::Final)
    }

    /// The findings of the lines read that no other part of the log can change, for a run over
    /// a part whose [`state`](Self::state) will be [merged](Self::merge) with the others':
    /// damaged lines, plain text, lines and sessions out of order, copies within the part.
    /// Missing lines and sessions, copies across parts, new chains and sessions left open are
    /// the merge's to report (a part's first lines follow another part's last). Nothing is
    /// marked as reported: the merge reports these too.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Opener, Sealer};
    /// use enclog::verify::{FindingKind, Verifier};
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let lines: Vec<_> = (0..4).map(|_| sealer.seal_line(b"event")).collect::<Result<_, _>>()?;
    /// let part = [&lines[2][..], &lines[2][..], &lines[3][..]].concat(); // seq 2 twice
    /// let mut verifier = Verifier::new();
    /// verifier.observe_file("app.log", &part[..], &mut Opener::new(Keyring::from(key)))?;
    /// let report = verifier.report_part();
    /// assert_eq!(report.count(FindingKind::Duplicate), 1);
    /// // Seq 0 and 1 may be in another part, and the session may be closed there.
    /// assert_eq!(report.findings_total, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn report_part(&self) -> Report {
        let mut findings = self.findings.clone();
        let mut total = self.findings_total;
        let mut counts = self.counts;
        let mut add = |finding: Finding| {
            total += 1;
            counts[finding.kind.index()] += 1;
            findings.push(finding);
        };
        if let Some(run) = &self.text_run {
            add(self.text_run_finding(run));
        }
        for (&session, state) in &self.sessions {
            if let Some(run) = &state.run {
                add(self.run_finding(session, run));
            }
        }
        // Links not checked yet may be by the merge: it counts them.
        self.summary(findings, total, counts, 0)
    }

    fn deliver(&mut self, end: End) -> Report {
        let mut pending = Vec::new();
        let unchecked_links = self.pending(end, &mut |finding| pending.push(finding));
        self.mark_reported(end);
        for finding in pending {
            self.push_finding(finding);
        }
        let findings = std::mem::take(&mut self.findings);
        let report = self.summary(findings, self.findings_total, self.counts, unchecked_links);
        self.reset_counts();
        report
    }

    /// The findings that more input could still change, as if the input ended here (`end`
    /// says how far): runs being read, gaps, sessions without a close record, links waiting
    /// for the session they name, the anchor. Those a checkpoint reported are left out.
    /// Returns how many links could not be checked.
    fn pending(&self, end: End, add: &mut impl FnMut(Finding)) -> u64 {
        if let Some(run) = &self.text_run {
            add(self.text_run_finding(run));
        }
        let open_allowed = end == End::Checkpoint || self.options.allow_open_sessions;
        for (&session, state) in &self.sessions {
            for gap in state.gaps.iter().filter(|gap| !gap.reported) {
                add(self.missing_finding(session, gap));
            }
            if let Some(run) = &state.run {
                add(self.run_finding(session, run));
            }
            if state.close.is_some() || state.unclosed_reported {
                continue;
            }
            // A session with a successor has ended, live log or not: its successor's link says
            // how (threat: a middle session's last lines and close record cut from a log that
            // is verified as live).
            let succeeded = self.chain.has_successor((state.key, session));
            if !open_allowed || succeeded {
                add(self.unclosed_finding(session, state));
            }
        }
        let unchecked_links = self.chain.unchecked + self.chain_findings(add);
        self.start_findings(add);
        if end == End::Final {
            self.anchor_findings(add);
        }
        unchecked_links
    }

    /// Remembers what [`pending`](Self::pending) reported for `end`, so that no later report
    /// gives it again.
    fn mark_reported(&mut self, end: End) {
        self.text_run = None;
        let open_allowed = end == End::Checkpoint || self.options.allow_open_sessions;
        let chain = &self.chain;
        for (&session, state) in &mut self.sessions {
            for gap in &mut state.gaps {
                gap.reported = true;
            }
            state.run = None;
            if state.close.is_none() && (!open_allowed || chain.has_successor((state.key, session)))
            {
                state.unclosed_reported = true;
            }
        }
        for waiting in self.chain.waiting.values_mut().flatten() {
            waiting.reported = true;
        }
        for session in self.chain.sessions.values_mut() {
            session.start_reported |= session.starts_lineage;
        }
    }

    fn unclosed_finding(&self, session: SessionId, state: &SessionState) -> Finding {
        let highest = state.next - 1;
        self.finding(
            FindingKind::Unclosed,
            state.last_at,
            Some(session),
            Some(highest),
            None,
            None,
            format!(
                "session {session} has no close record (highest seq {highest}, at {}): \
                 its writer crashed or was killed, or the end of the log was cut off; if \
                 the log is still being written, verify with open sessions allowed (`enclog verify --allow-open`)",
                self.location(state.highest_at)
            ),
        )
    }

    /// A report of `findings` and the counts as they stand.
    fn summary(
        &self,
        mut findings: Vec<Finding>,
        findings_total: u64,
        counts: [u64; FindingKind::ALL.len()],
        unchecked_links: u64,
    ) -> Report {
        findings.sort_by_key(|f| (f.file_index, f.at.line, f.kind));
        findings.truncate(self.options.max_findings);
        let closed_sessions = (self.sessions.values())
            .filter(|s| s.close.is_some())
            .count() as u64;
        Report {
            lines: self.lines,
            events: self.events,
            close_records: self.close_records,
            plain_lines: self.plain_lines,
            failed_lines: self.failed_lines,
            unsequenced: self.unsequenced,
            unauthenticated_text: self.unauthenticated_text,
            unchained_lines: self.chain.unchained,
            unchecked_links,
            sessions: self.sessions.len() as u64,
            chains: self.chain.chains(),
            closed_sessions,
            open_sessions: self.sessions.len() as u64 - closed_sessions,
            findings,
            findings_total,
            counts,
        }
    }

    /// Starts the counts (lines, findings…) again from zero: what they counted was reported.
    fn reset_counts(&mut self) {
        self.findings.clear();
        self.findings_total = 0;
        self.counts = [0; FindingKind::ALL.len()];
        self.lines = 0;
        self.events = 0;
        self.close_records = 0;
        self.plain_lines = 0;
        self.failed_lines = 0;
        self.unsequenced = 0;
        self.unauthenticated_text = 0;
        self.chain.unchained = 0;
    }

    /// Ends the verification: open gaps become [`FindingKind::Missing`] findings and sessions
    /// without a close record become [`FindingKind::Unclosed`] ones (unless allowed).
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{FindingKind, Verifier};
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let lines: Vec<_> = (0..3).map(|_| sealer.seal_line(b"event")).collect::<Result<_, _>>()?;
    /// let log = [&lines[0][..], &lines[2][..]].concat(); // line 1 deleted
    /// let mut verifier = Verifier::new();
    /// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
    /// let report = verifier.finish();
    /// assert_eq!(report.count(FindingKind::Missing), 1);
    /// assert_eq!(report.findings[0].missing, Some(1..=1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(self) -> Report {
        self.report()
    }
}

#[cfg(test)]
mod tests;
