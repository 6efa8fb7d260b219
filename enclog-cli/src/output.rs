//! Printing what was logged: text as the application wrote it (level words coloured, control
//! characters escaped) or JSON; and the progress indicator. Messages about the run itself are
//! in [`crate::messages`].

mod escape;
mod json;
mod progress;

use std::io::{self, IsTerminal, Write};

use clap::{Args, ValueEnum};
use enclog::read::Opened;

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

/// How a reading command prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    // Text, as the application logged it.
    Text,
    // One JSON object per line.
    Json,
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
