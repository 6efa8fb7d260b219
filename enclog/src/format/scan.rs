//! Finding a token in a line of text: the marker, then a run of base64url characters. The
//! same rule finds zato-enclog's Fernet tokens ([`locate_fernet`]), padding included.

use std::sync::LazyLock;

use memchr::memmem;

use super::{FERNET_MARKER, MARKER};

/// Fewer base64 characters than this after the marker is prose that happens to contain the
/// marker, not a token.
const MIN_TOKEN_CHARS: usize = 8;

/// Whether `b` is a base64url character. Branch-free, so that [`token_len`]'s loop vectorizes.
#[inline(always)]
pub(crate) fn is_token_char(b: u8) -> bool {
    // `| 0x20` maps `A–Z` onto `a–z` and nothing else onto `a–z`.
    ((b | 0x20).wrapping_sub(b'a') < 26) | (b.wrapping_sub(b'0') < 10) | (b == b'-') | (b == b'_')
}

/// The length of the run of base64url characters at the start of `s`.
///
/// This runs over every byte of every token read: a byte-by-byte `take_while` cost as much as
/// the AEAD itself. Blocks of 32 bytes are checked with no branch inside a block (LLVM turns
/// that into a few vector compares); the block holding the end of the token is searched
/// 8 bytes at a time ([`non_token_bytes`]). The last partial block is padded with a space.
fn token_len(s: &[u8]) -> usize {
    const BLOCK: usize = 32;
    fn end_in_block(block: &[u8; BLOCK]) -> Option<usize> {
        if block.iter().fold(true, |all, &b| all & is_token_char(b)) {
            return None;
        }
        block.chunks_exact(8).enumerate().find_map(|(i, word)| {
            let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            let bad = non_token_bytes(word);
            (bad != 0).then(|| i * 8 + bad.trailing_zeros() as usize / 8)
        })
    }
    let mut n = 0;
    let mut blocks = s.chunks_exact(BLOCK);
    for block in &mut blocks {
        if let Some(end) = end_in_block(block.try_into().expect("a whole block")) {
            return n + end;
        }
        n += BLOCK;
    }
    let rest = blocks.remainder();
    let mut last = [b' '; BLOCK];
    last[..rest.len()].copy_from_slice(rest);
    n + end_in_block(&last).expect("the padding ends the token")
}

/// The high bit of each byte of `word` set where that byte is not a base64url character
/// (SWAR: eight bytes in one register, no carries across bytes).
fn non_token_bytes(word: u64) -> u64 {
    const L: u64 = 0x0101_0101_0101_0101;
    const H: u64 = 0x8080_8080_8080_8080;
    let x = word & !H; // 7-bit bytes: the additions below cannot carry into the next byte
    // High bit set where lo <= byte <= hi.
    let within = |x: u64, lo: u8, hi: u8| {
        ((x + (0x80 - u64::from(lo)) * L) & !(x + (0x7f - u64::from(hi)) * L)) & H
    };
    let letters = within(x | (0x20 * L), b'a', b'z');
    let ok = letters | within(x, b'0', b'9') | within(x, b'-', b'-') | within(x, b'_', b'_');
    !ok & H | (word & H)
}

/// Where a token sits in a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Located {
    /// Index of the marker's first byte.
    pub(crate) marker: usize,
    /// Range of the base64 characters after the marker.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Finds the first token in `line`: the marker followed by at least 8 base64url characters.
pub(crate) fn locate(line: &[u8]) -> Option<Located> {
    locate_with(line, find_marker, MARKER.len(), token_len)
}

/// Where the first line of `buf` ends (the index of its `\n`, if `buf` holds one) and, when
/// that line is a token alone (as enclog writes whole lines), the token: found in one pass.
/// The scan that measures a token starting at the line's first byte stops at the `\n` right
/// after it, so such a line needs no second scan for its end; any other line is searched for
/// its `\n` as usual (and its token, if any, is located by [`locate`] later).
#[inline]
pub(crate) fn first_line(buf: &[u8]) -> (Option<usize>, Option<Located>) {
    if buf.starts_with(MARKER) {
        let start = MARKER.len();
        let end = start + token_len(&buf[start..]);
        if end - start >= MIN_TOKEN_CHARS && buf.get(end) == Some(&b'\n') {
            let token = Located {
                marker: 0,
                start,
                end,
            };
            return (Some(end), Some(token));
        }
    }
    (memchr::memchr(b'\n', buf), None)
}

/// The first occurrence of [`MARKER`] (SIMD search; lines written by enclog start with it).
fn find_marker(haystack: &[u8]) -> Option<usize> {
    static FINDER: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(MARKER));
    if haystack.starts_with(MARKER) {
        return Some(0);
    }
    FINDER.find(haystack)
}

/// Finds the first zato-enclog token in `line`: [`fernet::MARKER`](crate::fernet::MARKER)
/// followed by at least 8 url-safe base64 characters, `=` padding included.
pub(crate) fn locate_fernet(line: &[u8]) -> Option<Located> {
    static FINDER: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(FERNET_MARKER));
    let padded_len = |s: &[u8]| {
        s.iter()
            .take_while(|&&b| is_token_char(b) || b == b'=')
            .count()
    };
    locate_with(line, |h| FINDER.find(h), FERNET_MARKER.len(), padded_len)
}

/// The rule both kinds of token share: the first marker (found by `find`) followed by at least
/// [`MIN_TOKEN_CHARS`] token characters (counted by `run`); a marker with fewer is prose, and
/// the search goes on after it.
#[inline(always)]
fn locate_with(
    line: &[u8],
    find: impl Fn(&[u8]) -> Option<usize>,
    marker_len: usize,
    run: impl Fn(&[u8]) -> usize,
) -> Option<Located> {
    let mut from = 0;
    while let Some(pos) = find(&line[from..]) {
        let marker = from + pos;
        let start = marker + marker_len;
        let len = run(&line[start..]);
        if len >= MIN_TOKEN_CHARS {
            return Some(Located {
                marker,
                start,
                end: start + len,
            });
        }
        from = start;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `first_line` gives the line end `memchr` gives and, for a line that is a token alone,
    /// the token `locate` finds in that line; never a token for any other line.
    #[test]
    fn first_line_agrees_with_memchr_and_locate() {
        let token = "enclog:AbCdEfGh-_0123456789";
        let cases: Vec<String> = vec![
            format!("{token}\nnext line\n"),
            format!("{token}"),     // no newline in the buffer yet
            format!("{token}\r\n"), // CRLF: not a token alone
            format!("{token} trailing text\n"),
            format!("INFO {token}\n"),
            "enclog:short\n".into(), // too short to be a token
            "enclog:\n".into(),
            "plain text\nenclog:AbCdEfGh-_0123456789\n".into(),
            "\n".into(),
            String::new(),
        ];
        for case in &cases {
            let buf = case.as_bytes();
            let (end, token) = first_line(buf);
            assert_eq!(end, memchr::memchr(b'\n', buf), "{case:?}");
            let line = &buf[..end.unwrap_or(buf.len())];
            match token {
                Some(at) => {
                    assert_eq!(Some(at), locate(line), "{case:?}");
                    assert_eq!((at.marker, at.end), (0, line.len()), "{case:?}");
                }
                None => assert!(
                    end.is_none()
                        || locate(line).is_none_or(|at| at.end != line.len() || at.marker != 0),
                    "{case:?}: a token alone was not recognised"
                ),
            }
        }
    }

    #[test]
    fn token_chars_are_exactly_base64url() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
            assert_eq!(is_token_char(b), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn swar_classifies_every_byte_in_every_lane() {
        for b in 0..=255u8 {
            for lane in 0..8 {
                let mut word = [b'A'; 8];
                word[lane] = b;
                let bad = non_token_bytes(u64::from_le_bytes(word));
                let expected = if is_token_char(b) {
                    0
                } else {
                    0x80u64 << (8 * lane)
                };
                assert_eq!(bad, expected, "byte {b:#04x} in lane {lane}");
            }
        }
    }

    #[test]
    fn token_len_stops_at_the_first_other_byte_at_every_offset() {
        for len in 0..100 {
            for stop in [b' ', b'=', b'"', b'\\', b'\n', 0x80, b'+', b'/'] {
                let mut s = vec![b'A'; len];
                s.push(stop);
                s.extend_from_slice(b"BCD");
                assert_eq!(token_len(&s), len, "len {len}, stop {stop:#04x}");
            }
            assert_eq!(token_len(&vec![b'z'; len]), len);
        }
    }

    #[test]
    fn locate_skips_prose_and_finds_wrapped_tokens() {
        assert_eq!(locate(b"see enclog: docs"), None);
        let line = b"{\"log\":\"enclog:ABCDEFGHIJ_-\\n\"}";
        let found = locate(line).unwrap();
        assert_eq!(&line[found.start..found.end], b"ABCDEFGHIJ_-");
        assert_eq!(found.marker, 8);
        let line = b"enclog: x enclog:ABCDEFGHIJ";
        assert_eq!(locate(line).unwrap().marker, 10);
    }
}
