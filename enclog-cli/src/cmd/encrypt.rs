//! `enclog encrypt`: plaintext lines on stdin → one sealed line each, live.

use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use enclog::fields::{FieldNames, FieldsError, IndexKey, Selection};
use enclog::file::LogFile;
use enclog::seal::{ChainState, Rotation};
use enclog::{Key, Sealer, SealingKey};

use crate::cmd::Status;
use crate::keys::{self, WriterKeys};
use crate::messages;

/// The longest plaintext sealed as one event by default: 12 MiB less 1 KiB, so that the sealed
/// line (base64, a third longer, with its header and tag) stays under `decrypt`'s default
/// `--max-line` of 16 MiB.
const DEFAULT_MAX_LINE: usize = 12 * 1024 * 1024 - 1024;

/// Encrypt lines read on standard input, one sealed line each, live.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  legacy-app 2>&1 | enclog encrypt --key-file app.key >> app.log
  legacy-app 2>&1 | enclog encrypt --key-file app.key -o app.log
  json-app | enclog encrypt --key-file app.key --fields user,card --index user -o app.log
  json-app | enclog encrypt --recipient-file app.recipient --fields user.email \\
      --index user.email --index-key-file index.key -o app.log

Each input line becomes one sealed line as soon as it is read; a session close
record is written at the end of input. `enclog decrypt` gives the lines back
byte for byte (a trailing \\r is data and is kept). Reading a pipe, Ctrl-C is
ignored: encrypt stops when its input ends, so what the program logs while
shutting down is still sealed and the session is closed cleanly.

A line longer than --max-line is split, not refused: its bytes are sealed as
several consecutive events of at most --max-line bytes each (decrypt shows them
as that many lines), and stderr names the line and the number of pieces. So no
byte is lost, memory stays bounded by the limit, and nothing is changed
silently. The default keeps every sealed line under decrypt's default limit.

Log rotation: with -o FILE, a rename of FILE (logrotate's `create`) is noticed
within 100 ms, a deletion after a second (left to logrotate's `create` first):
the session's close record goes to the old
file and the next line to the new one (created 0640 if missing; an existing
file's mode is kept), where the next session links to the closed one, so
`enclog verify app.log.1 app.log` is clean. SIGHUP asks for the reopen without
waiting for the check (done before the next line); with --pid-file, a postrotate
script can run `kill -HUP $(cat FILE)`. copytruncate works too (the file is
opened for appending).

Sealed fields: with --fields, each input line that is a JSON object keeps its
fields in clear and only the named ones are sealed, each value in place as the
string \"enclog:<token>\"; the line's envelope (its place in the session, the
names of its sealed fields, a digest of its clear fields) is added as the
member \"enclog\". Every other byte of the line is kept (key order, spacing, a
number's text), so Loki, Elasticsearch, DuckDB, jq and grep still see the clear
fields, and `enclog decrypt` gives the line back with every value in place (a
number stays a number; a \\r ending a JSON line is white space to JSON, and is
dropped). --index adds a blind index after each value of those fields
(\"user_idx\":\"<22 characters>\"), equal for equal values, so that `enclog
grep` or a search for `enclog index`'s value finds one user's events without
decrypting; it tells equal values apart from different ones, and how often each
occurs (see SECURITY.md). A line that cannot be sealed field by field (not a
JSON object, a repeated key, a member already named \"enclog\" or
\"<field>_idx\", the text \"enclog:\" in a clear value) is sealed whole, never
passed through, and counted: stderr says how many and why at the end of input.

Sessions and chains: each run is one session (more with --rotate-lines or
--rotate-after); its first line links it to the session before it in its
lineage. With --chain FILE the lineage continues across runs, so `enclog
verify` sees a deleted, reordered, replayed or forged run; without it each run
starts a new chain, which verify reports unless --allow-new-chains. Keep FILE
in a private folder (it holds a chain key), one FILE per writer.

Exit status: 0 success (lines sealed whole instead of field by field are
reported on stderr, not an error); 1 some lines were longer than --max-line and
were split; 2 usage, I/O or key error.")]
pub(crate) struct EncryptArgs {
    /// Append to FILE (created if missing) instead of writing to standard output. FILE is
    /// followed across log rotations: after a rename (logrotate's `create`) or a deletion, the
    /// session is closed in the old file and the next line goes to the new one (a rename is
    /// noticed within 100 ms, a deletion after a second; on SIGHUP at the next line).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write this process's id to FILE at start (removed at exit), so that logrotate's
    /// postrotate can run `kill -HUP $(cat FILE)`: SIGHUP makes encrypt reopen -o FILE. Refused
    /// while FILE names another running process; a link at FILE is replaced, never followed.
    #[arg(long, value_name = "FILE", requires = "output")]
    pid_file: Option<PathBuf>,
    /// Longest line sealed as one event, in bytes; a longer line is split into several events
    /// (never dropped). The default, 12 MiB less 1 KiB, keeps sealed lines under decrypt's
    /// default --max-line.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE, value_parser = at_least_one)]
    max_line: usize,
    /// Continue the writer's lineage through this chain state file (created if missing; 0600,
    /// locked: one writer per file). Put it in a private folder, not beside the log.
    #[arg(long, value_name = "FILE")]
    chain: Option<PathBuf>,
    /// End a session and start the next (linked) one every N lines.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    rotate_lines: Option<u64>,
    /// End a session and start the next (linked) one after DURATION (e.g. 30s, 15m, 1h),
    /// even while no line comes. Recipient keys rotate every 15 minutes by default.
    #[arg(long, value_name = "DURATION", value_parser = super::duration)]
    rotate_after: Option<Duration>,
    #[command(flatten)]
    keys: WriterKeys,
    /// Seal only these fields of each JSON line, each value in place (comma-separated, or
    /// repeat the option): top-level names (`user`), dotted paths into nested objects
    /// (`user.email`), `*` globs (`card*`, `req.*.token`). A line that is not a JSON object is
    /// sealed whole.
    #[arg(
        long,
        value_name = "NAMES",
        value_delimiter = ',',
        help_heading = "Sealed fields"
    )]
    fields: Vec<String>,
    /// Write a blind index after each value of these sealed fields (`"user_idx":"…"`), so
    /// that `enclog grep` and `enclog index` find a value's events without decrypting; each must
    /// be one of --fields (or matched by one of its globs).
    #[arg(
        long,
        value_name = "NAMES",
        value_delimiter = ',',
        requires = "fields",
        help_heading = "Sealed fields"
    )]
    index: Vec<String>,
    /// Compute index values with this key file (from `enclog genkey -o FILE`, checked as
    /// --key-file is). Needed with --recipient or --recipient-file (the writer holds no secret,
    /// and an index derived from the public recipient would let anyone test guesses); with a
    /// symmetric key its own index key is used unless this is given (one given here keeps
    /// index values stable across key changes). Readers search with it: `enclog grep
    /// --key-file FILE`.
    #[arg(
        long,
        value_name = "FILE",
        requires = "index",
        help_heading = "Sealed fields"
    )]
    index_key_file: Option<PathBuf>,
}

/// Runs `enclog encrypt`.
pub(crate) fn run(args: EncryptArgs) -> Result<Status> {
    let key = keys::load_sealing_key(&args.keys)?;
    let selection = selection(&args, &key)?;
    let index_key = match &args.index_key_file {
        Some(path) => Some(IndexKey::from_key(
            &Key::from_file(path).context("--index-key-file")?,
        )),
        None => None,
    };
    let mut rotation = Rotation::default();
    if let Some(n) = args.rotate_lines {
        rotation = rotation.max_lines(n);
    }
    if let Some(age) = args.rotate_after {
        rotation = rotation.max_age(age);
    }
    let sealer = match &args.chain {
        None => Sealer::with_rotation(key, rotation),
        Some(path) => {
            if let Some(log) = &args.output
                && beside(path, log)
            {
                messages::note(format_args!(
                    "warning: the chain state {} is in the log's folder: backups, shippers and \
                     globs over that folder copy it, and it holds a chain key; move it to a \
                     private folder (e.g. ~/.local/state/enclog/)",
                    messages::file_name(path)
                ));
            }
            let state = ChainState::open(path)
                .with_context(|| format!("--chain {}", messages::file_name(path)))?;
            Sealer::with_chain_state(key, rotation, state)
                .with_context(|| format!("--chain {}", messages::file_name(path)))?
        }
    };
    if index_key.is_some() {
        sealer.set_index_key(index_key);
    }
    // Fail closed: a broken random number generator is reported before any line is read.
    sealer.start()?;
    if !io::stdin().is_terminal() {
        // In `app | enclog encrypt`, Ctrl-C reaches both. The app's last words (logged while
        // it shuts down) must still be sealed, and the close record written: so this end of
        // the pipe ignores it and stops when its input ends.
        ctrlc::set_handler(|| {}).context("cannot install the Ctrl-C handler")?;
    }
    let (sink, name) = match &args.output {
        Some(path) => {
            let file = LogFile::open(path).with_context(|| {
                format!("cannot open {} for appending", messages::file_name(path))
            })?;
            // Before the pid file exists: a postrotate script's SIGHUP must not kill us.
            #[cfg(unix)]
            signal_hook::flag::register(signal_hook::consts::SIGHUP, file.reopen_flag())
                .context("cannot install the SIGHUP handler")?;
            (Sink::File(file), messages::file_name(path))
        }
        None => (
            Sink::Stdout(io::stdout().lock()),
            "standard output".to_owned(),
        ),
    };
    let _pid_file = match &args.pid_file {
        Some(path) => Some(PidFile::write(path)?),
        None => None,
    };
    let mut out = BufWriter::with_capacity(64 * 1024, sink);
    let mut input = BufReader::with_capacity(64 * 1024, io::stdin().lock());
    let mut sealed = Vec::new();
    let write_err = |e: io::Error| anyhow::Error::new(e).context(format!("cannot write to {name}"));
    let mut whole_lines = WholeLines::default();
    let mut seal = |piece: &[u8], line: Option<u64>, out: &mut BufWriter<Sink>| -> Result<()> {
        // One relaxed load per line; a rotated file is reopened before the line is sealed,
        // with the session's close record written to the old file first.
        if let Sink::File(file) = out.get_ref()
            && file.rotated()
        {
            out.flush().map_err(write_err)?;
            if let Sink::File(file) = out.get_mut() {
                file.reopen_reporting(&sealer);
            }
        }
        sealed.clear();
        // A piece of a split line is no JSON object: it is sealed whole, like the line was.
        match (&selection, line) {
            (Some(selection), Some(line_no)) => {
                match sealer.seal_json_fields(piece, selection, &mut sealed) {
                    Ok(_) => {}
                    Err(FieldsError::Seal(e)) => return Err(e.into()),
                    // Never passed through: sealed whole, and counted.
                    Err(why) => {
                        whole_lines.add(line_no, &why);
                        sealed.clear();
                        sealer.seal_to(None, piece, &mut sealed)?;
                    }
                }
            }
            _ => sealer.seal_to(None, piece, &mut sealed)?,
        }
        out.write_all(&sealed).map_err(write_err)
    };
    let mut lines = Lines::new(args.max_line);
    let mut status = Status::Clean;
    while let Some(end) = lines.next(&mut input, |piece, line| seal(piece, line, &mut out))? {
        if let Some(end) = end.filter(|end| end.pieces > 1) {
            status = Status::Problems;
            messages::note(format_args!(
                "<stdin>:{}: line is {} bytes, longer than the {}-byte limit; it was sealed as {} \
                 consecutive events, which decrypt shows as {} lines (raise --max-line to keep \
                 such lines whole)",
                end.line_no, end.len, args.max_line, end.pieces, end.pieces
            ));
        }
        // Live: every line read is written out before waiting for more input (also when the
        // input stops mid-line). Lines that arrived together are written together (one system
        // call, not one per line).
        if input.buffer().is_empty() {
            out.flush().map_err(write_err)?;
        }
    }
    sealed.clear();
    sealer.close_to(&mut sealed)?;
    out.write_all(&sealed).map_err(write_err)?;
    out.flush().map_err(write_err)?;
    whole_lines.report();
    Ok(status)
}

/// `--fields` and `--index` as a [`Selection`]; `None` without `--fields`. Refused: an empty
/// name, an `--index` that no `--fields` name covers, a key that cannot seal fields, and
/// `--index` with a recipient but no `--index-key-file`.
fn selection(args: &EncryptArgs, key: &SealingKey) -> Result<Option<Selection>> {
    if args.fields.is_empty() {
        return Ok(None);
    }
    // `--fields "user, card"`: the spaces are not part of the names.
    let trimmed =
        |names: &[String]| -> Vec<String> { names.iter().map(|n| n.trim().to_owned()).collect() };
    let (fields, index) = (trimmed(&args.fields), trimmed(&args.index));
    if fields.iter().chain(&index).any(String::is_empty) {
        bail!("--fields and --index take field names separated by commas; one of them is empty");
    }
    let sealed = FieldNames::new(fields.iter().cloned());
    if let Some(name) = index
        .iter()
        .find(|n| !fields.contains(n) && !sealed.matches(n))
    {
        bail!(
            "--index {name}: only sealed fields are indexed, and --fields does not name it; \
             add it to --fields"
        );
    }
    match key {
        SealingKey::Fernet(_) => bail!(
            "--fields: a zato-enclog (Fernet) key seals whole lines only; give an enclog key \
             (`enclog genkey`) or a recipient"
        ),
        SealingKey::Recipient(_) if !args.index.is_empty() && args.index_key_file.is_none() => {
            bail!(
                "--index with a recipient needs --index-key-file FILE: a writer that seals to a \
                 recipient holds no secret to compute index values with, and one derived from \
                 the public recipient would let anyone who has it test guesses; make an index \
                 key with `enclog genkey -o index.key` and search with `enclog grep --key-file \
                 index.key`"
            )
        }
        _ => {}
    }
    Ok(Some(Selection::new(fields).index(index)))
}

/// Lines that `--fields` could not seal field by field and that were sealed whole, counted by
/// reason, with the first of each (reported at the end of input).
#[derive(Default)]
struct WholeLines {
    reasons: Vec<WholeReason>,
}

struct WholeReason {
    /// The reason, for one line and for several: "was not a JSON object", "were not JSON
    /// objects".
    what: (&'static str, &'static str),
    lines: u64,
    first_line: u64,
    first_error: String,
}

impl WholeLines {
    fn add(&mut self, line_no: u64, why: &FieldsError) {
        let same = |what: &'static str| (what, what);
        let what = match why {
            FieldsError::NotJson { .. } => ("was not a JSON object", "were not JSON objects"),
            FieldsError::NotCanonical { .. } => same(
                "had no canonical JSON form (a repeated key, or a number too large for a double)",
            ),
            FieldsError::ReservedKey { .. } => {
                same("already had a member that a field-sealed line adds")
            }
            FieldsError::MarkerInClearText => same("held the text \"enclog:\" in a clear value"),
            FieldsError::TooManyValues => same("had more values to seal than a line may carry"),
            _ => same("could not be sealed field by field"),
        };
        match self.reasons.iter_mut().find(|r| r.what == what) {
            Some(reason) => reason.lines += 1,
            None => self.reasons.push(WholeReason {
                what,
                lines: 1,
                first_line: line_no,
                first_error: why.to_string(),
            }),
        }
    }

    /// One message per reason: how many lines, and the first of them.
    fn report(&self) {
        for r in &self.reasons {
            let (count, what, verb, first) = if r.lines == 1 {
                ("1 line".to_owned(), r.what.0, "was", "")
            } else {
                (
                    format!("{} lines", r.lines),
                    r.what.1,
                    "were",
                    "the first: ",
                )
            };
            messages::note(format_args!(
                "{count} {what} and {verb} sealed whole ({first}<stdin>:{}: {})",
                r.first_line, r.first_error
            ));
        }
    }
}

/// Whether the chain state and the log are in one folder.
fn beside(state: &Path, log: &Path) -> bool {
    let folder = |p: &Path| {
        let parent = p.parent().filter(|p| !p.as_os_str().is_empty());
        std::fs::canonicalize(parent.unwrap_or(Path::new("."))).ok()
    };
    folder(state).is_some_and(|f| Some(f) == folder(log))
}

/// `--max-line`: a number of bytes, at least 1.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("the limit must be at least 1 byte".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a number of bytes: {e}")),
    }
}

/// Splits input into lines of at most `max` bytes, handing each piece to a sealer, with a
/// buffer that never grows past `max` (threat: one endless line exhausting memory; a 200 MB
/// line once took 655 MB).
struct Lines {
    max: usize,
    line: Vec<u8>,
    line_no: u64,
    /// Pieces already sealed of the current line, and its length so far.
    pieces: u64,
    len: u64,
}

/// A line that ended (at a newline or at the end of input).
#[derive(Debug, PartialEq, Eq)]
struct LineEnd {
    line_no: u64,
    len: u64,
    pieces: u64,
}

impl Lines {
    fn new(max: usize) -> Lines {
        Lines {
            max: max.max(1),
            line: Vec::new(),
            line_no: 0,
            pieces: 0,
            len: 0,
        }
    }

    /// Reads what is available (waiting for input only when nothing is), sealing every piece
    /// that is complete with `seal` (given the line's number when the piece is a whole line). `Ok(None)` at the end of input; `Some(Some(end))` when a
    /// line ended; `Some(None)` when only part of a line was read.
    fn next(
        &mut self,
        input: &mut impl BufRead,
        mut seal: impl FnMut(&[u8], Option<u64>) -> Result<()>,
    ) -> Result<Option<Option<LineEnd>>> {
        let available = loop {
            match input.fill_buf() {
                Ok(b) => break b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(anyhow::Error::new(e).context("cannot read standard input")),
            }
        };
        if available.is_empty() {
            if self.len == 0 {
                return Ok(None);
            }
            // A last line without a newline is sealed as it is.
            return self.end(&mut seal).map(Some);
        }
        let (mut chunk, found) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], true),
            None => (available, false),
        };
        let used = chunk.len() + usize::from(found);
        self.len += chunk.len() as u64;
        // A line of exactly `max` bytes stays whole: a piece is sealed only when more follows.
        while self.line.len() + chunk.len() > self.max {
            let take = self.max - self.line.len();
            self.line.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            // Not inside a UTF-8 character: up to 3 bytes of it move to the next piece, so
            // that each piece of UTF-8 text decrypts to whole characters.
            let carry = (0..3.min(self.line.len() - 1))
                .take_while(|&k| {
                    let next = if k == 0 {
                        chunk[0]
                    } else {
                        self.line[self.line.len() - k]
                    };
                    next & 0xc0 == 0x80
                })
                .count();
            let cut = self.line.len() - carry;
            seal(&self.line[..cut], None)?;
            self.pieces += 1;
            self.line.drain(..cut);
        }
        self.line.extend_from_slice(chunk);
        input.consume(used);
        if found {
            return self.end(&mut seal).map(Some);
        }
        Ok(Some(None))
    }

    /// Seals the rest of the current line (only the newline is its end; a `\r` before it is
    /// data and is kept) and starts the next. `seal` is given the line's number when the
    /// piece is the whole line.
    fn end(
        &mut self,
        seal: &mut impl FnMut(&[u8], Option<u64>) -> Result<()>,
    ) -> Result<Option<LineEnd>> {
        let whole = (self.pieces == 0).then_some(self.line_no + 1);
        seal(&self.line, whole)?;
        self.line_no += 1;
        let end = LineEnd {
            line_no: self.line_no,
            len: self.len,
            pieces: self.pieces + 1,
        };
        self.line.clear();
        self.pieces = 0;
        self.len = 0;
        Ok(Some(end))
    }
}

/// Where sealed lines go: a log file that follows its path, or standard output.
enum Sink {
    File(LogFile),
    Stdout(io::StdoutLock<'static>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::File(file) => file.write(buf),
            Sink::Stdout(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::File(file) => file.flush(),
            Sink::Stdout(out) => out.flush(),
        }
    }
}

/// `--pid-file`: holds this process's id while it runs; removed when dropped, if it still
/// holds it.
struct PidFile {
    path: PathBuf,
    text: String,
}

impl PidFile {
    /// Writes the pid beside `path` in a new file (`create_new`: never through a link an
    /// attacker put there) and renames it over `path` (which replaces a link, not its target).
    /// Refused while `path` names another process that is running (threat: a postrotate `kill
    /// -HUP` reaching the wrong process, or two writers each thinking they own the file).
    fn write(path: &Path) -> Result<PidFile> {
        let shown = messages::file_name(path);
        let text = format!("{}\n", std::process::id());
        if let Some(other) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .filter(|&pid| pid != std::process::id() && running(pid))
        {
            anyhow::bail!(
                "the pid file {shown} names process {other}, which is running: another encrypt \
                 writes with it; give each writer its own --pid-file"
            );
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(anyhow::Error::new(e).context(format!("cannot write the pid file {shown}")));
        }
        Ok(PidFile {
            path: path.to_owned(),
            text,
        })
    }
}

/// Whether process `pid` runs (Linux: `/proc`; elsewhere taken as running, to fail closed).
fn running(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Another encrypt may have taken the file over since (ours was stale to it): leave it.
        if std::fs::read_to_string(&self.path).is_ok_and(|t| t == self.text) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces `Lines` seals from `input` read through a buffer of `buffer` bytes, and the
    /// line ends it reports.
    fn split(input: &[u8], max: usize, buffer: usize) -> (Vec<Vec<u8>>, Vec<LineEnd>) {
        let mut reader = BufReader::with_capacity(buffer, input);
        let mut lines = Lines::new(max);
        let mut pieces = Vec::new();
        let mut ends = Vec::new();
        while let Some(end) = lines
            .next(&mut reader, |piece, _| {
                pieces.push(piece.to_vec());
                Ok(())
            })
            .unwrap()
        {
            ends.extend(end);
        }
        (pieces, ends)
    }

    #[test]
    fn lines_are_split_at_the_limit_whatever_the_reads() {
        for buffer in [1, 2, 3, 7, 64] {
            let (pieces, ends) = split(b"0123456789\nabcd\n\nxyz", 4, buffer);
            assert_eq!(pieces, [&b"0123"[..], b"4567", b"89", b"abcd", b"", b"xyz"]);
            let summary: Vec<_> = ends.iter().map(|e| (e.line_no, e.len, e.pieces)).collect();
            assert_eq!(summary, [(1, 10, 3), (2, 4, 1), (3, 0, 1), (4, 3, 1)]);
        }
    }

    /// A piece never ends inside a UTF-8 character: its last bytes go to the next piece, so
    /// every piece of UTF-8 text decrypts to whole characters, and together to the line.
    #[test]
    fn a_split_line_is_cut_between_utf8_characters() {
        let line = "aé€🦀b🦀🦀".repeat(3);
        for max in 4..12 {
            for buffer in [1, 5, 64] {
                let (pieces, _) = split(line.as_bytes(), max, buffer);
                assert!(pieces.iter().all(|p| p.len() <= max && !p.is_empty()));
                for piece in &pieces {
                    assert!(std::str::from_utf8(piece).is_ok(), "max {max}: {piece:?}");
                }
                assert_eq!(pieces.concat(), line.as_bytes());
            }
        }
    }

    /// The default limit keeps a sealed line under decrypt's default `--max-line`.
    #[test]
    fn the_default_limit_seals_under_decrypts_default_limit() {
        let identity = enclog::Identity::generate().unwrap();
        let sealer = enclog::Sealer::new(identity.recipient());
        let sealed = sealer.seal_line(&vec![b'x'; DEFAULT_MAX_LINE]).unwrap();
        assert!(
            sealed.len() <= enclog::read::DEFAULT_MAX_LINE,
            "{}",
            sealed.len()
        );
    }
}
