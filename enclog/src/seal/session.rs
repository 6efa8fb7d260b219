//! A writer's session: its id or ephemeral key, its cipher, the atomic sequence counter (whose
//! top bit closes it), the fork generation it belongs to, and when it [`Rotation`]s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::sync::Mutex;

use crate::cipher::SessionCipher;
use crate::error::SealError;
use crate::format::{Header, Mode, RecordKind, SessionId};
use crate::key::Key;
use crate::key::recipient::Recipient;

use super::SealingKey;

pub(super) const CLOSED: u64 = 1 << 63;

#[derive(Debug)]
pub(super) struct Session {
    pub(super) header: Header,
    pub(super) cipher: SessionCipher,
    /// The next sequence number; the top bit set once the session is closed.
    pub(super) next: AtomicU64,
    pub(super) fork_generation: u64,
    /// The key generation it was started under (see `Shared::key_generation`).
    pub(super) key_generation: u64,
    /// `Some` for sessions that rotate (the recipient mode).
    pub(super) rotation: Option<(Instant, Rotation)>,
    /// Held from taking a sequence number to handing the line to the writer, by
    /// [`Sealer::seal_ordered`], so that lines reach the file in sequence order. Per session,
    /// so a forked child (which always starts a new session) never waits on a lock that a
    /// thread of its parent held at the fork.
    pub(super) write_order: Mutex<()>,
}

impl Session {
    pub(super) fn start(
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

    pub(super) fn recipient(
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

    pub(super) fn symmetric(
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

    pub(super) fn id(&self) -> SessionId {
        self.header.session_id()
    }

    /// Whether a thread may keep it in its [`SESSION_CACHE`] (see there).
    pub(super) fn cacheable(&self) -> bool {
        self.rotation.is_none()
    }

    pub(super) fn usable(&self, fork_generation: u64) -> bool {
        self.fork_generation == fork_generation && self.next.load(Ordering::Relaxed) & CLOSED == 0
    }

    /// Whether the session must be closed before the next line: its key was replaced, or
    /// (recipient mode) it is due for rotation. A session always seals at least one line
    /// before it rotates, so a zero or tiny `Rotation` cannot make sealing loop.
    pub(super) fn expired(&self, key_generation: u64) -> bool {
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

    /// When the background thread retires this session if no line comes first (`None`: it
    /// does not rotate, or never by age).
    pub(super) fn retire_at(&self) -> Option<Instant> {
        let (started, rotation) = self.rotation.as_ref()?;
        started.checked_add(rotation.max_age)
    }

    /// How long a rotating session lasts (zero for one that does not rotate).
    pub(super) fn max_age(&self) -> Duration {
        self.rotation
            .as_ref()
            .map_or(Duration::ZERO, |(_, r)| r.max_age)
    }

    /// How many lines (events and close record) it sealed.
    pub(super) fn sealed(&self) -> u64 {
        self.next.load(Ordering::Relaxed) & !CLOSED
    }

    /// Closes the session; returns the close record's number, or `None` if already closed.
    pub(super) fn close(&self) -> Option<u64> {
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
pub(super) struct OrderGuard<'a> {
    pub(super) _guard: std::sync::MutexGuard<'a, ()>,
}

impl<'a> OrderGuard<'a> {
    pub(super) fn lock(order: &'a Mutex<()>) -> Option<OrderGuard<'a>> {
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
    ///
    /// ```
    /// let rotation = enclog::seal::Rotation::default().max_lines(10_000);
    /// let sealer = enclog::Sealer::with_rotation(enclog::Identity::generate()?.recipient(), rotation);
    /// # let _ = sealer;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_lines(mut self, max_lines: u64) -> Self {
        self.max_lines = max_lines;
        self
    }

    /// A session lasts at most this long, even while its writer is idle: a background thread
    /// (one per process, started by the first sealer whose sessions rotate) retires a session
    /// whose `max_age` passed and that sealed at least one line, dropping its key; its close
    /// record is sealed then and written before the next line (or by `close_to`).
    /// [`Sealer::session_id`](crate::Sealer::session_id) is `None` in between.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let sealer = enclog::Sealer::with_rotation(
    ///     enclog::Identity::generate()?.recipient(),
    ///     enclog::seal::Rotation::default().max_age(Duration::from_millis(10)),
    /// );
    /// sealer.seal_line(b"then nothing for a while")?;
    /// let deadline = Instant::now() + Duration::from_secs(30);
    /// while sealer.session_id().is_some() && Instant::now() < deadline {
    ///     std::thread::sleep(Duration::from_millis(5));
    /// }
    /// assert!(sealer.session_id().is_none(), "retired while idle");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
