//! Where a span's sealed values wait for the events logged inside the span.
//!
//! `tracing_subscriber::fmt` keeps a span's fields as the text its `FormatFields` wrote when
//! the span was created (`FormattedFields`), and hands that text to whichever `FormatEvent` the
//! layer has — enclog's, or any other if the two are mixed. So that text must never hold a
//! sealed value in clear. Each sealed span value is kept in it encrypted under a key that lives
//! only in this process's memory (ChaCha20, a fresh random key per process and per forked
//! child, a counter as the nonce), between two `\x01` characters (which enclog's formatter
//! escapes everywhere else, so they cannot come from a clear value). enclog's event formatter
//! decrypts it into the event's line as a sealed value; any other formatter prints the
//! ciphertext, which nothing outside this process can read.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwapOption;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use zeroize::Zeroizing;

use crate::format::base64url;

/// Opens and closes a vaulted value in a span's text.
pub(crate) const DELIMITER: u8 = 0x01;

/// One key: the fork generation it was drawn in (a forked child draws its own, so parent and
/// child never use one nonce twice), and its nonce counter.
struct Epoch {
    generation: u64,
    key: Zeroizing<[u8; 32]>,
    next: AtomicU64,
}

/// Every key of this process, in the order drawn (a child keeps its parent's, to read spans
/// created before the fork).
static EPOCHS: ArcSwapOption<Vec<Arc<Epoch>>> = ArcSwapOption::const_empty();

/// Bytes before the ciphertext: the key's place in [`EPOCHS`], the nonce counter.
const HEAD: usize = 4 + 8;

/// The current key of this process, drawn on first use (one `getrandom` per process and per
/// forked child that creates a span with a sealed value); `None` if no random key can be drawn.
fn current() -> Option<(u32, Arc<Epoch>)> {
    let generation = enclog_fork::generation();
    let epochs = EPOCHS.load_full();
    if let Some(epochs) = &epochs {
        let found = epochs
            .iter()
            .enumerate()
            .rev()
            .find(|(_, e)| e.generation == generation);
        if let Some((i, e)) = found {
            return Some((u32::try_from(i).ok()?, Arc::clone(e)));
        }
    }
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut key[..]).ok()?;
    let fresh = Arc::new(Epoch {
        generation,
        key,
        next: AtomicU64::new(0),
    });
    let mut at = 0;
    EPOCHS.rcu(|old| {
        let mut all: Vec<Arc<Epoch>> = old.as_deref().cloned().unwrap_or_default();
        at = all.len();
        all.push(Arc::clone(&fresh));
        Some(Arc::new(all))
    });
    Some((u32::try_from(at).ok()?, fresh))
}

fn nonce(n: u64) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&n.to_le_bytes());
    nonce
}

/// Appends `plaintext` vaulted (delimiters included) to `out`; `false` if no key could be
/// drawn (then nothing is appended, and the caller writes the redaction marker instead).
pub(crate) fn seal(plaintext: &[u8], out: &mut String) -> bool {
    let Some((at, epoch)) = current() else {
        return false;
    };
    let n = epoch.next.fetch_add(1, Ordering::Relaxed);
    let mut buf = Zeroizing::new(Vec::with_capacity(HEAD + plaintext.len()));
    buf.extend_from_slice(&at.to_le_bytes());
    buf.extend_from_slice(&n.to_le_bytes());
    buf.extend_from_slice(plaintext);
    let mut cipher = chacha20::ChaCha20::new((&*epoch.key).into(), (&nonce(n)).into());
    cipher.apply_keystream(&mut buf[HEAD..]);
    let mut text = Vec::with_capacity(base64url::encoded_len(buf.len()) + 2);
    text.push(DELIMITER);
    base64url::encode_append(&buf, &mut text);
    text.push(DELIMITER);
    out.push_str(std::str::from_utf8(&text).expect("base64url and \\x01 are ASCII"));
    true
}

/// Opens a vaulted value (its characters between the delimiters) into `buf`; `None` if it is
/// not one of this process's.
pub(crate) fn open(chars: &[u8], buf: &mut Vec<u8>) -> Option<Range<usize>> {
    base64url::decode_into(chars, buf)?;
    if buf.len() < HEAD {
        return None;
    }
    let at = u32::from_le_bytes(buf[..4].try_into().ok()?);
    let n = u64::from_le_bytes(buf[4..HEAD].try_into().ok()?);
    let epochs = EPOCHS.load();
    let epoch = epochs.as_ref()?.get(usize::try_from(at).ok()?)?;
    let mut cipher = chacha20::ChaCha20::new((&*epoch.key).into(), (&nonce(n)).into());
    cipher.apply_keystream(&mut buf[HEAD..]);
    Some(HEAD..buf.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vaulted_value_opens_and_shows_no_plaintext() {
        let mut text = String::from("a=1 b=");
        assert!(seal(b"hunter2 hunter2", &mut text));
        assert!(seal(b"hunter2 hunter2", &mut text));
        assert!(!text.contains("hunter2"));
        let parts: Vec<&str> = text.split('\x01').collect();
        assert_eq!(parts.len(), 5);
        assert_ne!(parts[1], parts[3], "a nonce per value");
        let mut buf = Vec::new();
        for part in [parts[1], parts[3]] {
            let range = open(part.as_bytes(), &mut buf).unwrap();
            assert_eq!(&buf[range], b"hunter2 hunter2");
        }
        assert!(open(b"AAAA", &mut buf).is_none());
    }
}
