//! A sealed value's token header and associated data (FORMAT.md §11.2): the header before the
//! value's ciphertext, and what the AEAD binds the value to (its header, its envelope's header,
//! its path). A line's values share the envelope's header: [`line_aad`] writes it once, and
//! [`value_aad_in`] puts each value's header and path around it.

use crate::fields::envelope;
use crate::format::{MAX_VARINT_LEN, varint_into};

/// The room before each value in `Prepared::values` for its token's header: `vm`, the type and
/// `part` (two bytes of LEB128 up to part 16,383, more than `MAX_VALUES`).
pub(super) const VALUE_HEADER_ROOM: usize = 4;

/// A sealed value's token header, `vm ‖ 0x03 ‖ leb128(part)`, at the end of the room the
/// header has before its value (so that the room is copied whole, a fixed size); its length.
pub(super) fn value_header(vm: u8, part: u32) -> ([u8; VALUE_HEADER_ROOM], usize) {
    let mut varint = [0u8; MAX_VARINT_LEN];
    let n = varint_into(u64::from(part), &mut varint);
    let len = 2 + n;
    assert!(len <= VALUE_HEADER_ROOM, "at most MAX_VALUES values");
    let mut room = [0u8; VALUE_HEADER_ROOM];
    let start = VALUE_HEADER_ROOM - len;
    room[start] = vm;
    room[start + 1] = crate::format::header::SEALED_VALUE;
    for (to, from) in room[start + 2..].iter_mut().zip(&varint) {
        *to = *from;
    }
    (room, len)
}

/// The associated data of a sealed value: its own header, its envelope's header, and its path.
pub(crate) fn value_aad(
    value_header: &[u8],
    envelope_header: &[u8],
    path: &[u8],
    out: &mut Vec<u8>,
) {
    out.clear();
    out.extend_from_slice(value_header);
    out.extend_from_slice(envelope_header);
    envelope::push_path(path, out);
}

/// [`value_aad`] for the values of one line, its envelope header written once: `out` gets room
/// for a value's header and the envelope's header; returns where a value's path goes.
pub(super) fn line_aad(envelope_header: &[u8], out: &mut Vec<u8>) -> usize {
    out.clear();
    out.extend_from_slice(&[0; VALUE_HEADER_ROOM]);
    out.extend_from_slice(envelope_header);
    out.len()
}

/// One value's associated data in the buffer [`line_aad`] started: its header (as
/// [`value_header`] gives it) in the room before the envelope's header, `path` (length-prefixed,
/// from [`envelope::Entries`]) after it.
pub(super) fn value_aad_in<'a>(
    (room, len): ([u8; VALUE_HEADER_ROOM], usize),
    path: &[u8],
    base: usize,
    out: &'a mut Vec<u8>,
) -> &'a [u8] {
    out.truncate(base);
    out.extend_from_slice(path);
    out[..VALUE_HEADER_ROOM].copy_from_slice(&room);
    &out[VALUE_HEADER_ROOM - len..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::envelope::Entries;

    #[test]
    fn a_line_builds_each_value_aad_as_value_aad_does() {
        let envelope_header = [0x21, 9, 8, 7, 6];
        let mut entries = Entries::default();
        let paths = ["/fields/user", "/a"];
        let at: Vec<_> = paths.iter().map(|p| entries.push(p, false)).collect();
        let mut line = Vec::new();
        let base = line_aad(&envelope_header, &mut line);
        for part in [1, 127, 128, 1024] {
            let vh = value_header(0x21, part);
            let mut header = [0u8; 2 + MAX_VARINT_LEN];
            header[0] = 0x21;
            header[1] = crate::format::header::SEALED_VALUE;
            let n = 2 + varint_into(u64::from(part), &mut header[2..]);
            assert_eq!(vh.0[VALUE_HEADER_ROOM - vh.1..], header[..n], "part {part}");
            for (path, at) in paths.iter().zip(&at) {
                let mut want = Vec::new();
                value_aad(&header[..n], &envelope_header, path.as_bytes(), &mut want);
                let got = value_aad_in(vh, entries.path(at.clone()), base, &mut line);
                assert_eq!(got, &want[..], "part {part}, {path}");
            }
        }
    }
}
