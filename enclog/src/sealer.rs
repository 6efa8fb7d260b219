//! [`Sealer`]: plaintext → one line, with sessions, sequence numbers and fork detection.
//!
//! Nonce uniqueness, the property everything rests on (threat: two lines sealed under the same
//! key and nonce leak the XOR of their plaintexts and allow forgeries):
//! - a session draws a 128-bit id from the OS once; lines take sequence numbers from one atomic
//!   counter, so threads sharing a `Sealer` never take the same number;
//! - restarts, other processes and other hosts sharing the key draw their own session ids
//!   (a collision needs ~2⁶⁴ sessions);
//! - after `fork()` the child's copy of the counter continues the parent's numbers, so a sealer
//!   compares the process's fork generation (one atomic load, no syscall; `enclog-fork`) with the
//!   one its session was drawn in and starts a new session in a child.
//!
//! The current session sits in an `ArcSwapOption`, not behind a lock: a `fork()` taken while
//! another thread is sealing leaves the child with that thread's lock state but not the thread,
//! and a child that had to wait for a lock to install its new session would hang forever.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwapOption;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::cipher::SessionCipher;
use crate::error::{KeyError, SealError};
use crate::key::{Key, KeyId};
use crate::token::{Header, MARKER, Mode, RecordKind, SessionId, write_varint};

/// Seals plaintexts into lines. Cheap to clone; clones share one session and its sequence.
///
/// Each call draws the next sequence number of the current session; no call makes a system
/// call (the session's id is drawn from the OS once, when the first line is sealed).
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
    key: Key,
    session: ArcSwapOption<Session>,
}

#[derive(Debug)]
struct Session {
    id: [u8; 16],
    cipher: SessionCipher,
    next_seq: AtomicU64,
    fork_generation: u64,
    closed: AtomicBool,
}

impl Session {
    fn start(key: &Key, fork_generation: u64) -> Result<Session, SealError> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(SealError::Random)?;
        Ok(Session::with_id(key, id, 0, fork_generation))
    }

    fn with_id(key: &Key, id: [u8; 16], next_seq: u64, fork_generation: u64) -> Session {
        Session {
            cipher: SessionCipher::new(key.bytes(), &id),
            id,
            next_seq: AtomicU64::new(next_seq),
            fork_generation,
            closed: AtomicBool::new(false),
        }
    }

    fn usable(&self, fork_generation: u64) -> bool {
        self.fork_generation == fork_generation && !self.closed.load(Ordering::Relaxed)
    }
}

thread_local! {
    /// Scratch for header ‖ plaintext ‖ tag before base64: reused, so a warm thread seals
    /// without allocating.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Sealer {
    /// A sealer for the symmetric mode. The session starts with the first sealed line.
    pub fn new(key: Key) -> Sealer {
        Sealer {
            shared: Arc::new(Shared {
                key,
                session: ArcSwapOption::empty(),
            }),
        }
    }

    /// A sealer for a key given in text form, whatever its kind among those a writer can use
    /// (today a symmetric key; recipients and zato-enclog Fernet keys as their modes arrive).
    ///
    /// ```
    /// let key = enclog::Key::generate()?;
    /// let sealer = enclog::Sealer::from_key_text(&key.to_text())?;
    /// assert_eq!(sealer.key_id(), key.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_key_text(text: &str) -> Result<Sealer, KeyError> {
        Ok(Sealer::new(text.parse()?))
    }

    /// A sealer for the key in a key file (see [`Sealer::from_key_text`] for the kinds, and
    /// [`Key::from_file`] for the permission check).
    pub fn from_key_file(path: impl AsRef<std::path::Path>) -> Result<Sealer, KeyError> {
        let path = path.as_ref();
        let text = crate::secret_file::read_key_line(path)?;
        Sealer::from_key_text(&text).map_err(|e| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// The id of the key this sealer writes under.
    pub fn key_id(&self) -> KeyId {
        self.shared.key.id()
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
        let guard = self.shared.session.load();
        guard.as_ref().map(|s| SessionId(s.id))
    }

    /// Starts a session now instead of at the first line, so that a broken random number
    /// generator is reported before the application logs anything (fail closed).
    pub fn start(&self) -> Result<SessionId, SealError> {
        self.with_session(|s| SessionId(s.id))
    }

    /// Seals `plaintext` as one event line and appends it, newline included, to `out`.
    ///
    /// `clear` is optional clear metadata (e.g. `"INFO"`), written before the token for grep
    /// and log routers. Its bytes outside printable ASCII become `?`. An encrypted copy travels
    /// inside the token, so a reader detects any edit of it (`Opened::meta`).
    pub fn seal_to(
        &self,
        clear: Option<&[u8]>,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        self.seal_record(RecordKind::Event, clear, plaintext, out)
    }

    /// Seals `plaintext` as a new line (convenient; [`Sealer::seal_to`] reuses a buffer).
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
        let generation = enclog_fork::generation();
        let guard = self.shared.session.load();
        let Some(session) = guard.as_ref().filter(|s| s.usable(generation)) else {
            return Ok(());
        };
        if session.closed.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        let seq = session.next_seq.fetch_add(1, Ordering::Relaxed);
        self.write_line(session, seq, RecordKind::Close, None, b"", out);
        Ok(())
    }

    fn seal_record(
        &self,
        record: RecordKind,
        clear: Option<&[u8]>,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SealError> {
        self.with_session(|session| {
            let seq = session.next_seq.fetch_add(1, Ordering::Relaxed);
            self.write_line(session, seq, record, clear, plaintext, out);
        })
    }

    /// Runs `f` with a session that is valid in this process, starting one if needed.
    fn with_session<R>(&self, f: impl FnOnce(&Session) -> R) -> Result<R, SealError> {
        let generation = enclog_fork::generation();
        let current = self.shared.session.load();
        if let Some(session) = current.as_ref().filter(|s| s.usable(generation)) {
            return Ok(f(session));
        }
        // Several threads may get here at once: each draws a session, one installs it, the
        // others use the installed one (a wasted draw is harmless; a shared nonce is not).
        let fresh = Some(Arc::new(Session::start(&self.shared.key, generation)?));
        let mut seen = current;
        loop {
            if let Some(session) = seen.as_ref().filter(|s| s.usable(generation)) {
                return Ok(f(session));
            }
            let previous = self.shared.session.compare_and_swap(&*seen, fresh.clone());
            if std::ptr::eq(
                previous.as_ref().map_or(std::ptr::null(), Arc::as_ptr),
                seen.as_ref().map_or(std::ptr::null(), Arc::as_ptr),
            ) {
                let installed = fresh.as_ref().expect("fresh session");
                return Ok(f(installed));
            }
            seen = previous;
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
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => {
                self.encode(session, seq, record, clear, plaintext, &mut scratch, out)
            }
            // Re-entered (sealing from inside a sealing call): use a fresh buffer.
            Err(_) => self.encode(session, seq, record, clear, plaintext, &mut Vec::new(), out),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn encode(
        &self,
        session: &Session,
        seq: u64,
        record: RecordKind,
        clear: Option<&[u8]>,
        plaintext: &[u8],
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) {
        scratch.clear();
        let mut session_field = [0u8; 32];
        session_field[..16].copy_from_slice(&session.id);
        let header = Header {
            mode: Mode::Symmetric,
            record,
            has_meta: clear.is_some(),
            key_id: self.shared.key.id(),
            session: session_field,
            seq,
        };
        header.write(scratch);
        let header_len = scratch.len();

        let clear_start = out.len();
        if let Some(clear) = clear {
            out.extend(
                clear
                    .iter()
                    .map(|&b| if (0x20..0x7f).contains(&b) { b } else { b'?' }),
            );
            let clear_len = out.len() - clear_start;
            write_varint(clear_len as u64, scratch);
            scratch.extend_from_slice(&out[clear_start..]);
            out.push(b' ');
        }
        scratch.extend_from_slice(plaintext);

        let (aad, body) = scratch.split_at_mut(header_len);
        let tag = session.cipher.seal(seq, aad, body);
        scratch.extend_from_slice(&tag);

        out.extend_from_slice(MARKER);
        let at = out.len();
        let encoded = base64::encoded_len(scratch.len(), false).expect("line length fits usize");
        out.resize(at + encoded, 0);
        URL_SAFE_NO_PAD
            .encode_slice(&scratch[..], &mut out[at..])
            .expect("the buffer was sized by encoded_len");
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `FORMAT.md` vectors, sealed with a fixed session: the exact bytes the spec states.
    /// (`tests/vectors.rs` opens them through the public API and re-derives them with an
    /// independent XChaCha20-Poly1305.)
    #[test]
    fn format_vectors_seal_to_the_exact_lines() {
        let vectors = crate::vectors::parse(include_str!("../../tests/vectors/v1.txt"));
        assert!(vectors.len() >= 5, "vectors file lost entries");
        for v in vectors {
            let key: Key = v.key.parse().unwrap();
            let sealer = Sealer::new(key.clone());
            let session = Session::with_id(&key, v.session, v.seq, enclog_fork::generation());
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
}
