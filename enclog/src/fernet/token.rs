//! The Fernet token itself: `version ‖ timestamp ‖ IV ‖ AES-128-CBC ciphertext ‖ HMAC-SHA256`,
//! opened and sealed by [`FernetKey`](super::FernetKey).

use std::time::{SystemTime, UNIX_EPOCH};

use aes::Aes128;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit};
use hmac::Mac;
use zeroize::Zeroize;

use crate::error::{OpenError, SealError};
use crate::format::base64url;
use crate::format::scan::is_token_char;
use crate::key::KeyId;

use super::{FernetKey, MARKER};

const VERSION: u8 = 0x80;
const BLOCK: usize = 16;
/// version ‖ timestamp ‖ IV.
const HEADER_LEN: usize = 1 + 8 + BLOCK;
const TAG_LEN: usize = 32;
/// The smallest token: one block of ciphertext (an empty message is one block of padding).
const MIN_TOKEN_LEN: usize = HEADER_LEN + BLOCK + TAG_LEN;

impl FernetKey {
    /// Opens one Fernet token (the characters after [`MARKER`], without the marker or a
    /// line ending) and appends its plaintext to `out`. Returns the token's timestamp, in
    /// seconds since the Unix epoch.
    ///
    /// No time-to-live is enforced: log lines are old by nature. The HMAC is checked, in
    /// constant time, before anything is decrypted. On error `out` is left as it was.
    ///
    /// ```
    /// use enclog::fernet::{FernetError, FernetKey};
    /// let key: FernetKey = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=".parse()?;
    /// let token = b"gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
    /// let mut out = b"message: ".to_vec();
    /// assert_eq!(key.open(token, &mut out)?, 499_162_800);
    /// assert_eq!(out, b"message: hello");
    ///
    /// let mut altered = token.to_vec();
    /// altered[50] ^= 1;
    /// let err = key.open(&altered, &mut out).unwrap_err();
    /// assert!(matches!(err, FernetError::Corrupted { .. }));
    /// assert!(matches!(key.open(&token[..60], &mut out), Err(FernetError::Truncated { .. })));
    /// assert_eq!(out, b"message: hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(&self, token: &[u8], out: &mut Vec<u8>) -> Result<u64, FernetError> {
        if !token.iter().all(|&b| is_token_char(b) || b == b'=') {
            return Err(FernetError::Malformed {
                reason: "it contains characters outside url-safe base64 (A-Z a-z 0-9 - _ and = padding)",
            });
        }
        if token.is_empty() {
            return Err(FernetError::Truncated {
                reason: "the token is empty",
            });
        }
        if !token.len().is_multiple_of(4) {
            return Err(FernetError::Truncated {
                reason: "its base64 text is cut (its length is not a multiple of 4)",
            });
        }
        let start = out.len();
        out.resize(start + token.len() / 4 * 3, 0);
        let opened = match base64url::decode_fernet(token, &mut out[start..]) {
            Some(len) => self.open_raw(&mut out[start..start + len], token.ends_with(b"=")),
            None => Err(FernetError::Malformed {
                reason: "its base64 text has `=` padding in the middle",
            }),
        };
        match opened {
            Ok((timestamp, len)) => {
                let from = start + HEADER_LEN;
                out.copy_within(from..from + len, start);
                out[start + len..].zeroize();
                out.truncate(start + len);
                Ok(timestamp)
            }
            Err(e) => {
                out[start..].zeroize();
                out.truncate(start);
                Err(e)
            }
        }
    }

    /// Checks and decrypts a decoded token in place; returns the timestamp and the length of the
    /// plaintext, which starts at `HEADER_LEN`.
    fn open_raw(&self, raw: &mut [u8], padded: bool) -> Result<(u64, usize), FernetError> {
        match raw.first() {
            None => {
                return Err(FernetError::Truncated {
                    reason: "the token is empty",
                });
            }
            Some(&VERSION) => {}
            Some(&found) => return Err(FernetError::BadVersion { found }),
        }
        if raw.len() < MIN_TOKEN_LEN {
            return Err(FernetError::Truncated {
                reason: "it is shorter than the smallest Fernet token (73 bytes)",
            });
        }
        if !(raw.len() - HEADER_LEN - TAG_LEN).is_multiple_of(BLOCK) {
            // A token that ends in padding ended where its writer ended it.
            return Err(if padded {
                FernetError::Malformed {
                    reason: "its ciphertext is not a whole number of 16-byte blocks",
                }
            } else {
                FernetError::Truncated {
                    reason: "its ciphertext is not a whole number of 16-byte blocks",
                }
            });
        }
        let (signed, tag) = raw.split_at_mut(raw.len() - TAG_LEN);
        let mut mac = self.mac.clone();
        mac.update(signed);
        if mac.verify_slice(tag).is_err() {
            return Err(FernetError::Corrupted { key_id: self.id });
        }
        let mut timestamp = [0u8; 8];
        timestamp.copy_from_slice(&signed[1..9]);
        let (header, ciphertext) = signed.split_at_mut(HEADER_LEN);
        let mut iv = [0u8; BLOCK];
        iv.copy_from_slice(&header[9..]);
        let len = cbc::Decryptor::<Aes128>::inner_iv_init(self.cipher.clone(), &iv.into())
            .decrypt_padded::<Pkcs7>(ciphertext)
            .map_err(|_| FernetError::Malformed {
                reason: "its authenticated ciphertext has invalid PKCS#7 padding (it was not written by a Fernet implementation)",
            })?
            .len();
        Ok((u64::from_be_bytes(timestamp), len))
    }

    /// Appends `enclogdata:` and a Fernet token of `plaintext` to `out`, as zato-enclog writes
    /// a message; the caller adds the text around it and the line ending.
    ///
    /// The token carries the current time and a fresh random IV: Fernet needs an unpredictable
    /// IV per token, so each call asks the operating system for 16 bytes (one `getrandom`
    /// system call, ≈ 0.5 µs). That is acceptable for this compatibility mode; enclog's own
    /// format draws randomness once per session instead.
    ///
    /// ```
    /// let key = enclog::fernet::FernetKey::generate()?;
    /// let mut line = b"INFO - ".to_vec();
    /// key.seal("Grüße".as_bytes(), &mut line)?;
    /// line.push(b'\n');
    /// assert!(line.starts_with(b"INFO - enclogdata:gAAAAA") && line.ends_with(b"=\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seal(&self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        let mut iv = [0u8; BLOCK];
        getrandom::fill(&mut iv).map_err(SealError::Random)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.seal_with(plaintext, now, iv, out);
        Ok(())
    }

    /// [`FernetKey::seal`] with a given timestamp and IV (test vectors).
    pub(crate) fn seal_with(
        &self,
        plaintext: &[u8],
        timestamp: u64,
        iv: [u8; BLOCK],
        out: &mut Vec<u8>,
    ) {
        let ciphertext_len = (plaintext.len() / BLOCK + 1) * BLOCK;
        // Sized exactly, so the plaintext copy is never left behind by a reallocation; it is
        // encrypted in place.
        let mut token = Vec::with_capacity(HEADER_LEN + ciphertext_len + TAG_LEN);
        token.push(VERSION);
        token.extend_from_slice(&timestamp.to_be_bytes());
        token.extend_from_slice(&iv);
        token.extend_from_slice(plaintext);
        token.resize(HEADER_LEN + ciphertext_len, 0);
        cbc::Encryptor::<Aes128>::inner_iv_init(self.cipher.clone(), &iv.into())
            .encrypt_padded::<Pkcs7>(&mut token[HEADER_LEN..], plaintext.len())
            .expect("the buffer has room for the padding");
        let mut mac = self.mac.clone();
        mac.update(&token);
        token.extend_from_slice(&mac.finalize().into_bytes());

        out.extend_from_slice(MARKER);
        base64url::encode_padded_append(&token, out);
    }
}

/// A Fernet token could not be opened.
///
/// [`OpenError`] has a `From` impl for it, so a reader of mixed logs reports both kinds of line
/// the same way.
///
/// ```
/// use enclog::fernet::{FernetError, FernetKey};
/// use enclog::read::OpenError;
/// let key = FernetKey::generate()?;
/// let err = key.open(b"gAAAAABnot-a-whole-token", &mut Vec::new()).unwrap_err();
/// assert!(matches!(err, FernetError::Truncated { .. }));
/// assert!(matches!(OpenError::from(err), OpenError::Truncated { .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FernetError {
    /// The HMAC does not match: the token was altered, or it was sealed with another key
    /// (a Fernet token does not name its key, so the two cannot be told apart).
    #[error(
        "corrupted, tampered or sealed with another key: the Fernet token fails authentication (HMAC-SHA256) under key {key_id}; Fernet tokens do not name their key, so if every line fails, check that this is the key the log was written with"
    )]
    Corrupted {
        /// The key that was tried.
        key_id: KeyId,
    },
    /// The token ends early: the line was cut (a crash mid-write, a cut file).
    #[error("truncated Fernet token: {reason}; the line was cut short")]
    Truncated {
        /// What is missing.
        reason: &'static str,
    },
    /// The token is not well formed.
    #[error("malformed Fernet token: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The first byte is not Fernet's version byte, 0x80.
    #[error(
        "not a Fernet token: its version byte is 0x{found:02x}, Fernet tokens start with 0x80 (text `gAAAA`); the line was altered or the text after `enclogdata:` is not a token"
    )]
    BadVersion {
        /// The byte found.
        found: u8,
    },
}

impl From<FernetError> for OpenError {
    fn from(e: FernetError) -> OpenError {
        match e {
            FernetError::Corrupted { key_id } => OpenError::Corrupted { key_id },
            FernetError::Truncated { reason } => OpenError::Truncated { reason },
            FernetError::Malformed { reason } => OpenError::Malformed { reason },
            FernetError::BadVersion { .. } => OpenError::Malformed {
                reason: "not a Fernet token: its version byte is not 0x80",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::locate_fernet;

    const VECTORS: &str = include_str!("../../vectors/fernet-vectors.json");

    fn vectors() -> serde_json::Value {
        serde_json::from_str(VECTORS).expect("fernet-vectors.json is valid JSON")
    }

    fn spec_key(v: &serde_json::Value) -> FernetKey {
        v["secret"].as_str().unwrap().parse().unwrap()
    }

    #[test]
    fn spec_generate_vectors_are_reproduced() {
        let v = vectors();
        let key = spec_key(&v);
        let cases = v["generate"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let iv: Vec<u8> = case["iv"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().unwrap() as u8)
                .collect();
            let mut out = Vec::new();
            key.seal_with(
                case["src"].as_str().unwrap().as_bytes(),
                case["now"].as_u64().unwrap(),
                iv.try_into().unwrap(),
                &mut out,
            );
            let expected = format!("enclogdata:{}", case["token"].as_str().unwrap());
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn spec_verify_vectors_open_with_their_timestamp() {
        let v = vectors();
        let key = spec_key(&v);
        let cases: Vec<_> = v["verify"]
            .as_array()
            .unwrap()
            .iter()
            .chain(v["opens_without_ttl"].as_array().unwrap())
            .collect();
        assert_eq!(cases.len(), 3);
        for case in cases {
            let mut out = Vec::new();
            let ts = key
                .open(case["token"].as_str().unwrap().as_bytes(), &mut out)
                .unwrap();
            assert_eq!(ts, case["now"].as_u64().unwrap());
            assert_eq!(out, case["src"].as_str().unwrap().as_bytes());
        }
    }

    #[test]
    fn spec_invalid_vectors_fail_with_the_expected_kind() {
        let v = vectors();
        let key = spec_key(&v);
        let cases = v["invalid"].as_array().unwrap();
        assert_eq!(cases.len(), 8);
        for case in cases {
            let desc = case["desc"].as_str().unwrap();
            let mut out = b"kept".to_vec();
            let err = key
                .open(case["token"].as_str().unwrap().as_bytes(), &mut out)
                .unwrap_err();
            let kind = match err {
                FernetError::Corrupted { .. } => "corrupted",
                FernetError::Truncated { .. } => "truncated",
                FernetError::Malformed { .. } => "malformed",
                FernetError::BadVersion { .. } => "bad version",
            };
            assert_eq!(kind, case["expect"].as_str().unwrap(), "{desc}: {err}");
            assert_eq!(out, b"kept", "{desc}: out changed on error");
        }
    }

    #[test]
    fn round_trips_every_length_around_block_boundaries() {
        let key = FernetKey::generate().unwrap();
        for len in 0..=70 {
            let plaintext: Vec<u8> = (0..len as u8).collect();
            let mut line = Vec::new();
            key.seal(&plaintext, &mut line).unwrap();
            let crate::format::Located { marker, start, end } = locate_fernet(&line).unwrap();
            assert_eq!((marker, end), (0, line.len()));
            let mut out = b"prefix".to_vec();
            key.open(&line[start..end], &mut out).unwrap();
            assert_eq!(&out[6..], &plaintext[..], "length {len}");
        }
    }

    #[test]
    fn every_single_character_change_is_detected() {
        let key = FernetKey::generate().unwrap();
        let mut line = Vec::new();
        key.seal(b"transfer 100 EUR to alice", &mut line).unwrap();
        let token = &line[MARKER.len()..];
        for i in 0..token.len() {
            for replacement in [b'A', b'_', b'='] {
                if token[i] == replacement {
                    continue;
                }
                let mut altered = token.to_vec();
                altered[i] = replacement;
                let decoded = |t: &[u8]| {
                    let mut out = vec![0u8; t.len()];
                    base64url::decode_fernet(t, &mut out).map(|n| out[..n].to_vec())
                };
                if decoded(&altered) == decoded(token) {
                    // Only the unused low bits of the last character changed: the token's
                    // bytes are the same (Python's decoder ignores those bits too).
                    continue;
                }
                let mut out = Vec::new();
                let err = key.open(&altered, &mut out);
                assert!(err.is_err(), "change at {i} to {replacement} accepted");
                assert!(out.is_empty());
            }
        }
        // A changed ciphertext character is reported as tampering, not as a format problem.
        let mut altered = token.to_vec();
        altered[60] = if altered[60] == b'A' { b'B' } else { b'A' };
        assert!(matches!(
            key.open(&altered, &mut Vec::new()),
            Err(FernetError::Corrupted { key_id }) if key_id == key.id()
        ));
    }

    #[test]
    fn truncation_is_told_apart_from_tampering_and_version() {
        let key = FernetKey::generate().unwrap();
        let mut line = Vec::new();
        key.seal(&[b'x'; 40], &mut line).unwrap(); // 57 + 48 = 105 bytes: 140 chars, no padding
        let token = &line[MARKER.len()..];
        assert_eq!(token.len(), 140);
        for cut in 1..token.len() {
            let err = key.open(&token[..cut], &mut Vec::new()).unwrap_err();
            // Only a cut leaving a whole token's length (57 + 16k bytes, here 89) would read
            // as a failed HMAC, and 89 bytes is not a whole number of 4-character groups.
            assert!(
                matches!(err, FernetError::Truncated { .. }),
                "cut at {cut}: {err}"
            );
        }
        let mut other_version = token.to_vec();
        other_version[0] = b'A';
        assert_eq!(
            key.open(&other_version, &mut Vec::new()),
            Err(FernetError::BadVersion { found: 0 })
        );
        let wrong_key = FernetKey::generate().unwrap();
        assert!(matches!(
            wrong_key.open(token, &mut Vec::new()),
            Err(FernetError::Corrupted { .. })
        ));
    }

    #[test]
    fn open_errors_map_to_open_errors() {
        let id = KeyId::from_bytes([1, 2, 3, 4]);
        assert_eq!(
            OpenError::from(FernetError::Corrupted { key_id: id }),
            OpenError::Corrupted { key_id: id }
        );
        assert!(matches!(
            OpenError::from(FernetError::Truncated { reason: "r" }),
            OpenError::Truncated { reason: "r" }
        ));
        assert!(matches!(
            OpenError::from(FernetError::BadVersion { found: 1 }),
            OpenError::Malformed { .. }
        ));
    }

    #[test]
    fn locate_skips_prose_and_keeps_surrounding_text() {
        assert_eq!(locate_fernet(b"no marker here"), None);
        assert_eq!(locate_fernet(b"enclogdata: is our marker"), None);
        let line = b"INFO - enclogdata: x enclogdata:gAAAAABhello== (f) end";
        let crate::format::Located { marker, start, end } = locate_fernet(line).unwrap();
        assert_eq!(marker, 21);
        assert_eq!(&line[start..end], b"gAAAAABhello==");
        assert_eq!(&line[end..], b" (f) end");
        // enclog's own marker is not mistaken for zato-enclog's, nor the other way round.
        assert_eq!(locate_fernet(b"enclog:AAAAAAAAAAAA"), None);
        assert_eq!(crate::format::locate(b"enclogdata:gAAAAABhello=="), None);
    }

    #[test]
    fn every_fixture_token_is_located_and_opens() {
        let key: FernetKey = include_str!("../../vectors/zato-fernet.key")
            .lines()
            .find(|l| !l.starts_with('#'))
            .unwrap()
            .parse()
            .unwrap();
        let log = include_bytes!("../../vectors/zato-basic.log");
        let mut opened = 0;
        for line in log.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let crate::format::Located { marker, start, end } =
                locate_fernet(line).expect("every basic.log line has a token");
            assert_eq!(&line[marker..start], MARKER);
            assert_eq!(end, line.len());
            key.open(&line[start..end], &mut Vec::new()).unwrap();
            opened += 1;
        }
        assert_eq!(opened, 11);
    }
}
