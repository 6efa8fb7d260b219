//! [`Opener`]: finds the token in any line of text and opens it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::cipher::SessionCipher;
use crate::error::OpenError;
use crate::format::{
    self, COMMIT_LEN, Header, Link, Mode, RecordKind, SessionId, SessionRef, TAG_LEN,
};
use crate::key::KeyId;
use crate::key::keyring::Keyring;

mod fields;

pub use fields::SealedFields;

/// Takes one length-prefixed part (the link, the clear metadata copy) off the front of an
/// opened plaintext.
fn take_part<'a>(body: &mut &'a [u8], what: &'static str) -> Result<&'a [u8], OpenError> {
    let malformed = || OpenError::Malformed {
        reason: if what == "link" {
            "link length is invalid"
        } else {
            "clear metadata length is invalid"
        },
    };
    let (len, used) = format::read_varint(body).map_err(|_| malformed())?;
    let rest = &body[used..];
    let len = usize::try_from(len)
        .ok()
        .filter(|&l| l <= rest.len())
        .ok_or_else(malformed)?;
    let (part, rest) = rest.split_at(len);
    *body = rest;
    Ok(part)
}

/// One opened record: where its parts are in the opener's buffer.
struct Record {
    header: Header,
    header_len: usize,
    body: std::ops::Range<usize>,
    link: Option<Box<Link>>,
    meta: Option<std::ops::Range<usize>>,
    tag: [u8; 16],
}

/// Sessions whose subkeys are kept; past this the cache is emptied (bounded memory, and a new
/// derivation costs ~0.1 µs).
const SESSION_CACHE: usize = 4096;

/// The clear metadata of a line compared with its encrypted copy.
///
/// ```
/// assert_ne!(enclog::read::MetaStatus::Matches, enclog::read::MetaStatus::Differs);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetaStatus {
    /// The line carries no clear metadata.
    None,
    /// The clear metadata before the token equals its encrypted copy.
    Matches,
    /// The text before the token does not end with the encrypted copy: the clear metadata was
    /// edited (threat: a log router or attacker relabelling an ERROR line as DEBUG).
    Differs,
}

/// An opened line.
///
/// ```
/// use enclog::{Key, Keyring, Opener, Sealer};
/// use enclog::format::{Mode, RecordKind};
/// use enclog::read::MetaStatus;
/// let key = Key::generate()?;
/// let mut line = b"web1: ".to_vec();
/// Sealer::new(key.clone()).seal_to(Some(b"INFO"), b"started", &mut line)?;
/// let mut opener = Opener::new(Keyring::from(key.clone()));
/// let opened = opener.open(&line).unwrap()?;
/// assert_eq!((opened.plaintext, opened.before), (&b"started"[..], &b"web1: "[..]));
/// assert_eq!((opened.meta_status, opened.mode), (MetaStatus::Matches, Mode::Symmetric));
/// assert_eq!((opened.key_id, opened.record), (key.id(), RecordKind::Event));
/// assert_eq!(opened.sequence.unwrap().seq, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Opened<'a> {
    /// The event, exactly the bytes that were sealed.
    pub plaintext: &'a [u8],
    /// The text before the token, without verified clear metadata (a syslog header, a JSON
    /// wrapper's opening).
    pub before: &'a [u8],
    /// The text after the token.
    pub after: &'a [u8],
    /// The authentic clear metadata (its encrypted copy), if the line has any.
    pub meta: Option<&'a [u8]>,
    /// Whether the clear metadata in the line matches its encrypted copy.
    pub meta_status: MetaStatus,
    /// The id of the key that sealed the line.
    pub key_id: KeyId,
    /// The mode that sealed the line.
    pub mode: Mode,
    /// The line's place in its writer's session (`None` for zato-enclog lines, which have none).
    pub sequence: Option<Sequence>,
    /// An event, or the session's close record.
    pub record: RecordKind,
    /// The session's link, carried by its first record in version 2 (`plaintext` then holds the
    /// record's body only); `None` for other records.
    pub link: Option<Box<Link>>,
    /// The record's Poly1305 tag (what the next session's link names as the end of this one);
    /// zeros for zato-enclog lines.
    pub tag: [u8; 16],
    /// The line's format version: 1 or 2 (0 for zato-enclog lines).
    pub version: u8,
    /// The time the token says it was created, in seconds since the Unix epoch (zato-enclog's
    /// Fernet tokens carry one; enclog's own lines do not).
    pub timestamp: Option<u64>,
    /// For a line whose fields are in clear and chosen values sealed (FORMAT.md §11): which
    /// values were sealed and which clear fields are authenticated. `plaintext` is then the
    /// line restored, and `meta_status` says whether its clear fields are as written.
    pub fields: Option<Box<SealedFields>>,
}

/// What the result of opening a line is built as, where it is returned: [`Opener::open`]'s
/// `Option<Result<Opened, OpenError>>`, or a reader's [`Outcome`](crate::read::Outcome).
pub(crate) trait OpenResult<'a> {
    /// The line holds no token.
    fn no_token() -> Self;
    /// The line opened.
    fn opened(opened: Opened<'a>) -> Self;
    /// The line holds a token that did not open.
    fn failed(error: OpenError) -> Self;

    /// `opened` or `failed`, by `result`.
    #[inline]
    fn from_result(result: Result<Opened<'a>, OpenError>) -> Self
    where
        Self: Sized,
    {
        match result {
            Ok(opened) => Self::opened(opened),
            Err(error) => Self::failed(error),
        }
    }
}

impl<'a> OpenResult<'a> for Option<Result<Opened<'a>, OpenError>> {
    #[inline]
    fn no_token() -> Self {
        None
    }

    #[inline]
    fn opened(opened: Opened<'a>) -> Self {
        Some(Ok(opened))
    }

    #[inline]
    fn failed(error: OpenError) -> Self {
        Some(Err(error))
    }
}

/// Where a line sits in its writer's stream: the session and the sequence number within it.
///
/// ```
/// let key = enclog::Key::generate()?;
/// let sealer = enclog::Sealer::new(key.clone());
/// sealer.seal_line(b"first")?;
/// let line = sealer.seal_line(b"second")?;
/// let mut opener = enclog::Opener::new(key.into());
/// let s = opener.open(&line).unwrap()?.sequence.unwrap();
/// assert_eq!(s.seq, 1);
/// assert_eq!(s.to_string(), format!("{}#1", s.session));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Sequence {
    /// The writer's session.
    pub session: SessionId,
    /// The line's number within the session, from 0.
    pub seq: u64,
}

impl std::fmt::Display for Sequence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.session, self.seq)
    }
}

/// Opens lines with the keys of a [`Keyring`].
///
/// [`Opener::open`] takes any line of text: `None` means it holds no token (pass it through),
/// otherwise the opened record or an [`OpenError`] saying why not. Per-session subkeys are
/// cached, so opening costs about as much as sealing.
///
/// ```
/// use enclog::{Key, Keyring, Opener, Sealer};
/// let key = Key::generate()?;
/// let mut line = b"Nov 26 20:27:30 web1 app[77]: ".to_vec();
/// Sealer::new(key.clone()).seal_to(Some(b"WARN"), b"disk 91% full", &mut line)?;
///
/// let mut opener = Opener::new(Keyring::from(key));
/// let opened = opener.open(&line).unwrap()?;
/// assert_eq!(opened.plaintext, b"disk 91% full");
/// assert_eq!(opened.before, b"Nov 26 20:27:30 web1 app[77]: ");
/// assert_eq!(opened.meta, Some(&b"WARN"[..]));
/// assert!(opener.open(b"a plain line").is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Opener {
    keyring: Keyring,
    sessions: HashMap<SessionKey, Arc<SessionCipher>>,
    /// The session of the last line opened: a log is mostly long runs of one session, and
    /// comparing 36 bytes costs far less than hashing them.
    recent: Option<(SessionKey, Arc<SessionCipher>)>,
    buf: Vec<u8>,
    /// A field-sealed line's buffers (restored line, values, parsed JSON).
    fields: fields::Scratch,
}

/// Shows the keyring (whose keys redact themselves) and how many sessions are cached, never the
/// buffers: they hold the last plaintext opened (threat: a `{:?}` in an error path printing an
/// event).
impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener")
            .field("keyring", &self.keyring)
            .field("cached_sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

/// A cached session: the key id, the header's session field, its key commitment (zeros in
/// version 1) and the format version: two keys with one id and a line of each with one session
/// id stay apart, and a version 1 session (never checked for a commitment) never serves a
/// version 2 line (threat: a v2 line with an all-zero commitment opened from the cache under a
/// key it does not commit to).
type SessionKey = (KeyId, [u8; 32], [u8; COMMIT_LEN], u8);

impl Opener {
    /// An opener over `keyring`.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Opener, Sealer};
    /// let key = Key::generate()?;
    /// let line = Sealer::new(key.clone()).seal_line(b"hello")?;
    /// let mut opener = Opener::new(Keyring::from(key));
    /// assert_eq!(opener.open(&line).unwrap()?.plaintext, b"hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(keyring: Keyring) -> Opener {
        Opener {
            keyring,
            sessions: HashMap::new(),
            recent: None,
            buf: Vec::new(),
            fields: fields::Scratch::default(),
        }
    }

    /// The keyring.
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let opener = enclog::Opener::new(enclog::Keyring::from(key.clone()));
    /// assert_eq!(opener.keyring().ids(), [key.id()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The keyring, to add keys of any kind while reading (e.g. one that appeared in a keyring
    /// folder while following a file). Cached sessions stay valid: keys are only ever added.
    ///
    /// ```
    /// let mut opener = enclog::Opener::new(enclog::Keyring::new());
    /// let identity = enclog::Identity::generate()?;
    /// opener.keyring_mut().add_identity(identity.clone());
    /// assert_eq!(opener.keyring().ids(), [identity.id()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keyring_mut(&mut self) -> &mut Keyring {
        &mut self.keyring
    }

    /// Opens the first token in `line` (a trailing `\n` is ignored). A `\r` before it, as in
    /// a CRLF file, ends the token like any other non-base64 byte and stays in
    /// [`Opened::after`], so text written back keeps its line endings.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Opener, Sealer};
    /// use enclog::read::OpenError;
    /// let (key, other) = (Key::generate()?, Key::generate()?);
    /// let mut opener = Opener::new(Keyring::from(key.clone()));
    /// assert!(opener.open(b"no token here\n").is_none());
    /// let mine = Sealer::new(key).seal_line(b"event")?;
    /// assert_eq!(opener.open(&mine).unwrap()?.plaintext, b"event");
    /// let theirs = Sealer::new(other).seal_line(b"event")?;
    /// assert!(matches!(opener.open(&theirs), Some(Err(OpenError::UnknownKey { .. }))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open<'a>(&'a mut self, line: &'a [u8]) -> Option<Result<Opened<'a>, OpenError>> {
        self.open_as(line)
    }

    /// [`Opener::open`], its result built as `T` where it is returned: a reader's `Outcome`
    /// is written in place instead of being moved out of an `Option<Result<..>>` (a 152-byte
    /// copy per line that stalls on the stores just made, measured at ~4 % of `decrypt`).
    #[inline]
    pub(crate) fn open_as<'a, T: OpenResult<'a>>(&'a mut self, line: &'a [u8]) -> T {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        if let Some(located) = format::locate(line) {
            return self.open_located(line, located);
        }
        match format::locate_fernet(line) {
            None => T::no_token(),
            Some(located) => T::from_result(self.open_fernet(line, located)),
        }
    }

    /// Opens a zato-enclog line. Fernet tokens do not name their key: every Fernet key of the
    /// keyring is tried.
    fn open_fernet<'a>(
        &'a mut self,
        line: &'a [u8],
        at: format::Located,
    ) -> Result<Opened<'a>, OpenError> {
        let format::Located { marker, start, end } = at;
        let mut last = None;
        let mut opened_with = None;
        for key in self.keyring.fernet_keys() {
            self.buf.clear();
            match key.open(&line[start..end], &mut self.buf) {
                Ok(timestamp) => {
                    opened_with = Some((key.id(), timestamp));
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let Some((key_id, timestamp)) = opened_with else {
            return Err(match last {
                None => OpenError::NoFernetKey,
                Some(e) => OpenError::from(e),
            });
        };
        Ok(Opened {
            plaintext: &self.buf,
            before: &line[..marker],
            after: &line[end..],
            meta: None,
            meta_status: MetaStatus::None,
            key_id,
            mode: Mode::Fernet,
            sequence: None,
            record: RecordKind::Event,
            link: None,
            tag: [0; 16],
            version: 0,
            timestamp: Some(timestamp),
            fields: None,
        })
    }

    /// Opens `line` whose token was already located at `at` (`line` without its `\n`).
    pub(crate) fn open_located<'a, T: OpenResult<'a>>(
        &'a mut self,
        line: &'a [u8],
        at: format::Located,
    ) -> T {
        let chars = &line[at.start..at.end];
        if fields::is_field_token(chars) {
            return T::from_result(self.open_field_line(line));
        }
        let record = match self.open_record(chars) {
            Ok(record) => record,
            Err(e) => return T::failed(e),
        };
        let meta = record.meta.map(|m| &self.buf[m]);
        let plaintext = &self.buf[record.body];
        let header = record.header;
        let text_before = &line[..at.marker];
        let (before, meta_status) = match meta {
            None => (text_before, MetaStatus::None),
            Some(meta) => match text_before
                .strip_suffix(b" ")
                .and_then(|t| t.strip_suffix(meta))
            {
                Some(before) => (before, MetaStatus::Matches),
                None => (text_before, MetaStatus::Differs),
            },
        };
        T::opened(Opened {
            plaintext,
            before,
            after: &line[at.end..],
            meta,
            meta_status,
            key_id: header.key_id,
            mode: header.mode,
            sequence: Some(Sequence {
                session: header.session_id(),
                seq: header.seq,
            }),
            record: header.record,
            link: record.link,
            tag: record.tag,
            version: header.version,
            timestamp: None,
            fields: None,
        })
    }

    /// Opens one token's record into `self.buf`: its header, link, clear metadata copy (as a
    /// range in `buf`) and body (likewise).
    fn open_record(&mut self, chars: &[u8]) -> Result<Record, OpenError> {
        if chars.len() % 4 == 1 {
            return Err(OpenError::Truncated {
                reason: "the base64 text is cut mid-character",
            });
        }
        format::decode_token(chars, &mut self.buf)?;
        let (header, header_len) = Header::parse(&self.buf)?;

        let Some(len) = self.open_body(&header, header_len, chars) else {
            // A failed open zeroes the buffer: decode again to look at the line.
            format::decode_token(chars, &mut self.buf)?;
            return Err(self.diagnose(&header, header_len));
        };
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&self.buf[self.buf.len() - TAG_LEN..]);
        let base = self.buf.as_ptr() as usize;
        let range = |part: &[u8]| {
            let start = part.as_ptr() as usize - base;
            start..start + part.len()
        };
        let mut body = &self.buf[header_len..header_len + len];
        let link = if header.has_link {
            let link = take_part(&mut body, "link")?;
            let this = SessionRef::new(header.mode, header.key_id, header.session);
            Some(Box::new(Link::parse(link, &this.id())?))
        } else {
            None
        };
        let meta = if header.has_meta {
            Some(range(take_part(&mut body, "clear metadata")?))
        } else {
            None
        };
        if header.record == RecordKind::Close && !body.is_empty() {
            return Err(OpenError::Malformed {
                reason: "a close record with a body",
            });
        }
        Ok(Record {
            header,
            header_len,
            body: range(body),
            link,
            meta,
            tag,
        })
    }

    /// Opens `buf[header_len..]` in place with the key(s) the header names; returns the
    /// plaintext length.
    fn open_body(&mut self, header: &Header, header_len: usize, chars: &[u8]) -> Option<usize> {
        let cache_key = (header.key_id, header.session, header.commit, header.version);
        if let Some((key, cipher)) = &self.recent
            && *key == cache_key
        {
            let (aad, body) = self.buf.split_at_mut(header_len);
            return cipher.open(header.seq, aad, body).map(|p| p.len());
        }
        if let Some(cipher) = self.sessions.get(&cache_key) {
            let cipher = Arc::clone(cipher);
            let (aad, body) = self.buf.split_at_mut(header_len);
            let len = cipher.open(header.seq, aad, body).map(|p| p.len());
            self.recent = Some((cache_key, cipher));
            return len;
        }
        let mut found = None;
        for (i, cipher) in self
            .candidates(header, header.key_id)
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                // The failed attempt zeroed the buffer (ring does, so that unauthenticated
                // plaintext is never used): decode again for the next key with this id.
                format::decode_token(chars, &mut self.buf).ok()?;
            }
            let (aad, body) = self.buf.split_at_mut(header_len);
            if let Some(len) = cipher.open(header.seq, aad, body).map(|p| p.len()) {
                found = Some((cipher, len));
                break;
            }
        }
        let (cipher, len) = found?;
        if self.sessions.len() >= SESSION_CACHE {
            self.sessions.clear();
        }
        let cipher = Arc::new(cipher);
        self.sessions.insert(cache_key, Arc::clone(&cipher));
        self.recent = Some((cache_key, cipher));
        Some(len)
    }

    /// The session ciphers of the keys (or identities) with id `id` for this header's session,
    /// in version 2 only those whose key commitment matches the header's (FORMAT.md §4.1:
    /// threat: one line crafted to open under two keys to two texts). Called on a cache miss
    /// only: once per session.
    fn candidates(&self, header: &Header, id: KeyId) -> Vec<SessionCipher> {
        let nonce_prefix: &[u8; 16] = header.session[..16].try_into().expect("16 bytes");
        let committed = |key: &[u8; 32]| {
            header.version == 1
                || crate::cipher::same(
                    &crate::cipher::commitment(key, header.session_bytes()),
                    &header.commit,
                )
        };
        match header.mode {
            Mode::Symmetric => self
                .keyring
                .find(id)
                .filter(|key| committed(key.bytes()))
                .map(|key| SessionCipher::new(key.bytes(), nonce_prefix))
                .collect(),
            Mode::Recipient => self
                .keyring
                .find_identity(id)
                .filter_map(|identity| identity.session_key(&header.session, header.version))
                .filter(|session_key| committed(session_key))
                .map(|session_key| SessionCipher::new(&session_key, nonce_prefix))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Tells why a line did not open: a key we lack, or an altered line. A line whose key-id
    /// bytes were altered would look like "wrong key"; trying the keys we hold under their own
    /// ids tells that case apart (few keys, error path only).
    fn diagnose(&self, header: &Header, header_len: usize) -> OpenError {
        // A key (or identity) with the line's id is held, so the line itself is bad. In the
        // recipient mode that includes a forged low-order ephemeral key, for which no session
        // key (hence no candidate) can be derived.
        let held = match header.mode {
            Mode::Recipient => self.keyring.find_identity(header.key_id).next().is_some(),
            _ => self.keyring.find(header.key_id).next().is_some(),
        };
        if held {
            return OpenError::Corrupted {
                key_id: header.key_id,
            };
        }
        let mut aad = self.buf[..header_len].to_vec();
        let id_at = if header.version == 1 { 1 } else { 2 };
        for id in self.keyring.ids().into_iter().take(16) {
            aad[id_at..id_at + 4].copy_from_slice(&id.to_bytes());
            for cipher in self.candidates(header, id) {
                let mut body = self.buf[header_len..].to_vec();
                if cipher.open(header.seq, &aad, &mut body).is_some() {
                    return OpenError::Corrupted {
                        key_id: header.key_id,
                    };
                }
            }
        }
        OpenError::UnknownKey {
            key_id: header.key_id,
            known: self.keyring.ids(),
        }
    }
}
