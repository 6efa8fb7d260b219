//! A writer's session: its id or ephemeral key, its cipher, the atomic sequence counter (whose
//! top bit closes it), the fork generation it belongs to, and when it [`Rotation`]s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::sync::Mutex;

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::cipher::{SessionCipher, commitment};
use crate::error::SealError;
use crate::format::{
    COMMIT_LEN, ChainKey, FORMAT_VERSION, Header, LineageId, Mode, RecordKind, SessionId,
    SessionRef, TAG_LEN,
};
use crate::key::Key;
use crate::key::recipient::Recipient;

use super::SealingKey;
use super::chain::{self, ChainPoint, Origin};
use super::line::{encode, room_before};

pub(super) const CLOSED: u64 = 1 << 63;

#[derive(Debug)]
pub(super) struct Session {
    pub(super) header: Header,
    /// `None` in a retired session's tombstone (see [`Session::tombstone`]).
    pub(super) cipher: Option<SessionCipher>,
    /// The next sequence number; the top bit set once the session is closed.
    pub(super) next: AtomicU64,
    pub(super) fork_generation: u64,
    /// The key generation it was started under (see `Shared::key_generation`).
    pub(super) key_generation: u64,
    /// `Some` for sessions that rotate (the recipient mode, or as configured).
    pub(super) rotation: Option<(Instant, Rotation)>,
    /// Held from taking a sequence number to handing the line to the writer, by
    /// [`Sealer::seal_ordered`], so that lines reach the file in sequence order. Per session,
    /// so a forked child (which always starts a new session) never waits on a lock that a
    /// thread of its parent held at the fork.
    pub(super) write_order: Mutex<()>,
    /// Its place in the writer's lineage.
    pub(super) chain: Arc<ChainPoint>,
    /// Its link (`FORMAT.md` §5.3), sealed into its first record (seq 0). Holds the next chain
    /// key: zeroized on drop.
    pub(super) link: Zeroizing<Vec<u8>>,
}

impl Session {
    /// Starts a session coming from `origin`: draws its id (or ephemeral key), its next chain
    /// key and, for a new lineage, the lineage id, and writes its link.
    pub(super) fn start(
        key: &SealingKey,
        rotation: Rotation,
        fork_generation: u64,
        key_generation: u64,
        origin: &Origin,
    ) -> Result<Option<Session>, SealError> {
        // One draw: session id, next chain key, lineage.
        let mut random = Zeroizing::new([0u8; 64]);
        let mut session = match key {
            SealingKey::Symmetric(key) => {
                getrandom::fill(&mut random[..]).map_err(SealError::Random)?;
                let id: [u8; 16] = random[..16].try_into().expect("16 bytes");
                let rotation = rotation.for_symmetric().map(|r| (Instant::now(), r));
                let session = Session::symmetric(key, id, 0, fork_generation, key_generation);
                Session {
                    rotation,
                    ..session
                }
            }
            SealingKey::Recipient(recipient) => {
                getrandom::fill(&mut random[16..]).map_err(SealError::Random)?;
                let (ephemeral, session_key) =
                    recipient.start_session().map_err(SealError::Random)?;
                Session::recipient(
                    recipient,
                    ephemeral,
                    &session_key,
                    0,
                    Some((Instant::now(), rotation.for_recipient())),
                    fork_generation,
                    key_generation,
                )
            }
            // A Fernet key has no sessions: the caller seals without one.
            SealingKey::Fernet(_) => return Ok(None),
        };
        let next_chain_key = ChainKey::from_bytes(random[16..48].try_into().expect("32 bytes"));
        let fresh_lineage = LineageId(random[48..64].try_into().expect("16 bytes"));
        let (lineage, index, from, chain_key) = chain::link_for(origin, fresh_lineage);
        let at = SessionRef::new(
            session.header.mode,
            session.header.key_id,
            session.header.session,
        );
        crate::format::link::encode(
            &at.id(),
            lineage,
            index,
            &next_chain_key,
            &from,
            chain_key.as_deref(),
            &mut session.link,
        );
        session.chain = Arc::new(ChainPoint::new(at, lineage, index, next_chain_key, None));
        Ok(Some(session))
    }

    /// The header of record `seq`: the session's first record carries its link (FORMAT.md
    /// §5.3); a version 1 session (only the vectors test makes one) has none.
    pub(super) fn header_for(
        &self,
        seq: u64,
        record: RecordKind,
        has_meta: bool,
        envelope: bool,
    ) -> Header {
        Header {
            record,
            has_meta,
            has_link: seq == 0 && self.header.version > 1,
            envelope,
            seq,
            ..self.header
        }
    }

    /// Seals one record of this session into a line appended to `out`; returns its tag.
    pub(super) fn seal_record(
        &self,
        seq: u64,
        record: RecordKind,
        clear: Option<&[u8]>,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> [u8; TAG_LEN] {
        let start = room_before(clear.map_or(0, <[u8]>::len));
        let mut scratch = Zeroizing::new(vec![0u8; start]);
        scratch.extend_from_slice(body);
        encode(self, seq, record, clear, &mut scratch, start, out)
    }

    /// A retired session's stand-in: closed, without a key, keeping its place in the lineage
    /// for the next session's link (and, unlike an empty slot, never mistaken for another
    /// retired session by a thread that looked before).
    pub(super) fn tombstone(chain: Arc<ChainPoint>, fork_generation: u64) -> Session {
        let at = chain.at;
        Session {
            header: Header {
                version: FORMAT_VERSION,
                mode: at.mode,
                record: RecordKind::Event,
                has_meta: false,
                has_link: false,
                envelope: false,
                key_id: at.key_id,
                commit: [0; COMMIT_LEN],
                session: at.raw,
                seq: 0,
            },
            cipher: None,
            next: AtomicU64::new(CLOSED),
            fork_generation,
            key_generation: 0,
            rotation: None,
            write_order: Mutex::new(()),
            chain,
            link: Zeroizing::new(Vec::new()),
        }
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
        let header = Header {
            version: FORMAT_VERSION,
            mode: Mode::Recipient,
            record: RecordKind::Event,
            has_meta: false,
            has_link: false,
            envelope: false,
            key_id: recipient.id(),
            commit: commitment(session_key, &ephemeral),
            session: ephemeral,
            seq: 0,
        };
        Session::with(
            header,
            SessionCipher::forward_secure(session_key, nonce_prefix),
            next_seq,
            rotation,
            fork_generation,
            key_generation,
        )
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
        let header = Header {
            version: FORMAT_VERSION,
            mode: Mode::Symmetric,
            record: RecordKind::Event,
            has_meta: false,
            has_link: false,
            envelope: false,
            key_id: key.id(),
            commit: commitment(key.bytes(), &id),
            session,
            seq: 0,
        };
        Session::with(
            header,
            SessionCipher::new(key.bytes(), &id),
            next_seq,
            None,
            fork_generation,
            key_generation,
        )
    }

    fn with(
        header: Header,
        cipher: SessionCipher,
        next_seq: u64,
        rotation: Option<(Instant, Rotation)>,
        fork_generation: u64,
        key_generation: u64,
    ) -> Session {
        let at = SessionRef::new(header.mode, header.key_id, header.session);
        Session {
            header,
            cipher: Some(cipher),
            next: AtomicU64::new(next_seq),
            fork_generation,
            key_generation,
            rotation,
            write_order: Mutex::new(()),
            chain: Arc::new(ChainPoint::new(
                at,
                LineageId([0; 16]),
                0,
                ChainKey::from_bytes([0; 32]),
                None,
            )),
            link: Zeroizing::new(Vec::with_capacity(crate::format::link::MAX_LINK_LEN)),
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
                let events = self.events();
                events > 0 && (events >= rotation.lines() || started.elapsed() >= rotation.age())
            }
        }
    }

    /// When the background thread retires this session if no line comes first (`None`: it
    /// does not rotate, or never by age).
    pub(super) fn retire_at(&self) -> Option<Instant> {
        let (started, rotation) = self.rotation.as_ref()?;
        started.checked_add(rotation.max_age?)
    }

    /// How long a rotating session lasts (zero for one that does not rotate).
    pub(super) fn max_age(&self) -> Duration {
        self.rotation
            .as_ref()
            .map_or(Duration::ZERO, |(_, r)| r.age())
    }

    /// How many lines (events and close record) it sealed.
    pub(super) fn sealed(&self) -> u64 {
        self.next.load(Ordering::Relaxed) & !CLOSED
    }

    /// How many events it sealed (the close record included once closed).
    pub(super) fn events(&self) -> u64 {
        self.sealed()
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

/// When a writer ends a session and starts the next one of its lineage. The recipient mode
/// rotates by default (forward security: a compromise of the running writer exposes the current
/// session only); a symmetric key's sessions rotate only when a limit is set here.
///
/// ```
/// use std::time::Duration;
/// let hourly = enclog::seal::Rotation::default().max_age(Duration::from_secs(3600));
/// let sealer = enclog::Sealer::with_rotation(enclog::Identity::generate()?.recipient(), hourly);
/// # let _ = sealer;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rotation {
    pub(crate) max_lines: Option<u64>,
    pub(crate) max_age: Option<Duration>,
}

/// The recipient mode's rotation when none is set: 15 minutes or a million lines.
const RECIPIENT_MAX_LINES: u64 = 1_000_000;
const RECIPIENT_MAX_AGE: Duration = Duration::from_secs(15 * 60);

impl Rotation {
    /// A session seals at most this many events (its link and close records not counted).
    ///
    /// ```
    /// let rotation = enclog::seal::Rotation::default().max_lines(10_000);
    /// let sealer = enclog::Sealer::with_rotation(enclog::Identity::generate()?.recipient(), rotation);
    /// # let _ = sealer;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_lines(mut self, max_lines: u64) -> Self {
        self.max_lines = Some(max_lines);
        self
    }

    /// A session lasts at most this long, even while its writer is idle: a background thread
    /// (one per process, started by the first sealer whose sessions rotate) retires a session
    /// whose `max_age` passed and that sealed at least one event, dropping its key; its close
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
        self.max_age = Some(max_age);
        self
    }

    /// The recipient mode's rotation: what is set, else 15 minutes or a million events.
    fn for_recipient(self) -> Rotation {
        Rotation {
            max_lines: Some(self.max_lines.unwrap_or(RECIPIENT_MAX_LINES)),
            max_age: Some(self.max_age.unwrap_or(RECIPIENT_MAX_AGE)),
        }
    }

    /// A symmetric key's rotation: only what is set (none by default).
    fn for_symmetric(self) -> Option<Rotation> {
        (self.max_lines.is_some() || self.max_age.is_some()).then_some(self)
    }

    fn lines(&self) -> u64 {
        self.max_lines.unwrap_or(u64::MAX)
    }

    pub(super) fn age(&self) -> Duration {
        self.max_age.unwrap_or(Duration::MAX)
    }
}

/// The first record (seq 0, an event) of a symmetric session `id` under `key`, carrying a link
/// authenticated with `chain_key`: the way a holder of the key could start a session of its
/// own, linked as it likes. For tests of the chain walk.
#[cfg(test)]
pub(crate) fn forge_first_record(
    key: &Key,
    id: [u8; 16],
    lineage: LineageId,
    index: u64,
    from: &crate::format::LinkFrom,
    chain_key: &ChainKey,
) -> Vec<u8> {
    let mut session = Session::symmetric(key, id, 0, enclog_fork::generation(), 0);
    let this = SessionRef::new(Mode::Symmetric, key.id(), session.header.session);
    crate::format::link::encode(
        &this.id(),
        lineage,
        index,
        &ChainKey::from_bytes([0x5a; 32]),
        from,
        Some(chain_key),
        &mut session.link,
    );
    let mut out = Vec::new();
    session.seal_record(0, RecordKind::Event, None, b"forged", &mut out);
    out
}

/// A whole session in format version 1 (its events, then its close record), the way anyone
/// who can seal lines (a holder of the key, or in the recipient mode of the public recipient)
/// can still make one: readers open version 1. For tests of the chain walk.
#[cfg(test)]
pub(crate) fn forge_v1_session(key: &Key, id: [u8; 16], events: &[&[u8]]) -> Vec<u8> {
    let mut session = Session::symmetric(key, id, 0, enclog_fork::generation(), 0);
    session.header.version = 1;
    let mut out = Vec::new();
    for (seq, event) in (0..).zip(events) {
        session.seal_record(seq, RecordKind::Event, None, event, &mut out);
    }
    session.seal_record(events.len() as u64, RecordKind::Close, None, b"", &mut out);
    out
}
