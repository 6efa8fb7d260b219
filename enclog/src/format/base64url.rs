//! base64url, the one implementation for the whole crate: tokens, key texts and zato-enclog's
//! Fernet tokens. SIMD (AVX2/SSSE3/NEON, chosen at run time), measured 3–4× the speed of the
//! `base64` crate on tokens. Decoding is strict about trailing bits everywhere except in
//! [`decode_fernet`], so that each enclog token and key text has exactly one encoding.

use base64_simd::{Out, URL_SAFE, URL_SAFE_NO_PAD};

/// The characters `bytes` takes without padding.
pub(crate) fn encoded_len(bytes: usize) -> usize {
    URL_SAFE_NO_PAD.encoded_length(bytes)
}

/// Appends `bytes` without padding.
#[inline]
pub(crate) fn encode_append(bytes: &[u8], out: &mut Vec<u8>) {
    URL_SAFE_NO_PAD.encode_append(bytes, out);
}

/// Writes `bytes` without padding into the start of `out` (which must have room for
/// [`encoded_len`] bytes) and returns the text: nothing is allocated, so a secret can be
/// encoded into a buffer that is zeroized.
pub(crate) fn encode_into<'a>(bytes: &[u8], out: &'a mut [u8]) -> &'a str {
    let text = URL_SAFE_NO_PAD.encode(bytes, Out::from_slice(out));
    std::str::from_utf8(text).expect("base64 is ASCII")
}

/// As [`encode_into`], with `=` padding.
pub(crate) fn encode_padded_into<'a>(bytes: &[u8], out: &'a mut [u8]) -> &'a str {
    let text = URL_SAFE.encode(bytes, Out::from_slice(out));
    std::str::from_utf8(text).expect("base64 is ASCII")
}

/// Appends `bytes` with `=` padding (what Python's `base64.urlsafe_b64encode` writes).
pub(crate) fn encode_padded_append(bytes: &[u8], out: &mut Vec<u8>) {
    URL_SAFE.encode_append(bytes, out);
}

/// Decodes unpadded `chars` into `buf` (replacing its contents); `None` if they are not
/// canonical base64url.
pub(crate) fn decode_into(chars: &[u8], buf: &mut Vec<u8>) -> Option<()> {
    buf.clear();
    buf.resize(URL_SAFE_NO_PAD.decoded_length(chars).ok()?, 0);
    let n = URL_SAFE_NO_PAD
        .decode(chars, Out::from_slice(buf))
        .ok()?
        .len();
    buf.truncate(n);
    Some(())
}

/// Decodes unpadded `chars` into the start of `out`; returns the length, or `None` if they
/// are not canonical base64url or `out` is too small.
pub(crate) fn decode_slice(chars: &[u8], out: &mut [u8]) -> Option<usize> {
    if URL_SAFE_NO_PAD.decoded_length(chars).ok()? > out.len() {
        return None;
    }
    Some(
        URL_SAFE_NO_PAD
            .decode(chars, Out::from_slice(out))
            .ok()?
            .len(),
    )
}

/// Decodes a Fernet token (url-safe; unpadded, or padded to a multiple of 4 characters with
/// exactly the `=` it needs) into the start of `out`; returns the length, or `None` for
/// characters outside the alphabet, `=` anywhere but at the end, or wrong padding. Trailing bits are ignored, as Python does, so that one
/// altered last character reads as a token that fails authentication (tampering), not as
/// malformed text.
pub(crate) fn decode_fernet(chars: &[u8], out: &mut [u8]) -> Option<usize> {
    let data = chars
        .strip_suffix(b"==")
        .or_else(|| chars.strip_suffix(b"="))
        .unwrap_or(chars);
    let padding = chars.len() - data.len();
    let needed = (4 - data.len() % 4) % 4;
    if data.len() % 4 == 1 || data.contains(&b'=') || (padding != 0 && padding != needed) {
        return None;
    }
    // Clear the unused low bits of the last character, so the strict decoder accepts it (a
    // copy, wiped after use: for a key's text these are key characters).
    let mut last_group = zeroize::Zeroizing::new([0u8; 4]);
    let whole = data.len() / 4 * 4;
    let rest = &data[whole..];
    last_group[..rest.len()].copy_from_slice(rest);
    if !rest.is_empty() {
        let last = rest.len() - 1;
        let unused_bits = if rest.len() == 2 { 4 } else { 2 };
        let value = sextet(last_group[last])?;
        last_group[last] = ALPHABET[usize::from(value & !((1 << unused_bits) - 1))];
    }
    let mut n = decode_slice(&data[..whole], out)?;
    if !rest.is_empty() {
        n += decode_slice(&last_group[..rest.len()], &mut out[n..])?;
    }
    Some(n)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn sextet(c: u8) -> Option<u8> {
    ALPHABET.iter().position(|&a| a == c).map(|i| i as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fernet_decoding_ignores_trailing_bits_and_takes_padding_or_not() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37)).collect();
            let mut padded = Vec::new();
            encode_padded_append(&bytes, &mut padded);
            let mut out = vec![0u8; len + 3];
            let n = decode_fernet(&padded, &mut out).unwrap();
            assert_eq!(&out[..n], &bytes[..], "padded, {len} bytes");
            let unpadded: Vec<u8> = padded.iter().copied().filter(|&c| c != b'=').collect();
            let n = decode_fernet(&unpadded, &mut out).unwrap();
            assert_eq!(&out[..n], &bytes[..], "unpadded, {len} bytes");
            // Set the unused bits of the last character: still the same bytes.
            if len % 3 != 0 {
                let mut odd = unpadded.clone();
                let last = odd.len() - 1;
                odd[last] = ALPHABET[usize::from(sextet(odd[last]).unwrap() | 1)];
                let n = decode_fernet(&odd, &mut out).unwrap();
                assert_eq!(&out[..n], &bytes[..], "trailing bits set, {len} bytes");
                // The strict decoder refuses the same text.
                assert!(decode_slice(&odd, &mut out).is_none());
            }
        }
        let mut out = [0u8; 16];
        assert!(
            decode_fernet(b"ab=c", &mut out).is_none(),
            "padding in the middle"
        );
        assert!(
            decode_fernet(b"abcde", &mut out).is_none(),
            "one character too many"
        );
        assert!(
            decode_fernet(b"ab+/", &mut out).is_none(),
            "standard alphabet"
        );
        for wrong in [&b"abcd="[..], b"abcd==", b"abc==", b"ab="] {
            assert!(
                decode_fernet(wrong, &mut out).is_none(),
                "{wrong:?}: wrong padding"
            );
        }
        assert_eq!(decode_fernet(b"abc=", &mut out), Some(2));
        assert_eq!(decode_fernet(b"ab==", &mut out), Some(1));
    }

    #[test]
    fn strict_decoding_round_trips() {
        let mut buf = Vec::new();
        for len in 0..70 {
            let bytes: Vec<u8> = (0..len as u8).collect();
            let mut text = Vec::new();
            encode_append(&bytes, &mut text);
            assert_eq!(text.len(), encoded_len(len));
            decode_into(&text, &mut buf).unwrap();
            assert_eq!(buf, bytes);
            let mut out = vec![0u8; len];
            assert_eq!(
                encode_into(&bytes, &mut vec![0u8; encoded_len(len)]).as_bytes(),
                &text[..]
            );
            assert_eq!(decode_slice(&text, &mut out), Some(len));
        }
    }
}
