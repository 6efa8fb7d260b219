//! [`Sealer`]: plaintext → one line, with sessions, sequence numbers and fork detection.
//!
//! Nonce uniqueness, the property everything rests on (threat: two lines sealed under the same
//! key and nonce leak the XOR of their plaintexts and allow forgeries):
//! - a session draws a 128-bit id (or, in the recipient mode, a fresh ephemeral key and thus a
//!   fresh session key) from the OS once; lines take sequence numbers from one atomic counter,
//!   so threads sharing a `Sealer` never take the same number;
//! - restarts, other processes and other hosts sharing the key draw their own session ids
//!   (a collision needs ~2⁶⁴ sessions);
//! - after `fork()` the child's copy of the counter continues the parent's numbers, so a sealer
//!   compares the process's fork generation (one atomic load, no syscall; `enclog-fork`) with the
//!   one its session was drawn in and starts a new session in a child.
//!
//! The current session sits in an `ArcSwapOption`, not behind a lock: a `fork()` taken while
//! another thread is sealing leaves the child with that thread's lock state but not the thread,
//! and a child that had to wait for a lock to install its new session would hang forever.
//!
//! Closing is exact: the counter's top bit marks a closed session, set by the same atomic
//! operation that takes the close record's number, so no event can be numbered after the close.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::sync::{Arc, Mutex};

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::cipher::SessionCipher;
use crate::error::{KeyError, SealError};
use crate::fernet::FernetKey;
use crate::format::{
    Header, MARKER, MAX_HEADER_LEN, MAX_VARINT_LEN, Mode, RecordKind, SessionId, varint_into,
};
use crate::key::recipient::Recipient;
use crate::key::{Key, KeyId};

const CLOSED: u64 = 1 << 63;

// Held once per writer: boxing the large variant would only add an indirection.
/// What a writer seals with.
///
/// ```
/// let identity = enclog::Identity::generate()?;
/// let key = enclog::SealingKey::from(identity.recipient());
/// assert_eq!(key.id(), identity.id());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum SealingKey {
    /// A symmetric key: the writer can also read what it wrote.
    Symmetric(Key),
    /// A public recipient: the writer cannot read what it wrote.
    Recipient(Recipient),
    /// A zato-enclog Fernet key: lines zato-enclog's own tools read, for migrations. Weaker than
    /// the v1 format: no sequence numbers (no gap or reorder detection), a random IV per line
    /// (one syscall each), ~100 bytes more per line.
    Fernet(FernetKey),
}

impl SealingKey {
    /// The id carried by lines sealed with this key.
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let sealing = enclog::SealingKey::from(key.clone());
    /// assert_eq!(sealing.id(), key.id());
    /// assert_eq!(enclog::Sealer::with_rotation(sealing, Default::default()).key_id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> KeyId {
        match self {
            SealingKey::Symmetric(key) => key.id(),
            SealingKey::Recipient(recipient) => recipient.id(),
            SealingKey::Fernet(key) => key.id(),
        }
    }

    /// What kind of key this is.
    ///
    /// ```
    /// let key: enclog::SealingKey = enclog::Key::generate()?.into();
    /// assert_eq!(key.kind(), enclog::key::KeyKind::Symmetric);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kind(&self) -> crate::key::KeyKind {
        match self {
            SealingKey::Symmetric(_) => crate::key::KeyKind::Symmetric,
            SealingKey::Recipient(_) => crate::key::KeyKind::Recipient,
            SealingKey::Fernet(_) => crate::key::KeyKind::Fernet,
        }
    }

    /// Parses a key a writer can use: a symmetric key, a recipient, or a zato-enclog Fernet
    /// key. An identity is refused
    /// with an error that says to give the writer the identity's recipient instead.
    ///
    /// ```
    /// let identity = enclog::Identity::generate()?;
    /// let err = enclog::SealingKey::from_text(&identity.to_text()).unwrap_err();
    /// assert!(err.to_string().contains("recipient"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_text(text: &str) -> Result<SealingKey, KeyError> {
        match crate::key::KeyKind::detect(text) {
            Some(crate::key::KeyKind::Recipient) => Ok(SealingKey::Recipient(text.parse()?)),
            Some(crate::key::KeyKind::Identity) => Err(KeyError::IdentityForWriter),
            Some(crate::key::KeyKind::Fernet) => Ok(SealingKey::Fernet(text.parse()?)),
            _ => Ok(SealingKey::Symmetric(text.parse()?)),
        }
    }

    /// Reads [`SealingKey::from_text`]'s kinds from a file. A symmetric key file must not be
    /// readable by group or others; a recipient file may be (a recipient is public).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("writer.recipient");
    /// let identity = enclog::Identity::generate()?;
    /// std::fs::write(&path, identity.recipient().to_string())?; // public: any permissions
    /// let key = enclog::SealingKey::from_file(&path)?;
    /// assert!(matches!(key, enclog::SealingKey::Recipient(_)));
    /// assert_eq!(key.id(), identity.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<SealingKey, KeyError> {
        let path = path.as_ref();
        let in_file = |e| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        };
        match crate::key::secret_file::read_key_line(path) {
            Ok(text) => SealingKey::from_text(&text).map_err(in_file),
            // A recipient is public: its file may be world-readable. Anything else is refused
            // with the permission error.
            Err(loose @ KeyError::LoosePermissions { .. }) => match Recipient::from_file(path) {
                Ok(recipient) => Ok(SealingKey::Recipient(recipient)),
                Err(writable @ KeyError::WritableByOthers { .. }) => Err(writable),
                Err(_) => Err(loose),
            },
            Err(e) => Err(e),
        }
    }
}

impl From<Key> for SealingKey {
    fn from(key: Key) -> SealingKey {
        SealingKey::Symmetric(key)
    }
}

impl From<FernetKey> for SealingKey {
    fn from(key: FernetKey) -> SealingKey {
        SealingKey::Fernet(key)
    }
}

impl From<Recipient> for SealingKey {
    fn from(recipient: Recipient) -> SealingKey {
        SealingKey::Recipient(recipient)
    }
}

/// When a recipient-mode writer starts a new session (forward security: a compromise of the
/// running writer exposes the current session only). Symmetric sessions do not rotate.
///
/// ```
/// use std::time::Duration;
/// let hourly = enclog::seal::Rotation::default().max_age(Duration::from_secs(3600));
/// let sealer = enclog::Sealer::with_rotation(enclog::Identity::generate()?.recipient(), hourly);
/// # let _ = sealer;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub(crate) max_lines: u64,
    pub(crate) max_age: Duration,
}

impl Rotation {
    /// A session seals at most this many lines.
    pub fn max_lines(mut self, max_lines: u64) -> Self {
        self.max_lines = max_lines;
        self
    }

    /// A session lasts at most this long.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }
}

impl Default for Rotation {
    /// 15 minutes or a million lines, whichever comes first.
    fn default() -> Rotation {
        Rotation {
            max_lines: 1_000_000,
            max_age: Duration::from_secs(15 * 60),
        }
    }
}

/// Seals plaintexts into lines. Cheap to clone; clones share one session and its sequence.
///
/// Each call draws the next sequence number of the current session; no call makes a system
/// call for randomness except the first of each session.
///
/// ```
/// use enclog::{Key, Keyring, Opener, Sealer};
/// let key = Key::generate()?;
/// let sealer = Sealer::new(key.clone());
/// let mut line = Vec::new();
/// sealer.seal_to(None, b"user alice@example.com logged in", &mut line)?;
/// assert!(line.starts_with(b"enclog:") && line.ends_with(b"\n"));
///
/// let mut opener = Opener::new(Keyring::from(key));
/// let opened = opener.open(&line).unwrap()?;
/// assert_eq!(opened.plaintext, b"user alice@example.com logged in");
/// assert_eq!(opened.sequence.unwrap().seq, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sealer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    key: ArcSwap<SealingKey>,
    /// Bumped by `set_key` after it stores the key. A session remembers the generation it was
    /// started under (read before the key), so a session started from a key that was replaced
    /// meanwhile is closed at its next line instead of sealing under the old key for good.
    key_generation: AtomicU64,
    session: ArcSwapOption<Session>,
    rotation: Rotation,
    /// Tells this sealer's entry in a thread's [`SESSION_CACHE`] from another sealer's.
    id: u64,
}

/// Hands out [`Shared::id`]s: unique for the process's life (a pointer could be reused).
static NEXT_SEALER_ID: AtomicU64 = AtomicU64::new(0);

#[derive(Debug)]
struct Session {
    header: Header,
    cipher: SessionCipher,
    /// The next sequence number; the top bit set once the session is closed.
    next: AtomicU64,
    fork_generation: u64,
    /// The key generation it was started under (see `Shared::key_generation`).
    key_generation: u64,
    /// `Some` for sessions that rotate (the recipient mode).
    rotation: Option<(Instant, Rotation)>,
    /// Held from taking a sequence number to handing the line to the writer, by
    /// [`Sealer::seal_ordered`], so that lines reach the file in sequence order. Per session,
    /// so a forked child (which always starts a new session) never waits on a lock that a
    /// thread of its parent held at the fork.
    write_order: Mutex<()>,
}

impl Session {
    fn start(
        key: &SealingKey,
        rotation: Rotation,
        fork_generation: u64,
        key_generation: u64,
    ) -> Result<Option<Session>, SealError> {
        Ok(Some(match key {
            SealingKey::Symmetric(key) => {
                let mut id = [0u8; 16];
                getrandom::fill(&mut id).map_err(SealError::Random)?;
                Session::symmetric(key, id, 0, fork_generation, key_generation)
            }
            SealingKey::Recipient(recipient) => {
                let (ephemeral, session_key) =
                    recipient.start_session().map_err(SealError::Random)?;
                Session::recipient(
                    recipient,
                    ephemeral,
                    &session_key,
                    0,
                    Some((Instant::now(), rotation)),
                    fork_generation,
                    key_generation,
                )
            }
            // A Fernet key has no sessions: the caller seals without one.
            SealingKey::Fernet(_) => return Ok(None),
        }))
    }

    fn recipient(
        recipient: &Recipient,
        ephemeral: [u8; 32],
        session_key: &[u8; 32],
        next_seq: u64,
        rotation: Option<(Instant, Rotation)>,
        fork_generation: u64,
        key_generation: u64,
    ) -> Session {
        let nonce_prefix: &[u8; 16] = ephemeral[..16].try_into().expect("16 bytes");
        Session {
            header: Header {
                mode: Mode::Recipient,
                record: RecordKind::Event,
                has_meta: false,
                key_id: recipient.id(),
                session: ephemeral,
                seq: 0,
            },
            cipher: SessionCipher::forward_secure(session_key, nonce_prefix),
            next: AtomicU64::new(next_seq),
            fork_generation,
            key_generation,
            rotation,
            write_order: Mutex::new(()),
        }
    }

    fn symmetric(
        key: &Key,
        id: [u8; 16],
        next_seq: u64,
        fork_generation: u64,
        key_generation: u64,
    ) -> Session {
        let mut session = [0u8; 32];
        session[..16].copy_from_slice(&id);
        Session {
            header: Header {
                mode: Mode::Symmetric,
                record: RecordKind::Event,
                has_meta: false,
                key_id: key.id(),
                session,
                seq: 0,
            },
            cipher: SessionCipher::new(key.bytes(), &id),
            next: AtomicU64::new(next_seq),
            fork_generation,
            key_generation,
            rotation: None,
            write_order: Mutex::new(()),
        }
    }

    fn id(&self) -> SessionId {
        self.header.session_id()
    }

    /// Whether a thread may keep it in its [`SESSION_CACHE`] (see there).
    fn cacheable(&self) -> bool {
        self.rotation.is_none()
    }

    fn usable(&self, fork_generation: u64) -> bool {
        self.fork_generation == fork_generation && self.next.load(Ordering::Relaxed) & CLOSED == 0
    }

    /// Whether the session must be closed before the next line: its key was replaced, or
    /// (recipient mode) it is due for rotation. A session always seals at least one line
    /// before it rotates, so a zero or tiny `Rotation` cannot make sealing loop.
    fn expired(&self, key_generation: u64) -> bool {
        // Older only: a thread that read the generation just before `set_key` bumped it may
        // meet the session started after the bump, which must not be closed for being newer.
        if self.key_generation < key_generation {
            return true;
        }
        match &self.rotation {
            None => false,
            Some((started, rotation)) => {
                let sealed = self.next.load(Ordering::Relaxed) & !CLOSED;
                sealed > 0
                    && (sealed >= rotation.max_lines || started.elapsed() >= rotation.max_age)
            }
        }
    }

    /// Closes the session; returns the close record's number, or `None` if already closed.
    fn close(&self) -> Option<u64> {
        let previous = self.next.fetch_or(CLOSED, Ordering::Relaxed);
        (previous & CLOSED == 0).then_some(previous)
    }
}

thread_local! {
    /// Whether this thread holds a session's order lock: a writer that logs through the same
    /// logger while writing a line would otherwise wait for itself forever.
    static ORDERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A session's order lock, taken once per thread (a re-entered call goes unordered).
struct OrderGuard<'a> {
    _guard: std::sync::MutexGuard<'a, ()>,
}

impl<'a> OrderGuard<'a> {
    fn lock(order: &'a Mutex<()>) -> Option<OrderGuard<'a>> {
        if ORDERED.with(|held| held.replace(true)) {
            return None;
        }
        Some(OrderGuard {
            _guard: order.lock().unwrap_or_else(|e| e.into_inner()),
        })
    }
}

impl Drop for OrderGuard<'_> {
    fn drop(&mut self) {
        ORDERED.with(|held| held.set(false));
    }
}

/// What one sealing call asks for, handed down the attempts of [`Sealer::seal_inner`].
struct Line<'a> {
    key_generation: u64,
    ordered: bool,
    clear: Option<&'a [u8]>,
    plaintext: Plaintext<'a>,
}

/// Where a line's plaintext is.
enum Plaintext<'a> {
    /// Borrowed: copied into the thread's scratch buffer, after room for the header.
    Borrowed(&'a [u8]),
    /// In `buf` from `start` on, with room for the header before it: sealed where it is.
    #[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
    InPlace { buf: &'a mut Vec<u8>, start: usize },
}

impl Plaintext<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Plaintext::Borrowed(plaintext) => plaintext,
            Plaintext::InPlace { buf, start } => &buf[*start..],
        }
    }
}

/// The room [`encode`] needs before a plaintext: the longest header, and the clear
/// metadata's authenticated copy with its length.
pub(crate) const fn room_before(clear_len: usize) -> usize {
    MAX_HEADER_LEN + MAX_VARINT_LEN + clear_len
}

/// Readies a buffer for the next plaintext to seal in place: `room` bytes, then nothing. What
/// the room holds may stay (zeros, earlier headers and ciphertext: never plaintext, which
/// starts after it and is encrypted where it is).
#[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
pub(crate) fn reset_with_room(buf: &mut Vec<u8>, room: usize) {
    if buf.len() < room {
        buf.resize(room, 0);
    }
    buf.truncate(room);
}

/// The outcome of one attempt at sealing a line.
enum Attempt<R> {
    /// Sealed and handed to the writer.
    Sealed(R),
    /// The session ended: try again with the next one.
    Again,
    /// The thread's cache cannot serve this call: go through the shared session.
    Uncached,
}

/// A session cached by a thread, and the sealer it belongs to.
struct CachedSession {
    sealer: u64,
    session: Arc<Session>,
}

/// A thread's cached sessions: those of the two sealers it used last, the latest first (a
/// thread that writes both an application log and an audit log alternates between two).
struct SessionCache {
    entries: [Option<CachedSession>; 2],
}

impl SessionCache {
    /// Moves `sealer`'s entry to the front; whether its session can still seal.
    fn find(&mut self, sealer: u64, generation: u64) -> bool {
        let Some(i) =
            (self.entries.iter()).position(|e| e.as_ref().is_some_and(|c| c.sealer == sealer))
        else {
            return false;
        };
        if i != 0 {
            self.entries.swap(0, i);
        }
        self.entries[0]
            .as_ref()
            .is_some_and(|c| c.session.usable(generation))
    }

    /// The front entry's session (after `find` or `put`).
    fn front(&self) -> &Arc<Session> {
        &self.entries[0]
            .as_ref()
            .expect("find or put left the sealer's session in front")
            .session
    }

    /// Drops `sealer`'s entry, if any (its session ended and the next cannot be cached).
    fn forget(&mut self, sealer: u64) {
        for entry in &mut self.entries {
            if entry.as_ref().is_some_and(|c| c.sealer == sealer) {
                *entry = None;
            }
        }
    }

    /// Caches `session` for `sealer` in front, in place of this sealer's entry (which `find`
    /// left in front) or of the least recently used one.
    fn put(&mut self, sealer: u64, session: Arc<Session>) {
        // Another sealer's entry in front moves back (evicting the older one); this sealer's
        // entry, or an empty slot, is overwritten.
        if self.entries[0].as_ref().is_some_and(|c| c.sealer != sealer) {
            self.entries[1] = self.entries[0].take();
        }
        self.entries[0] = Some(CachedSession { sealer, session });
    }

    #[cfg(test)]
    fn holds(&self, sealer: u64) -> bool {
        self.entries.iter().flatten().any(|c| c.sealer == sealer)
    }
}

thread_local! {
    /// Each thread's copy of the current sessions of the sealers it last sealed with. Reading
    /// `Shared::session` costs atomic read-modify-writes on every line (arc-swap's debt slots);
    /// this costs a comparison. Safe because a session is replaced only once it is closed (its
    /// counter's top bit) or belongs to another fork generation, both of which `usable` checks
    /// before every line. Only sessions that never rotate are cached: a recipient-mode session
    /// must not outlive its rotation in an idle thread's cache (forward security).
    ///
    /// The cost: a thread keeps its copy until it seals with that sealer again, with two other
    /// sealers, or exits — so the subkey of a symmetric session that was closed, replaced by
    /// `set_key`, or whose `Sealer` was dropped can stay in memory as long as such a thread
    /// lives (ring does not wipe a freed key either; the master key it derives from is held
    /// for the writer's life anyway; `SECURITY.md`). A thread going round three sealers or
    /// more re-fills the cache on each line (one reference count taken).
    static SESSION_CACHE: RefCell<SessionCache> = const {
        RefCell::new(SessionCache { entries: [None, None] })
    };
}

thread_local! {
    /// Scratch for header ‖ plaintext ‖ tag before base64: reused, so a warm thread seals
    /// without allocating.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Sealer {
    /// A sealer for any [`SealingKey`] (a [`Key`], a [`Recipient`], a zato-enclog
    /// [`FernetKey`]), with the default [`Rotation`]. The session starts with the first sealed
    /// line.
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let sealer = enclog::Sealer::new(key.clone());
    /// assert_eq!(sealer.key_id(), key.id());
    /// assert!(sealer.seal_line(b"event")?.starts_with(enclog::format::MARKER));
    ///
    /// // The public-key mode: the writer holds only the recipient and cannot open its lines.
    /// let identity = enclog::Identity::generate()?;
    /// let writer = enclog::Sealer::new(identity.recipient());
    /// assert_eq!(writer.mode(), enclog::format::Mode::Recipient);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(key: impl Into<SealingKey>) -> Sealer {
        Sealer::with_rotation(key, Rotation::default())
    }

    /// A sealer with a rotation policy (used by the recipient mode).
    ///
    /// ```
    /// use enclog::{Identity, Sealer};
    /// use enclog::seal::Rotation;
    /// let identity = Identity::generate()?;
    /// let rotation = Rotation::default().max_lines(2);
    /// let sealer = Sealer::with_rotation(identity.recipient(), rotation);
    /// sealer.seal_line(b"1")?;
    /// let first = sealer.session_id();
    /// sealer.seal_line(b"2")?;
    /// sealer.seal_line(b"3")?; // a third line starts a new session
    /// assert_ne!(sealer.session_id(), first);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_rotation(key: impl Into<SealingKey>, rotation: Rotation) -> Sealer {
        Sealer {
            shared: Arc::new(Shared {
                key: ArcSwap::from_pointee(key.into()),
                key_generation: AtomicU64::new(0),
                session: ArcSwapOption::empty(),
                rotation,
                id: NEXT_SEALER_ID.fetch_add(1, Ordering::Relaxed),
            }),
        }
    }

    /// The mode this sealer writes in: symmetric, recipient, or zato-enclog's Fernet.
    ///
    /// ```
    /// let identity = enclog::Identity::generate()?;
    /// assert_eq!(enclog::Sealer::new(identity.recipient()).mode(), enclog::format::Mode::Recipient);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mode(&self) -> Mode {
        match &**self.shared.key.load() {
            SealingKey::Symmetric(_) => Mode::Symmetric,
            SealingKey::Recipient(_) => Mode::Recipient,
            SealingKey::Fernet(_) => Mode::Fernet,
        }
    }

    /// The kind of the key this sealer writes under.
    #[cfg(feature = "follow")]
    pub(crate) fn key_kind(&self) -> crate::key::KeyKind {
        self.shared.key.load().kind()
    }

    /// The id of the key this sealer writes under.
    ///
    /// ```
    /// let (old, new) = (enclog::Key::generate()?, enclog::Key::generate()?);
    /// let sealer = enclog::Sealer::new(old.clone());
    /// assert_eq!(sealer.key_id(), old.id());
    /// sealer.set_key(new.clone().into());
    /// assert_eq!(sealer.key_id(), new.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn key_id(&self) -> KeyId {
        self.shared.key.load().id()
    }

    /// Replaces the key without a restart: the current session ends with a close record at the
    /// next line, and that line and all after it are sealed under `key` (and carry its id).
    /// No line is lost or sealed twice.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Opener, Sealer};
    /// let (old, new) = (Key::generate()?, Key::generate()?);
    /// let sealer = Sealer::new(old.clone());
    /// let mut log = sealer.seal_line(b"before")?;
    /// sealer.set_key(new.clone().into());
    /// sealer.seal_to(None, b"after", &mut log)?;
    /// let mut opener = Opener::new([old.clone(), new.clone()].into_iter().collect::<Keyring>());
    /// let ids: Vec<_> = log.split_inclusive(|&b| b == b'\n')
    ///     .map(|l| opener.open(l).unwrap().unwrap().key_id).collect();
    /// assert_eq!(ids, [old.id(), old.id(), new.id()]); // event, close record, event
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_key(&self, key: SealingKey) {
        self.shared.key.store(Arc::new(key));
        self.shared.key_generation.fetch_add(1, Ordering::Release);
    }

    /// The current session's id, once a line has been sealed.
    ///
    /// ```
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// assert!(sealer.session_id().is_none());
    /// sealer.seal_line(b"x")?;
    /// assert!(sealer.session_id().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn session_id(&self) -> Option<SessionId> {
        self.shared.session.load().as_ref().map(|s| s.id())
    }

    /// Starts a session now instead of at the first line, so that a broken random number
    /// generator is reported before the application logs anything (fail closed). Returns the
    /// session's id; `None` for a zato-enclog Fernet key, which has no sessions (its random
    /// number generator is checked all the same).
    ///
    /// ```
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// assert_eq!(sealer.start()?, sealer.session_id());
    /// let fernet = enclog::Sealer::with_rotation(
    ///     enclog::fernet::FernetKey::generate()?, enclog::seal::Rotation::default());
    /// assert_eq!(fernet.start()?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start(&self) -> Result<Option<SessionId>, SealError> {
        if let SealingKey::Fernet(_) = &**self.shared.key.load() {
            getrandom::fill(&mut [0u8; 16]).map_err(SealError::Random)?;
            return Ok(None);
        }
        let generation = enclog_fork::generation();
        Ok(self.current_session(generation)?.map(|s| s.id()))
    }

    /// Seals `plaintext` as one event line and appends it, newline included, to `out`.
    ///
    /// `clear` is optional clear metadata (e.g. `"INFO"`), written before the token for grep
    /// and log routers. Its bytes outside printable ASCII become `?`. An encrypted copy travels
    /// inside the token, so a reader detects any edit of it (`Opened::meta_status`).
    ///
    /// When the session must end first (rotation, a replaced key), its close record is
    /// appended before the event: `out` then holds two lines, still for one write.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Opener, Sealer};
    /// use enclog::read::MetaStatus;
    /// let key = Key::generate()?;
    /// let mut out = Vec::new();
    /// Sealer::new(key.clone()).seal_to(Some(b"ERROR"), b"payment failed", &mut out)?;
    /// assert!(out.starts_with(b"ERROR enclog:") && out.ends_with(b"\n"));
    /// let mut opener = Opener::new(Keyring::from(key));
    /// let opened = opener.open(&out).unwrap()?;
    /// assert_eq!(opened.plaintext, b"payment failed");
    /// assert_eq!(opened.meta_status, MetaStatus::Matches);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seal_to(
        &self,
        clear: Option<&[u8]>,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        self.seal_inner(clear, Plaintext::Borrowed(plaintext), out, false, |_| ())
    }

    /// Seals like [`Sealer::seal_to`], then hands the line (or lines) to `write` while holding
    /// the session's order lock, so that lines from all threads sharing this sealer reach
    /// `write` in sequence order. Use it when several threads write to one destination:
    /// with plain `seal_to`, a thread can take a number and be overtaken before it writes,
    /// and `enclog verify` would rightly report the reordering. [`EncryptedWriter`] and
    /// [`EncryptedLogger`] write this way.
    ///
    /// Locks: the order lock is taken inside this call. If your writer has a lock of its own,
    /// take it the same way everywhere — before calling (as `EncryptedWriter` does with a
    /// `Mutex` writer) or only inside `write` (as below) — never one way here and the other
    /// way elsewhere, or two threads can deadlock.
    ///
    /// [`EncryptedWriter`]: crate::EncryptedWriter
    /// [`EncryptedLogger`]: crate::EncryptedLogger
    ///
    /// ```
    /// use std::io::Write;
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// let file = std::sync::Mutex::new(Vec::new());
    /// let mut line = Vec::new();
    /// let written = sealer.seal_ordered(None, b"event", &mut line, |bytes| {
    ///     file.lock().unwrap().write_all(bytes)
    /// })?;
    /// assert!(written.is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seal_ordered<R>(
        &self,
        clear: Option<&[u8]>,
        plaintext: &[u8],
        out: &mut Vec<u8>,
        write: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, SealError> {
        self.seal_inner(clear, Plaintext::Borrowed(plaintext), out, true, write)
    }

    /// Seals like [`Sealer::seal_ordered`] the plaintext that `buf` holds from `start` on,
    /// encrypting it where it is: `buf` must keep [`room_before`]`(clear.len())` bytes before
    /// `start` for the header (what they hold is overwritten). On return `buf` holds
    /// ciphertext, not the plaintext. For writers that own their event buffer: it saves
    /// copying each event.
    #[cfg_attr(not(any(feature = "tracing", feature = "log")), allow(dead_code))]
    pub(crate) fn seal_ordered_in_place<R>(
        &self,
        clear: Option<&[u8]>,
        buf: &mut Vec<u8>,
        start: usize,
        out: &mut Vec<u8>,
        write: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, SealError> {
        self.seal_inner(clear, Plaintext::InPlace { buf, start }, out, true, write)
    }

    /// [`Sealer::seal_ordered_in_place`] without the order lock, for a caller that numbers
    /// and writes its lines under a lock of its own.
    #[cfg(any(feature = "log", feature = "tracing"))]
    pub(crate) fn seal_in_place(
        &self,
        clear: Option<&[u8]>,
        buf: &mut Vec<u8>,
        start: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        self.seal_inner(clear, Plaintext::InPlace { buf, start }, out, false, |_| ())
    }

    fn seal_inner<R>(
        &self,
        clear: Option<&[u8]>,
        plaintext: Plaintext<'_>,
        out: &mut Vec<u8>,
        ordered: bool,
        write: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, SealError> {
        let generation = enclog_fork::generation();
        let mut write = Some(write);
        let mut line = Line {
            key_generation: 0,
            ordered,
            clear,
            plaintext,
        };
        loop {
            line.key_generation = self.shared.key_generation.load(Ordering::Acquire);
            // The hot path: this thread's cached session (no atomic read-modify-write).
            match self.seal_cached(generation, &mut line, out, &mut write) {
                Attempt::Sealed(result) => return Ok(result),
                Attempt::Again => continue,
                Attempt::Uncached => {}
            }
            let guard = self.shared.session.load();
            let Some(session) = guard.as_ref().filter(|s| s.usable(generation)) else {
                drop(guard);
                // A Fernet key has no sessions.
                if let SealingKey::Fernet(key) = &**self.shared.key.load() {
                    seal_fernet(key, clear, line.plaintext.bytes(), out)?;
                    let write = write.take().expect("the loop ends once a line is sealed");
                    return Ok(write(out));
                }
                self.current_session(generation)?;
                continue;
            };
            if let Attempt::Sealed(result) = self.seal_with(session, &mut line, out, &mut write) {
                return Ok(result);
            }
        }
    }

    /// Seals with the session in this thread's [`SESSION_CACHE`], after putting the current
    /// session there if the cache holds another sealer's or a finished one; a session that
    /// may not be cached (recipient mode) is used where it is. `Uncached` when no session is
    /// running yet, or this is a re-entered call (the outer call holds the cache).
    fn seal_cached<R>(
        &self,
        generation: u64,
        line: &mut Line<'_>,
        out: &mut Vec<u8>,
        write: &mut Option<impl FnOnce(&[u8]) -> R>,
    ) -> Attempt<R> {
        // Uncached when the cache is in use (a re-entered call) or gone (a line sealed while
        // the thread's locals are destroyed).
        let cached = SESSION_CACHE.try_with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return Attempt::Uncached;
            };
            let id = self.shared.id;
            if !cache.find(id, generation) {
                // This sealer's entry, if any, is finished: it must not keep its key material
                // while the sealer goes on uncached (a key now without sessions, or one whose
                // sessions rotate).
                cache.forget(id);
                let guard = self.shared.session.load();
                let Some(current) = guard.as_ref().filter(|s| s.usable(generation)) else {
                    return Attempt::Uncached; // none yet: the shared path starts one
                };
                if !current.cacheable() {
                    return self.seal_with(current, line, out, write);
                }
                cache.put(id, Arc::clone(current));
            }
            self.seal_with(cache.front(), line, out, write)
        });
        cached.unwrap_or(Attempt::Uncached)
    }

    /// One attempt with `session`: `Again` when it had to be closed first (its close record
    /// is then in `out`) or another thread closed it meanwhile.
    fn seal_with<R>(
        &self,
        session: &Session,
        line: &mut Line<'_>,
        out: &mut Vec<u8>,
        write: &mut Option<impl FnOnce(&[u8]) -> R>,
    ) -> Attempt<R> {
        let _order = line
            .ordered
            .then(|| OrderGuard::lock(&session.write_order))
            .flatten();
        if session.expired(line.key_generation) {
            if let Some(seq) = session.close() {
                self.write_line(session, seq, RecordKind::Close, None, b"", out);
            }
            return Attempt::Again;
        }
        let seq = session.next.fetch_add(1, Ordering::Relaxed);
        if seq & CLOSED != 0 {
            return Attempt::Again; // closed by another thread in between: take the next session
        }
        match &mut line.plaintext {
            Plaintext::Borrowed(plaintext) => {
                self.write_line(session, seq, RecordKind::Event, line.clear, plaintext, out);
            }
            Plaintext::InPlace { buf, start } => {
                encode(
                    session,
                    seq,
                    RecordKind::Event,
                    line.clear,
                    buf,
                    *start,
                    out,
                );
            }
        }
        let write = write.take().expect("the loop ends once a line is sealed");
        Attempt::Sealed(write(out))
    }

    /// Seals `plaintext` as a new line (convenient; [`Sealer::seal_to`] reuses a buffer).
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let line = enclog::Sealer::new(key.clone()).seal_line(b"hello")?;
    /// assert!(line.starts_with(enclog::format::MARKER) && line.ends_with(b"\n"));
    /// let mut opener = enclog::Opener::new(key.into());
    /// assert_eq!(opener.open(&line).unwrap()?.plaintext, b"hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seal_line(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::new();
        self.seal_to(None, plaintext, &mut out)?;
        Ok(out)
    }

    /// Appends the current session's close record, which tells readers the session ended
    /// cleanly (not by a crash or a cut file). The next line sealed starts a new session.
    /// Does nothing when no session is open.
    ///
    /// ```
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// let mut out = Vec::new();
    /// sealer.close_to(&mut out)?;
    /// assert!(out.is_empty());
    /// sealer.seal_to(None, b"last words", &mut out)?;
    /// sealer.close_to(&mut out)?;
    /// assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_to(&self, out: &mut Vec<u8>) -> Result<(), SealError> {
        self.close_ordered(out, |_| ()).map(|_| ())
    }

    /// Closes like [`Sealer::close_to`] and hands the close record to `write` under the
    /// session's order lock (see [`Sealer::seal_ordered`]); `None` when there was no session.
    ///
    /// ```
    /// use std::io::Write;
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// let file = std::sync::Mutex::new(Vec::new());
    /// let mut line = Vec::new();
    /// let write = |bytes: &[u8]| file.lock().unwrap().write_all(bytes);
    /// assert!(sealer.close_ordered(&mut line, write)?.is_none()); // no session yet
    /// sealer.seal_ordered(None, b"event", &mut line, write)?.expect("written");
    /// line.clear();
    /// assert!(sealer.close_ordered(&mut line, write)?.is_some());
    /// assert_eq!(file.lock().unwrap().iter().filter(|&&b| b == b'\n').count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_ordered<R>(
        &self,
        out: &mut Vec<u8>,
        write: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, SealError> {
        let generation = enclog_fork::generation();
        let guard = self.shared.session.load();
        let Some(session) = guard.as_ref().filter(|s| s.fork_generation == generation) else {
            return Ok(None);
        };
        let _order = OrderGuard::lock(&session.write_order);
        let Some(seq) = session.close() else {
            return Ok(None);
        };
        self.write_line(session, seq, RecordKind::Close, None, b"", out);
        Ok(Some(write(out)))
    }

    /// A session that is valid in this process, starting one if needed; `None` when the key
    /// is a Fernet key (it has no sessions).
    fn current_session(&self, generation: u64) -> Result<Option<Arc<Session>>, SealError> {
        let current = self.shared.session.load_full();
        if let Some(session) = current.as_ref().filter(|s| s.usable(generation)) {
            return Ok(Some(Arc::clone(session)));
        }
        // Several threads may get here at once: each draws a session, one installs it, the
        // others use the installed one (a wasted draw is harmless; a shared nonce is not).
        // The generation is read before the key: a key replaced in between leaves this session
        // with an old generation, and it is closed at its next line.
        let key_generation = self.shared.key_generation.load(Ordering::Acquire);
        let key = self.shared.key.load();
        let Some(fresh) = Session::start(&key, self.shared.rotation, generation, key_generation)?
        else {
            return Ok(None);
        };
        let fresh = Arc::new(fresh);
        let mut seen = current;
        loop {
            if let Some(session) = seen.as_ref().filter(|s| s.usable(generation)) {
                return Ok(Some(Arc::clone(session)));
            }
            let previous = self
                .shared
                .session
                .compare_and_swap(&seen, Some(Arc::clone(&fresh)));
            let installed = match (&*previous, &seen) {
                (Some(p), Some(s)) => Arc::ptr_eq(p, s),
                (None, None) => true,
                _ => false,
            };
            if installed {
                return Ok(Some(fresh));
            }
            seen = arc_swap::Guard::into_inner(previous);
        }
    }

    fn write_line(
        &self,
        session: &Session,
        seq: u64,
        record: RecordKind,
        clear: Option<&[u8]>,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) {
        let mut copy = |scratch: &mut Vec<u8>| {
            let start = room_before(clear.map_or(0, <[u8]>::len));
            scratch.clear();
            scratch.resize(start, 0);
            scratch.extend_from_slice(plaintext);
            encode(session, seq, record, clear, scratch, start, out);
        };
        let copied = SCRATCH.try_with(|cell| {
            let scratch = cell.try_borrow_mut();
            scratch.map(|mut scratch| copy(&mut scratch)).is_ok()
        });
        if copied != Ok(true) {
            // Re-entered (sealing from inside a sealing call), or sealing while the thread's
            // locals are destroyed: a fresh buffer.
            copy(&mut Vec::new());
        }
    }
}

/// zato-enclog's line shape: `[clear SP]enclogdata:<fernet token>`, nothing after the token
/// (zato-enclog's `open` drops text after a padded token).
fn seal_fernet(
    key: &FernetKey,
    clear: Option<&[u8]>,
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), SealError> {
    let start = out.len();
    if let Some(clear) = clear {
        crate::format::push_clear_meta(clear, out);
        out.push(b' ');
    }
    if let Err(e) = key.seal(plaintext, out) {
        out.truncate(start);
        return Err(e);
    }
    out.push(b'\n');
    Ok(())
}

/// Seals the plaintext that `buf` holds from `start` on into one line appended to `out`:
/// the header and the clear metadata's authenticated copy are written just before `start`
/// (in the room the caller left), the rest is encrypted in place and the tag appended, and
/// header ‖ ciphertext ‖ tag is base64-encoded after the clear metadata and the marker.
fn encode(
    session: &Session,
    seq: u64,
    record: RecordKind,
    clear: Option<&[u8]>,
    buf: &mut Vec<u8>,
    start: usize,
    out: &mut Vec<u8>,
) {
    let header = Header {
        record,
        has_meta: clear.is_some(),
        seq,
        ..session.header
    };
    let mut header_bytes = [0u8; MAX_HEADER_LEN];
    let header_len = header.write_into(&mut header_bytes);

    let clear_start = out.len();
    let mut meta_len = [0u8; MAX_VARINT_LEN];
    let mut meta_len_len = 0;
    if let Some(clear) = clear {
        crate::format::push_clear_meta(clear, out);
        meta_len_len = varint_into(clear.len() as u64, &mut meta_len);
    }
    let meta = clear_start..out.len();
    let begin = start
        .checked_sub(header_len + meta_len_len + meta.len())
        .expect("callers leave room_before(clear) bytes before the plaintext");
    let body = begin + header_len;
    buf[begin..body].copy_from_slice(&header_bytes[..header_len]);
    buf[body..body + meta_len_len].copy_from_slice(&meta_len[..meta_len_len]);
    buf[start - meta.len()..start].copy_from_slice(&out[meta]);
    if clear.is_some() {
        out.push(b' ');
    }

    let (aad, body) = buf[begin..].split_at_mut(header_len);
    let tag = session.cipher.seal(seq, aad, body);
    buf.extend_from_slice(&tag);

    out.extend_from_slice(MARKER);
    crate::format::base64url::encode_append(&buf[begin..], out);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `FORMAT.md` vectors, sealed with a fixed session: the exact bytes the spec states.
    /// (`tests/vectors.rs` opens them through the public API and re-derives them with an
    /// independent XChaCha20-Poly1305.)
    #[test]
    fn format_vectors_seal_to_the_exact_lines() {
        let vectors = crate::vectors::parse(include_str!("../../vectors/v1.txt"));
        assert!(vectors.len() >= 5, "vectors file lost entries");
        for v in vectors {
            let generation = enclog_fork::generation();
            let (sealer, session) = match &v.ephemeral_secret {
                None => {
                    let key: Key = v.key.parse().unwrap();
                    let session = Session::symmetric(&key, v.session, v.seq, generation, 0);
                    (Sealer::new(key), session)
                }
                Some(secret) => {
                    let identity: crate::Identity = v.key.parse().unwrap();
                    let recipient = identity.recipient();
                    let bytes: [u8; 32] = secret.clone().try_into().unwrap();
                    let (ephemeral, key) = recipient.session_from(bytes.into());
                    assert_eq!(ephemeral[..16], v.session, "vector {}: session", v.name);
                    let session =
                        Session::recipient(&recipient, ephemeral, &key, v.seq, None, generation, 0);
                    (Sealer::new(recipient), session)
                }
            };
            let mut out = Vec::new();
            if v.record == "close" {
                sealer.write_line(&session, v.seq, RecordKind::Close, None, b"", &mut out);
            } else {
                let meta = v.meta.as_deref().map(str::as_bytes);
                sealer.write_line(
                    &session,
                    v.seq,
                    RecordKind::Event,
                    meta,
                    &v.plaintext,
                    &mut out,
                );
            }
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("{}\n", v.line),
                "vector {}",
                v.name
            );
        }
    }

    /// One thread sealing for two sealers in turn: each line under its own sealer's key and
    /// session, each sealer's numbers consecutive (the thread's session cache holds one
    /// sealer's session at a time and must never hand it to the other).
    #[test]
    fn a_thread_alternating_between_sealers_keeps_each_on_its_own_session() {
        use crate::{Keyring, Opener};
        let (key_a, key_b) = (Key::generate().unwrap(), Key::generate().unwrap());
        let (a, b) = (Sealer::new(key_a.clone()), Sealer::new(key_b.clone()));
        let mut opener = Opener::new(
            [key_a.clone(), key_b.clone()]
                .into_iter()
                .collect::<Keyring>(),
        );
        for round in 0..3u64 {
            for (sealer, key) in [(&a, &key_a), (&b, &key_b)] {
                let line = sealer.seal_line(format!("{round}").as_bytes()).unwrap();
                let opened = opener.open(&line).unwrap().unwrap();
                assert_eq!(opened.key_id, key.id());
                assert_eq!(opened.plaintext, format!("{round}").as_bytes());
                let sequence = opened.sequence.unwrap();
                assert_eq!(Some(sequence.session), sealer.session_id());
                assert_eq!(sequence.seq, round);
            }
        }
        assert_ne!(a.session_id(), b.session_id());
        assert!(SESSION_CACHE.with(|c| {
            let c = c.borrow();
            c.holds(a.shared.id) && c.holds(b.shared.id)
        }));
    }

    /// The cache holds the two sealers used last: a third evicts the least recently used;
    /// a sealer whose cached session ended replaces its own entry, not the other one.
    #[test]
    fn the_thread_cache_keeps_the_two_sealers_used_last() {
        std::thread::spawn(|| {
            let [a, b, c] = [(); 3].map(|()| Sealer::new(Key::generate().unwrap()));
            let holds = |s: &Sealer| SESSION_CACHE.with(|cache| cache.borrow().holds(s.shared.id));
            a.seal_line(b"a").unwrap();
            b.seal_line(b"b").unwrap();
            assert!(holds(&a) && holds(&b));
            a.seal_line(b"a").unwrap(); // a is now the most recent
            c.seal_line(b"c").unwrap(); // evicts b
            assert!(holds(&a) && holds(&c) && !holds(&b));
            a.close_to(&mut Vec::new()).unwrap();
            a.seal_line(b"a, new session").unwrap(); // replaces a's entry
            assert!(holds(&a) && holds(&c));
        })
        .join()
        .unwrap();
    }

    /// A new sealer never inherits the cached session of a dropped one, even when it is
    /// allocated where the old one was (the cache tells sealers apart by id, not address):
    /// its line opens under its own key. The allocator reuses the freed block for the next
    /// sealer of the same size; the test checks that it did at least once.
    #[test]
    fn a_new_sealer_at_a_dropped_sealers_address_uses_its_own_key() {
        let mut reused = 0;
        for _ in 0..20 {
            let old = Sealer::new(Key::generate().unwrap());
            old.seal_line(b"x").unwrap(); // this thread caches old's session
            let old_address = Arc::as_ptr(&old.shared);
            drop(old);
            let key = Key::generate().unwrap();
            let new = Sealer::new(key.clone());
            reused += usize::from(Arc::as_ptr(&new.shared) == old_address);
            let line = new.seal_line(b"y").unwrap();
            let mut opener = crate::Opener::new(key.into());
            assert_eq!(opener.open(&line).unwrap().unwrap().plaintext, b"y");
        }
        assert!(
            reused > 0,
            "no sealer was allocated at a dropped one's address"
        );
    }

    /// Threat: a thread sealing with the session it cached after another thread closed it
    /// (a nonce sealed after the close record, or under a replaced key). The next line takes
    /// a new session from its first number.
    #[test]
    fn a_session_closed_by_another_thread_is_not_used_from_the_cache() {
        let key = Key::generate().unwrap();
        let sealer = Sealer::new(key.clone());
        let mut opener = crate::Opener::new(key.into());
        let first = sealer.seal_line(b"first").unwrap(); // cached by this thread
        let closer = sealer.clone();
        let close = std::thread::spawn(move || {
            let mut out = Vec::new();
            closer.close_to(&mut out).unwrap();
            out
        })
        .join()
        .unwrap();
        let second = sealer.seal_line(b"second").unwrap();
        let mut seq = |line: &[u8]| opener.open(line).unwrap().unwrap().sequence.unwrap();
        let (first, close, second) = (seq(&first), seq(&close), seq(&second));
        assert_eq!((close.session, close.seq), (first.session, 1));
        assert_ne!(second.session, first.session);
        assert_eq!(second.seq, 0);
    }

    /// Threat: a recipient-mode session key kept alive after its rotation by an idle thread's
    /// cache would expose that session's lines to a later memory disclosure (forward
    /// security). Such sessions are never cached.
    #[test]
    fn recipient_sessions_are_not_kept_in_a_threads_cache() {
        let identity = crate::Identity::generate().unwrap();
        let sealer = Sealer::new(identity.recipient());
        std::thread::spawn(move || {
            sealer.seal_line(b"event").unwrap();
            assert!(!SESSION_CACHE.with(|c| c.borrow().holds(sealer.shared.id)));
            let symmetric = Sealer::new(Key::generate().unwrap());
            symmetric.seal_line(b"event").unwrap();
            assert!(
                SESSION_CACHE.with(|c| c.borrow().holds(symmetric.shared.id)),
                "symmetric sessions are cached"
            );
        })
        .join()
        .unwrap();
    }

    /// A symmetric session replaced by a recipient (whose sessions are not cached) leaves this
    /// thread's cache at the next line, instead of keeping the old subkey while the thread
    /// logs on.
    #[test]
    fn a_key_change_to_a_recipient_empties_this_sealers_cache_entry() {
        std::thread::spawn(|| {
            let sealer = Sealer::new(Key::generate().unwrap());
            sealer.seal_line(b"symmetric").unwrap();
            assert!(SESSION_CACHE.with(|c| c.borrow().holds(sealer.shared.id)));
            let identity = crate::Identity::generate().unwrap();
            sealer.set_key(identity.recipient().into());
            sealer.seal_line(b"recipient").unwrap();
            assert!(!SESSION_CACHE.with(|c| c.borrow().holds(sealer.shared.id)));
        })
        .join()
        .unwrap();
    }

    /// Sealing in place: the line opens (the longest clear metadata a writer uses, its copy
    /// verified), and the buffer is left holding ciphertext, not the event.
    #[test]
    fn sealing_in_place_opens_and_leaves_no_plaintext_in_the_buffer() {
        let key = Key::generate().unwrap();
        let sealer = Sealer::new(key.clone());
        let event = b"user alice@example.com paid 42.00 with card 4111111111111111";
        let clear = b"2026-11-26T20:27:30.123456Z ERROR";
        let start = room_before(48);
        let mut buf = vec![0u8; start];
        buf.extend_from_slice(event);
        let mut line = Vec::new();
        let mut written = Vec::new();
        sealer
            .seal_ordered_in_place(Some(clear), &mut buf, start, &mut line, |l| {
                written.extend_from_slice(l)
            })
            .unwrap();
        assert_eq!(written, line);
        assert!(
            !buf.windows(event.len()).any(|w| w == event),
            "plaintext left"
        );
        assert!(!buf.windows(5).any(|w| w == b"alice"), "plaintext left");
        let mut opener = crate::Opener::new(key.into());
        let opened = opener.open(&line).unwrap().unwrap();
        assert_eq!(opened.plaintext, event);
        assert_eq!(opened.meta, Some(&clear[..]));
        assert_eq!(opened.meta_status, crate::read::MetaStatus::Matches);
    }
}
