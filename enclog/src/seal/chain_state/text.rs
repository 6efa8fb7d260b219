//! The chain state file's text (not part of the line format; FORMAT.md §5.5 leaves it to the
//! writer), written and read here only:
//!
//! ```text
//! # enclog chain state: this writer's place in its lineage (FORMAT.md §5.5).
//! # …
//! ENCLOG-CHAIN-1
//! lineage <32 hex>
//! index <decimal>
//! session <vm, 2 hex> <key id, 8 hex> <session, 32 or 64 hex>
//! end closed <count> <end tag, 32 hex>          or: end open
//! next-chain-key <64 hex>
//! check <16 hex>
//! ```
//!
//! `check` is the first 8 bytes of SHA-256 over the field lines from `ENCLOG-CHAIN-1` through
//! `next-chain-key`, each with its `\n` (comment and blank lines are not covered): it catches a
//! damaged or hand-edited file. It is no MAC: whoever can write the file can recompute it; the
//! 0600 mode and the private folder are what keep others out.
//!
//! No error quotes a line of the file: one of them is the secret.

use std::fmt::Write as _;
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{ChainStateError, Hex, SavedPoint};
use crate::key::KeyId;

/// The first field line: the layout's version.
const VERSION: &str = "ENCLOG-CHAIN-1";

/// The file's text for `point`. Held in one buffer allocated once and zeroed on drop (a growing
/// `String` would leave copies of the chain key in freed memory).
pub(super) fn render(point: &SavedPoint) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::with_capacity(1024));
    let t = &mut *text;
    // Writing to a String cannot fail.
    let _ = writeln!(
        t,
        "# enclog chain state: this writer's place in its lineage (FORMAT.md §5.5).\n\
         # Secret: it holds the next chain key. Keep it 0600 and out of backups and log folders.\n\
         # Do not edit it. Deleted, the writer starts a new chain; an old copy put back makes a\n\
         # branched chain (`enclog verify` reports both)."
    );
    let body_start = t.len();
    let _ = writeln!(t, "{VERSION}");
    let _ = writeln!(t, "lineage {:?}", Hex(&point.lineage));
    let _ = writeln!(t, "index {}", point.index);
    let _ = writeln!(
        t,
        "session {:02x} {} {:?}",
        point.vm,
        point.key_id,
        Hex(&point.session)
    );
    match &point.end {
        Some((count, tag)) => {
            let _ = writeln!(t, "end closed {count} {:?}", Hex(tag));
        }
        None => {
            let _ = writeln!(t, "end open");
        }
    }
    let _ = writeln!(t, "next-chain-key {:?}", Hex(&point.next_chain_key[..]));
    let check = Sha256::digest(&t.as_bytes()[body_start..]);
    let _ = writeln!(t, "check {:?}", Hex(&check[..8]));
    text
}

/// What is wrong with a file's text, before the path is known.
#[derive(Debug)]
pub(super) enum Fault {
    Malformed { line: usize, reason: String },
    Checksum,
}

impl Fault {
    pub(super) fn in_file(self, path: PathBuf) -> ChainStateError {
        match self {
            Fault::Malformed { line, reason } => ChainStateError::Malformed { path, line, reason },
            Fault::Checksum => ChainStateError::Checksum { path },
        }
    }
}

fn malformed(line: usize, reason: impl Into<String>) -> Fault {
    Fault::Malformed {
        line,
        reason: reason.into(),
    }
}

/// The field lines of a file in order, with their line numbers (1-based); blank and `#` lines are
/// skipped. Every field line but `check` goes into the checksum.
struct Fields<'a> {
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
    /// The number of the last line read.
    at: usize,
    hasher: Sha256,
}

/// The field names, for errors that name what was found instead.
const FIELDS: [&str; 7] = [
    VERSION,
    "lineage",
    "index",
    "session",
    "end",
    "next-chain-key",
    "check",
];

impl<'a> Fields<'a> {
    fn next_line(&mut self) -> Option<(usize, &'a str)> {
        for (i, line) in self.lines.by_ref() {
            self.at = i + 1;
            if !line.trim().is_empty() && !line.starts_with('#') {
                return Some((i + 1, line));
            }
        }
        None
    }

    /// The value of the field line `name value`, and its line number.
    fn field(&mut self, name: &str) -> Result<(usize, &'a str), Fault> {
        let Some((n, line)) = self.next_line() else {
            return Err(malformed(
                self.at + 1,
                format!("the file ends before its `{name}` line"),
            ));
        };
        let (found, value) = line.split_once(' ').unwrap_or((line, ""));
        if found != name {
            let instead = match FIELDS.iter().find(|f| **f == found) {
                Some(f) => format!("found the `{f}` line in its place"),
                None => "found a line that is no field of a chain state".to_owned(),
            };
            return Err(malformed(
                n,
                format!("the `{name}` line is missing: {instead}"),
            ));
        }
        if name != "check" {
            self.hasher.update(line.as_bytes());
            self.hasher.update(b"\n");
        }
        Ok((n, value))
    }
}

/// Parses a chain state file's bytes.
pub(super) fn parse(raw: &[u8]) -> Result<SavedPoint, Fault> {
    let text = std::str::from_utf8(raw).map_err(|e| {
        let line = 1 + raw[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        malformed(line, "not text (not UTF-8)")
    })?;
    let mut fields = Fields {
        lines: text.lines().enumerate(),
        at: 0,
        hasher: Sha256::new(),
    };

    let Some((n, version)) = fields.next_line() else {
        return Err(malformed(1, "the file is empty: it holds no chain state"));
    };
    if version != VERSION {
        let reason = match version.strip_prefix("ENCLOG-CHAIN-") {
            Some(v) if !v.is_empty() && v.len() <= 4 && v.bytes().all(|b| b.is_ascii_digit()) => {
                format!(
                    "unknown version `ENCLOG-CHAIN-{v}` (this enclog reads {VERSION}): \
                     a newer enclog wrote it; run that one"
                )
            }
            _ => format!("this is not a chain state: its first line must be `{VERSION}`"),
        };
        return Err(malformed(n, reason));
    }
    fields.hasher.update(version.as_bytes());
    fields.hasher.update(b"\n");

    let (n, value) = fields.field("lineage")?;
    let mut lineage = [0u8; 16];
    if !decode_hex(value, &mut lineage) {
        return Err(malformed(n, "the lineage must be 32 hex digits"));
    }

    let (n, value) = fields.field("index")?;
    let index = parse_decimal(value)
        .ok_or_else(|| malformed(n, "the index must be a decimal number below 2^64"))?;

    let (n, value) = fields.field("session")?;
    let (vm, key_id, session) = parse_session(value).map_err(|reason| malformed(n, reason))?;

    let (n, value) = fields.field("end")?;
    let end = match value.split(' ').collect::<Vec<_>>()[..] {
        ["open"] => None,
        ["closed", count, tag] => {
            let count = parse_decimal(count).ok_or_else(|| {
                malformed(n, "the count of a closed session must be a decimal number")
            })?;
            let mut end_tag = [0u8; 16];
            if !decode_hex(tag, &mut end_tag) {
                return Err(malformed(n, "the end tag must be 32 hex digits"));
            }
            Some((count, end_tag))
        }
        _ => {
            return Err(malformed(
                n,
                "expected `end open` or `end closed <count> <end tag>`",
            ));
        }
    };

    // Never quote this line: it is the secret.
    let (n, value) = fields.field("next-chain-key")?;
    let mut next_chain_key = Zeroizing::new([0u8; 32]);
    if !decode_hex(value, &mut next_chain_key[..]) {
        return Err(malformed(n, "the next chain key must be 64 hex digits"));
    }

    let digest = fields.hasher.clone().finalize();
    let (n, value) = fields.field("check")?;
    let mut check = [0u8; 8];
    if !decode_hex(value, &mut check) {
        return Err(malformed(n, "the check must be 16 hex digits"));
    }
    if let Some((n, _)) = fields.next_line() {
        return Err(malformed(n, "unexpected line after the `check` line"));
    }
    if check[..] != digest[..8] {
        return Err(Fault::Checksum);
    }

    Ok(SavedPoint {
        vm,
        key_id,
        session,
        lineage,
        index,
        end,
        next_chain_key,
    })
}

/// `<vm> <key id> <session>`.
fn parse_session(value: &str) -> Result<(u8, KeyId, Vec<u8>), String> {
    const SHAPE: &str =
        "expected `session <vm> <key id> <session id>` (2, 8 and 32 or 64 hex digits)";
    let [vm, key_id, session] = value.split(' ').collect::<Vec<_>>()[..] else {
        return Err(SHAPE.into());
    };
    let mut vm_byte = [0u8; 1];
    let mut id = [0u8; 4];
    if !decode_hex(vm, &mut vm_byte) || !decode_hex(key_id, &mut id) {
        return Err(SHAPE.into());
    }
    let vm = vm_byte[0];
    if session.len() % 2 != 0 {
        return Err(SHAPE.into());
    }
    session_len_matches(vm, session.len() / 2)?;
    let mut bytes = vec![0u8; session.len() / 2];
    if !decode_hex(session, &mut bytes) {
        return Err(SHAPE.into());
    }
    Ok((vm, KeyId(id), bytes))
}

/// A session field is 16 bytes in the symmetric mode and 32 in the recipient mode (FORMAT.md
/// §3).
pub(super) fn session_len_matches(vm: u8, len: usize) -> Result<(), String> {
    let (expected, mode) = match vm {
        0x21 => (16, "symmetric"),
        0x22 => (32, "recipient"),
        _ => {
            return Err(format!(
                "vm {vm:02x} is not a mode of FORMAT.md §3 (21 symmetric, 22 recipient)"
            ));
        }
    };
    if len != expected {
        return Err(format!(
            "the session of vm {vm:02x} ({mode} mode) is {expected} bytes ({} hex digits), \
             not {len}",
            2 * expected
        ));
    }
    Ok(())
}

/// Fills `out` from exactly `2 * out.len()` hex digits.
fn decode_hex(text: &str, out: &mut [u8]) -> bool {
    let text = text.as_bytes();
    if text.len() != 2 * out.len() {
        return false;
    }
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        match (digit(pair[0]), digit(pair[1])) {
            (Some(hi), Some(lo)) => *byte = ((hi << 4) | lo) as u8,
            _ => return false,
        }
    }
    true
}

/// Digits only (no sign, no spaces), below 2^64.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::chain_state::tests::{key_hex, line_of, point, valid_text, with_line};

    /// The error `load` gives for `text`.
    fn refused(text: &str) -> ChainStateError {
        parse(text.as_bytes())
            .unwrap_err()
            .in_file(PathBuf::from("/state/app.chain"))
    }

    /// Asserts that `err` is `Malformed` at line `n` with `words` in its message.
    fn assert_malformed(err: &ChainStateError, n: usize, words: &str) {
        assert!(
            matches!(err, ChainStateError::Malformed { line, .. } if *line == n),
            "line {n}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(words), "{message}");
        assert!(message.contains("/state/app.chain, line"), "{message}");
    }

    #[test]
    fn the_file_has_the_documented_layout() {
        let text = valid_text();
        let fields: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        let key = key_hex();
        assert_eq!(
            fields[..6],
            [
                "ENCLOG-CHAIN-1",
                "lineage 11111111111111111111111111111111",
                "index 7",
                "session 22 deadbeef 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "end closed 42 77777777777777777777777777777777",
                &format!("next-chain-key {key}"),
            ]
        );
        let body: String = fields[..6].iter().map(|l| format!("{l}\n")).collect();
        let check = Sha256::digest(body.as_bytes());
        assert_eq!(fields[6], format!("check {:?}", Hex(&check[..8])));
        assert_eq!(fields.len(), 7);
        assert!(text.starts_with("# enclog chain state"));
        assert!(render(&point(0, None)).contains("\nend open\n"));
    }

    #[test]
    fn an_unknown_version_is_named_with_its_line() {
        let text = valid_text().replace("ENCLOG-CHAIN-1", "ENCLOG-CHAIN-2");
        let n = line_of(&text, "ENCLOG-CHAIN-2");
        assert_malformed(&refused(&text), n, "unknown version `ENCLOG-CHAIN-2`");
        assert_malformed(
            &refused("# a comment\nsomething else\n"),
            2,
            "not a chain state",
        );
    }

    #[test]
    fn an_empty_file_is_malformed_not_a_new_lineage() {
        assert_malformed(&refused(""), 1, "empty");
        assert_malformed(&refused("# only a comment\n\n"), 1, "empty");
    }

    #[test]
    fn a_missing_field_is_named_with_the_line_found_in_its_place() {
        let text: String = valid_text()
            .lines()
            .filter(|l| !l.starts_with("index "))
            .map(|l| format!("{l}\n"))
            .collect();
        let n = line_of(&text, "session ");
        let err = refused(&text);
        assert_malformed(&err, n, "`index` line is missing");
        assert!(
            err.to_string().contains("found the `session` line"),
            "{err}"
        );

        let text = with_line("index ", "idx 7");
        let n = line_of(&text, "idx ");
        assert_malformed(&refused(&text), n, "line that is no field");

        // Cut after the session line: the line after the last one is named.
        let text = valid_text();
        let n = line_of(&text, "session ");
        let cut: String = text.lines().take(n).map(|l| format!("{l}\n")).collect();
        assert_malformed(&refused(&cut), n + 1, "ends before its `end` line");
    }

    #[test]
    fn a_malformed_field_is_named_with_its_line() {
        let cases = [
            ("lineage ", "lineage 1111", "lineage must be 32 hex digits"),
            ("index ", "index -1", "index must be a decimal"),
            ("index ", "index +7", "index must be a decimal"),
            ("index ", "index 18446744073709551616", "below 2^64"),
            ("session ", "session 22 deadbeef", "expected `session <vm>"),
            (
                "session ",
                "session 22 deadbeex 00",
                "expected `session <vm>",
            ),
            ("end ", "end closed 3", "expected `end open`"),
            ("end ", "end shut", "expected `end open`"),
            (
                "end ",
                "end closed x 77777777777777777777777777777777",
                "count",
            ),
            ("end ", "end closed 3 7777", "end tag must be 32 hex digits"),
            ("next-chain-key ", "next-chain-key 00", "64 hex digits"),
        ];
        for (prefix, line, words) in cases {
            let text = with_line(prefix, line);
            assert_malformed(&refused(&text), line_of(&text, prefix), words);
        }
        let text = valid_text();
        let n = line_of(&text, "check ");
        let text = text.replace("\ncheck ", "\ncheck zz");
        assert_malformed(&refused(&text), n, "16 hex digits");
        let text = valid_text().replacen("\nlineage ", "\nlineage\u{e9} ", 1);
        assert!(matches!(refused(&text), ChainStateError::Malformed { .. }));
    }

    #[test]
    fn text_that_is_not_utf8_is_named_with_its_line() {
        let text = valid_text();
        let n = line_of(&text, "index ");
        let mut bytes = text.into_bytes();
        let at = bytes.windows(6).position(|w| w == b"index ").unwrap();
        bytes[at + 6] = 0xff;
        let err = parse(&bytes)
            .unwrap_err()
            .in_file(PathBuf::from("/state/app.chain"));
        assert_malformed(&err, n, "not UTF-8");
    }

    #[test]
    fn a_session_whose_length_does_not_match_its_vm_is_refused() {
        for (line, words) in [
            (
                format!("session 22 deadbeef {}", "ab".repeat(16)),
                "32 bytes (64 hex digits), not 16",
            ),
            (
                format!("session 21 deadbeef {}", "ab".repeat(32)),
                "16 bytes (32 hex digits), not 32",
            ),
            (
                format!("session 23 deadbeef {}", "ab".repeat(16)),
                "not a mode",
            ),
        ] {
            let text = with_line("session ", &line);
            assert_malformed(&refused(&text), line_of(&text, "session "), words);
        }
        let symmetric = with_line(
            "session ",
            &format!("session 21 deadbeef {}", "ab".repeat(16)),
        );
        assert_eq!(parse(symmetric.as_bytes()).unwrap().session, [0xab; 16]);
    }

    #[test]
    fn an_edited_field_fails_the_check() {
        for (from, to) in [
            ("index 7", "index 8"),
            ("end closed 42", "end closed 43"),
            ("lineage 1111", "lineage 2111"),
            ("session 22 deadbeef 00", "session 22 DEADBEEF 00"),
        ] {
            let err = refused(&valid_text().replacen(from, to, 1));
            assert!(matches!(err, ChainStateError::Checksum { .. }), "{err:?}");
            let message = err.to_string();
            assert!(message.contains("edited or damaged"), "{message}");
            assert!(
                message.contains("delete it to start a new chain"),
                "{message}"
            );
        }
        // Comments are not covered: editing them is harmless.
        let text = valid_text().replace("# Secret", "# secret");
        assert!(parse(text.as_bytes()).is_ok());
    }

    #[test]
    fn text_after_the_check_is_refused() {
        let text = format!("{}index 9\n", valid_text());
        let n = text.lines().count();
        assert_malformed(&refused(&text), n, "after the `check` line");
    }
}
