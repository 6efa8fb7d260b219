//! The sealing cap: a record longer than [`MAX_EVENT`] bytes is sealed as several consecutive
//! events, cut as `enclog encrypt` cuts a line longer than its `--max-line` (the pytest suite
//! compares the two on the same text), never dropped and never sealed as a line that readers
//! would skip as too long.

/// The longest record sealed as one event by default: 12 MiB less 1 KiB, `enclog encrypt`'s
/// default `--max-line`, so that every sealed line stays under the readers' default limit
/// ([`enclog::read::DEFAULT_MAX_LINE`], 16 MiB).
pub(crate) const MAX_EVENT: usize = 12 * 1024 * 1024 - 1024;

/// The pieces of `bytes`, each at most `max` bytes (at least 1), in order; one piece (the whole
/// record) when it fits. As `enclog encrypt` does, a piece never ends inside a UTF-8
/// character: up to 3 bytes of a character cut by the limit move to the next piece.
pub(crate) fn pieces(bytes: &[u8], max: usize) -> Vec<&[u8]> {
    let max = max.max(1);
    let mut pieces = Vec::with_capacity(bytes.len() / max + 1);
    let mut rest = bytes;
    while rest.len() > max {
        // The byte after the cut, then the last bytes before it: continuation bytes
        // (0b10xx_xxxx) there mean the cut falls inside a character.
        let carry = (0..3.min(max - 1))
            .take_while(|&k| {
                let byte = if k == 0 { rest[max] } else { rest[max - k] };
                byte & 0xc0 == 0x80
            })
            .count();
        let (piece, next) = rest.split_at(max - carry);
        pieces.push(piece);
        rest = next;
    }
    pieces.push(rest);
    pieces
}
