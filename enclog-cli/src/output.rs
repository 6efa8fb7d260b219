//! Printing what was logged: text as the application wrote it (level words coloured, text no
//! token authenticates dim, control characters escaped) or JSON; and the progress indicator.
//! Messages about the run itself are in [`crate::messages`].

mod escape;
mod json;
mod progress;

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};

use clap::{Args, ValueEnum};
use enclog::read::{MetaStatus, Opened};

pub(crate) use self::escape::shown_escaped;
pub(crate) use self::json::{JsonLine, write_json, write_json_value};
pub(crate) use self::progress::Progress;

/// Stdout's buffer: large, so that decrypting writes in big blocks.
pub(crate) const STDOUT_BUFFER: usize = 256 * 1024;

/// When to do something to standard output: colour level words (`--color`), escape control
/// characters (`--escape`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum When {
    // When standard output is a terminal (for colour: and NO_COLOR is not set).
    Auto,
    Always,
    Never,
}

impl When {
    /// Whether to colour what goes to standard output.
    pub(crate) fn color_stdout(self) -> bool {
        match self {
            When::Always => true,
            When::Never => false,
            When::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && io::stdout().is_terminal()
            }
        }
    }

    /// Whether to escape control characters in what goes to standard output.
    pub(crate) fn escape_stdout(self) -> bool {
        match self {
            When::Always => true,
            When::Never => false,
            When::Auto => io::stdout().is_terminal(),
        }
    }
}

/// `--color`, for the commands that print decrypted text (`decrypt`, `tailf`, `demo`).
#[derive(Args, Debug)]
pub(crate) struct ColorOption {
    /// When to colour decrypted output: level words in colour, text no token authenticates
    /// (plain lines, text around a token) dim (NO_COLOR is honoured by `auto`).
    #[arg(long, value_enum, default_value_t = When::Auto, value_name = "WHEN")]
    pub(crate) color: When,
}

/// Options of the commands that print logged text (`decrypt`, `tailf`).
#[derive(Args, Debug)]
pub(crate) struct TextOptions {
    #[command(flatten)]
    color: ColorOption,
    /// When to show control characters in the logged text escaped (`\x1b`, `\x0d`, `\u{9b}`,
    /// bidirectional-text controls as `\u{202e}`, bytes that are not UTF-8 as `\xff`), so that
    /// a logged value cannot drive the terminal (move the cursor, rewrite lines, set the title)
    /// or reorder a line: `auto` does it when standard output is a terminal; give `always` when
    /// a pipe ends at one (`| grep …`, `| less -R`). Tabs, newlines and a carriage return
    /// ending a line are kept.
    ///
    /// With escaping on, every further line of a multi-line event (an error chain, a
    /// backtrace) is indented by two spaces, so that it cannot pass for a line of its own.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = When::Auto)]
    escape: When,
    /// Print only authenticated text: the events sealed in tokens. Plain lines, the text
    /// around a token (a syslog header, a JSON wrapper) and clear metadata are left out; JSON
    /// output leaves out plain lines and the `before` and `after` fields.
    ///
    /// Without it, text that is not authenticated is printed too; with colour on it is shown
    /// dim, and clear metadata that differs from its encrypted copy is followed by
    /// `[clear metadata edited: authentic "…"]` (in pipes too). With `--escape never`, a
    /// logged escape sequence can undo the dimming.
    #[arg(long)]
    authenticated_only: bool,
}

/// How logged text is printed: level words coloured or not, control characters escaped or not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TextStyle {
    pub(crate) color: bool,
    pub(crate) escape: bool,
}

/// How a reading command prints what it read (`decrypt`, `tailf`): the [`TextStyle`], and
/// whether text that is not authenticated is printed at all (`--authenticated-only`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TextOutput {
    pub(crate) style: TextStyle,
    pub(crate) authenticated_only: bool,
}

impl TextOutput {
    /// The output for standard output, from `--color`, `--escape` and `--authenticated-only`.
    pub(crate) fn for_stdout(options: &TextOptions) -> TextOutput {
        TextOutput {
            style: TextStyle {
                color: options.color.color.color_stdout(),
                escape: options.escape.escape_stdout(),
            },
            authenticated_only: options.authenticated_only,
        }
    }

    /// Writes a line that holds no token (and a newline, when `terminated`): dim with colour
    /// on, nothing at all with `--authenticated-only`.
    pub(crate) fn write_plain(
        self,
        out: &mut impl Write,
        raw: &[u8],
        terminated: bool,
    ) -> io::Result<()> {
        if self.authenticated_only {
            return Ok(());
        }
        self.style.write_unauthenticated(out, raw, terminated)?;
        if terminated {
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Writes an opened line: see [`write_opened`]; with `--authenticated-only` the event
    /// alone ([`authenticated_event`]; a line that has none is the caller's to report, see
    /// [`left_out`]).
    pub(crate) fn write_opened(self, out: &mut impl Write, opened: &Opened<'_>) -> io::Result<()> {
        if self.authenticated_only {
            let Some(event) = authenticated_event(opened) else {
                return Ok(());
            };
            self.style.write_event(out, &event, true)?;
            return out.write_all(b"\n");
        }
        write_opened(out, opened, self.style)
    }

    /// Whether `--authenticated-only` leaves out this opened line (see
    /// [`authenticated_event`]), which the caller then reports.
    pub(crate) fn left_out(self, opened: &Opened<'_>) -> bool {
        self.authenticated_only && clear_fields_edited(opened)
    }
}

/// Whether `opened` is a field-sealed line (its fields in clear, chosen values sealed) whose
/// clear fields were edited after it was written: removed, renamed or changed (threat: a
/// shipper or an attacker rewriting `"level":"ERROR"` or an amount in clear).
pub(crate) fn clear_fields_edited(opened: &Opened<'_>) -> bool {
    opened.fields.is_some() && opened.meta_status == MetaStatus::Differs
}

/// What `decrypt` and `tailf` say on stderr when `--authenticated-only` leaves out a line whose
/// clear fields were edited.
pub(crate) const LEFT_OUT: &str = "the clear fields of this field-sealed line were edited after \
    it was written, so only its sealed values are authentic: the line is left out \
    (--authenticated-only; without it the line is shown marked [clear fields edited])";

/// What `--authenticated-only` prints of an opened line: its event; for a field-sealed JSON
/// line, the line restored without the members its writer did not write (added on the way,
/// by a shipper: not authenticated). `None` when nothing of it but its sealed values is
/// authentic: a field-sealed line whose clear fields were edited.
pub(crate) fn authenticated_event<'a>(opened: &'a Opened<'_>) -> Option<Cow<'a, [u8]>> {
    if clear_fields_edited(opened) {
        return None;
    }
    match &opened.fields {
        Some(fields) if !fields.unauthenticated.is_empty() => {
            let mut event = Vec::with_capacity(opened.plaintext.len());
            // Fails only for a restored line that is no JSON object, which the reader does
            // not give: left out then, never shown with the added members.
            enclog::fields::remove_members(opened.plaintext, &fields.unauthenticated, &mut event)
                .ok()?;
            Some(Cow::Owned(event))
        }
        _ => Some(Cow::Borrowed(opened.plaintext)),
    }
}

/// Dim (SGR 2), for text that is not authenticated; SGR 22 ends it (and nothing else).
const DIM: &[u8] = b"\x1b[2m";
const UNDIM: &[u8] = b"\x1b[22m";
/// Reverse video, for the marker of edited clear metadata.
const MARK: &[u8] = b"\x1b[7m";
const UNMARK: &[u8] = b"\x1b[27m";

/// What starts each further line of a multi-line event when escaping: an indent, so that a
/// logged `\n` followed by text shaped like a log line cannot pass for a line of its own.
const CONTINUATION: &[u8] = b"  ";

impl TextStyle {
    /// Writes text from the log that no token authenticates (a plain line, the text around a
    /// token) like [`TextStyle::write_text`], dim with colour on. Threat: a forged line, or a
    /// forged prefix before a real token (`… ERROR `), read as if enclog had vouched for it.
    fn write_unauthenticated(
        self,
        out: &mut impl Write,
        text: &[u8],
        line_end: bool,
    ) -> io::Result<()> {
        // Nothing to show (an empty line, the CR of a CRLF line): no escape sequence either.
        if !self.color || text.is_empty() || text == b"\r" {
            return self.write_text(out, text, line_end);
        }
        out.write_all(DIM)?;
        self.write_text(out, text, line_end)?;
        out.write_all(UNDIM)
    }

    /// Writes part of an event like [`TextStyle::write_text`]; when escaping, every newline
    /// in it is followed by [`CONTINUATION`], but for one that ends the printed line
    /// (`line_end` and nothing after it).
    fn write_event_text(self, out: &mut impl Write, text: &[u8], line_end: bool) -> io::Result<()> {
        if !self.escape {
            return out.write_all(text);
        }
        let mut rest = text;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            escape::write_escaped(out, &rest[..=nl], true)?;
            rest = &rest[nl + 1..];
            if !(line_end && rest.is_empty()) {
                out.write_all(CONTINUATION)?;
            }
        }
        escape::write_escaped(out, rest, line_end)
    }

    /// Writes text from the log as it is, or with its control characters escaped;
    /// `line_end`: a newline follows it (so a carriage return ending it is harmless: a CRLF
    /// line).
    pub(crate) fn write_text(
        self,
        out: &mut impl Write,
        text: &[u8],
        line_end: bool,
    ) -> io::Result<()> {
        if self.escape {
            escape::write_escaped(out, text, line_end)
        } else {
            out.write_all(text)
        }
    }

    /// Writes an event like [`TextStyle::write_text`], its level word coloured if asked.
    fn write_event(self, out: &mut impl Write, text: &[u8], line_end: bool) -> io::Result<()> {
        let level = if self.color { find_level(text) } else { None };
        match level {
            Some((at, len, color)) => {
                self.write_event_text(out, &text[..at], false)?;
                out.write_all(color)?;
                out.write_all(&text[at..at + len])?;
                out.write_all(b"\x1b[0m")?;
                self.write_event_text(out, &text[at + len..], line_end)
            }
            None => self.write_event_text(out, text, line_end),
        }
    }
}

/// How a reading command prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    // Text, as the application logged it.
    Text,
    // One JSON object per line.
    Json,
}

/// Writes an opened line as text: the text around the token kept (dim with colour on: no
/// token authenticates it), the token replaced by its plaintext. Clear metadata that differs
/// from its encrypted copy is followed by `[clear metadata edited: authentic "…"]`, where it
/// is printed, colour or not; a field-sealed line whose clear fields were edited (their
/// authentic values are not known, only their digest) is preceded by `[clear fields
/// edited]`. No allocation: this is the hot path of `decrypt`.
pub(crate) fn write_opened(
    out: &mut impl Write,
    opened: &Opened<'_>,
    style: TextStyle,
) -> io::Result<()> {
    if !style.color && !style.escape && opened.meta_status != MetaStatus::Differs {
        // The common case (output to a file or a pipe): the bytes as they are, no marker; a
        // piece that is empty (most lines are their token alone) is not written at all.
        for piece in [opened.before, opened.plaintext, opened.after] {
            if !piece.is_empty() {
                out.write_all(piece)?;
            }
        }
        return out.write_all(b"\n");
    }
    style.write_unauthenticated(out, opened.before, false)?;
    if clear_fields_edited(opened) {
        write_marker(out, b"[clear fields edited]", style)?;
    } else if opened.meta_status == MetaStatus::Differs {
        write_edited_marker(out, opened.meta.unwrap_or_default(), style)?;
    }
    style.write_event(out, opened.plaintext, opened.after.is_empty())?;
    style.write_unauthenticated(out, opened.after, true)?;
    out.write_all(b"\n")
}

/// The marker after clear metadata that was edited. Threat: a log router or an attacker
/// relabelling an ERROR line as DEBUG, for whoever reads the output rather than stderr. The
/// authentic value is always shown escaped: it is inside enclog's own words.
fn write_edited_marker(out: &mut impl Write, authentic: &[u8], style: TextStyle) -> io::Result<()> {
    if style.color {
        out.write_all(MARK)?;
    }
    out.write_all(b"[clear metadata edited: authentic \"")?;
    escape::write_escaped(out, authentic, false)?;
    out.write_all(b"\"]")?;
    if style.color {
        out.write_all(UNMARK)?;
    }
    out.write_all(b" ")
}

/// A marker in enclog's own words (`[clear fields edited]`), reverse video with colour on,
/// and a space.
fn write_marker(out: &mut impl Write, marker: &[u8], style: TextStyle) -> io::Result<()> {
    if style.color {
        out.write_all(MARK)?;
    }
    out.write_all(marker)?;
    if style.color {
        out.write_all(UNMARK)?;
    }
    out.write_all(b" ")
}

/// Level words are looked for only near the start of an event, where formatters put them, so
/// that a message mentioning "ERROR" is not painted.
const LEVEL_WINDOW: usize = 64;

const LEVELS: [(&[u8], &[u8]); 5] = [
    (b"ERROR", b"\x1b[1;31m"),
    (b"WARN", b"\x1b[33m"),
    (b"INFO", b"\x1b[32m"),
    (b"DEBUG", b"\x1b[34m"),
    (b"TRACE", b"\x1b[35m"),
];

/// The first level word standing alone (not inside another word) near the start of `text`.
fn find_level(text: &[u8]) -> Option<(usize, usize, &'static [u8])> {
    let window = &text[..text.len().min(LEVEL_WINDOW)];
    let boundary = |b: Option<&u8>| b.is_none_or(|b| !b.is_ascii_alphanumeric());
    for at in 0..window.len() {
        if at > 0 && !boundary(window.get(at - 1)) {
            continue;
        }
        for (word, color) in LEVELS {
            if window[at..].starts_with(word) && boundary(text.get(at + word.len())) {
                return Some((at, word.len(), color));
            }
        }
    }
    None
}

/// Writes `bytes` to standard output and flushes it: for the commands that print one block
/// (`completions`, `man`, `demo`, `genkey`, `recipient`).
pub(crate) fn print(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_words_are_found_only_standing_alone_near_the_start() {
        assert_eq!(
            find_level(b"2026-01-01T00:00:00Z  WARN app: x").map(|l| l.0),
            Some(22)
        );
        assert_eq!(find_level(b"INFORMATION only"), None);
        assert_eq!(find_level(b"xERROR"), None);
        let late = format!("{} ERROR", "x".repeat(80));
        assert_eq!(find_level(late.as_bytes()), None);
    }

    fn event(style: TextStyle, text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        style.write_event(&mut out, text, false).unwrap();
        out
    }

    #[test]
    fn colored_text_keeps_every_byte() {
        let color = TextStyle {
            color: true,
            escape: false,
        };
        assert_eq!(
            event(color, b"t ERROR boom"),
            b"t \x1b[1;31mERROR\x1b[0m boom"
        );
    }

    #[test]
    fn text_is_escaped_only_when_asked() {
        let escape = TextStyle {
            color: false,
            escape: true,
        };
        assert_eq!(event(escape, b"as\x1bis"), b"as\\x1bis");
        assert_eq!(event(TextStyle::default(), b"as\x1bis"), b"as\x1bis");
    }

    /// Threat: a logged newline followed by text shaped like a log line, read as a line of
    /// its own. Escaping indents every further line of an event, the level word's colour and
    /// the carriage return of a CRLF line kept; a newline ending the printed line is not
    /// followed by an indent, one followed by more text is.
    #[test]
    fn escaping_indents_the_continuation_lines_of_an_event() {
        let escape = TextStyle {
            color: false,
            escape: true,
        };
        assert_eq!(
            event(escape, b"boom\r\nDEC 6 INFO fake\n"),
            b"boom\r\n  DEC 6 INFO fake\n  "
        );
        let mut out = Vec::new();
        escape.write_event(&mut out, b"a\nb\n", true).unwrap();
        assert_eq!(out, b"a\n  b\n");
        let both = TextStyle {
            color: true,
            escape: true,
        };
        assert_eq!(
            event(both, b"x\nERROR y\nz\x1b"),
            b"x\n  \x1b[1;31mERROR\x1b[0m y\n  z\\x1b"
        );
        assert_eq!(event(TextStyle::default(), b"a\nb"), b"a\nb");
    }

    /// With colour on, text no token authenticates is dim, but an empty one or a lone CR
    /// gets no escape sequence; without colour it is as logged.
    #[test]
    fn unauthenticated_text_is_dim_only_with_colour() {
        let color = TextStyle {
            color: true,
            escape: false,
        };
        let dim = |style: TextStyle, text: &[u8]| {
            let mut out = Vec::new();
            style.write_unauthenticated(&mut out, text, true).unwrap();
            out
        };
        assert_eq!(dim(color, b"forged"), b"\x1b[2mforged\x1b[22m");
        assert_eq!(dim(color, b""), b"");
        assert_eq!(dim(color, b"\r"), b"\r");
        assert_eq!(dim(TextStyle::default(), b"forged"), b"forged");
    }

    #[test]
    fn a_coloured_level_keeps_its_colour_when_the_text_is_escaped() {
        let both = TextStyle {
            color: true,
            escape: true,
        };
        assert_eq!(
            event(both, b"\x1b[8m WARN x\x1b"),
            b"\\x1b[8m \x1b[33mWARN\x1b[0m x\\x1b"
        );
    }
}
