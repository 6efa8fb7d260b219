//! Messages about the run itself, on stderr, and the rules they share: how a failed write to
//! standard output is reported, when a closed pipe is not worth reporting, and how lines under
//! a missing key are reported once instead of once per line.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::path::Path;

use crate::output::shown_escaped;

/// Prints `enclog: MESSAGE` on stderr (a closed stderr is ignored: there is nowhere left to
/// report to). Every character a terminal would act on, newlines included, is shown escaped
/// (see [`escape_message`]): a message is always one harmless line, whatever names it holds.
pub(crate) fn note(message: fmt::Arguments<'_>) {
    let text = message.to_string();
    let _ = writeln!(io::stderr().lock(), "enclog: {}", escape_message(&text));
}

/// A file name as the CLI prints it, in messages, findings and their file labels: every
/// character a terminal would act on (ESC, CR, BEL, DEL, C1, bidirectional-text controls) and
/// also tab and newline shown as escapes (`\x1b`, `\x0a`, `\u{202e}`), and bytes that are not
/// UTF-8 as `\xNN`.
///
/// Threat: a file named `x\x1b]0;…\x07` or `a\nFILE:1: ok` driving the reader's terminal or
/// forging a line of output when a message names it.
pub(crate) fn file_name(path: &Path) -> String {
    #[cfg(unix)]
    let bytes: Cow<'_, [u8]> =
        Cow::Borrowed(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()));
    #[cfg(not(unix))]
    let bytes: Cow<'_, [u8]> = Cow::Owned(path.to_string_lossy().into_owned().into_bytes());
    let mut shown = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        shown.push_str(&escape_message(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(shown, "\\x{b:02x}");
        }
    }
    shown
}

/// `text` with every character a terminal would act on, tab and newline included, escaped:
/// the rule of `--escape` (`output::escape`), made stricter because a message is one line.
fn escape_message(text: &str) -> Cow<'_, str> {
    let escaped = |c: char| shown_escaped(c) || c == '\t' || c == '\n';
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match u8::try_from(c) {
            _ if !escaped(c) => shown.push(c),
            Ok(b) if b < 0x80 => {
                let _ = write!(shown, "\\x{b:02x}");
            }
            _ => {
                let _ = write!(shown, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(shown)
}

/// A failed write to standard output, as every command reports it (exit status 2), unless it
/// is a closed pipe (see [`is_broken_pipe`]).
pub(crate) fn stdout_failed(error: io::Error) -> anyhow::Error {
    anyhow::Error::new(error).context("cannot write to standard output")
}

/// [`stdout_failed`] naming what was being written (`"the key"`): a secret that did not get out
/// whole must not be mistaken for one that did.
pub(crate) fn stdout_failed_writing(what: &str) -> impl FnOnce(io::Error) -> anyhow::Error + '_ {
    move |error| {
        anyhow::Error::new(error).context(format!("cannot write {what} to standard output"))
    }
}

/// Whether an error (anywhere in its chain) is a write to a closed pipe: the reader went away
/// (`enclog decrypt big.log | head`), which is how such pipelines end, not a failure.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Lines under keys that were not given, counted by key (`K`: whatever names the key where
/// they are counted). They all say the same thing, and a log under a missing key would
/// otherwise print one identical message per line: only the first line under each key is
/// reported, the others are counted and summed up at the end.
#[derive(Debug)]
pub(crate) struct MissingKeys<K> {
    /// The keys in the order their first line came, with their line counts.
    lines: Vec<(K, u64)>,
}

impl<K: PartialEq> MissingKeys<K> {
    pub(crate) fn new() -> MissingKeys<K> {
        MissingKeys { lines: Vec::new() }
    }

    /// Counts a line under `key`; `true` for the first under it, the one to report. (A
    /// linear search: the keys missing from one run are few.)
    pub(crate) fn first(&mut self, key: K) -> bool {
        if let Some((_, lines)) = self.lines.iter_mut().find(|(k, _)| *k == key) {
            *lines += 1;
            return false;
        }
        self.lines.push((key, 1));
        true
    }

    /// The keys with lines that were not reported, and how many lines each had in all, in the
    /// order their first line came.
    pub(crate) fn unreported(&self) -> impl Iterator<Item = (&K, u64)> {
        self.lines
            .iter()
            .filter(|(_, lines)| *lines > 1)
            .map(|(key, lines)| (key, *lines))
    }
}

impl<K: PartialEq + Ord + std::fmt::Display> MissingKeys<K> {
    /// Notes on stderr, by key id (so the summary reads the same whatever order the files were
    /// given in), how many lines each key that was not given had in all.
    pub(crate) fn note_unreported(&self) {
        let mut unreported: Vec<_> = self.unreported().collect();
        unreported.sort();
        for (key_id, lines) in unreported {
            note(format_args!(
                "{lines} lines in all were sealed with key {key_id}, which was not given; only the first was listed"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_is_shown_with_what_a_terminal_acts_on_escaped() {
        let name = Path::new("a\x1b[31m\nb\tc\u{202e}d\u{9b}e ok.log");
        assert_eq!(
            file_name(name),
            "a\\x1b[31m\\x0ab\\x09c\\u{202e}d\\u{9b}e ok.log"
        );
        assert_eq!(file_name(Path::new("/var/log/app.log")), "/var/log/app.log");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let raw = std::ffi::OsStr::from_bytes(b"x\xffy");
            assert_eq!(file_name(Path::new(raw)), "x\\xffy");
        }
    }

    #[test]
    fn the_first_line_under_each_missing_key_is_reported_and_the_others_counted() {
        let mut missing = MissingKeys::new();
        let reported: Vec<bool> = ["b", "a", "b", "c", "b", "a"]
            .into_iter()
            .map(|key| missing.first(key))
            .collect();
        assert_eq!(reported, [true, true, false, true, false, false]);
        assert_eq!(
            missing.unreported().collect::<Vec<_>>(),
            [(&"b", 3), (&"a", 2)]
        );
    }
}
