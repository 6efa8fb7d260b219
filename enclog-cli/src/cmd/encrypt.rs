//! `enclog encrypt`: plaintext lines on stdin → one sealed line each, live.

use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::cmd::Status;
use crate::keys::{self, WriterKeys};

/// Encrypt lines read on standard input, one sealed line each, live.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  legacy-app 2>&1 | enclog encrypt --key-file app.key >> app.log
  legacy-app 2>&1 | enclog encrypt --key-file app.key -o app.log

Each input line becomes one sealed line as soon as it is read; a session close
record is written at the end of input. `enclog decrypt` gives the lines back
byte for byte (a trailing \\r is data and is kept). Reading a pipe, Ctrl-C is
ignored: encrypt stops when its input ends, so what the program logs while
shutting down is still sealed and the session is closed cleanly.

Exit status: 0 success; 2 usage, I/O or key error.")]
pub(crate) struct EncryptArgs {
    /// Append to FILE (created if missing) instead of writing to standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    keys: WriterKeys,
}

/// Runs `enclog encrypt`.
pub(crate) fn run(args: EncryptArgs) -> Result<Status> {
    let sealer = keys::load_sealer(&args.keys)?;
    // Fail closed: a broken random number generator is reported before any line is read.
    sealer.start()?;
    if !io::stdin().is_terminal() {
        // In `app | enclog encrypt`, Ctrl-C reaches both. The app's last words (logged while
        // it shuts down) must still be sealed, and the close record written: so this end of
        // the pipe ignores it and stops when its input ends.
        ctrlc::set_handler(|| {}).context("cannot install the Ctrl-C handler")?;
    }
    let (sink, name): (Box<dyn Write>, String) = match &args.output {
        Some(path) => (
            Box::new(
                open_log(path)
                    .with_context(|| format!("cannot open {} for appending", path.display()))?,
            ),
            path.display().to_string(),
        ),
        None => (Box::new(io::stdout().lock()), "standard output".to_owned()),
    };
    let mut out = BufWriter::with_capacity(64 * 1024, sink);
    let mut input = BufReader::with_capacity(64 * 1024, io::stdin().lock());
    let mut line = Vec::new();
    let mut sealed = Vec::new();
    let write_err = |e: io::Error| anyhow::Error::new(e).context(format!("cannot write to {name}"));
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .context("cannot read standard input")?;
        if n == 0 {
            break;
        }
        // Only the newline is the line's end; a `\r` before it is data and is kept.
        let plaintext = line.strip_suffix(b"\n").unwrap_or(&line);
        sealed.clear();
        sealer.seal_to(None, plaintext, &mut sealed)?;
        out.write_all(&sealed).map_err(write_err)?;
        // Live: every line read is written out before waiting for more input. Lines that
        // arrived together are written together (one system call, not one per line).
        if input.buffer().is_empty() {
            out.flush().map_err(write_err)?;
        }
    }
    sealed.clear();
    sealer.close_to(&mut sealed)?;
    out.write_all(&sealed).map_err(write_err)?;
    out.flush().map_err(write_err)?;
    Ok(Status::Clean)
}

/// Opens a log for appending, creating it readable by its owner and group only: the lines are
/// ciphertext, but their count and timing still tell something.
fn open_log(path: &std::path::Path) -> io::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o640);
    }
    options.open(path)
}
