//! Sealing: [`Sealer`] turns a plaintext into one line under a [`SealingKey`] (a symmetric key,
//! a public recipient, or a zato-enclog Fernet key), with sessions, sequence numbers and fork
//! detection. The writers of [`tracing`](mod@crate::tracing), [`non_blocking`](mod@crate::non_blocking)
//! and [`log`](mod@crate::log) are built on it; [`WriteErrorPolicy`] says what they do when the
//! writer under them fails, and [`KeyReloader`] switches a running writer's key.
//!
//! ```
//! use enclog::seal::{Rotation, Sealer};
//! let identity = enclog::Identity::generate()?;
//! let sealer = Sealer::with_rotation(identity.recipient(), Rotation::default());
//! let line = sealer.seal_line(b"disk 91% full")?;
//! assert!(line.starts_with(enclog::format::MARKER));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use std::sync::{Arc, Weak};

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::format::{Mode, RecordKind, SessionId};
use crate::key::KeyId;

mod cache;
mod chain;
mod chain_state;
#[cfg(any(feature = "tracing", feature = "log"))]
pub(crate) mod failure;
pub(crate) mod fields;
pub(crate) mod housekeeping;
pub(crate) mod line;
#[cfg(feature = "follow")]
mod reload;
mod sealing_key;
mod session;
mod succession;

pub use crate::error::SealError;
pub use chain_state::{ChainHead, ChainState, ChainStateError};
#[cfg(any(feature = "tracing", feature = "log"))]
pub use failure::WriteErrorPolicy;
#[cfg(feature = "follow")]
pub use reload::KeyReloader;
pub use sealing_key::SealingKey;
pub use session::Rotation;
#[cfg(test)]
pub(crate) use session::{forge_first_record, forge_v1_session};

use chain::Origin;
use line::{Line, Plaintext, encode, seal_fernet};
use session::{CLOSED, OrderGuard, Session};

// Nonce uniqueness, the property everything rests on (threat: two lines sealed under the same
// key and nonce leak the XOR of their plaintexts and allow forgeries):
// - a session draws a 128-bit id (or, in the recipient mode, a fresh ephemeral key and thus a
//   fresh session key) from the OS once; lines take sequence numbers from one atomic counter,
//   so threads sharing a `Sealer` never take the same number;
// - restarts, other processes and other hosts sharing the key draw their own session ids
//   (a collision needs ~2⁶⁴ sessions);
// - after `fork()` (or any copy of the process: `_Fork()`, a raw `clone` without `CLONE_VM`)
//   the child's copy of the counter continues the parent's numbers, so a sealer compares the
//   process's fork generation (two atomic loads, no syscall; `enclog-fork`, which on Linux also
//   sees copies that run no atfork handler) with the one its session was drawn in and starts a
//   new session in a child. Process snapshots (VM, CRIU) are not detected.
//
// The current session sits in an `ArcSwapOption`, not behind a lock: a `fork()` taken while
// another thread is sealing leaves the child with that thread's lock state but not the thread,
// and a child that had to wait for a lock to install its new session would hang forever.
//
// Closing is exact: the counter's top bit marks a closed session, set by the same atomic
// operation that takes the close record's number, so no event can be numbered after the close.
//
// Idle rotation (threat: an idle recipient-mode writer keeping its session key in memory past
// the rotation interval, since rotation used to happen only at the next seal): a sealer whose
// sessions rotate registers with the process's background thread (`housekeeping`), which
// *retires* a session whose `max_age` passed. Retiring writes nothing (the thread has no
// writer): it closes the session, seals its close record into `Shared::pending_close` (a
// ciphertext line, no key and no plaintext), and only then records the session's end, which a
// successor waits for: so the successor's first record (or `close_to`, under the session's
// order lock) finds the close record pending and writes it first, exactly where rotation at the
// next seal writes it. Last, it replaces the session by a keyless tombstone that keeps its place
// in the lineage (the recipient mode's subkey is zeroized on drop).

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
    /// Close records of sessions retired while idle, not yet written (see "Idle rotation").
    pending_close: ArcSwapOption<Vec<PendingClose>>,
    /// Whether `pending_close` may hold something: one relaxed load per line instead of two.
    has_pending: AtomicBool,
    /// The fork generation in which this sealer registered with the background thread
    /// (`u64::MAX`: never).
    housekeeping: AtomicU64,
    /// Where the lineage is saved across restarts, and the fork generation that opened it (a
    /// forked child's lineage is its own: it never writes its parent's state).
    chain_state: Option<(ChainState, u64)>,
    /// The index key set with `set_index_key`.
    index_key: ArcSwapOption<crate::fields::IndexKey>,
    /// The index key derived from the symmetric key, with the key generation it belongs to.
    derived_index: ArcSwapOption<(u64, Arc<crate::fields::IndexKey>)>,
}

/// A retired session's close record, sealed by the background thread, written by the next line.
#[derive(Clone, Debug)]
struct PendingClose {
    /// The fork generation that retired it: a forked child drops its copy (the parent writes it).
    fork_generation: u64,
    line: Vec<u8>,
}

/// Hands out [`Shared::id`]s: unique for the process's life (a pointer could be reused).
static NEXT_SEALER_ID: AtomicU64 = AtomicU64::new(0);

/// The outcome of one attempt at sealing a line.
enum Attempt<R> {
    /// Sealed and handed to the writer.
    Sealed(R),
    /// The session ended: try again with the next one.
    Again,
    /// The thread's cache cannot serve this call: go through the shared session.
    Uncached,
}

impl Sealer {
    /// A sealer for any [`SealingKey`] (a [`Key`](crate::Key), a [`Recipient`](crate::Recipient), a zato-enclog
    /// [`FernetKey`](crate::fernet::FernetKey)), with the default [`Rotation`]. The session starts with the first sealed
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
        Sealer::build(key.into(), rotation, None, None)
    }

    /// A sealer that continues its lineage across restarts through `state` (`FORMAT.md` §5.5):
    /// its first session links to the last session the state names (the previous run's), and
    /// every session start and close is saved to it (replaced atomically and synced: a few
    /// milliseconds on a disk, once per session, on the thread that starts or closes it; a
    /// failed save is reported on stderr once and logging goes on). Without a state, each run
    /// starts a new lineage, which `enclog verify` reports as a new chain unless told to allow
    /// them. A forked child never writes its parent's state: its lineage branches and is its
    /// own.
    ///
    /// ```
    /// use enclog::seal::{ChainState, Rotation};
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::verify::Verifier;
    /// let dir = tempfile::tempdir()?;
    /// let key = Key::generate()?;
    /// let mut log = Vec::new();
    /// for run in 0..3 {
    ///     // One process run: the state file carries the lineage to the next.
    ///     let state = ChainState::open(dir.path().join("app.chain"))?;
    ///     let sealer = Sealer::with_chain_state(key.clone(), Rotation::default(), state)?;
    ///     sealer.seal_to(None, format!("run {run}").as_bytes(), &mut log)?;
    ///     sealer.close_to(&mut log)?;
    /// }
    /// let mut verifier = Verifier::new();
    /// let mut reader = enclog::read::Decryptor::new(&log[..], Keyring::from(key));
    /// verifier.observe_all("app.log", &mut reader)?;
    /// assert!(verifier.finish().is_clean()); // three sessions, one chain
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_chain_state(
        key: impl Into<SealingKey>,
        rotation: Rotation,
        state: ChainState,
    ) -> Result<Sealer, ChainStateError> {
        let generation = enclog_fork::generation();
        let last = state.load()?.and_then(|saved| {
            let point = chain::ChainPoint::from_saved(&saved)?;
            Some(Arc::new(Session::tombstone(Arc::new(point), generation)))
        });
        Ok(Sealer::build(
            key.into(),
            rotation,
            last,
            Some((state, generation)),
        ))
    }

    fn build(
        key: SealingKey,
        rotation: Rotation,
        last: Option<Arc<Session>>,
        chain_state: Option<(ChainState, u64)>,
    ) -> Sealer {
        Sealer {
            shared: Arc::new(Shared {
                key: ArcSwap::from_pointee(key),
                key_generation: AtomicU64::new(0),
                session: ArcSwapOption::new(last),
                rotation,
                id: NEXT_SEALER_ID.fetch_add(1, Ordering::Relaxed),
                pending_close: ArcSwapOption::empty(),
                has_pending: AtomicBool::new(false),
                housekeeping: AtomicU64::new(u64::MAX),
                chain_state,
                index_key: ArcSwapOption::empty(),
                derived_index: ArcSwapOption::empty(),
            }),
        }
    }

    /// The chain state this sealer saves its lineage to, if any.
    ///
    /// ```
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// assert!(sealer.chain_state().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn chain_state(&self) -> Option<&ChainState> {
        self.shared.chain_state.as_ref().map(|(state, _)| state)
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
    /// sealer.set_key(new.clone());
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
    /// sealer.set_key(new.clone());
    /// sealer.seal_to(None, b"after", &mut log)?;
    /// let mut opener = Opener::new([old.clone(), new.clone()].into_iter().collect::<Keyring>());
    /// let ids: Vec<_> = log.split_inclusive(|&b| b == b'\n')
    ///     .map(|l| opener.open(l).unwrap().unwrap().key_id).collect();
    /// assert_eq!(ids, [old.id(), old.id(), new.id()]); // event, close record, event
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_key(&self, key: impl Into<SealingKey>) {
        self.shared.key.store(Arc::new(key.into()));
        self.shared.key_generation.fetch_add(1, Ordering::Release);
    }

    /// The current session's id, once a line has been sealed; `None` again once a rotating
    /// (recipient-mode) session was retired while idle, until the next line starts a new one.
    ///
    /// ```
    /// let sealer = enclog::Sealer::new(enclog::Key::generate()?);
    /// assert!(sealer.session_id().is_none());
    /// sealer.seal_line(b"x")?;
    /// assert!(sealer.session_id().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn session_id(&self) -> Option<SessionId> {
        let session = self.shared.session.load();
        session
            .as_ref()
            .filter(|s| s.cipher.is_some())
            .map(|s| s.id())
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
    /// When the session must end first (rotation, a replaced key), its close record goes just
    /// before the next session's first record: when this call seals that record, `out` then
    /// holds two lines, still for one write.
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
                // A Fernet key has no sessions (a session closed for the switch to it leaves
                // its close record pending: it goes first).
                if let SealingKey::Fernet(key) = &**self.shared.key.load() {
                    let Some(plaintext) = line.plaintext.bytes() else {
                        line.plaintext.wipe();
                        return Err(SealError::FieldsUnderFernet);
                    };
                    self.shared.take_pending_close(generation, out);
                    let sealed = seal_fernet(key, clear, plaintext, out);
                    line.plaintext.wipe();
                    sealed?;
                    let write = write.take().expect("the loop ends once a line is sealed");
                    return Ok(write(out));
                }
                if let Err(e) = self.current_session(generation) {
                    line.plaintext.wipe();
                    return Err(e);
                }
                continue;
            };
            if let Attempt::Sealed(result) = self.seal_with(session, &mut line, out, &mut write) {
                return Ok(result);
            }
        }
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
            // Rotation or a replaced key: the close record waits for the successor's first
            // record (another thread may write that one first; see `Shared::close_pending`).
            if let Some(seq) = session.close() {
                self.shared
                    .close_pending(session, seq, session.fork_generation);
            }
            return Attempt::Again;
        }
        let seq = session.next.fetch_add(1, Ordering::Relaxed);
        if seq & CLOSED != 0 {
            return Attempt::Again; // closed by another thread in between: take the next session
        }
        if seq == 0 {
            // A session's first record: the close records of sessions retired while idle go
            // before it (this session was started after they were sealed; see "Idle rotation").
            self.shared.take_pending_close(session.fork_generation, out);
        }
        match &mut line.plaintext {
            Plaintext::Borrowed(plaintext) => {
                self.write_line(session, seq, line.clear, plaintext, out);
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
            Plaintext::Fields(prep) => fields::write(session, seq, prep, out),
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
    /// Does nothing when no session is open, except write the close record of a session that
    /// was retired while idle (see [`Rotation::max_age`]) and not yet followed by a line.
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
        let session = guard.as_ref().filter(|s| s.fork_generation == generation);
        // Under the session's order lock: a retirement of this session (which seals its close
        // record under that lock) is either over, its close record pending, or not begun.
        let _order = session.and_then(|s| OrderGuard::lock(&s.write_order));
        // Sessions retired while idle: their close records are still to be written, first.
        let before = out.len();
        self.shared.take_pending_close(generation, out);
        let pending = out.len() > before;
        let Some((session, seq)) = session.and_then(|s| Some((s, s.close()?))) else {
            return Ok(pending.then(|| write(out)));
        };
        self.write_close(session, seq, out);
        Ok(Some(write(out)))
    }

    /// Appends the close record `seq` of `session` and records how the session ended, for its
    /// successor's link.
    fn write_close(&self, session: &Session, seq: u64, out: &mut Vec<u8>) {
        self.shared.write_close(session, seq, out);
    }

    /// A session that is valid in this process, starting one if needed; `None` when the key
    /// is a Fernet key (it has no sessions).
    fn current_session(&self, generation: u64) -> Result<Option<Arc<Session>>, SealError> {
        let mut seen = self.shared.session.load_full();
        loop {
            if let Some(session) = seen.as_ref().filter(|s| s.usable(generation)) {
                return Ok(Some(Arc::clone(session)));
            }
            // Several threads may get here at once: each draws a session coming from the one
            // it saw, one installs it, the others use the installed one (a wasted draw is
            // harmless; a shared nonce is not). A session from another fork generation is the
            // parent's: this process is a forked child and branches from it.
            let origin = match &seen {
                None => Origin::Root,
                Some(s) if s.fork_generation == generation => Origin::After(Arc::clone(&s.chain)),
                Some(s) => Origin::Fork(Arc::clone(&s.chain), s.sealed()),
            };
            // The generation is read before the key: a key replaced in between leaves this
            // session with an old generation, and it is closed at its next line.
            let key_generation = self.shared.key_generation.load(Ordering::Acquire);
            let key = self.shared.key.load();
            let Some(fresh) = Session::start(
                &key,
                self.shared.rotation,
                generation,
                key_generation,
                &origin,
            )?
            else {
                return Ok(None);
            };
            let fresh = Arc::new(fresh);
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
                // Its link is sealed: the chain key that authenticated it goes (in a forked
                // child, the child's copy of the parent's key).
                if let Origin::After(prev) | Origin::Fork(prev, _) = &origin {
                    prev.erase_key();
                }
                self.shared.save_chain(&fresh.chain, generation);
                // In a forked child, the first session starts the child's background thread,
                // so the chores it inherited (a `LogFile`'s watch of its path) run here too.
                housekeeping::resume();
                if fresh.rotation.is_some() {
                    self.schedule_retirement(generation);
                }
                return Ok(Some(fresh));
            }
            seen = arc_swap::Guard::into_inner(previous);
        }
    }
}

impl Sealer {
    /// Has the background thread retire this sealer's session when its `max_age` passes, even
    /// if no line comes (see "Idle rotation"). If the thread cannot start, rotation still
    /// happens at the next line.
    fn schedule_retirement(&self, generation: u64) {
        if self.shared.housekeeping.swap(generation, Ordering::Relaxed) == generation {
            housekeeping::wake();
            return;
        }
        let weak: Weak<dyn housekeeping::Chore> = Arc::downgrade(&self.shared) as _;
        housekeeping::register(weak);
    }
}

#[cfg(test)]
mod tests;
