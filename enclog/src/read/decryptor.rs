//! [`Decryptor`]: streams any `BufRead`, opening line by line with bounded memory.

use std::io::{self, BufRead};

use crate::error::OpenError;
use crate::format::{self, Located};
use crate::read::opener::{OpenResult, Opened, Opener};

/// Lines longer than this (bytes) are reported, not buffered, unless configured otherwise.
///
/// ```
/// use enclog::Keyring;
/// use enclog::read::{Decryptor, LineError, Outcome};
/// assert_eq!(enclog::read::DEFAULT_MAX_LINE, 16 * 1024 * 1024);
/// let long = vec![b'x'; enclog::read::DEFAULT_MAX_LINE + 1];
/// let mut reader = Decryptor::new(&long[..], Keyring::new());
/// let entry = reader.next_entry()?.unwrap();
/// assert!(matches!(entry.outcome, Outcome::Failed(LineError::TooLong { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const DEFAULT_MAX_LINE: usize = 16 * 1024 * 1024;

/// What one line of input turned out to be.
///
/// New kinds of line come as new variants (a line holding several sealed values is planned),
/// so a `match` needs a `_` arm: show such a line as not understood, never as plain text.
///
/// ```
/// use enclog::{Key, Keyring, Sealer};
/// use enclog::read::{Decryptor, Outcome};
/// let (key, other) = (Key::generate()?, Key::generate()?);
/// let mut log = b"plain\n".to_vec();
/// Sealer::new(key.clone()).seal_to(None, b"mine", &mut log)?;
/// Sealer::new(other).seal_to(None, b"not mine", &mut log)?;
/// let mut reader = Decryptor::new(&log[..], Keyring::from(key));
/// assert!(matches!(reader.next_entry()?.unwrap().outcome, Outcome::Plain));
/// assert!(matches!(reader.next_entry()?.unwrap().outcome, Outcome::Opened(_)));
/// assert!(matches!(reader.next_entry()?.unwrap().outcome, Outcome::Failed(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome<'a> {
    /// The line holds no token; pass it through.
    Plain,
    /// The line was opened.
    Opened(Opened<'a>),
    /// The line holds a token that could not be opened; decryption goes on with the next line.
    Failed(LineError),
}

/// Why one line could not be opened.
///
/// ```
/// let err = enclog::read::LineError::TooLong { len: 10, limit: 5 };
/// assert!(err.to_string().contains("longer than"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The token could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The line is longer than the configured cap; it was skipped without being buffered.
    #[error(
        "line is {len} bytes, longer than the {limit}-byte limit; it was skipped (raise the limit if this log really has such lines)"
    )]
    TooLong {
        /// The line's length in bytes.
        len: u64,
        /// The cap.
        limit: usize,
    },
}

/// One line of input and what it turned out to be.
///
/// ```
/// let mut reader = enclog::read::Decryptor::new(&b"one\ntwo"[..], enclog::Keyring::new());
/// reader.next_entry()?;
/// let entry = reader.next_entry()?.unwrap();
/// assert_eq!((entry.line_no, entry.raw, entry.terminated), (2, &b"two"[..], false));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Entry<'a> {
    /// The 1-based line number.
    pub line_no: u64,
    /// The line as read, without its `\n` (a `\r` before it is kept, so CRLF text passes
    /// through unchanged); empty for a line that was too long.
    pub raw: &'a [u8],
    /// Whether the line ended with a newline (`false` only for a cut last line).
    pub terminated: bool,
    /// What it turned out to be.
    pub outcome: Outcome<'a>,
}

/// Streams lines from a reader and opens each one on its own: a bad line is reported in its
/// [`Entry`] and the next line is read as usual. Memory stays bounded by the line cap.
///
/// A last line without a newline whose token does not open is reported as
/// [`OpenError::Truncated`], "truncated or altered": the writer was cut off mid-line (a crash),
/// or the line was edited. v1 lines carry no length field, so the two cannot be told apart, and
/// calling it only "truncated" would excuse an edit (threat: an attacker altering the last line
/// and removing its newline so that it passes for a crash).
///
/// ```
/// use enclog::{Key, Keyring, Sealer};
/// use enclog::read::{Decryptor, Outcome};
/// let key = Key::generate()?;
/// let sealer = Sealer::new(key.clone());
/// let mut log = b"a plain line\n".to_vec();
/// sealer.seal_to(None, b"secret event", &mut log)?;
///
/// let mut reader = Decryptor::new(&log[..], Keyring::from(key));
/// let mut seen = Vec::new();
/// while let Some(entry) = reader.next_entry()? {
///     match entry.outcome {
///         Outcome::Plain => seen.push(entry.raw.to_vec()),
///         Outcome::Opened(o) => seen.push(o.plaintext.to_vec()),
///         Outcome::Failed(e) => panic!("line {}: {e}", entry.line_no),
///         _ => {} // outcomes added by later versions
///     }
/// }
/// assert_eq!(seen, [b"a plain line".to_vec(), b"secret event".to_vec()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Decryptor<R> {
    reader: R,
    opener: Opener,
    /// A line that spans two fills of the reader's buffer, copied together.
    line: Vec<u8>,
    line_no: u64,
    max_line: usize,
    /// Bytes of the reader's buffer the last entry borrowed (its line and `\n`): consumed
    /// before the next read.
    borrowed: usize,
    /// Bytes of input up to the end of the last line read (see [`Decryptor::bytes_read`]).
    position: u64,
}

/// Where the next line is.
enum Next {
    /// Whole in the reader's buffer: this many bytes, then a `\n`; and the token, if the line
    /// is a token alone.
    InBuffer(usize, Option<Located>),
    /// Read (and copied) into `Decryptor::line`: whether it ended with `\n`, and for a line
    /// over the limit its length.
    Copied(bool, Option<u64>),
}

/// Opens one line (without its `\n` and `\r`): the rule shared by [`Decryptor`] and
/// [`ParallelDecryptor`](crate::read::ParallelDecryptor), so that both give the same outcome for every line.
#[inline]
pub(crate) fn classify<'a>(
    opener: &'a mut Opener,
    raw: &'a [u8],
    terminated: bool,
    token: Option<Located>,
) -> Outcome<'a> {
    if terminated {
        // Nearly every line: the outcome is built where it is returned (see `OpenResult`), and
        // a line that is a token alone was located while its end was found (`first_line`).
        return match token {
            Some(at) => opener.open_located(raw, at),
            None => opener.open_as(raw),
        };
    }
    match opener.open(raw) {
        None => Outcome::Plain,
        Some(Ok(opened)) => Outcome::Opened(opened),
        Some(Err(e @ OpenError::UnknownKey { .. })) => Outcome::Failed(LineError::Open(e)),
        Some(Err(_)) => Outcome::Failed(LineError::Open(OpenError::Truncated {
            reason: "the last line has no newline and does not open: a writer cut off \
                     mid-line, or an edit; v1 lines carry no length to tell which",
        })),
    }
}

/// The outcome of a complete line (one that ended with its newline).
impl<'a> OpenResult<'a> for Outcome<'a> {
    #[inline]
    fn no_token() -> Self {
        Outcome::Plain
    }

    #[inline]
    fn opened(opened: Opened<'a>) -> Self {
        Outcome::Opened(opened)
    }

    fn failed(error: OpenError) -> Self {
        Outcome::Failed(LineError::Open(match error {
            // A writer cut off mid-line leaves a line without its newline (see `classify`). A
            // complete line whose token is too short was damaged, or cut by something that
            // re-terminated it (a message size limit in a pipeline): not the crash that
            // "truncated" tells a reader.
            OpenError::Truncated { .. } => OpenError::Malformed {
                reason: "the token is incomplete although its line is complete: damaged, or cut by a size limit along the way (a syslog message size?)",
            },
            error => error,
        }))
    }
}

impl<R: BufRead> Decryptor<R> {
    /// A decryptor reading `reader` with the keys of `keyring`.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::{Decryptor, Outcome};
    /// let key = Key::generate()?;
    /// let log = Sealer::new(key.clone()).seal_line(b"hello")?;
    /// let mut reader = Decryptor::new(&log[..], Keyring::from(key));
    /// let entry = reader.next_entry()?.unwrap();
    /// assert!(matches!(entry.outcome, Outcome::Opened(o) if o.plaintext == b"hello"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(reader: R, keyring: crate::Keyring) -> Decryptor<R> {
        Decryptor::with_opener(reader, Opener::new(keyring))
    }

    /// A decryptor reusing an existing [`Opener`] (and its session cache).
    ///
    /// ```
    /// use enclog::{Key, Keyring, Opener, Sealer};
    /// use enclog::read::{Decryptor, Outcome};
    /// let key = Key::generate()?;
    /// let log = Sealer::new(key.clone()).seal_line(b"hello")?;
    /// let opener = Opener::new(Keyring::from(key));
    /// let mut reader = Decryptor::with_opener(&log[..], opener);
    /// assert!(matches!(reader.next_entry()?.unwrap().outcome, Outcome::Opened(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_opener(reader: R, opener: Opener) -> Decryptor<R> {
        Decryptor {
            reader,
            opener,
            line: Vec::new(),
            line_no: 0,
            max_line: DEFAULT_MAX_LINE,
            borrowed: 0,
            position: 0,
        }
    }

    /// Sets the longest line (in bytes) that is buffered and opened.
    ///
    /// ```
    /// use enclog::Keyring;
    /// use enclog::read::{Decryptor, LineError, Outcome};
    /// let mut reader = Decryptor::new(&b"0123456789\nok\n"[..], Keyring::new()).max_line(5);
    /// let entry = reader.next_entry()?.unwrap();
    /// assert!(matches!(entry.outcome, Outcome::Failed(LineError::TooLong { len: 10, limit: 5 })));
    /// assert_eq!(reader.next_entry()?.unwrap().raw, b"ok");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_line(mut self, bytes: usize) -> Self {
        self.max_line = bytes;
        self
    }

    /// How many bytes of input the lines read so far took, newlines included: where the last
    /// line returned ends. (The reader itself may lag by that line: a line that lies whole in
    /// its buffer is opened there and consumed at the next call.)
    ///
    /// ```
    /// let mut reader = enclog::read::Decryptor::new(&b"ab\ncde\nf"[..], enclog::Keyring::new());
    /// reader.next_entry()?;
    /// assert_eq!(reader.bytes_read(), 3);
    /// reader.next_entry()?;
    /// reader.next_entry()?;
    /// assert_eq!(reader.bytes_read(), 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bytes_read(&self) -> u64 {
        self.position
    }

    /// Gives back the opener (to reuse its cache on the next file).
    ///
    /// ```
    /// use enclog::{Key, Keyring};
    /// use enclog::read::Decryptor;
    /// let key = Key::generate()?;
    /// let reader = Decryptor::new(&b""[..], Keyring::from(key.clone()));
    /// let opener = reader.into_opener();
    /// assert_eq!(opener.keyring().ids(), [key.id()]);
    /// let _next_file = Decryptor::with_opener(&b""[..], opener);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_opener(self) -> Opener {
        self.opener
    }

    /// The next line, or `None` at the end of input. I/O errors are returned as such.
    ///
    /// ```
    /// let mut reader = enclog::read::Decryptor::new(&b"a\nb\n"[..], enclog::Keyring::new());
    /// assert_eq!(reader.next_entry()?.unwrap().raw, b"a");
    /// assert_eq!(reader.next_entry()?.unwrap().raw, b"b");
    /// assert!(reader.next_entry()?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn next_entry(&mut self) -> io::Result<Option<Entry<'_>>> {
        self.next_entry_where(|_| true)
    }

    /// The next line for which `keep` returns `true`, or `None` at the end of input: the lines
    /// it turns down are read and counted (line numbers stay those of the input) but not
    /// opened. `keep` sees each line as read, without its `\n`. A line over the length limit
    /// is returned (as [`LineError::TooLong`]) without asking `keep`. What `enclog grep` uses
    /// to open only the lines a [blind index](crate::fields::Search::by_index) points at.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let mut log = Vec::new();
    /// for event in ["a: one", "b: two", "a: three"] {
    ///     sealer.seal_to(Some(event[..1].as_bytes()), event[3..].as_bytes(), &mut log)?;
    /// }
    /// let mut reader = enclog::read::Decryptor::new(&log[..], Keyring::from(key));
    /// let a = |line: &[u8]| line.starts_with(b"a ");
    /// assert_eq!(reader.next_entry_where(a)?.unwrap().line_no, 1);
    /// assert_eq!(reader.next_entry_where(a)?.unwrap().line_no, 3);
    /// assert!(reader.next_entry_where(a)?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn next_entry_where(
        &mut self,
        mut keep: impl FnMut(&[u8]) -> bool,
    ) -> io::Result<Option<Entry<'_>>> {
        // A line that lies whole in the reader's buffer (nearly all of them) is opened where it
        // is: no copy. Only a line that spans two fills is copied together.
        let next = loop {
            self.reader.consume(std::mem::take(&mut self.borrowed));
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let next = match format::first_line(available) {
                (Some(len), token) if len <= self.max_line => {
                    self.line_no += 1;
                    self.position += len as u64 + 1;
                    if !keep(&available[..len]) {
                        self.borrowed = len + 1;
                        continue;
                    }
                    Next::InBuffer(len, token)
                }
                _ => {
                    self.line.clear();
                    let Some((terminated, skipped)) = self.read_line()? else {
                        return Ok(None);
                    };
                    self.line_no += 1;
                    let len = skipped.unwrap_or(self.line.len() as u64);
                    self.position += len + u64::from(terminated);
                    if skipped.is_none() && !keep(&self.line) {
                        continue;
                    }
                    Next::Copied(terminated, skipped)
                }
            };
            break next;
        };
        let (raw, terminated, token): (&[u8], bool, _) = match next {
            Next::InBuffer(len, token) => {
                self.borrowed = len + 1;
                // The buffer is not refilled while it holds unconsumed bytes.
                let available = self.reader.fill_buf()?;
                (&available[..len], true, token)
            }
            Next::Copied(terminated, Some(len)) => {
                return Ok(Some(Entry {
                    line_no: self.line_no,
                    raw: &[],
                    terminated,
                    outcome: Outcome::Failed(LineError::TooLong {
                        len,
                        limit: self.max_line,
                    }),
                }));
            }
            Next::Copied(terminated, None) => (&self.line, terminated, None),
        };
        // A `\r` before the newline is kept: plain CRLF lines pass through unchanged.
        let outcome = classify(&mut self.opener, raw, terminated, token);
        Ok(Some(Entry {
            line_no: self.line_no,
            raw,
            terminated,
            outcome,
        }))
    }

    /// Reads one line into `self.line` (without its `\n`). Returns `None` at EOF, else whether
    /// the line was terminated and, for an over-long line, its length (the bytes are dropped).
    fn read_line(&mut self) -> io::Result<Option<(bool, Option<u64>)>> {
        let mut total: u64 = 0;
        let mut too_long = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if total == 0 {
                    return Ok(None);
                }
                return Ok(Some((false, too_long.then_some(total))));
            }
            let (chunk, found) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..i], true),
                None => (available, false),
            };
            total += chunk.len() as u64;
            if !too_long && self.line.len() + chunk.len() > self.max_line {
                too_long = true;
                self.line.clear();
                self.line.shrink_to(self.max_line.min(64 * 1024));
            }
            if !too_long {
                self.line.extend_from_slice(chunk);
            }
            let used = chunk.len() + usize::from(found);
            self.reader.consume(used);
            if found {
                return Ok(Some((true, too_long.then_some(total))));
            }
        }
    }
}
