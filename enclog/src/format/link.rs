//! A session's link (`FORMAT.md` §5.3), carried in its first record: its lineage, its place in
//! it, the key that authenticates the next link, and where it comes from. Both halves: [`Link::parse`] for
//! readers, [`encode`] for the writer.

use std::fmt;

use zeroize::Zeroizing;

use super::header::{MAX_VARINT_LEN, read_varint, varint_into};
use super::{Mode, SessionId};
use crate::error::OpenError;
use crate::key::KeyId;

const FROM_ROOT: u8 = 0;
const FROM_SUCCESSOR: u8 = 1;
const FROM_AFTER_CRASH: u8 = 2;
const FROM_BRANCH: u8 = 3;
const MAC_LEN: usize = 16;
/// The longest link: lineage, index, next chain key, origin, the longest `prev` (a recipient
/// session), count, end tag and MAC.
pub(crate) const MAX_LINK_LEN: usize =
    16 + MAX_VARINT_LEN + 32 + 1 + (1 + 4 + 32) + MAX_VARINT_LEN + 16 + MAC_LEN;
const MAC_LABEL: &[u8] = b"enclog-v2 link";

/// A lineage's id: 16 random bytes drawn when a writer's lineage starts (`FORMAT.md` §5.2).
///
/// ```
/// let id = enclog::format::LineageId::from_bytes([0xa0; 16]);
/// assert_eq!(id.to_string(), "a0".repeat(16));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LineageId(pub(crate) [u8; 16]);

impl LineageId {
    /// Builds a lineage id from its bytes.
    ///
    /// ```
    /// assert_eq!(enclog::format::LineageId::from_bytes([1; 16]).to_bytes(), [1; 16]);
    /// ```
    pub fn from_bytes(bytes: [u8; 16]) -> LineageId {
        LineageId(bytes)
    }

    /// The id's bytes.
    ///
    /// ```
    /// assert_eq!(enclog::format::LineageId::from_bytes([2; 16]).to_bytes(), [2; 16]);
    /// ```
    pub fn to_bytes(self) -> [u8; 16] {
        self.0
    }
}

impl fmt::Display for LineageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for LineageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LineageId({self})")
    }
}

/// A chain key: the secret a session carries (inside its encrypted link record) that
/// authenticates the link of the session after it. Zeroized on drop; `Debug` redacts it.
///
/// ```
/// let key = enclog::format::ChainKey::from_bytes([7; 32]);
/// assert_eq!(format!("{key:?}"), "ChainKey(<redacted>)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ChainKey(pub(crate) Zeroizing<[u8; 32]>);

impl ChainKey {
    /// Builds a chain key from its bytes (a test vector, a writer's saved state).
    ///
    /// ```
    /// let key = enclog::format::ChainKey::from_bytes([7; 32]);
    /// # let _ = key;
    /// ```
    pub fn from_bytes(bytes: [u8; 32]) -> ChainKey {
        ChainKey(Zeroizing::new(bytes))
    }
}

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}

/// A session named by a link: its mode, key id and session field, as in its header.
///
/// ```
/// use enclog::{Key, Keyring, Opener, Sealer};
/// use enclog::format::LinkFrom;
/// let key = Key::generate()?;
/// let sealer = Sealer::new(key.clone());
/// let mut log = sealer.seal_line(b"one")?;
/// let first = sealer.session_id().unwrap();
/// sealer.close_to(&mut log)?;
/// let second = sealer.seal_line(b"two")?; // the second session's first record
/// let mut opener = Opener::new(Keyring::from(key.clone()));
/// let link = opener.open(&second).unwrap()?.link.unwrap();
/// let prev = link.from.prev().unwrap();
/// assert_eq!((prev.key_id, prev.session), (key.id(), first));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub struct SessionRef {
    /// The session's mode.
    pub mode: Mode,
    /// The id of the key its lines were sealed with.
    pub key_id: KeyId,
    /// The session's id (in the recipient mode, the first 16 bytes of its ephemeral key).
    pub session: SessionId,
    /// The whole session field (32 bytes in the recipient mode; 16 and zeros otherwise).
    pub(crate) raw: [u8; 32],
}

/// Where a session comes from, as its link record says.
///
/// ```
/// assert!(matches!(enclog::format::LinkFrom::Root, enclog::format::LinkFrom::Root));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum LinkFrom {
    /// The first session of a lineage: nothing before it.
    Root,
    /// The successor of `prev`, which ended with a close record: `count` records (the close
    /// record included), the close record's tag `end_tag`.
    Successor {
        /// The session before this one.
        prev: SessionRef,
        /// How many records it had.
        count: u64,
        /// The Poly1305 tag of its close record.
        end_tag: [u8; 16],
    },
    /// The successor of `prev`, which ended without a close record (its writer crashed).
    AfterCrash {
        /// The session before this one.
        prev: SessionRef,
    },
    /// The first session of a forked child, branched from its parent's session `prev` when
    /// that had handed out `fork_point` sequence numbers.
    Branch {
        /// The parent's session at the fork.
        prev: SessionRef,
        /// How many sequence numbers the parent's session had handed out at the fork.
        fork_point: u64,
    },
}

impl LinkFrom {
    /// The session this link names, if any.
    ///
    /// ```
    /// assert!(enclog::format::LinkFrom::Root.prev().is_none());
    /// ```
    pub fn prev(&self) -> Option<&SessionRef> {
        match self {
            LinkFrom::Root => None,
            LinkFrom::Successor { prev, .. }
            | LinkFrom::AfterCrash { prev }
            | LinkFrom::Branch { prev, .. } => Some(prev),
        }
    }
}

/// An opened link: what the first record of a version 2 session says of its place in its
/// writer's lineage (`FORMAT.md` §5.3).
///
/// ```
/// use enclog::{Key, Keyring, Opener, Sealer};
/// use enclog::format::LinkFrom;
/// let key = Key::generate()?;
/// let sealer = Sealer::new(key.clone());
/// let first = sealer.seal_line(b"first event")?;
/// let second = sealer.seal_line(b"second event")?;
/// let mut opener = Opener::new(Keyring::from(key));
/// let opened = opener.open(&first).unwrap()?;
/// assert_eq!(opened.plaintext, b"first event");
/// let link = opened.link.as_ref().unwrap();
/// assert_eq!((link.index, link.from), (0, LinkFrom::Root));
/// assert!(opener.open(&second).unwrap()?.link.is_none()); // only a session's first record
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Link {
    /// The writer's lineage.
    pub lineage: LineageId,
    /// The session's place in its lineage, from 0.
    pub index: u64,
    /// The session before it.
    pub from: LinkFrom,
    next_chain_key: ChainKey,
    mac: Option<[u8; MAC_LEN]>,
    /// What the MAC covers: label ‖ vm ‖ key-id ‖ session ‖ the body before the MAC (which
    /// holds the next chain key: zeroized on drop).
    signed: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("lineage", &self.lineage)
            .field("index", &self.index)
            .field("from", &self.from)
            .field("next_chain_key", &self.next_chain_key)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// The key that authenticates the link of this session's successor (and of a branch taken
    /// from it).
    ///
    /// ```
    /// # use enclog::{Key, Keyring, Opener, Sealer};
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let mut log = sealer.seal_line(b"one")?;
    /// sealer.close_to(&mut log)?;
    /// sealer.seal_to(None, b"two", &mut log)?; // a second session, linked to the first
    /// let mut opener = Opener::new(Keyring::from(key));
    /// let mut links = Vec::new();
    /// for line in log.split_inclusive(|&b| b == b'\n') {
    ///     if let Some(link) = opener.open(line).unwrap()?.link { links.push(link) }
    /// }
    /// assert!(links[1].authenticated_by(links[0].next_chain_key()));
    /// assert!(!links[0].authenticated_by(links[1].next_chain_key())); // a root has no MAC
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_chain_key(&self) -> &ChainKey {
        &self.next_chain_key
    }

    /// Whether this link's MAC verifies under `chain_key` (the `next_chain_key` of the session
    /// it names). Always `false` for a root, which has no MAC.
    ///
    /// ```
    /// let key = enclog::format::ChainKey::from_bytes([0; 32]);
    /// # let _ = key;
    /// ```
    pub fn authenticated_by(&self, chain_key: &ChainKey) -> bool {
        let Some(mac) = &self.mac else {
            return false;
        };
        crate::cipher::same(&compute_mac(chain_key, &self.signed), mac)
    }

    /// Parses a link; `id` is its record's own `vm ‖ key-id ‖ session` (what the MAC covers
    /// besides the link).
    pub(crate) fn parse(body: &[u8], id: &[u8]) -> Result<Link, OpenError> {
        let malformed = |reason| OpenError::Malformed { reason };
        let mut at = Reader { body, at: 0 };
        let lineage = LineageId(
            at.take::<16>()
                .ok_or(malformed("link record: no lineage"))?,
        );
        let index = at.varint().ok_or(malformed("link record: bad index"))?;
        let next = at
            .take::<32>()
            .ok_or(malformed("link record: no chain key"))?;
        let kind = at.take::<1>().ok_or(malformed("link record: no origin"))?[0];
        let from = match kind {
            FROM_ROOT => LinkFrom::Root,
            FROM_SUCCESSOR | FROM_AFTER_CRASH | FROM_BRANCH => {
                let prev = at
                    .session()
                    .ok_or(malformed("link record: bad predecessor"))?;
                match kind {
                    FROM_SUCCESSOR => LinkFrom::Successor {
                        prev,
                        count: at.varint().ok_or(malformed("link record: bad count"))?,
                        end_tag: at
                            .take::<16>()
                            .ok_or(malformed("link record: no end tag"))?,
                    },
                    FROM_AFTER_CRASH => LinkFrom::AfterCrash { prev },
                    _ => LinkFrom::Branch {
                        prev,
                        fork_point: at
                            .varint()
                            .ok_or(malformed("link record: bad fork point"))?,
                    },
                }
            }
            _ => return Err(malformed("link record: unknown origin")),
        };
        let before_mac = at.at;
        let mac = match from {
            LinkFrom::Root => None,
            _ => Some(
                at.take::<MAC_LEN>()
                    .ok_or(malformed("link record: no MAC"))?,
            ),
        };
        if at.at != body.len() {
            return Err(malformed("link record: bytes after its end"));
        }
        let mut signed =
            Zeroizing::new(Vec::with_capacity(MAC_LABEL.len() + id.len() + before_mac));
        signed.extend_from_slice(MAC_LABEL);
        signed.extend_from_slice(id);
        signed.extend_from_slice(&body[..before_mac]);
        Ok(Link {
            lineage,
            index,
            from,
            next_chain_key: ChainKey::from_bytes(next),
            mac,
            signed,
        })
    }
}

impl Link {
    /// The link as [`Link::from_saved`] reads it back: its record's `vm ‖ key-id ‖ session`,
    /// then the link as sealed (a verifier's saved state keeps the links it still has to
    /// check this way). Holds the next chain key: zeroized on drop.
    pub(crate) fn to_saved(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(self.signed[MAC_LABEL.len()..].to_vec());
        out.extend_from_slice(self.mac.as_ref().map_or(&[][..], |m| &m[..]));
        out
    }

    /// Reads what [`Link::to_saved`] wrote.
    pub(crate) fn from_saved(saved: &[u8]) -> Result<Link, OpenError> {
        let bad = OpenError::Malformed {
            reason: "a saved link names no version 2 session",
        };
        let &vm = saved.first().ok_or(bad.clone())?;
        let session_len = match vm {
            0x21 => 16,
            0x22 => 32,
            _ => return Err(bad),
        };
        let id_len = 1 + 4 + session_len;
        if saved.len() < id_len {
            return Err(bad);
        }
        Link::parse(&saved[id_len..], &saved[..id_len])
    }
}

/// Appends a link to `out` (`id`: this record's `vm ‖ key-id ‖ session`); the MAC is
/// computed with `chain_key` unless `from` is a root.
pub(crate) fn encode(
    id: &[u8],
    lineage: LineageId,
    index: u64,
    next_chain_key: &ChainKey,
    from: &LinkFrom,
    chain_key: Option<&ChainKey>,
    out: &mut Vec<u8>,
) {
    let start = out.len();
    out.extend_from_slice(&lineage.0);
    push_varint(index, out);
    out.extend_from_slice(&next_chain_key.0[..]);
    let prev = |out: &mut Vec<u8>, prev: &SessionRef| prev.push_id(out);
    match from {
        LinkFrom::Root => out.push(FROM_ROOT),
        LinkFrom::Successor {
            prev: p,
            count,
            end_tag,
        } => {
            out.push(FROM_SUCCESSOR);
            prev(out, p);
            push_varint(*count, out);
            out.extend_from_slice(end_tag);
        }
        LinkFrom::AfterCrash { prev: p } => {
            out.push(FROM_AFTER_CRASH);
            prev(out, p);
        }
        LinkFrom::Branch {
            prev: p,
            fork_point,
        } => {
            out.push(FROM_BRANCH);
            prev(out, p);
            push_varint(*fork_point, out);
        }
    }
    if let (false, Some(chain_key)) = (matches!(from, LinkFrom::Root), chain_key) {
        let mut signed = Zeroizing::new(Vec::with_capacity(MAC_LABEL.len() + id.len() + 128));
        signed.extend_from_slice(MAC_LABEL);
        signed.extend_from_slice(id);
        signed.extend_from_slice(&out[start..]);
        out.extend_from_slice(&compute_mac(chain_key, &signed));
    }
}

impl SessionRef {
    /// The session of a `vm` byte, a key id and a session field of the right length for that
    /// mode; `None` otherwise (a chain state or a link naming something that is no v2 session).
    pub(crate) fn from_parts(vm: u8, key_id: KeyId, session: &[u8]) -> Option<SessionRef> {
        let mode = match vm {
            0x21 => Mode::Symmetric,
            0x22 => Mode::Recipient,
            _ => return None,
        };
        let mut raw = [0u8; 32];
        raw.get_mut(..mode.session_len())
            .filter(|_| session.len() == mode.session_len())?
            .copy_from_slice(session);
        Some(SessionRef::new(mode, key_id, raw))
    }

    /// `vm ‖ key-id ‖ session`, as a link names a session and as a link MAC covers its own
    /// record's header (`FORMAT.md` §5.3).
    pub(crate) fn push_id(&self, out: &mut Vec<u8>) {
        out.push(super::header::Header::vm_byte(self.mode));
        out.extend_from_slice(&self.key_id.0);
        out.extend_from_slice(&self.raw[..self.mode.session_len()]);
    }

    /// [`SessionRef::push_id`] into a new buffer.
    pub(crate) fn id(&self) -> Vec<u8> {
        let mut id = Vec::with_capacity(1 + 4 + 32);
        self.push_id(&mut id);
        id
    }

    /// The session named by a header's fields.
    pub(crate) fn new(mode: Mode, key_id: KeyId, raw: [u8; 32]) -> SessionRef {
        let mut id = [0u8; 16];
        id.copy_from_slice(&raw[..16]);
        SessionRef {
            mode,
            key_id,
            session: SessionId(id),
            raw,
        }
    }
}

fn compute_mac(chain_key: &ChainKey, signed: &[u8]) -> [u8; MAC_LEN] {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &chain_key.0[..]);
    let tag = ring::hmac::sign(&key, signed);
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&tag.as_ref()[..MAC_LEN]);
    out
}

fn push_varint(v: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; MAX_VARINT_LEN];
    let len = varint_into(v, &mut buf);
    out.extend_from_slice(&buf[..len]);
}

/// A cursor over a link body.
struct Reader<'a> {
    body: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.body.get(self.at..self.at + N)?;
        self.at += N;
        bytes.try_into().ok()
    }

    fn varint(&mut self) -> Option<u64> {
        let (v, len) = read_varint(&self.body[self.at..]).ok()?;
        self.at += len;
        Some(v)
    }

    fn session(&mut self) -> Option<SessionRef> {
        let vm = self.take::<1>()?[0];
        let key_id = KeyId(self.take::<4>()?);
        let len = match vm {
            0x22 => 32,
            _ => 16,
        };
        let session = self.body.get(self.at..self.at + len)?;
        self.at += len;
        SessionRef::from_parts(vm, key_id, session)
    }
}
