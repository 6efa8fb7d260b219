//! `enclog tailf`: the last lines decrypted, then follow the file like `tail -F`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use enclog::{OpenError, Opener, RecordKind};

use crate::cmd::Status;
use crate::follow::{Followed, PollFollower, tail_start};
use crate::keys::{self, LoadedKeys, ReaderKeys};
use crate::output::{self, ColorChoice};

/// Arguments of `enclog tailf`.
#[derive(Args, Debug)]
pub(crate) struct TailfArgs {
    /// The log file to follow.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    keys: ReaderKeys,
    /// Print the last N lines before following.
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 10)]
    lines: u64,
    /// Print the whole file before following.
    #[arg(long, conflicts_with = "lines")]
    from_start: bool,
    /// Poll the file instead of waiting for file system notifications (network file systems).
    #[arg(long)]
    poll: bool,
}

/// A keyring folder is looked at again at most this often, when a line names an unknown key.
const RESCAN_EVERY: Duration = Duration::from_secs(1);

/// Runs `enclog tailf`.
pub(crate) fn run(args: TailfArgs, color: ColorChoice) -> Result<Status> {
    let keys = keys::load_keyring(&args.keys)?;
    let color = color.for_stdout();
    let name = args.file.display().to_string();

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
            .context("cannot install the Ctrl-C handler")?;
    }

    let (offset, first_line) = match File::open(&args.file) {
        Ok(file) if file.metadata().is_ok_and(|m| m.is_dir()) => {
            anyhow::bail!("{name} is a directory; give the log file to follow")
        }
        Ok(_) if args.from_start => (0, 1),
        Ok(mut file) => {
            tail_start(&mut file, args.lines).with_context(|| format!("{name}: cannot read"))?
        }
        // tail -F waits for a file that does not exist yet; say so once.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            output::note(format_args!("{name} does not exist yet; waiting for it"));
            (0, 1)
        }
        Err(e) => return Err(e).with_context(|| format!("{name}: cannot open")),
    };
    // `--poll` is what this follower always does; the library's Follower will honour it.
    let _ = args.poll;
    let mut follower = PollFollower::new(
        &args.file,
        offset,
        first_line,
        enclog::DEFAULT_MAX_LINE,
        Arc::clone(&stop),
    )
    .with_context(|| format!("{name}: cannot open"))?;

    let mut printer = Printer {
        name,
        color,
        opener: Opener::new(keys.keyring.clone()),
        keys,
        last_rescan: None,
        out: BufWriter::with_capacity(64 * 1024, io::stdout().lock()),
    };
    loop {
        let event = follower
            .next_line()
            .with_context(|| format!("{}: cannot read", printer.name))?;
        match event {
            None => break,
            Some(Followed::Line { line_no, .. }) => printer.line(follower.line(), line_no)?,
            Some(Followed::TooLong { line_no, len }) => output::note(format_args!(
                "{}:{line_no}: line is {len} bytes, longer than the {}-byte limit; it was skipped",
                printer.name,
                enclog::DEFAULT_MAX_LINE
            )),
            Some(Followed::Reopened(why)) => output::note(format_args!(
                "{}: file {why}; following the new one from its start",
                printer.name
            )),
        }
    }
    printer
        .out
        .flush()
        .context("cannot write to standard output")?;
    Ok(Status::Clean)
}

struct Printer<W: Write> {
    name: String,
    color: bool,
    opener: Opener,
    keys: LoadedKeys,
    last_rescan: Option<Instant>,
    out: W,
}

impl<W: Write> Printer<W> {
    /// Decrypts and prints one line, flushed at once.
    fn line(&mut self, raw: &[u8], line_no: u64) -> Result<()> {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let opened = self.opener.open(raw);
        let retry =
            matches!(opened, Some(Err(OpenError::UnknownKey { .. }))) && !self.keys.dirs.is_empty();
        if !retry {
            return emit(&mut self.out, &self.name, self.color, opened, raw, line_no);
        }
        self.rescan();
        let opened = self.opener.open(raw);
        emit(&mut self.out, &self.name, self.color, opened, raw, line_no)
    }

    /// A line names a key we lack: look in the keyring folders again (a key added while
    /// following), at most once a second.
    fn rescan(&mut self) {
        if self.last_rescan.is_some_and(|t| t.elapsed() < RESCAN_EVERY) {
            return;
        }
        self.last_rescan = Some(Instant::now());
        match self.keys.rescan() {
            Ok(Some(ring)) => {
                let added = ring.len() - self.keys.keyring.len();
                output::note(format_args!(
                    "loaded {added} new key(s) from the keyring folder"
                ));
                self.keys.keyring = ring.clone();
                self.opener = Opener::new(ring);
            }
            Ok(None) => {}
            Err(e) => output::note(format_args!("{e:#}")),
        }
    }
}

fn emit(
    out: &mut impl Write,
    name: &str,
    color: bool,
    opened: Option<Result<enclog::Opened<'_>, OpenError>>,
    raw: &[u8],
    line_no: u64,
) -> Result<()> {
    let written = match opened {
        None => out.write_all(raw).and_then(|()| out.write_all(b"\n")),
        Some(Ok(opened)) if opened.record == RecordKind::Close => Ok(()),
        Some(Ok(opened)) => output::write_opened(out, &opened, color),
        Some(Err(e)) => {
            out.flush().context("cannot write to standard output")?;
            output::note(format_args!("{name}:{line_no}: {e}"));
            Ok(())
        }
    };
    written
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}
