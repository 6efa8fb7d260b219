//! The AEAD, in one place: XChaCha20-Poly1305, computed as HChaCha20 once per session and
//! ring's ChaCha20-Poly1305 per line.
//!
//! `XChaCha20-Poly1305(k, sid ‖ seq)` is by definition `ChaCha20-Poly1305(HChaCha20(k, sid),
//! 0⁴ ‖ seq)`. Deriving the subkey once per session and sealing with ring is ~9× faster than
//! chacha20poly1305 0.11's default build on this hardware (see `BENCHMARKS.md`),
//! and the `FORMAT.md` vectors hold the two byte-identical.

use chacha20::cipher::consts::U10;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use zeroize::{Zeroize, Zeroizing};

use crate::format::{COMMIT_LEN, TAG_LEN};

/// The per-session cipher: a subkey bound to one (key, session id) pair.
pub(crate) struct SessionCipher {
    inner: Inner,
}

// One per session: the size difference costs nothing worth an indirection per line.
#[allow(clippy::large_enum_variant)]
enum Inner {
    /// ring's expanded key, kept for the session (symmetric mode: the master key is held for
    /// the process's life anyway, so a copy of its subkey adds no exposure).
    Cached(LessSafeKey),
    /// Only the subkey bytes, zeroized on drop; ring's key is rebuilt per line (≈ 30 ns) and
    /// lives on the stack. The recipient mode uses this so that a rotated-out session leaves no
    /// key behind on the heap (forward security).
    Wiped(Zeroizing<[u8; 32]>),
}

impl SessionCipher {
    /// Derives the session subkey `HChaCha20(key, session)`.
    pub(crate) fn new(key: &[u8; 32], session: &[u8; 16]) -> SessionCipher {
        let sub = subkey(key, session);
        SessionCipher {
            inner: Inner::Cached(ring_key(&sub)),
        }
    }

    /// Like [`SessionCipher::new`], keeping no expanded key between lines.
    pub(crate) fn forward_secure(key: &[u8; 32], session: &[u8; 16]) -> SessionCipher {
        SessionCipher {
            inner: Inner::Wiped(subkey(key, session)),
        }
    }

    fn with_key<R>(&self, f: impl FnOnce(&LessSafeKey) -> R) -> R {
        match &self.inner {
            Inner::Cached(key) => f(key),
            Inner::Wiped(sub) => f(&ring_key(sub)),
        }
    }

    /// `u32-big-endian(part) ‖ u64-big-endian(seq)` (FORMAT.md §4): `part` is 0 for every
    /// record, 1, 2, … for the sealed values of a field-sealed line (§11).
    fn nonce(part: u32, seq: u64) -> Nonce {
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&part.to_be_bytes());
        nonce[4..].copy_from_slice(&seq.to_be_bytes());
        Nonce::assume_unique_for_key(nonce)
    }

    /// Encrypts `in_out` in place and returns the tag.
    pub(crate) fn seal(&self, seq: u64, aad: &[u8], in_out: &mut [u8]) -> [u8; TAG_LEN] {
        self.seal_part(0, seq, aad, in_out)
    }

    /// Encrypts `in_out` in place with nonce part `part`; returns the tag.
    pub(crate) fn seal_part(
        &self,
        part: u32,
        seq: u64,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> [u8; TAG_LEN] {
        self.with_parts(|key| key.seal_part(part, seq, aad, in_out))
    }

    /// Runs `f` with the session's key ready to seal several parts (a field-sealed line's
    /// values): the forward-secure mode expands its key once for them, not once per part.
    pub(crate) fn with_parts<R>(&self, f: impl FnOnce(&PartSealer<'_>) -> R) -> R {
        self.with_key(|key| f(&PartSealer(key)))
    }

    /// Decrypts `in_out` (ciphertext ‖ tag) in place; returns the plaintext or `None` when the
    /// tag does not verify (ring compares tags in constant time).
    pub(crate) fn open<'a>(
        &self,
        seq: u64,
        aad: &[u8],
        in_out: &'a mut [u8],
    ) -> Option<&'a mut [u8]> {
        self.open_part(0, seq, aad, in_out)
    }

    /// [`SessionCipher::open`] with nonce part `part`.
    pub(crate) fn open_part<'a>(
        &self,
        part: u32,
        seq: u64,
        aad: &[u8],
        in_out: &'a mut [u8],
    ) -> Option<&'a mut [u8]> {
        self.with_key(|key| key.open_in_place(Self::nonce(part, seq), Aad::from(aad), in_out))
            .ok()
    }
}

/// A session's key, expanded, for the parts of one line ([`SessionCipher::with_parts`]).
pub(crate) struct PartSealer<'a>(&'a LessSafeKey);

impl PartSealer<'_> {
    /// [`SessionCipher::seal_part`] with the key expanded already.
    pub(crate) fn seal_part(
        &self,
        part: u32,
        seq: u64,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> [u8; TAG_LEN] {
        let tag = self
            .0
            .seal_in_place_separate_tag(SessionCipher::nonce(part, seq), Aad::from(aad), in_out)
            .expect("ChaCha20-Poly1305 seals any input under 256 GiB");
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

impl std::fmt::Debug for SessionCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionCipher(<redacted>)")
    }
}

/// The key commitment of a version 2 header: `HMAC-SHA256(key, "enclog-v2 commit" ‖ session)`,
/// its first 16 bytes (`FORMAT.md` §4.1). `session` is the header's session field (16 or 32 bytes).
pub(crate) fn commitment(key: &[u8; 32], session: &[u8]) -> [u8; COMMIT_LEN] {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(b"enclog-v2 commit");
    ctx.update(session);
    let mut out = [0u8; COMMIT_LEN];
    out.copy_from_slice(&ctx.sign().as_ref()[..COMMIT_LEN]);
    out
}

/// Compares two commitments (or MACs) in constant time.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn subkey(key: &[u8; 32], session: &[u8; 16]) -> Zeroizing<[u8; 32]> {
    let mut derived = chacha20::hchacha::<U10>(key.into(), session.into());
    let mut sub = Zeroizing::new([0u8; 32]);
    sub.copy_from_slice(&derived);
    derived.as_mut_slice().zeroize();
    sub
}

fn ring_key(sub: &[u8; 32]) -> LessSafeKey {
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, &sub[..])
        .expect("a 32-byte key is valid for ChaCha20-Poly1305");
    LessSafeKey::new(unbound)
}
