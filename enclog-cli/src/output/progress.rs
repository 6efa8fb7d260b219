//! The progress indicator of `decrypt` on a large file.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

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
