//! Printing: decrypted lines (text with coloured levels, or JSON), messages on stderr, broken
//! pipes, the progress indicator.

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::ValueEnum;
use enclog::{MetaStatus, Opened};
use serde_json::{Map, Value};

/// Stdout's buffer: large, so that decrypting writes in big blocks.
pub(crate) const STDOUT_BUFFER: usize = 256 * 1024;

/// When to colour level words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    // When standard output is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour what goes to standard output.
    pub(crate) fn for_stdout(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && io::stdout().is_terminal()
            }
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
    color: bool,
) -> io::Result<()> {
    out.write_all(opened.before)?;
    if color {
        write_colored(out, opened.plaintext)?;
    } else {
        out.write_all(opened.plaintext)?;
    }
    out.write_all(opened.after)?;
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

fn write_colored(out: &mut impl Write, text: &[u8]) -> io::Result<()> {
    if let Some((at, len, color)) = find_level(text) {
        out.write_all(&text[..at])?;
        out.write_all(color)?;
        out.write_all(&text[at..at + len])?;
        out.write_all(b"\x1b[0m")?;
        out.write_all(&text[at + len..])
    } else {
        out.write_all(text)
    }
}

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
            };
            map.insert("meta_status".into(), status.into());
            put_bytes(&mut map, "before", o.before);
            put_bytes(&mut map, "after", o.after);
            put_bytes(&mut map, "plaintext", o.plaintext);
        }
    }
    serde_json::to_writer(&mut *out, &Value::Object(map))?;
    out.write_all(b"\n")
}

/// Writes `value` and a newline.
pub(crate) fn write_json_value(out: &mut impl Write, value: &Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
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

    #[test]
    fn colored_text_keeps_every_byte() {
        let mut out = Vec::new();
        write_colored(&mut out, b"t ERROR boom").unwrap();
        assert_eq!(out, b"t \x1b[1;31mERROR\x1b[0m boom");
    }
}
