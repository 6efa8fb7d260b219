//! `enclog tailf`: the last lines decrypted, then follow the file like `tail -F`.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use enclog::Opener;
use enclog::follow::{FileId, FollowError, FollowEvent, FollowOptions, Followed, Follower};
use enclog::format::{RecordKind, SessionId};
use enclog::read::OpenError;

use crate::cmd::Status;
use crate::keys::{self, LoadedKeys, ReaderKeys};
use crate::messages;
use crate::output::{TextOptions, TextOutput};

/// Print the last lines of a log decrypted, then follow it (like `tail -F`).
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  enclog tailf --key-file app.key /var/log/app.log
  enclog tailf --keyring /etc/enclog/keys -n 100 /var/log/app.log

Survives rotation (rename and create, copy and truncate, delete and recreate).
After a rename, the old file is still read (by its open handle) beside the new one, so the
lines a writer adds to it before it reopens its file are shown too; the two files' lines may
interleave then. It is read until the sessions seen open in it are closed (the close record a
writer that reopens its file writes there) and it has been quiet for half a second, or until
it has been quiet for --grace.
With --keyring, a key added to the folder while following is picked up.
Ctrl-C stops (exit status 0).

Exit status: 0 stopped by Ctrl-C; 2 usage, I/O or key error.")]
pub(crate) struct TailfArgs {
    /// The log file to follow.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    keys: ReaderKeys,
    /// Print the last N lines of the file before following (a session's close record is a
    /// line too, though it prints nothing).
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 10)]
    lines: u64,
    /// Print the whole file before following.
    #[arg(long, conflicts_with = "lines")]
    from_start: bool,
    /// Poll the file instead of waiting for file system notifications (network file systems).
    #[arg(long)]
    poll: bool,
    /// After a rotation, read the old file until it has been quiet this long (e.g. 3s, 500ms,
    /// 1m); once the close record of its last open session is read, half a second of quiet
    /// (or this, if shorter) is enough.
    #[arg(long, value_name = "DURATION", value_parser = super::duration, default_value = "3s")]
    grace: Duration,
    #[command(flatten)]
    text: TextOptions,
}

/// A keyring folder is looked at again at most this often, when a line names an unknown key.
const RESCAN_EVERY: Duration = Duration::from_secs(1);

/// Runs `enclog tailf`.
pub(crate) fn run(args: TailfArgs) -> Result<Status> {
    let keys = keys::load_keyring(&args.keys)?;
    let text = TextOutput::for_stdout(&args.text);
    let name = messages::file_name(&args.file);

    let mut first_line = 1;
    match std::fs::metadata(&args.file) {
        Ok(meta) if meta.is_dir() => {
            anyhow::bail!("{name} is a directory; give the log file to follow")
        }
        Ok(_) if args.from_start => {}
        // Messages name lines by number: count the lines before the last N.
        Ok(_) => {
            let complete =
                count_lines(&args.file).with_context(|| format!("{name}: cannot read"))?;
            first_line = complete.saturating_sub(args.lines) + 1;
        }
        // Like tail -F: wait for a file that does not exist yet; say so once.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            messages::note(format_args!("{name} does not exist yet; waiting for it"));
        }
        Err(e) => return Err(e).with_context(|| format!("{name}: cannot open")),
    }

    let options = FollowOptions::default()
        .from_start(args.from_start)
        .last_lines(usize::try_from(args.lines).unwrap_or(usize::MAX))
        .poll(args.poll)
        .grace(args.grace);
    let mut follower = Follower::new(&args.file, options)?;
    let stopper = follower.stopper();
    ctrlc::set_handler(move || stopper.stop()).context("cannot install the Ctrl-C handler")?;

    let mut printer = Printer {
        name,
        text,
        opener: Opener::new(keys.keyring.clone()),
        keys,
        last_rescan: None,
        out: BufWriter::with_capacity(64 * 1024, io::stdout().lock()),
    };
    let mut files = Files::default();
    if let Some(file) = follower.current_file() {
        files.get(file).next_line = first_line;
    }
    loop {
        match follower.next_item(None) {
            Ok(None) => break,
            Ok(Some(Followed::Line(line))) => {
                let current = follower.current_file() == Some(line.file);
                let state = files.get(line.file);
                let record = printer.line(&line.bytes, state.next_line, current)?;
                state.next_line += 1;
                if state.ends_with(record) {
                    follower.finish(line.file);
                }
            }
            Ok(Some(Followed::Event(event))) => {
                if event == FollowEvent::Truncated
                    && let Some(file) = follower.current_file()
                {
                    files.get(file).next_line = 1;
                }
                messages::note(format_args!("{}: {event}", printer.name));
            }
            Ok(Some(other)) => messages::note(format_args!("{}: {other:?}", printer.name)),
            Err(e @ FollowError::LineTooLong { .. }) => {
                // Counted in the current file's lines (the error does not say which file).
                if let Some(file) = follower.current_file() {
                    files.get(file).next_line += 1;
                }
                messages::note(format_args!("{e}"));
            }
            Err(e) => {
                // The follower tries again on the next call; do not spin on a lasting error.
                messages::note(format_args!("{e}"));
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
    printer.out.flush().map_err(messages::stdout_failed)?;
    Ok(Status::Clean)
}

/// What is known of each file the follower has read from: line numbers for messages, and the
/// sessions seen open in it, to tell the follower when a rotated-away file is done.
#[derive(Default)]
struct Files(BTreeMap<FileId, FileState>);

/// The files remembered: the current one and those rotated away still being read; a few
/// more cost nothing, and an older one is almost surely let go of by now.
const FILES_KEPT: usize = 8;

impl Files {
    fn get(&mut self, file: FileId) -> &mut FileState {
        if !self.0.contains_key(&file) && self.0.len() >= FILES_KEPT {
            self.0.pop_first();
        }
        self.0.entry(file).or_default()
    }
}

struct FileState {
    next_line: u64,
    /// Sessions with an event in this file and no close record yet.
    open: HashSet<SessionId>,
}

impl Default for FileState {
    fn default() -> Self {
        FileState {
            next_line: 1,
            open: HashSet::new(),
        }
    }
}

impl FileState {
    /// Notes a line's record; `true` when it is the close record of the last session seen open
    /// in the file: the writers we know of are done with it (a writer that reopens its file
    /// after a rotation closes its session in the old file, FORMAT.md §5). Another writer whose
    /// lines we have not seen may still append to it: the follower waits for the file to be
    /// quiet for a moment before it lets go ([`Follower::finish`]).
    fn ends_with(&mut self, record: Option<(RecordKind, SessionId)>) -> bool {
        match record {
            Some((RecordKind::Event, session)) => {
                self.open.insert(session);
                false
            }
            Some((RecordKind::Close, session)) => {
                self.open.remove(&session);
                self.open.is_empty()
            }
            _ => false,
        }
    }
}

/// The number of newlines in the file at `path`.
fn count_lines(path: &std::path::Path) -> io::Result<u64> {
    let mut file = File::open(path)?;
    let mut block = vec![0u8; 256 * 1024];
    let mut count = 0u64;
    loop {
        let n = match file.read(&mut block) {
            Ok(0) => return Ok(count),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        count += block[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

struct Printer<W: Write> {
    name: String,
    text: TextOutput,
    opener: Opener,
    keys: LoadedKeys,
    last_rescan: Option<Instant>,
    out: W,
}

impl<W: Write> Printer<W> {
    /// Decrypts and prints one line, flushed at once; `current`: read from the file now at
    /// the path (else from one rotated away). Returns the record's kind and session, if it
    /// opened and has one.
    fn line(
        &mut self,
        raw: &[u8],
        line_no: u64,
        current: bool,
    ) -> Result<Option<(RecordKind, SessionId)>> {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let mut opened = self.opener.open(raw);
        let retry =
            matches!(opened, Some(Err(OpenError::UnknownKey { .. }))) && !self.keys.dirs.is_empty();
        if retry {
            self.rescan();
            opened = self.opener.open(raw);
        }
        let record = match &opened {
            Some(Ok(o)) => o.sequence.map(|s| (o.record, s.session)),
            _ => None,
        };
        let rotated;
        let name = if current {
            self.name.as_str()
        } else {
            rotated = format!("{} (rotated away)", self.name);
            rotated.as_str()
        };
        emit(&mut self.out, name, self.text, opened, raw, line_no)?;
        Ok(record)
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
                messages::note(format_args!(
                    "loaded {added} new key(s) from the keyring folder"
                ));
                // Keep the opener and its session cache: give it the whole, larger keyring.
                *self.opener.keyring_mut() = ring.clone();
                self.keys.keyring = ring;
            }
            Ok(None) => {}
            Err(e) => messages::note(format_args!("{e:#}")),
        }
    }
}

fn emit(
    out: &mut impl Write,
    name: &str,
    text: TextOutput,
    opened: Option<Result<enclog::read::Opened<'_>, OpenError>>,
    raw: &[u8],
    line_no: u64,
) -> Result<()> {
    let written = match opened {
        None => text.write_plain(out, raw, true),
        Some(Ok(opened)) if opened.record == RecordKind::Close => Ok(()),
        Some(Ok(opened)) if text.left_out(&opened) => {
            out.flush().map_err(messages::stdout_failed)?;
            messages::note(format_args!(
                "{name}:{line_no}: {}",
                crate::output::LEFT_OUT
            ));
            Ok(())
        }
        Some(Ok(opened)) => text.write_opened(out, &opened),
        Some(Err(e)) => {
            out.flush().map_err(messages::stdout_failed)?;
            messages::note(format_args!("{name}:{line_no}: {e}"));
            Ok(())
        }
    };
    written
        .and_then(|()| out.flush())
        .map_err(messages::stdout_failed)
}
