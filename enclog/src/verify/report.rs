//! What a verification finds: [`Report`], its [`Finding`]s, their [`FindingKind`] and
//! [`Location`].

use std::fmt;
use std::ops::RangeInclusive;
use std::sync::Arc;

use crate::format::SessionId;

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
    /// A line is cut short (a crash mid-write or a cut file), or the last line lacks its newline
    /// and does not open: cut or altered, which v1 lines (no length field) cannot tell apart.
    Truncated,
    /// A token is not well formed.
    Malformed,
    /// A token was written by a newer enclog or in a mode this build cannot read.
    Unsupported,
    /// A line is longer than the reader's limit and was skipped unread.
    TooLong,
    /// The clear metadata before a token differs from its encrypted copy: it was edited.
    MetadataMismatch,
    /// A field-sealed line's clear fields differ from what its envelope authenticates: a clear
    /// value was edited, removed or moved (threat: a log router or attacker rewriting the clear
    /// part of a line whose sensitive values are sealed). Fields added to the line are not
    /// this: they are unauthenticated text.
    ClearFieldsEdited,
    /// A line's session id belongs to a session written under another key: a writer never
    /// changes key inside a session, so the line was sealed with another key of the keyring and
    /// spliced in (threat: a holder of a second key forging lines, or a close record, into a
    /// session sealed under the first).
    KeyChanged,
    /// Lines without a token: nothing in them is authenticated (threat: forged plain text
    /// passing for part of the log). Not a finding with
    /// [`VerifyOptions::allow_plain_lines`](super::VerifyOptions::allow_plain_lines).
    PlainLine,
    /// Text before or after a token that is not authenticated (a syslog header, a JSON wrapper,
    /// or forged words). Only a finding with [`VerifyOptions::strict`](super::VerifyOptions::strict);
    /// otherwise counted in [`Report::unauthenticated_text`].
    UnauthenticatedText,
    /// A record of a session came after that session's close record.
    AfterClose,
    /// A session has no close record: its writer crashed or was killed, or the log's end was
    /// cut off.
    Unclosed,
    /// After the input's first version 2 session, a session starts a lineage not seen before
    /// (a root, or a link to a session that is not in the input): a writer restarted without
    /// its chain state, another writer in the same file, or a session forged by someone who
    /// can seal lines but holds no chain key. Not a finding with
    /// [`VerifyOptions::allow_new_chains`](super::VerifyOptions::allow_new_chains).
    NewChain,
    /// A session's link does not fit the session it names: its MAC does not verify with that
    /// session's chain key, its lineage or index does not follow, or the count and end tag it
    /// states differ from that session's close record (threat: a session forged, or spliced
    /// in from elsewhere, by someone without the lineage's chain keys).
    ForgedLink,
    /// Sessions of a lineage never appeared: a session's index jumps, or the session it names
    /// is not in the input (threat: whole sessions deleted, which sequence numbers cannot show).
    MissingSessions,
    /// A session comes after its successor, or after a session of its lineage with a higher
    /// index: sessions were moved, or files were given in the wrong order.
    SessionsOutOfOrder,
    /// Two sessions both claim to be the successor of one session: a writer restarted from an
    /// old copy of its chain state, or a lineage was replayed or forked.
    ReplayedChain,
    /// A session's first record comes before its predecessor's close record: the lines of two
    /// consecutive sessions of one writer are mixed.
    Interleaved,
    /// Checked against a writer's chain state ([`VerifyOptions::anchor`]): the log does not
    /// start at its lineage's first session (index 0). Threat: the first sessions deleted, which
    /// no link inside the log names.
    ///
    /// [`VerifyOptions::anchor`]: super::VerifyOptions::anchor
    MissingStart,
    /// Checked against a writer's chain state ([`VerifyOptions::anchor`]): the log does not
    /// reach the latest session the state names, or not its close record. Threat: the last
    /// sessions (or lines) deleted, which leaves a valid chain.
    ///
    /// [`VerifyOptions::anchor`]: super::VerifyOptions::anchor
    MissingEnd,
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
    pub const ALL: [FindingKind; 24] = [
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
        FindingKind::KeyChanged,
        FindingKind::PlainLine,
        FindingKind::UnauthenticatedText,
        FindingKind::AfterClose,
        FindingKind::Unclosed,
        FindingKind::NewChain,
        FindingKind::ForgedLink,
        FindingKind::MissingSessions,
        FindingKind::SessionsOutOfOrder,
        FindingKind::ReplayedChain,
        FindingKind::Interleaved,
        FindingKind::MissingStart,
        FindingKind::MissingEnd,
        FindingKind::ClearFieldsEdited,
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
            FindingKind::ClearFieldsEdited => "clear_fields_edited",
            FindingKind::KeyChanged => "key_changed",
            FindingKind::PlainLine => "plain_line",
            FindingKind::UnauthenticatedText => "unauthenticated_text",
            FindingKind::AfterClose => "after_close",
            FindingKind::Unclosed => "unclosed",
            FindingKind::NewChain => "new_chain",
            FindingKind::ForgedLink => "forged_link",
            FindingKind::MissingSessions => "missing_sessions",
            FindingKind::SessionsOutOfOrder => "sessions_out_of_order",
            FindingKind::ReplayedChain => "replayed_chain",
            FindingKind::Interleaved => "interleaved",
            FindingKind::MissingStart => "missing_start",
            FindingKind::MissingEnd => "missing_end",
        }
    }

    pub(super) fn index(self) -> usize {
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
            FindingKind::Truncated => "truncated or altered line",
            FindingKind::Malformed => "malformed token",
            FindingKind::Unsupported => "unsupported token",
            FindingKind::TooLong => "line too long",
            FindingKind::MetadataMismatch => "clear metadata edited",
            FindingKind::ClearFieldsEdited => "clear fields edited",
            FindingKind::KeyChanged => "key changed inside a session",
            FindingKind::PlainLine => "plain text",
            FindingKind::UnauthenticatedText => "unauthenticated text around a token",
            FindingKind::AfterClose => "record after close",
            FindingKind::Unclosed => "session not closed",
            FindingKind::NewChain => "new chain",
            FindingKind::ForgedLink => "forged link",
            FindingKind::MissingSessions => "missing sessions",
            FindingKind::SessionsOutOfOrder => "sessions out of order",
            FindingKind::ReplayedChain => "replayed or forked chain",
            FindingKind::Interleaved => "sessions interleaved",
            FindingKind::MissingStart => "start of the log missing",
            FindingKind::MissingEnd => "end of the log missing",
        })
    }
}

/// A line of a named input: the file label given to [`Verifier::observe`](super::Verifier::observe) and the 1-based line
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

/// One anomaly found by a [`Verifier`](super::Verifier): what, where, and what to do about it.
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
    /// seen in the session; for a run of lines, the first line's).
    pub seq: Option<u64>,
    /// For [`FindingKind::Missing`]: the sequence numbers that never appeared.
    pub missing: Option<RangeInclusive<u64>>,
    /// Another line involved: the first occurrence of a duplicate, the line holding the highest
    /// sequence number seen before an out-of-order line, or the session's close record.
    pub related: Option<Location>,
    /// For a run of lines reported as one finding (plain lines, lines out of order): the
    /// run's last line; [`Finding::at`] is its first.
    pub through: Option<Location>,
    /// What the finding means and what to do, for people.
    pub message: String,
    /// Position of the file among those observed, to sort findings in reading order.
    pub(super) file_index: u32,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.at, self.kind, self.message)
    }
}

/// The outcome of a verification: counts and findings.
///
/// [`Display`](fmt::Display) gives a one-line summary ending in `clean` or the count of each
/// kind of finding; the alternate form (`{:#}`) gives the counts alone, for a caller whose own
/// verdict differs (an input that could not be read is never "clean").
///
/// ```
/// use enclog::{Key, Keyring, Sealer};
/// use enclog::read::Decryptor;
/// use enclog::verify::{FindingKind, Verifier};
/// let key = Key::generate()?;
/// let sealer = Sealer::new(key.clone());
/// let mut log = b"a plain line\n".to_vec();
/// sealer.seal_to(None, b"started", &mut log)?;
/// sealer.close_to(&mut log)?;
///
/// let mut verifier = Verifier::new();
/// verifier.observe_all("app.log", &mut Decryptor::new(&log[..], Keyring::from(key)))?;
/// let report = verifier.finish();
/// // The plain line is not authenticated: a finding, unless plain lines are allowed.
/// assert_eq!(report.count(FindingKind::PlainLine), 1);
/// assert_eq!((report.lines, report.events, report.plain_lines), (3, 1, 1));
/// assert_eq!((report.sessions, report.closed_sessions), (1, 1));
/// assert!(report.to_string().ends_with(": 1 plain_line"));
/// assert!(!format!("{report:#}").contains("plain_line"));
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
    /// Lines opened that carry no sequence number (zato-enclog lines), so were not checked:
    /// deletions among them cannot be seen.
    pub unsequenced: u64,
    /// Lines opened whose token has text before or after it that is not authenticated (clear
    /// metadata that matches its encrypted copy does not count; blank text does not count).
    /// A finding of its own only with [`VerifyOptions::strict`](super::VerifyOptions::strict).
    pub unauthenticated_text: u64,
    /// Lines opened that take no part in the chain walk: lines of format version 1 and
    /// zato-enclog lines (those are also [`Report::unsequenced`]). Deleted sessions among them
    /// cannot be seen.
    pub unchained_lines: u64,
    /// Sessions whose link names a session whose first record is missing (a
    /// [`FindingKind::Missing`] finding of its own), so that the link's MAC could not be checked.
    pub unchecked_links: u64,
    /// Sessions seen.
    pub sessions: u64,
    /// Lineages (chains of sessions, one per writer, `FORMAT.md` §5.2) seen in version 2
    /// sessions.
    pub chains: u64,
    /// Sessions that have a close record.
    pub closed_sessions: u64,
    /// Sessions without a close record (reported as [`FindingKind::Unclosed`] unless
    /// [`VerifyOptions::allow_open_sessions`](super::VerifyOptions::allow_open_sessions)).
    pub open_sessions: u64,
    /// The findings kept, in reading order (file, then line).
    pub findings: Vec<Finding>,
    /// All findings, kept or not.
    pub findings_total: u64,
    pub(super) counts: [u64; FindingKind::ALL.len()],
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

    /// Findings that were counted but not kept (past [`VerifyOptions::max_findings`](super::VerifyOptions::max_findings)).
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
            "{} line{}: {} event{} in {} session{} ({} closed), {} plain, {} failed",
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
        if self.unauthenticated_text > 0 {
            write!(
                f,
                ", {} with unauthenticated text around the token",
                self.unauthenticated_text
            )?;
        }
        if self.unsequenced > 0 {
            write!(f, ", {} unsequenced (zato-enclog)", self.unsequenced)?;
        }
        // zato-enclog lines are unchained too, and "unsequenced" says so already.
        if self.unchained_lines > self.unsequenced {
            write!(f, ", {} unchained", self.unchained_lines)?;
        }
        if f.alternate() {
            return Ok(());
        }
        if self.is_clean() {
            return f.write_str(": clean");
        }
        let mut first = true;
        for kind in FindingKind::ALL {
            let n = self.count(kind);
            if n > 0 {
                write!(
                    f,
                    "{}{n} {}",
                    if first { ": " } else { ", " },
                    kind.as_str()
                )?;
                first = false;
            }
        }
        Ok(())
    }
}
