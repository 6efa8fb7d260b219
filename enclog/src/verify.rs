//! [`Verifier`]: checks the sequence numbers of a log, session by session, and reports lines
//! that were deleted, copied, moved, altered or cut off.
//!
//! Every enclog line carries its writer's session id and a sequence number that starts at 0 and
//! grows by one per line; a writer that shuts down cleanly ends its session with a close record.
//! Reading a log in order, a gap in the numbers is a deleted line, a number seen twice is a
//! copied line, a number lower than one already seen is a moved line, and a session without a
//! close record ended in a crash or was cut off.
//!
//! Memory stays bounded: per session the verifier keeps the gaps still open (one entry per
//! anomaly, not per line), plus a fixed-size window of recent lines used to name the first
//! occurrence of a duplicate, and at most [`VerifyOptions::max_findings`] findings.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, BufRead};
use std::ops::RangeInclusive;
use std::sync::Arc;

use crate::error::OpenError;
use crate::format::{self, RecordKind, SessionId};
use crate::read::decryptor::{Decryptor, Entry, LineError, Outcome};
use crate::read::opener::{MetaStatus, Opened};

/// Sequenced lines remembered to name the first occurrence of a duplicate (about 3 MiB at most).
const RECENT_WINDOW: usize = 1 << 16;

/// What a [`Finding`] is about.
///
/// [`FindingKind::as_str`] gives a stable snake_case name for machine-readable output.
///
/// ```
/// assert_eq!(enclog::verify::FindingKind::OutOfOrder.as_str(), "out_of_order");
/// assert_eq!(enclog::verify::FindingKind::Missing.to_string(), "missing lines");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FindingKind {
    /// A range of sequence numbers never appeared: lines were deleted, or are in another file.
    Missing,
    /// A sequence number appeared twice: a line was copied (or a file was given twice).
    Duplicate,
    /// A sequence number arrived after a higher one: a line was moved (or lines written by
    /// concurrent threads landed in another order).
    OutOfOrder,
    /// A line fails authentication: it was altered after it was written.
    Corrupted,
    /// A line was sealed under a key that was not given, so it could not be checked.
    UnknownKey,
    /// A line is cut short (a crash mid-write or a cut file), or the last line lacks its newline.
    Truncated,
    /// A token is not well formed.
    Malformed,
    /// A token was written by a newer enclog or in a mode this build cannot read.
    Unsupported,
    /// A line is longer than the reader's limit and was skipped unread.
    TooLong,
    /// The clear metadata before a token differs from its encrypted copy: it was edited.
    MetadataMismatch,
    /// A record of a session came after that session's close record.
    AfterClose,
    /// A session has no close record: its writer crashed or was killed, or the log's end was
    /// cut off.
    Unclosed,
}

impl FindingKind {
    /// Every kind, in the order of the declaration.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{FindingKind, Verifier};
    /// let key = Key::generate()?;
    /// let log = Sealer::new(key.clone()).seal_line(b"never closed")?;
    /// let mut verifier = Verifier::new();
    /// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
    /// let report = verifier.finish();
    /// // A summary by kind covers every finding.
    /// let total: u64 = FindingKind::ALL.iter().map(|&kind| report.count(kind)).sum();
    /// assert_eq!((total, report.count(FindingKind::Unclosed)), (report.findings_total, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const ALL: [FindingKind; 12] = [
        FindingKind::Missing,
        FindingKind::Duplicate,
        FindingKind::OutOfOrder,
        FindingKind::Corrupted,
        FindingKind::UnknownKey,
        FindingKind::Truncated,
        FindingKind::Malformed,
        FindingKind::Unsupported,
        FindingKind::TooLong,
        FindingKind::MetadataMismatch,
        FindingKind::AfterClose,
        FindingKind::Unclosed,
    ];

    /// A stable snake_case name (`"missing"`, `"duplicate"`, `"out_of_order"`, …) for JSON
    /// and other machine-readable output.
    ///
    /// ```
    /// assert_eq!(enclog::verify::FindingKind::MetadataMismatch.as_str(), "metadata_mismatch");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Missing => "missing",
            FindingKind::Duplicate => "duplicate",
            FindingKind::OutOfOrder => "out_of_order",
            FindingKind::Corrupted => "corrupted",
            FindingKind::UnknownKey => "unknown_key",
            FindingKind::Truncated => "truncated",
            FindingKind::Malformed => "malformed",
            FindingKind::Unsupported => "unsupported",
            FindingKind::TooLong => "too_long",
            FindingKind::MetadataMismatch => "metadata_mismatch",
            FindingKind::AfterClose => "after_close",
            FindingKind::Unclosed => "unclosed",
        }
    }

    fn index(self) -> usize {
        FindingKind::ALL
            .iter()
            .position(|&k| k == self)
            .unwrap_or(0)
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FindingKind::Missing => "missing lines",
            FindingKind::Duplicate => "duplicate line",
            FindingKind::OutOfOrder => "line out of order",
            FindingKind::Corrupted => "corrupted line",
            FindingKind::UnknownKey => "unknown key",
            FindingKind::Truncated => "truncated line",
            FindingKind::Malformed => "malformed token",
            FindingKind::Unsupported => "unsupported token",
            FindingKind::TooLong => "line too long",
            FindingKind::MetadataMismatch => "clear metadata edited",
            FindingKind::AfterClose => "record after close",
            FindingKind::Unclosed => "session not closed",
        })
    }
}

/// A line of a named input: the file label given to [`Verifier::observe`] and the 1-based line
/// number within that file.
///
/// ```
/// let at = enclog::verify::Location { file: "app.log".into(), line: 57 };
/// assert_eq!(at.to_string(), "app.log:57");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file's label, as given to the verifier.
    pub file: Arc<str>,
    /// The 1-based line number within that file.
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One anomaly found by a [`Verifier`]: what, where, and what to do about it.
///
/// The fields are meant for machine-readable output (e.g. one JSON object per finding);
/// [`Display`](fmt::Display) gives `file:line: kind: message`.
///
/// ```
/// use enclog::{Key, Keyring, Sealer};
/// use enclog::read::Decryptor;
/// use enclog::verify::{FindingKind, Verifier};
/// let key = Key::generate()?;
/// let sealer = Sealer::new(key.clone());
/// let mut log = Vec::new();
/// for i in 0..3 {
///     sealer.seal_to(None, format!("event {i}").as_bytes(), &mut log)?;
/// }
/// let second = log.iter().position(|&b| b == b'\n').unwrap() + 1;
/// let third = second + log[second..].iter().position(|&b| b == b'\n').unwrap() + 1;
/// log.drain(second..third); // delete line 2 (seq 1)
///
/// let mut verifier = Verifier::new();
/// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
/// let report = verifier.finish();
/// let missing = &report.findings[0];
/// assert_eq!(missing.kind, FindingKind::Missing);
/// assert_eq!(missing.missing, Some(1..=1));
/// assert_eq!(missing.at.to_string(), "app.log:2");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// What kind of anomaly.
    pub kind: FindingKind,
    /// The line concerned. For [`FindingKind::Missing`], the line where the gap was noticed
    /// (the first line after it); for [`FindingKind::Unclosed`], the session's last line.
    pub at: Location,
    /// The session concerned, when known. For a line that failed to open, the session its
    /// (unauthenticated) header claims, when that claim fits the sequence.
    pub session: Option<SessionId>,
    /// The line's sequence number, when known (for [`FindingKind::Unclosed`], the highest one
    /// seen in the session).
    pub seq: Option<u64>,
    /// For [`FindingKind::Missing`]: the sequence numbers that never appeared.
    pub missing: Option<RangeInclusive<u64>>,
    /// Another line involved: the first occurrence of a duplicate, the line holding the highest
    /// sequence number seen before an out-of-order line, or the session's close record.
    pub related: Option<Location>,
    /// What the finding means and what to do, for people.
    pub message: String,
    /// Position of the file among those observed, to sort findings in reading order.
    file_index: u32,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.at, self.kind, self.message)
    }
}

/// How a [`Verifier`] judges what it reads.
///
/// ```
/// use enclog::verify::{Verifier, VerifyOptions};
/// let live = VerifyOptions::default().allow_open_sessions(true); // a log still being written
/// let verifier = Verifier::with_options(live);
/// # let _ = verifier;
/// ```
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    pub(crate) allow_open_sessions: bool,
    pub(crate) max_findings: usize,
}

impl VerifyOptions {
    /// For a log that is still being written: a session without a close record is not a
    /// finding (the writer may still be running), and neither is a last line that has no
    /// newline yet (it may be mid-write). The price: a writer that crashed, or a log whose tail
    /// was cut at a line boundary, goes unreported. Sessions left open are still counted in
    /// [`Report::open_sessions`]. Default: `false`.
    pub fn allow_open_sessions(mut self, on: bool) -> Self {
        self.allow_open_sessions = on;
        self
    }

    /// At most this many findings are kept, the earliest in reading order first; the rest are
    /// only counted ([`Report::findings_total`], [`Report::count`]). Default: 10 000.
    pub fn max_findings(mut self, max_findings: usize) -> Self {
        self.max_findings = max_findings;
        self
    }
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            allow_open_sessions: false,
            max_findings: 10_000,
        }
    }
}

/// The outcome of a verification: counts and findings.
///
/// ```
/// use enclog::{Key, Keyring, Sealer};
/// use enclog::read::Decryptor;
/// use enclog::verify::Verifier;
/// let key = Key::generate()?;
/// let sealer = Sealer::new(key.clone());
/// let mut log = b"a plain line\n".to_vec();
/// sealer.seal_to(None, b"started", &mut log)?;
/// sealer.close_to(&mut log)?;
///
/// let mut verifier = Verifier::new();
/// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
/// let report = verifier.finish();
/// assert!(report.is_clean());
/// assert_eq!((report.lines, report.events, report.plain_lines), (3, 1, 1));
/// assert_eq!((report.sessions, report.closed_sessions), (1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Lines read.
    pub lines: u64,
    /// Event records opened.
    pub events: u64,
    /// Close records opened.
    pub close_records: u64,
    /// Lines without a token.
    pub plain_lines: u64,
    /// Lines with a token that could not be opened.
    pub failed_lines: u64,
    /// Lines opened that carry no sequence number (zato-enclog lines), so were not checked.
    pub unsequenced: u64,
    /// Sessions seen.
    pub sessions: u64,
    /// Sessions that have a close record.
    pub closed_sessions: u64,
    /// Sessions without a close record (reported as [`FindingKind::Unclosed`] unless
    /// [`VerifyOptions::allow_open_sessions`]).
    pub open_sessions: u64,
    /// The findings kept, in reading order (file, then line).
    pub findings: Vec<Finding>,
    /// All findings, kept or not.
    pub findings_total: u64,
    counts: [u64; FindingKind::ALL.len()],
}

impl Report {
    /// Whether nothing was found.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::Verifier;
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let mut log = sealer.seal_line(b"event")?;
    /// sealer.close_to(&mut log)?;
    /// let mut verifier = Verifier::new();
    /// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
    /// assert!(verifier.report().is_clean());
    /// let junk = b"enclog:AAAAAAAAAAAA\n"; // a token that cannot be opened
    /// verifier.observe_all("app.log", &mut Decryptor::new(&junk[..], Keyring::new()))?;
    /// assert!(!verifier.finish().is_clean());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_clean(&self) -> bool {
        self.findings_total == 0
    }

    /// How many findings of `kind` there were (kept or not).
    ///
    /// ```
    /// let report = enclog::verify::Verifier::new().finish();
    /// assert_eq!(report.count(enclog::verify::FindingKind::Missing), 0);
    /// ```
    pub fn count(&self, kind: FindingKind) -> u64 {
        self.counts[kind.index()]
    }

    /// Findings that were counted but not kept (past [`VerifyOptions::max_findings`]).
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{Verifier, VerifyOptions};
    /// let key = Key::generate()?;
    /// let log = Sealer::new(key.clone()).seal_line(b"never closed")?;
    /// let options = VerifyOptions::default().max_findings(0);
    /// let mut verifier = Verifier::with_options(options);
    /// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
    /// let report = verifier.finish();
    /// assert_eq!((report.findings.len(), report.findings_dropped()), (0, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn findings_dropped(&self) -> u64 {
        self.findings_total - self.findings.len() as u64
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{} line{}: {} event{} in {} session{} ({} closed), {} plain, {} failed: ",
            self.lines,
            plural(self.lines),
            self.events,
            plural(self.events),
            self.sessions,
            plural(self.sessions),
            self.closed_sessions,
            self.plain_lines,
            self.failed_lines
        )?;
        if self.is_clean() {
            return f.write_str("clean");
        }
        let mut first = true;
        for kind in FindingKind::ALL {
            let n = self.count(kind);
            if n > 0 {
                write!(f, "{}{n} {}", if first { "" } else { ", " }, kind.as_str())?;
                first = false;
            }
        }
        Ok(())
    }
}

/// A line position inside the verifier: file index and line number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Loc {
    file: u32,
    line: u64,
}

/// Sequence numbers not seen (yet) below a session's highest one.
#[derive(Clone, Copy, Debug)]
struct Gap {
    start: u64,
    end: u64,
    noticed: Loc,
    /// The session's first line seen did not have sequence number 0.
    initial: bool,
}

#[derive(Debug)]
struct SessionState {
    /// One past the highest sequence number seen.
    next: u64,
    /// Sorted, disjoint.
    gaps: Vec<Gap>,
    /// The line holding the highest sequence number.
    highest_at: Loc,
    /// The last line of the session in reading order.
    last_at: Loc,
    close: Option<(u64, Loc)>,
}

impl SessionState {
    fn gap_index(&self, seq: u64) -> Option<usize> {
        let i = self.gaps.partition_point(|g| g.end < seq);
        (i < self.gaps.len() && self.gaps[i].start <= seq).then_some(i)
    }

    /// Removes `seq` from the gap at `i`.
    fn fill(&mut self, i: usize, seq: u64) {
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
                        ..gap
                    },
                );
            }
        }
    }
}

/// Checks the sequence numbers and integrity of a log read in order, possibly across several
/// files (oldest first, e.g. `app.log.1` then `app.log`).
///
/// Feed it every [`Entry`] of a [`Decryptor`] ([`Verifier::observe`] for one,
/// [`Verifier::observe_all`] for a whole reader), then call [`Verifier::finish`]. It reports,
/// per session: missing ranges of sequence numbers, duplicates, lines out of order, lines that
/// fail authentication, unknown keys, malformed and truncated tokens, clear metadata that
/// differs from its encrypted copy, records after a close record, and sessions never closed.
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
        let at = Loc {
            file: self.file_index(file),
            line: entry.line_no,
        };
        self.lines += 1;
        match &entry.outcome {
            Outcome::Plain => {
                self.plain_lines += 1;
                // A writer cut off inside `LEVEL enclog:` or the token's first characters
                // leaves a last line in which no token can be found: still a cut line.
                if !entry.terminated && !self.options.allow_open_sessions {
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
        let mut open_sessions = 0;
        let mut closed_sessions = 0;
        let mut add = |finding: Finding| {
            total += 1;
            counts[finding.kind.index()] += 1;
            findings.push(finding);
        };
        for (&session, state) in &self.sessions {
            for gap in &state.gaps {
                add(self.missing_finding(session, gap));
            }
            if state.close.is_some() {
                closed_sessions += 1;
                continue;
            }
            open_sessions += 1;
            if !self.options.allow_open_sessions {
                let highest = state.next - 1;
                add(self.finding(
                    FindingKind::Unclosed,
                    state.last_at,
                    Some(session),
                    Some(highest),
                    None,
                    None,
                    format!(
                        "session {session} has no close record (highest seq {highest}, at {}): \
                         its writer crashed or was killed, or the end of the log was cut off; if \
                         the log is still being written, verify with open sessions allowed",
                        self.location(state.highest_at)
                    ),
                ));
            }
        }
        findings.sort_by_key(|f| (f.file_index, f.at.line, f.kind));
        findings.truncate(self.options.max_findings);
        Report {
            lines: self.lines,
            events: self.events,
            close_records: self.close_records,
            plain_lines: self.plain_lines,
            failed_lines: self.failed_lines,
            unsequenced: self.unsequenced,
            sessions: self.sessions.len() as u64,
            closed_sessions,
            open_sessions,
            findings,
            findings_total: total,
            counts,
        }
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

    fn file_index(&mut self, file: &str) -> u32 {
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

    fn location(&self, at: Loc) -> Location {
        Location {
            file: self
                .files
                .get(at.file as usize)
                .cloned()
                .unwrap_or_else(|| Arc::from("?")),
            line: at.line,
        }
    }

    fn opened(&mut self, at: Loc, opened: &Opened<'_>) {
        match opened.record {
            RecordKind::Event => self.events += 1,
            RecordKind::Close => self.close_records += 1,
        }
        if opened.meta_status == MetaStatus::Differs {
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
        match opened.sequence {
            Some(s) => self.sequenced(at, s.session, s.seq, opened.record),
            None => self.unsequenced += 1,
        }
    }

    fn sequenced(&mut self, at: Loc, session: SessionId, seq: u64, record: RecordKind) {
        let Some(state) = self.sessions.get_mut(&session) else {
            let mut gaps = Vec::new();
            if seq > 0 {
                gaps.push(Gap {
                    start: 0,
                    end: seq - 1,
                    noticed: at,
                    initial: true,
                });
            }
            self.sessions.insert(
                session,
                SessionState {
                    next: seq.saturating_add(1),
                    gaps,
                    highest_at: at,
                    last_at: at,
                    close: (record == RecordKind::Close).then_some((seq, at)),
                },
            );
            self.remember(session, seq, at);
            return;
        };
        state.last_at = at;

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
            return;
        }

        if seq >= state.next {
            if seq > state.next {
                state.gaps.push(Gap {
                    start: state.next,
                    end: seq - 1,
                    noticed: at,
                    initial: false,
                });
            }
            state.next = seq.saturating_add(1);
            state.highest_at = at;
        } else if let Some(i) = state.gap_index(seq) {
            state.fill(i, seq);
            let (highest, highest_at) = (state.next - 1, state.highest_at);
            let related = self.location(highest_at);
            self.push(
                FindingKind::OutOfOrder,
                at,
                Some(session),
                Some(seq),
                None,
                Some(related.clone()),
                format!(
                    "seq {seq} of session {session} arrives after seq {highest} (at {related}): \
                     the line was moved, or lines were merged out of order (by a shipper, or by \
                     threads that sealed and wrote in different orders); nothing is missing here"
                ),
            );
        } else {
            let first = self.recent.get(&(session, seq)).copied();
            let related = first.map(|loc| self.location(loc));
            let first_text = match &related {
                Some(loc) => format!("first at {loc}"),
                None => "first seen too long ago to name its line".into(),
            };
            self.push(
                FindingKind::Duplicate,
                at,
                Some(session),
                Some(seq),
                None,
                related,
                format!(
                    "seq {seq} of session {session} appears again ({first_text}): the line was \
                     copied or replayed, or the same file was given twice; keep one copy"
                ),
            );
            return;
        }
        if record == RecordKind::Close
            && let Some(state) = self.sessions.get_mut(&session)
        {
            state.close.get_or_insert((seq, at));
        }
        self.remember(session, seq, at);
    }

    fn remember(&mut self, session: SessionId, seq: u64, at: Loc) {
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

    fn failed(&mut self, at: Loc, entry: &Entry<'_>, error: &LineError) {
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
                    "the line is cut short: a writer crashed mid-line, or the file was cut; \
                     the rest of this line is lost",
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
    fn accept_claim(&mut self, at: Loc, raw: &[u8]) -> Option<(SessionId, u64)> {
        let (session, seq) = claimed_sequence(raw)?;
        let state = self.sessions.get_mut(&session)?;
        if state.close.is_some_and(|(close, _)| seq > close) {
            return None;
        }
        if seq == state.next {
            state.next = seq.saturating_add(1);
            state.highest_at = at;
        } else if let Some(i) = state.gap_index(seq) {
            state.fill(i, seq);
        } else {
            return None;
        }
        state.last_at = at;
        Some((session, seq))
    }

    fn missing_finding(&self, session: SessionId, gap: &Gap) -> Finding {
        let count = gap.end - gap.start + 1;
        let plural = if count == 1 { "line" } else { "lines" };
        let range = if count == 1 {
            format!("seq {}", gap.start)
        } else {
            format!("seq {}..={}", gap.start, gap.end)
        };
        let noticed = self.location(gap.noticed);
        let message = if gap.initial {
            format!(
                "{range} of session {session} ({count} {plural}) never appeared: the session's \
                 first line seen, at {noticed}, does not have seq 0, so earlier lines are \
                 missing or in another file; give the older files first (e.g. app.log.1 before \
                 app.log)"
            )
        } else {
            format!(
                "{range} of session {session} ({count} {plural}) never appeared (the gap was \
                 noticed at {noticed}): lines were deleted, or are in another file"
            )
        };
        self.finding(
            FindingKind::Missing,
            gap.noticed,
            Some(session),
            None,
            Some(gap.start..=gap.end),
            None,
            message,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
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
            message,
            file_index: at.file,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: FindingKind,
        at: Loc,
        session: Option<SessionId>,
        seq: Option<u64>,
        missing: Option<RangeInclusive<u64>>,
        related: Option<Location>,
        message: String,
    ) {
        self.findings_total += 1;
        self.counts[kind.index()] += 1;
        if self.findings.len() < self.options.max_findings {
            let finding = self.finding(kind, at, session, seq, missing, related, message);
            self.findings.push(finding);
        }
    }
}

/// The (session, seq) that the header of the first token in `raw` claims, if it can be read.
/// Nothing here is authenticated: callers use it only as a hint.
fn claimed_sequence(raw: &[u8]) -> Option<(SessionId, u64)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u64) -> Loc {
        Loc { file: 0, line }
    }

    fn verifier() -> Verifier {
        let mut v = Verifier::new();
        v.file_index("t.log");
        v
    }

    #[test]
    fn records_after_a_close_record_are_reported() {
        let mut v = verifier();
        let s = SessionId::from_bytes([7; 16]);
        v.sequenced(at(1), s, 0, RecordKind::Event);
        v.sequenced(at(2), s, 1, RecordKind::Close);
        v.sequenced(at(3), s, 2, RecordKind::Event);
        v.sequenced(at(4), s, 3, RecordKind::Close);
        let report = v.finish();
        assert_eq!(report.count(FindingKind::AfterClose), 2);
        assert_eq!(report.findings_total, 2);
        assert_eq!(report.findings[0].at.line, 3);
        assert_eq!(report.findings[0].related.as_ref().map(|l| l.line), Some(2));
        assert_eq!(report.closed_sessions, 1);
    }

    #[test]
    fn gaps_split_and_fill() {
        let mut v = verifier();
        let s = SessionId::from_bytes([1; 16]);
        v.sequenced(at(1), s, 0, RecordKind::Event);
        v.sequenced(at(2), s, 10, RecordKind::Event);
        v.sequenced(at(3), s, 5, RecordKind::Event);
        v.sequenced(at(4), s, 1, RecordKind::Event);
        v.sequenced(at(5), s, 9, RecordKind::Event);
        let report = v.finish();
        let missing: Vec<_> = report
            .findings
            .iter()
            .filter_map(|f| f.missing.clone())
            .collect();
        assert_eq!(missing, [2..=4, 6..=8]);
        assert_eq!(report.count(FindingKind::OutOfOrder), 3);
    }

    #[test]
    fn findings_past_the_cap_are_counted_not_kept() {
        let mut v = Verifier::with_options(VerifyOptions {
            max_findings: 2,
            ..VerifyOptions::default()
        });
        v.file_index("t.log");
        let s = SessionId::from_bytes([2; 16]);
        for line in 1..=5 {
            v.sequenced(at(line), s, 0, RecordKind::Event);
        }
        let report = v.finish();
        assert_eq!(report.count(FindingKind::Duplicate), 4);
        assert_eq!(report.findings.len(), 2);
        assert_eq!(report.findings_dropped(), 3); // 4 duplicates + unclosed, 2 kept
    }

    #[test]
    fn a_header_claim_is_read_from_a_damaged_token() {
        let mut raw = b"enclog:".to_vec();
        let mut header = vec![0x11, 1, 2, 3, 4];
        header.extend_from_slice(&[9; 16]);
        header.extend_from_slice(&[0x96, 0x01]); // seq 150
        header.extend_from_slice(&[0; 20]);
        format::base64url::encode_append(&header, &mut raw);
        assert_eq!(
            claimed_sequence(&raw),
            Some((SessionId::from_bytes([9; 16]), 150))
        );
        assert_eq!(claimed_sequence(b"enclog:AAAAAAAAAAAA"), None);

        // Recipient mode: a 32-byte session field, named by its first 16 bytes.
        let mut header = vec![0x12, 1, 2, 3, 4];
        header.extend_from_slice(&[5; 16]);
        header.extend_from_slice(&[6; 16]);
        header.push(7);
        header.extend_from_slice(&[0; 20]);
        let mut raw = b"enclog:".to_vec();
        format::base64url::encode_append(&header, &mut raw);
        assert_eq!(
            claimed_sequence(&raw),
            Some((SessionId::from_bytes([5; 16]), 7))
        );
    }
}
