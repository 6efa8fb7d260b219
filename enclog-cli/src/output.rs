//! Printing: decrypted lines (text with coloured levels, or JSON), messages on stderr, broken
//! pipes, the progress indicator.

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, ValueEnum};
use enclog::read::{MetaStatus, Opened};
use serde_json::{Map, Value};

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
    /// When to colour level words in decrypted output (NO_COLOR is honoured by `auto`).
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
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = When::Auto)]
    escape: When,
}

/// How logged text is printed: level words coloured or not, control characters escaped or not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TextStyle {
    pub(crate) color: bool,
    pub(crate) escape: bool,
}

impl TextStyle {
    /// The style for standard output, from `--color` and `--escape`.
    pub(crate) fn for_stdout(options: &TextOptions) -> TextStyle {
        TextStyle {
            color: options.color.color.color_stdout(),
            escape: options.escape.escape_stdout(),
        }
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
            write_escaped(out, text, line_end)
        } else {
            out.write_all(text)
        }
    }

    /// Writes an event like [`TextStyle::write_text`], its level word coloured if asked.
    fn write_event(self, out: &mut impl Write, text: &[u8], line_end: bool) -> io::Result<()> {
        let level = if self.color { find_level(text) } else { None };
        match level {
            Some((at, len, color)) => {
                self.write_text(out, &text[..at], false)?;
                out.write_all(color)?;
                out.write_all(&text[at..at + len])?;
                out.write_all(b"\x1b[0m")?;
                self.write_text(out, &text[at + len..], line_end)
            }
            None => self.write_text(out, text, line_end),
        }
    }
}

/// Whether `c` is shown escaped: the characters a terminal acts on instead of showing them —
/// the C0 controls but tab and newline (escape sequences start with ESC; CR and backspace
/// overwrite what was shown), DEL, the C1 controls (U+0080–U+009F: U+009B is a CSI on
/// terminals that take 8-bit controls) — and the bidirectional-text controls, which reorder
/// how the rest of a line is shown (the "Trojan Source" characters).
fn shown_escaped(c: char) -> bool {
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
fn write_escaped(out: &mut impl Write, text: &[u8], line_end: bool) -> io::Result<()> {
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

/// How a reading command prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    // Text, as the application logged it.
    Text,
    // One JSON object per line.
    Json,
}

/// Whether an error (anywhere in its chain) is a write to a closed pipe: the reader went away
/// (`enclog decrypt big.log | head`), which is how such pipelines end, not a failure.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints `enclog: MESSAGE` on stderr (a closed stderr is ignored: there is nowhere left to
/// report to).
pub(crate) fn note(message: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "enclog: {message}");
}

/// Writes an opened line as text: the text around the token kept, the token replaced by its
/// plaintext. No allocation: this is the hot path of `decrypt`.
pub(crate) fn write_opened(
    out: &mut impl Write,
    opened: &Opened<'_>,
    style: TextStyle,
) -> io::Result<()> {
    style.write_text(out, opened.before, false)?;
    style.write_event(out, opened.plaintext, opened.after.is_empty())?;
    style.write_text(out, opened.after, true)?;
    out.write_all(b"\n")
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

/// Puts `bytes` in `map` as a string under `name` when it is UTF-8, else as base64 under
/// `name_base64`.
fn put_bytes(map: &mut Map<String, Value>, name: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => map.insert(name.to_owned(), Value::from(text)),
        Err(_) => map.insert(
            format!("{name}_base64"),
            Value::from(STANDARD.encode(bytes)),
        ),
    };
}

/// What one input line was, for `--output json`.
pub(crate) enum JsonLine<'a> {
    Plain(&'a [u8]),
    Opened(&'a Opened<'a>),
    Failed(&'a str),
}

/// Writes one JSON object (and a newline) describing an input line.
pub(crate) fn write_json(
    out: &mut impl Write,
    file: &str,
    line: u64,
    what: JsonLine<'_>,
) -> io::Result<()> {
    let mut map = Map::new();
    map.insert("file".into(), file.into());
    map.insert("line".into(), line.into());
    match what {
        JsonLine::Plain(raw) => {
            map.insert("type".into(), "plain".into());
            put_bytes(&mut map, "text", raw);
        }
        JsonLine::Failed(error) => {
            map.insert("type".into(), "failed".into());
            map.insert("error".into(), error.into());
        }
        JsonLine::Opened(o) => {
            map.insert("type".into(), "opened".into());
            map.insert("key_id".into(), o.key_id.to_string().into());
            map.insert("mode".into(), o.mode.to_string().into());
            map.insert("record".into(), o.record.to_string().into());
            if let Some(seq) = o.sequence {
                map.insert("session".into(), seq.session.to_string().into());
                map.insert("seq".into(), seq.seq.into());
            } else {
                map.insert("session".into(), Value::Null);
                map.insert("seq".into(), Value::Null);
            }
            if let Some(ts) = o.timestamp {
                map.insert("timestamp".into(), ts.into());
            }
            match o.meta {
                Some(meta) => put_bytes(&mut map, "meta", meta),
                None => {
                    map.insert("meta".into(), Value::Null);
                }
            }
            let status = match o.meta_status {
                MetaStatus::None => "none",
                MetaStatus::Matches => "matches",
                MetaStatus::Differs => "differs",
                _ => "unknown",
            };
            map.insert("meta_status".into(), status.into());
            put_bytes(&mut map, "before", o.before);
            put_bytes(&mut map, "after", o.after);
            put_bytes(&mut map, "plaintext", o.plaintext);
        }
    }
    write_json_value(out, &Value::Object(map))
}

/// Writes `value` and a newline. serde_json escapes the C0 controls only; DEL, the C1 controls
/// and the bidirectional-text controls (see [`shown_escaped`]) are written as `\uXXXX` too, so
/// that JSON read on a terminal (`| jq .` keeps them as they are) is as safe as text output.
/// They can only be inside strings, where `\uXXXX` means the same character.
pub(crate) fn write_json_value(out: &mut impl Write, value: &Value) -> io::Result<()> {
    let json = serde_json::to_string(value)?;
    let mut shown = 0;
    for (at, c) in json.char_indices().filter(|&(_, c)| shown_escaped(c)) {
        out.write_all(&json.as_bytes()[shown..at])?;
        write!(out, "\\u{:04x}", u32::from(c))?;
        shown = at + c.len_utf8();
    }
    out.write_all(&json.as_bytes()[shown..])?;
    out.write_all(b"\n")
}

/// Files smaller than this get no progress indicator: they are done before it would show.
const PROGRESS_MIN_BYTES: u64 = 32 * 1024 * 1024;
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// A percentage on stderr while a large regular file is decrypted into a pipe or file (stderr
/// a terminal, stdout not: otherwise it would mix with the output).
#[derive(Debug)]
pub(crate) struct Progress {
    name: String,
    total: u64,
    last: Instant,
    shown: bool,
}

impl Progress {
    /// A progress indicator for a file of `total` bytes, if one is wanted.
    pub(crate) fn new(name: &str, total: u64) -> Option<Progress> {
        (total >= PROGRESS_MIN_BYTES && io::stderr().is_terminal() && !io::stdout().is_terminal())
            .then(|| Progress {
                name: name.to_owned(),
                total,
                last: Instant::now(),
                shown: false,
            })
    }

    /// Redraws (at most ten times a second) with `done` bytes read.
    pub(crate) fn update(&mut self, done: u64) {
        if self.last.elapsed() < PROGRESS_EVERY {
            return;
        }
        self.last = Instant::now();
        let percent = done.saturating_mul(100) / self.total.max(1);
        let _ = write!(
            io::stderr().lock(),
            "\r\x1b[Kenclog: decrypting {} … {percent:>3}%",
            self.name
        );
        self.shown = true;
    }

    /// Erases the indicator (before a message, and at the end).
    pub(crate) fn clear(&mut self) {
        if self.shown {
            let _ = write!(io::stderr().lock(), "\r\x1b[K");
            self.shown = false;
        }
    }
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

    const COLOR: TextStyle = TextStyle {
        color: true,
        escape: false,
    };
    const ESCAPE: TextStyle = TextStyle {
        color: false,
        escape: true,
    };

    #[test]
    fn colored_text_keeps_every_byte() {
        assert_eq!(
            event(COLOR, b"t ERROR boom"),
            b"t \x1b[1;31mERROR\x1b[0m boom"
        );
    }

    /// Threat: a logged value (a user name, a header) that drives the terminal of whoever reads
    /// the log: rewrites the title, moves the cursor to overwrite earlier lines, hides text.
    #[test]
    fn control_characters_are_escaped_and_everything_else_kept() {
        let logged =
            "user=\x1b]0;pwned\x07 \x1b[2Kgone\rback\x08 del\x7f c1\u{9b}31m tab\tnl\nüñí €";
        assert_eq!(
            String::from_utf8(event(ESCAPE, logged.as_bytes())).unwrap(),
            "user=\\x1b]0;pwned\\x07 \\x1b[2Kgone\\x0dback\\x08 del\\x7f c1\\u{9b}31m tab\tnl\nüñí €"
        );
        // Bytes that are not UTF-8 (a lone 8-bit CSI among them) are shown as bytes.
        assert_eq!(event(ESCAPE, b"a\x9b31mb\xff\xc3"), b"a\\x9b31mb\\xff\\xc3");
        assert_eq!(event(ESCAPE, b"plain text"), b"plain text");
        assert_eq!(event(TextStyle::default(), b"as\x1bis"), b"as\x1bis");
    }

    /// Threat: text that reorders how its line is shown ("Trojan Source"), and, in JSON, the
    /// controls serde_json leaves as they are (DEL, C1: `jq` prints them raw).
    #[test]
    fn bidi_controls_are_escaped_and_json_escapes_what_serde_json_leaves() {
        let logged = "user=\u{202e}nimda\u{2066} ok \u{200d}";
        assert_eq!(
            String::from_utf8(event(ESCAPE, logged.as_bytes())).unwrap(),
            "user=\\u{202e}nimda\\u{2066} ok \u{200d}" // a zero-width joiner is kept
        );
        let mut json = Vec::new();
        let value = Value::from("a\x1b\u{9b}2J\u{9d}0;t\x07 \x7f \u{202e}x é");
        write_json_value(&mut json, &value).unwrap();
        let json = String::from_utf8(json).unwrap();
        assert_eq!(
            json,
            "\"a\\u001b\\u009b2J\\u009d0;t\\u0007 \\u007f \\u202ex é\"\n"
        );
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), value);
    }

    /// A carriage return that ends a line only returns to a line that is over: CRLF logs show
    /// as before. One that does not is escaped (it would let the rest overwrite the line).
    #[test]
    fn a_carriage_return_is_kept_where_it_ends_a_line() {
        let line = |text: &[u8], line_end| {
            let mut out = Vec::new();
            ESCAPE.write_text(&mut out, text, line_end).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(line(b"one\r\ntwo\r", true), "one\r\ntwo\r");
        assert_eq!(line(b"one\r\ntwo\r", false), "one\r\ntwo\\x0d");
        assert_eq!(line(b"secret\rcover", true), "secret\\x0dcover");
        assert_eq!(line(b"\xff\r\r\n", true), "\\xff\\x0d\r\n");
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
