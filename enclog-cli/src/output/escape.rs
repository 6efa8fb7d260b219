//! `--escape`: the characters a terminal would act on, shown as escapes instead, so that a
//! logged value cannot drive the terminal of whoever reads the log.

use std::io::{self, Write};

/// Whether `c` is shown escaped: the characters a terminal acts on instead of showing them —
/// the C0 controls but tab and newline (escape sequences start with ESC; CR and backspace
/// overwrite what was shown), DEL, the C1 controls (U+0080–U+009F: U+009B is a CSI on
/// terminals that take 8-bit controls) — and the bidirectional-text controls, which reorder
/// how the rest of a line is shown (the "Trojan Source" characters).
pub(crate) fn shown_escaped(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n') || is_bidi_control(c)
}

/// The explicit bidirectional formatting characters (Unicode's `Bidi_Control`).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Writes `text` with every character a terminal would act on, and every byte that is not
/// UTF-8, shown as an escape instead; but a carriage return that ends a line (before a newline
/// in `text`, or at its end when `line_end`) is kept: CRLF text shows as it did.
pub(super) fn write_escaped(out: &mut impl Write, text: &[u8], line_end: bool) -> io::Result<()> {
    let ends_line = |at: usize| text.get(at + 1).map_or(line_end, |&next| next == b'\n');
    let harmless = |(at, &b): (usize, &u8)| {
        (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n' || (b == b'\r' && ends_line(at))
    };
    if text.iter().enumerate().all(harmless) {
        return out.write_all(text); // printable ASCII: the usual case
    }
    let mut base = 0; // where the chunk starts in `text`
    for chunk in text.utf8_chunks() {
        let valid = chunk.valid();
        let escaped =
            |&(at, c): &(usize, char)| shown_escaped(c) && !(c == '\r' && ends_line(base + at));
        let mut shown = 0;
        for (at, c) in valid.char_indices().filter(escaped) {
            out.write_all(&valid.as_bytes()[shown..at])?;
            match u8::try_from(c) {
                Ok(b) if b < 0x80 => write!(out, "\\x{b:02x}")?,
                _ => write!(out, "\\u{{{:x}}}", u32::from(c))?,
            }
            shown = at + c.len_utf8();
        }
        out.write_all(&valid.as_bytes()[shown..])?;
        for b in chunk.invalid() {
            write!(out, "\\x{b:02x}")?;
        }
        base += valid.len() + chunk.invalid().len();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &[u8], line_end: bool) -> String {
        let mut out = Vec::new();
        write_escaped(&mut out, text, line_end).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Threat: a logged value (a user name, a header) that drives the terminal of whoever reads
    /// the log: rewrites the title, moves the cursor to overwrite earlier lines, hides text.
    #[test]
    fn control_characters_are_escaped_and_everything_else_kept() {
        let logged =
            "user=\x1b]0;pwned\x07 \x1b[2Kgone\rback\x08 del\x7f c1\u{9b}31m tab\tnl\nüñí €";
        assert_eq!(
            escaped(logged.as_bytes(), false),
            "user=\\x1b]0;pwned\\x07 \\x1b[2Kgone\\x0dback\\x08 del\\x7f c1\\u{9b}31m tab\tnl\nüñí €"
        );
        // Bytes that are not UTF-8 (a lone 8-bit CSI among them) are shown as bytes.
        assert_eq!(escaped(b"a\x9b31mb\xff\xc3", false), "a\\x9b31mb\\xff\\xc3");
        assert_eq!(escaped(b"plain text", false), "plain text");
    }

    /// Threat: text that reorders how its line is shown ("Trojan Source").
    #[test]
    fn bidi_controls_are_escaped() {
        let logged = "user=\u{202e}nimda\u{2066} ok \u{200d}";
        assert_eq!(
            escaped(logged.as_bytes(), false),
            "user=\\u{202e}nimda\\u{2066} ok \u{200d}" // a zero-width joiner is kept
        );
    }

    /// A carriage return that ends a line only returns to a line that is over: CRLF logs show
    /// as before. One that does not is escaped (it would let the rest overwrite the line).
    #[test]
    fn a_carriage_return_is_kept_where_it_ends_a_line() {
        assert_eq!(escaped(b"one\r\ntwo\r", true), "one\r\ntwo\r");
        assert_eq!(escaped(b"one\r\ntwo\r", false), "one\r\ntwo\\x0d");
        assert_eq!(escaped(b"secret\rcover", true), "secret\\x0dcover");
        assert_eq!(escaped(b"\xff\r\r\n", true), "\\xff\\x0d\r\n");
    }
}
