//! A verifier's saved state ([`VerifyState`]), its key ([`StateKey`]) and its file: how a log
//! too big for one run, or for one machine, is verified in parts. `VerifyState`'s
//! documentation says what it holds and how it is sealed.

mod codec;

use crate::private_file::sibling;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::key::{Identity, Key, KeyId, Keyring};

use super::{Verifier, VerifyOptions};

const MAGIC: &[u8; 20] = b"ENCLOG-VERIFY-STATE\n";
const VERSION: u8 = 1;
const SALT_LEN: usize = 16;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = MAGIC.len() + 1 + 4 + SALT_LEN;
/// A state larger than this is refused unread (a state is a few hundred bytes per session).
const MAX_STATE: u64 = 1 << 30;

/// A verifier's saved state: what it has verified of a log, to go on later
/// ([`Verifier::resume`]: a cron job, run by run) or to be merged with the states of other
/// parts of the log ([`Verifier::merge`]: shards verified on other machines).
///
/// # What it holds
///
/// Not the lines. Per file read: its name, a SHA-256 of its first bytes (up to 4 KiB) and how
/// many bytes and lines were verified ([`Verifier::observe_file`] knows the file again by
/// them, under any name). Per session: its key id, the sequence numbers read as ranges, each
/// with its file and the lines of its ends, the gaps still open, where its close record is,
/// and whether a finding about it was reported. Per session of format version 2: its lineage
/// and index, where its first record is, its close record's count and tag, its successor, and
/// its next chain key until the session is **settled** (closed, its successor read and its link
/// checked): then the key is dropped, and a session that names it later is reported as a
/// second successor without its MAC checked. Per lineage: its highest index. The links that
/// name a session not read yet (to check when it comes, here or in another part). The findings
/// not reported yet and the counts of lines, for a merge. About 140 bytes per settled session
/// (10,000 sessions of 3 events: 1.4 MB), a few hundred bytes for one session of any length.
///
/// # Sealed with a reader's key
///
/// Whoever can edit the state can hide a deletion (a gap marked as read, a session as seen),
/// and it holds chain keys. So it is encrypted and authenticated, under a key derived from a key
/// of the verifier's keyring ([`StateKey`]), and written 0600:
///
/// ```text
/// file     = "ENCLOG-VERIFY-STATE\n" ‖ version (1) ‖ key-id[4] ‖ salt[16]
///            ‖ sealed ‖ tag[16]
/// file-key = HMAC-SHA256(HMAC-SHA256(secret, "enclog verify state 1"), salt)
/// sealed   = ChaCha20-Poly1305(file-key, nonce = 0¹², aad = everything before `sealed`)
/// ```
///
/// `secret` is the 32 bytes of the symmetric key, or of the identity; the salt is random per
/// save, so each save has a key of its own and the zero nonce is never reused. What is sealed is
/// this version's encoding of the fields above (LEB128 numbers and length-prefixed fields). A
/// state edited by hand, damaged, or sealed under another key of the same id does not open
/// ([`StateError::Unauthenticated`]); one of another version is refused
/// ([`StateError::Version`]): then verify the whole log again, without it.
///
/// ```
/// use enclog::{Key, Keyring, Sealer};
/// use enclog::read::Decryptor;
/// use enclog::verify::{FindingKind, StateKey, Verifier, VerifyOptions, VerifyState};
/// let key = Key::generate()?;
/// let sealer = Sealer::new(key.clone());
/// let lines: Vec<_> = (0..4).map(|_| sealer.seal_line(b"event")).collect::<Result<_, _>>()?;
/// let ring = Keyring::from(key.clone());
///
/// // Monday's cron run: the rotated file. Its last line (seq 2) was deleted.
/// let mut monday = Verifier::new();
/// let old = [&lines[0][..], &lines[1][..]].concat();
/// monday.observe_all("app.log.1", &mut Decryptor::new(&old[..], ring.clone()))?;
/// assert!(monday.checkpoint().is_clean());
/// let saved = monday.state().seal(&StateKey::from_key(&key));
///
/// // Tuesday's: the current file, after the saved state. The deletion shows at the boundary.
/// let state = VerifyState::open(&saved, &ring)?;
/// let mut tuesday = Verifier::resume(state, VerifyOptions::default());
/// tuesday.observe_all("app.log", &mut Decryptor::new(&lines[3][..], ring))?;
/// let report = tuesday.finish();
/// let missing = &report.findings[0];
/// assert_eq!((missing.kind, missing.missing.clone()), (FindingKind::Missing, Some(2..=2)));
/// assert!(missing.message.contains("between app.log.1:2 and app.log:1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct VerifyState {
    pub(super) verifier: Verifier,
    /// The key that sealed it, once opened.
    key_id: Option<KeyId>,
}

impl VerifyState {
    /// The state sealed under `key` (see [`VerifyState`]), as the bytes of a state file.
    ///
    /// ```
    /// use enclog::Key;
    /// use enclog::verify::{StateKey, Verifier, VerifyState};
    /// let key = Key::generate()?;
    /// let sealed = Verifier::new().state().seal(&StateKey::from_key(&key));
    /// assert!(sealed.starts_with(b"ENCLOG-VERIFY-STATE\n"));
    /// let opened = VerifyState::open(&sealed, &enclog::Keyring::from(key.clone()))?;
    /// assert_eq!(opened.key_id(), Some(key.id()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seal(&self, key: &StateKey) -> Vec<u8> {
        let body = codec::encode(&self.verifier);
        let mut salt = [0u8; SALT_LEN];
        // The salt only makes each save's key unique; a clock-based fallback keeps a save
        // possible without the OS's random numbers (never seen to fail on Linux).
        if getrandom::fill(&mut salt).is_err() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            salt.copy_from_slice(&now.to_le_bytes());
        }
        let mut out = Vec::with_capacity(HEADER_LEN + body.len() + TAG_LEN);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&key.id.0);
        out.extend_from_slice(&salt);
        let aad = out.clone();
        let start = out.len();
        out.extend_from_slice(&body);
        let tag = key
            .file_key(&salt)
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key([0; 12]), Aad::from(&aad), {
                &mut out[start..]
            })
            .expect("ChaCha20-Poly1305 seals any state under 256 GiB");
        out.extend_from_slice(tag.as_ref());
        out
    }

    /// Opens a state sealed by [`seal`](Self::seal) with the key of `keyring` it names.
    ///
    /// Fails with [`StateError::Unauthenticated`] when it was edited or damaged (or sealed
    /// under another key with the same id), [`StateError::UnknownKey`] when the keyring lacks
    /// its key, [`StateError::NotAState`] or [`StateError::Version`] otherwise.
    ///
    /// ```
    /// use enclog::{Key, Keyring};
    /// use enclog::verify::{StateError, StateKey, Verifier, VerifyState};
    /// let key = Key::generate()?;
    /// let mut sealed = Verifier::new().state().seal(&StateKey::from_key(&key));
    /// let last = sealed.len() - 20;
    /// sealed[last] ^= 1; // a byte changed by hand
    /// let err = VerifyState::open(&sealed, &Keyring::from(key)).unwrap_err();
    /// assert!(matches!(err, StateError::Unauthenticated { .. }));
    /// assert!(err.to_string().contains("was edited or damaged"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(bytes: &[u8], keyring: &Keyring) -> Result<VerifyState, StateError> {
        open_at(bytes, keyring, Path::new(""))
    }

    /// Writes the state, sealed under `key`, to `path`, replacing it whole: written to
    /// `PATH.tmp` (mode 0600), synced, renamed over `path`, and the folder synced, so that a
    /// crash leaves the old state or the new one.
    ///
    /// ```
    /// use enclog::{Key, Keyring};
    /// use enclog::verify::{StateKey, Verifier, VerifyState};
    /// let dir = tempfile::tempdir()?;
    /// let (key, path) = (Key::generate()?, dir.path().join("app.verify"));
    /// Verifier::new().state().save(&path, &StateKey::from_key(&key))?;
    /// assert!(VerifyState::load(&path, &Keyring::from(key))?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>, key: &StateKey) -> Result<(), StateError> {
        replace(path.as_ref(), &self.seal(key))
    }

    /// Reads and opens the state at `path` ([`open`](Self::open)); `None` when there is no
    /// file there (a first run).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let ring = enclog::Keyring::from(enclog::Key::generate()?);
    /// assert!(enclog::verify::VerifyState::load(dir.path().join("none"), &ring)?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(
        path: impl AsRef<Path>,
        keyring: &Keyring,
    ) -> Result<Option<VerifyState>, StateError> {
        let path = path.as_ref();
        let io = |source| StateError::Io {
            path: path.to_owned(),
            source,
        };
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "it is not a regular file",
            )));
        }
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut io::Read::take(file, MAX_STATE + 1), &mut bytes).map_err(io)?;
        if bytes.len() as u64 > MAX_STATE {
            return Err(StateError::NotAState {
                path: path.to_owned(),
            });
        }
        open_at(&bytes, keyring, path).map(Some)
    }

    /// Takes the lock of the state at `path` (an exclusive lock on `PATH.lock`, a file of its
    /// own), held until the [`StateLock`] is dropped: two runs that use one state at once would
    /// each verify the same lines and the last to save would undo the other's marks. Fails
    /// with [`StateError::InUse`] while another holds it.
    ///
    /// ```
    /// use enclog::verify::{StateError, VerifyState};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("app.verify");
    /// let lock = VerifyState::lock(&path)?;
    /// assert!(matches!(VerifyState::lock(&path), Err(StateError::InUse { .. })));
    /// drop(lock);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lock(path: impl AsRef<Path>) -> Result<StateLock, StateError> {
        let path = path.as_ref();
        let lock_path = sibling(path, ".lock");
        let file = crate::private_file::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|source| StateError::Io {
                path: lock_path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(StateLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StateError::InUse {
                path: path.to_owned(),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(StateError::Io {
                path: lock_path,
                source,
            }),
        }
    }

    /// The id of the key the state was opened with (`None` for a state not read from bytes).
    ///
    /// ```
    /// assert_eq!(enclog::verify::Verifier::new().state().key_id(), None);
    /// ```
    pub fn key_id(&self) -> Option<KeyId> {
        self.key_id
    }

    /// How many sessions the state knows.
    ///
    /// ```
    /// assert_eq!(enclog::verify::Verifier::new().state().sessions(), 0);
    /// ```
    pub fn sessions(&self) -> usize {
        self.verifier.sessions.len()
    }

    /// The names of the files the state knows, as they were last read.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Opener, Sealer};
    /// let key = Key::generate()?;
    /// let log = Sealer::new(key.clone()).seal_line(b"event")?;
    /// let mut verifier = enclog::verify::Verifier::new();
    /// verifier.observe_file("app.log", &log[..], &mut Opener::new(Keyring::from(key)))?;
    /// assert_eq!(verifier.state().files(), ["app.log"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn files(&self) -> Vec<&str> {
        self.verifier.files.iter().map(|f| &**f).collect()
    }
}

fn open_at(bytes: &[u8], keyring: &Keyring, path: &Path) -> Result<VerifyState, StateError> {
    let path_buf = || path.to_owned();
    if bytes.len() < HEADER_LEN + TAG_LEN || !bytes.starts_with(MAGIC) {
        return Err(StateError::NotAState { path: path_buf() });
    }
    let version = bytes[MAGIC.len()];
    if version != VERSION {
        return Err(StateError::Version {
            path: path_buf(),
            version,
        });
    }
    let at = MAGIC.len() + 1;
    let key_id = KeyId(bytes[at..at + 4].try_into().expect("4 bytes"));
    let salt: [u8; SALT_LEN] = bytes[at + 4..HEADER_LEN].try_into().expect("16 bytes");
    let candidates = StateKey::all_with_id(keyring, key_id);
    if candidates.is_empty() {
        return Err(StateError::UnknownKey {
            path: path_buf(),
            key_id,
            have: keyring
                .ids()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    for key in candidates {
        let mut body = Zeroizing::new(bytes[HEADER_LEN..].to_vec());
        let Ok(plain) = key.file_key(&salt).open_in_place(
            Nonce::assume_unique_for_key([0; 12]),
            Aad::from(&bytes[..HEADER_LEN]),
            &mut body[..],
        ) else {
            continue;
        };
        let verifier = codec::decode(plain).map_err(|reason| StateError::Malformed {
            path: path_buf(),
            reason: reason.into(),
        })?;
        return Ok(VerifyState {
            verifier,
            key_id: Some(key_id),
        });
    }
    Err(StateError::Unauthenticated {
        path: path_buf(),
        key_id,
    })
}

/// The lock of a state file, held until dropped ([`VerifyState::lock`]).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let _lock = enclog::verify::VerifyState::lock(dir.path().join("app.verify"))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// The key a [`VerifyState`] is sealed under: derived from a key of the verifier's keyring (a
/// symmetric key, or an identity), never the key itself.
///
/// Whoever holds it can read and forge the state; so it is a key the verifier holds anyway,
/// and the states of a log split across machines are sealed under a key that every one of
/// them, and the machine that merges, holds (a key made for this, `enclog genkey`, spares the
/// merging machine the keys of the logs).
///
/// ```
/// use enclog::{Identity, Key, Keyring};
/// use enclog::verify::StateKey;
/// let (key, identity) = (Key::generate()?, Identity::generate()?);
/// assert_eq!(StateKey::from_key(&key).id(), key.id());
/// assert_eq!(StateKey::from_identity(&identity).id(), identity.id());
/// let mut ring = Keyring::new();
/// ring.add_identity(identity.clone());
/// ring.add(key.clone());
/// // The key the keyring names first, unless another is asked for.
/// assert_eq!(StateKey::from_keyring(&ring, None).unwrap().id(), key.id());
/// assert_eq!(StateKey::from_keyring(&ring, Some(identity.id())).unwrap().id(), identity.id());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct StateKey {
    id: KeyId,
    base: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl StateKey {
    /// The state key of a symmetric key (it has the key's id).
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// assert_eq!(enclog::verify::StateKey::from_key(&key).id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_key(key: &Key) -> StateKey {
        StateKey::derive(key.id(), key.bytes())
    }

    /// The state key of an identity (it has the identity's id).
    ///
    /// ```
    /// let identity = enclog::Identity::generate()?;
    /// assert_eq!(enclog::verify::StateKey::from_identity(&identity).id(), identity.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_identity(identity: &Identity) -> StateKey {
        StateKey::derive(identity.id(), &identity.secret_bytes())
    }

    /// The state key of the key of `keyring` whose id is `prefer`, if it holds one; else of its
    /// first symmetric key, else of its first identity. `None` when it holds neither (only
    /// zato-enclog keys, or nothing).
    ///
    /// ```
    /// let ring = enclog::Keyring::new();
    /// assert!(enclog::verify::StateKey::from_keyring(&ring, None).is_none());
    /// ```
    pub fn from_keyring(keyring: &Keyring, prefer: Option<KeyId>) -> Option<StateKey> {
        if let Some(id) = prefer
            && let Some(key) = StateKey::all_with_id(keyring, id).into_iter().next()
        {
            return Some(key);
        }
        let ids = keyring.ids();
        let key = ids.iter().find_map(|&id| keyring.find(id).next());
        if let Some(key) = key {
            return Some(StateKey::from_key(key));
        }
        ids.iter()
            .find_map(|&id| keyring.find_identity(id).next())
            .map(StateKey::from_identity)
    }

    /// The id of the key it derives from (written in the state, to find that key again).
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// assert_eq!(enclog::verify::StateKey::from_key(&key).id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> KeyId {
        self.id
    }

    fn derive(id: KeyId, secret: &[u8; 32]) -> StateKey {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
        let tag = ring::hmac::sign(&key, b"enclog verify state 1");
        let mut base = Zeroizing::new([0u8; 32]);
        base.copy_from_slice(tag.as_ref());
        StateKey { id, base }
    }

    /// Every state key of `keyring` with id `id` (more than one on a 32-bit id collision).
    fn all_with_id(keyring: &Keyring, id: KeyId) -> Vec<StateKey> {
        (keyring.find(id).map(StateKey::from_key))
            .chain(keyring.find_identity(id).map(StateKey::from_identity))
            .collect()
    }

    fn file_key(&self, salt: &[u8; SALT_LEN]) -> LessSafeKey {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.base[..]);
        let tag = ring::hmac::sign(&key, salt);
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, tag.as_ref())
            .expect("a 32-byte key is valid for ChaCha20-Poly1305");
        LessSafeKey::new(unbound)
    }
}

impl Verifier {
    /// Continues the verification of a log from a saved state: the files it read are known
    /// again ([`observe_file`](Self::observe_file) skips what was verified), the sessions, gaps
    /// and chain are as the state left them, and what its runs reported is not reported again.
    /// Counts start from zero.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Sealer};
    /// use enclog::read::Decryptor;
    /// use enclog::verify::{Verifier, VerifyOptions};
    /// let key = Key::generate()?;
    /// let sealer = Sealer::new(key.clone());
    /// let (first, mut rest) = (sealer.seal_line(b"one")?, sealer.seal_line(b"two")?);
    /// sealer.close_to(&mut rest)?;
    /// let ring = Keyring::from(key);
    /// let mut verifier = Verifier::new();
    /// verifier.observe_all("app.log.1", &mut Decryptor::new(&first[..], ring.clone()))?;
    /// verifier.checkpoint();
    /// let mut verifier = Verifier::resume(verifier.state(), VerifyOptions::default());
    /// verifier.observe_all("app.log", &mut Decryptor::new(&rest[..], ring))?;
    /// let report = verifier.finish();
    /// assert!(report.is_clean() && report.lines == 2 && report.closed_sessions == 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resume(state: VerifyState, options: VerifyOptions) -> Verifier {
        let mut verifier = state.verifier;
        verifier.options = options;
        verifier.reset_counts();
        verifier
    }

    /// The state to save: everything this verifier knows of the log but the lines themselves
    /// (see [`VerifyState`]), with settled sessions pruned. The findings not yet reported
    /// (by a [`checkpoint`](Self::checkpoint)) and the counts travel with it, for a merge.
    ///
    /// ```
    /// use enclog::{Key, Keyring, Opener, Sealer};
    /// use enclog::seal::Rotation;
    /// use enclog::verify::{StateKey, Verifier};
    /// let key = Key::generate()?;
    /// // 1,000 sessions of 3 events.
    /// let sealer = Sealer::with_rotation(key.clone(), Rotation::default().max_lines(3));
    /// let mut log = Vec::new();
    /// for i in 0..3000 {
    ///     sealer.seal_to(None, format!("event {i}").as_bytes(), &mut log)?;
    /// }
    /// sealer.close_to(&mut log)?;
    /// let mut verifier = Verifier::new();
    /// verifier.observe_file("app.log", &log[..], &mut Opener::new(Keyring::from(key.clone())))?;
    /// assert!(verifier.checkpoint_final().is_clean());
    /// let saved = verifier.state().seal(&StateKey::from_key(&key));
    /// assert!(saved.len() < 200 * 1000, "{} bytes", saved.len()); // under 200 bytes a session
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn state(&self) -> VerifyState {
        let mut verifier = Verifier {
            options: VerifyOptions::default(),
            files: self.files.clone(),
            current_file: self.current_file,
            sessions: self.sessions.clone(),
            recent: Default::default(),
            recent_order: Default::default(),
            findings: self.findings.clone(),
            findings_total: self.findings_total,
            counts: self.counts,
            lines: self.lines,
            events: self.events,
            close_records: self.close_records,
            plain_lines: self.plain_lines,
            failed_lines: self.failed_lines,
            unsequenced: self.unsequenced,
            unauthenticated_text: self.unauthenticated_text,
            text_run: self.text_run,
            chain: self.chain.clone(),
            marks: self.marks.clone(),
            line_offset: 0,
            read_here: Default::default(),
        };
        verifier.prune();
        VerifyState {
            verifier,
            key_id: None,
        }
    }

    /// Drops the chain keys of settled sessions: closed, and their successor read with a link
    /// that fits their close record.
    fn prune(&mut self) {
        for session in self.chain.sessions.values_mut() {
            let settled =
                session.close.is_some() && session.successor.is_some_and(|s| s.expects.is_none());
            if settled {
                session.next_chain_key = None;
            }
        }
    }
}

/// A verifier's state could not be read, opened or written.
///
/// ```
/// use enclog::verify::{StateError, VerifyState};
/// let err = VerifyState::open(b"not a state", &enclog::Keyring::new()).unwrap_err();
/// assert!(matches!(err, StateError::NotAState { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The file (or its `.lock` or `.tmp` file, or its folder) could not be read or written.
    #[error(
        "cannot use verify state {}: check that this user can create, read and write it and \
         its folder",
        .path.display()
    )]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Another run holds the state's lock.
    #[error(
        "verify state {} is in use by another run (it holds {}.lock): wait for it to end, or \
         give each job its own state",
        .path.display(),
        .path.display()
    )]
    InUse {
        /// The state file.
        path: PathBuf,
    },
    /// The bytes are not a verify state.
    #[error(
        "{} is not an enclog verify state (or is cut short): give the file that `enclog verify \
         --state` or `--save-state` wrote",
        shown(.path)
    )]
    NotAState {
        /// The file.
        path: PathBuf,
    },
    /// The state was written by another version of enclog.
    #[error(
        "{} is a verify state of version {version}, which this enclog does not read (it reads \
         version 1): verify the whole log again, without it",
        shown(.path)
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        version: u8,
    },
    /// The keyring lacks the key the state was sealed under.
    #[error(
        "{} was sealed with key {key_id}, which is not among the keys given ({have}): give \
         that key (or identity) too",
        shown(.path)
    )]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key it names.
        key_id: KeyId,
        /// The ids of the keys given.
        have: String,
    },
    /// The state does not open under its key: edited, damaged, or sealed under another key of
    /// the same id. Threat: a deletion hidden by editing the state.
    #[error(
        "{} fails authentication under key {key_id}: it was edited or damaged (or sealed with \
         another key of that id), so what it says was verified cannot be trusted; delete it and \
         verify the whole log again (every file, oldest first)",
        shown(.path)
    )]
    Unauthenticated {
        /// The file.
        path: PathBuf,
        /// The key it names.
        key_id: KeyId,
    },
    /// The state opened but its contents do not parse: a bug, or a build of enclog that writes
    /// the same version differently.
    #[error(
        "{} opened but cannot be read ({reason}); delete it and verify the whole log again",
        shown(.path)
    )]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// `verify state PATH`, or `the verify state` for one read from memory.
fn shown(path: &Path) -> String {
    if path.as_os_str().is_empty() {
        "the verify state".into()
    } else {
        format!("verify state {}", path.display())
    }
}

/// [`crate::private_file::replace`], its error as a [`StateError`].
fn replace(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    crate::private_file::replace(path, bytes)
        .map_err(|(path, source)| StateError::Io { path, source })
}
