//! `enclog decrypt`: every token replaced by its plaintext, streaming, one bad line at a time.

use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use enclog::Opener;
use enclog::format::RecordKind;
use enclog::key::KeyId;
use enclog::read::{
    Decryptor, Entry, LineError, MetaStatus, OpenError, Opened, Outcome, ParallelDecryptor,
    ParallelOptions, Piece,
};

use crate::cmd::Status;
use crate::input;
use crate::keys::{self, ReaderKeys};
use crate::messages::{self, MissingKeys};
use crate::output::{self, Format, JsonLine, LEFT_OUT, Progress, TextOptions, TextOutput};
use crate::unwrap::{LineMap, Unwrap};

/// Decrypt logs: each token replaced by its plaintext, other text kept.
#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct DecryptArgs {
    /// Log files to read (gzip files too); none or `-` reads standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    keys: ReaderKeys,
    /// Stop at the first line that does not decrypt (exit status 1).
    #[arg(long)]
    strict: bool,
    /// Output format: text as logged, or one JSON object per line (control characters always
    /// escaped). For a field-sealed line, `plaintext` is the line restored, `fields` lists its
    /// sealed, indexed and unauthenticated members, and `meta_status` says whether its clear
    /// fields are as written.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Text)]
    output: Format,
    /// Longest line read, in bytes; longer lines are reported and skipped.
    #[arg(long, value_name = "BYTES", default_value_t = enclog::read::DEFAULT_MAX_LINE)]
    max_line: usize,
    /// Remove container log wrappers first: Docker's json-file (`{"log":…}`) and Kubernetes'
    /// CRI format (`TIME STREAM P|F …`), joining lines the runtime split. Other lines are kept.
    #[arg(long)]
    unwrap: bool,
    /// Threads that decrypt a large regular file (default: one per core); lines come out in
    /// order. Standard input, gzip files, `--unwrap` and files under 4 MiB use one thread.
    #[arg(long, value_name = "N")]
    jobs: Option<std::num::NonZeroUsize>,
    #[command(flatten)]
    text: TextOptions,
}

const AFTER_HELP: &str = "\
Examples:
  enclog decrypt --key-file app.key app.log
  enclog decrypt --keyring keys --color always --escape always app.log.1.gz app.log | less -R
  journalctl -u app -o cat | ENCLOG_KEY_FILE=app.key enclog decrypt
  enclog decrypt --key-command 'pass show logs/app' --output json app.log | jq .
  enclog decrypt --unwrap --key-file app.key /var/lib/docker/containers/*/*-json.log

Lines without a token pass through unchanged; gzip files are read transparently.
No token authenticates them, nor the text around a token: with colour on they are
shown dim, and --authenticated-only leaves them out. Clear metadata that was edited
is followed by [clear metadata edited: authentic \"…\"] on stdout too.

A line that does not decrypt is reported on stderr as FILE:LINE: reason, and the
others still come out (exit status 1 at the end; --strict stops at the first).

Field-sealed lines (`enclog encrypt --fields`, the library's sealed-field
writers) are restored in place: each sealed value back where it was (a number
as a number), the index members (\"user_idx\") and the envelope (\"enclog\")
removed, so the line is the JSON its writer wrote. Members a shipper added on
the way are kept but not authenticated (--authenticated-only removes them; JSON
output lists them under fields.unauthenticated). A line whose clear fields were
edited is reported on stderr and shown preceded by [clear fields edited]
(--authenticated-only leaves it out and counts it as a line that did not
decrypt); a sealed value altered or moved from another line or field does not
decrypt.

Keys are read from --key-file / --keyring / --key-command, else ENCLOG_KEY_FILE,
ENCLOG_KEY, ENCLOG_KEY_COMMAND, else a hidden prompt on a terminal; never argv.

Exit status: 0 all lines fine; 1 some lines did not decrypt; 2 usage, I/O or key error.";

/// Files smaller than this are decrypted by one thread: starting workers would cost more than
/// it saves.
const PARALLEL_MIN_BYTES: u64 = 4 << 20;

/// How one input ended.
enum End {
    /// Read to the end.
    Done,
    /// `--strict` and a line failed.
    Stop,
}

/// Input and output errors are told apart: a bad input is reported and the next file read; a
/// failing output ends everything.
enum StreamError {
    Read(io::Error),
    Write(io::Error),
}

struct Tally {
    failed_lines: u64,
    bad_inputs: u64,
    missing_keys: MissingKeys<KeyId>,
}

/// Runs `enclog decrypt`.
pub(crate) fn run(args: DecryptArgs) -> Result<Status> {
    let keys = keys::load_keyring(&args.keys)?;
    let text = TextOutput::for_stdout(&args.text);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(output::STDOUT_BUFFER, stdout.lock());
    let mut opener = Some(Opener::new(keys.keyring));
    let mut tally = Tally {
        failed_lines: 0,
        bad_inputs: 0,
        missing_keys: MissingKeys::new(),
    };
    let files = input::files_or_stdin(args.files);

    for path in &files {
        let input = match input::open(path) {
            Ok(input) => input,
            Err(e) => {
                // Keep the order: what earlier files gave comes before this message.
                out.flush().map_err(messages::stdout_failed)?;
                messages::note(format_args!("{e:#}"));
                tally.bad_inputs += 1;
                continue;
            }
        };
        let mut progress = input.size.and_then(|size| Progress::new(&input.name, size));
        let consumed = input.consumed.clone();
        let jobs = args.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            |n| n.get(),
        );
        // A large regular file is reopened for the worker threads; anything else streams.
        let parallel = (jobs > 1
            && !args.unwrap
            && !input.gzip
            && input.size.is_some_and(|size| size >= PARALLEL_MIN_BYTES))
        .then(|| std::fs::File::open(path).ok())
        .flatten();
        let mut ctx = Ctx {
            name: &input.name,
            text,
            strict: args.strict,
            format: args.output,
            tally: &mut tally,
            progress: &mut progress,
            consumed: &consumed,
            line_map: None,
        };
        let result = match parallel {
            Some(file) => {
                let keyring = opener.as_ref().expect("opener").keyring().clone();
                let options = ParallelOptions::default()
                    .jobs(jobs)
                    .max_line(args.max_line);
                // Text output is written by the worker threads, except for the lines that need a
                // word on stderr; JSON output needs line numbers, which only this thread knows.
                let inner = match args.output {
                    Format::Text => {
                        ParallelDecryptor::rendering(file, keyring, options, move |o, raw, out| {
                            render_quiet(text, o, raw, out)
                        })
                    }
                    Format::Json => ParallelDecryptor::new(file, keyring, options),
                };
                let mut reader = Parallel {
                    inner,
                    consumed: &consumed,
                };
                ctx.stream_pieces(&mut reader, &mut out)
            }
            None if args.unwrap => {
                let (reader, map) = Unwrap::new(input.reader, args.max_line);
                ctx.line_map = Some(map);
                ctx.stream_one_thread(reader, &mut opener, args.max_line, &mut out)
            }
            None => ctx.stream_one_thread(input.reader, &mut opener, args.max_line, &mut out),
        };
        if let Some(p) = &mut progress {
            p.clear();
        }
        match result {
            Ok(End::Done) => {}
            Ok(End::Stop) => break,
            Err(StreamError::Write(e)) => {
                return Err(messages::stdout_failed(e));
            }
            Err(StreamError::Read(e)) => {
                let what = input::read_failure(input.gzip);
                // What was decrypted before the error is printed before the message.
                out.flush().map_err(messages::stdout_failed)?;
                messages::note(format_args!("{}: {what}: {e}", input.name));
                tally.bad_inputs += 1;
            }
        }
    }
    out.flush().map_err(messages::stdout_failed)?;
    tally.missing_keys.note_unreported();
    Ok(if tally.bad_inputs > 0 {
        Status::Error
    } else if tally.failed_lines > 0 {
        Status::Problems
    } else {
        Status::Clean
    })
}

/// A `ParallelDecryptor` that reports how far it has read where the progress indicator looks.
struct Parallel<'a> {
    inner: ParallelDecryptor,
    consumed: &'a std::cell::Cell<u64>,
}

impl Parallel<'_> {
    fn next_piece(&mut self) -> io::Result<Option<Piece<'_>>> {
        self.consumed.set(self.inner.bytes_consumed());
        self.inner.next_piece()
    }
}

/// Writes a line's text as [`Ctx::entry`] does, if it is a line `entry` says nothing about
/// (the worker threads of a parallel decrypt run this on every line); `false` leaves the line
/// to `entry`: lines that did not open, and opened lines it reports (see [`reported`]).
fn render_quiet(text: TextOutput, outcome: &Outcome<'_>, raw: &[u8], out: &mut Vec<u8>) -> bool {
    let written = match outcome {
        Outcome::Plain => text.write_plain(out, raw, true),
        // A close record carries no event: nothing to print.
        Outcome::Opened(opened)
            if !reported(text, opened) && opened.record == RecordKind::Close =>
        {
            Ok(())
        }
        Outcome::Opened(opened) if !reported(text, opened) => text.write_opened(out, opened),
        _ => return false,
    };
    // Writing into a vector does not fail; if it did, `entry` would write the line.
    written.is_ok()
}

/// Whether [`Ctx::entry`] says something on stderr about this opened line: left out by
/// `--authenticated-only`, clear fields edited, or clear metadata edited.
fn reported(text: TextOutput, opened: &Opened<'_>) -> bool {
    text.left_out(opened)
        || output::clear_fields_edited(opened)
        || opened.meta_status == MetaStatus::Differs
}

struct Ctx<'a> {
    name: &'a str,
    text: TextOutput,
    strict: bool,
    format: Format,
    tally: &'a mut Tally,
    progress: &'a mut Option<Progress>,
    consumed: &'a std::cell::Cell<u64>,
    /// With `--unwrap`: the file's line numbers of the unwrapped lines.
    line_map: Option<LineMap>,
}

/// Lines between two looks at the clock for the progress indicator.
const PROGRESS_LINES: u64 = 8192;

impl Ctx<'_> {
    /// Streams `source` through one `Decryptor`, lending it the opener (and its cache).
    fn stream_one_thread(
        &mut self,
        source: impl io::BufRead,
        slot: &mut Option<Opener>,
        max_line: usize,
        out: &mut impl Write,
    ) -> Result<End, StreamError> {
        let opener = slot
            .take()
            .expect("the opener is given back after each file");
        let mut reader = Decryptor::with_opener(source, opener).max_line(max_line);
        let result = self.stream_entries(&mut reader, out);
        *slot = Some(reader.into_opener());
        result
    }

    /// Streams the lines of one `Decryptor` (every line an entry).
    fn stream_entries(
        &mut self,
        reader: &mut Decryptor<impl io::BufRead>,
        out: &mut impl Write,
    ) -> Result<End, StreamError> {
        loop {
            // Borrowed where it was returned: moving it out (`map_err(..)?`, a `match` by
            // value, or into a `Piece`) copied every entry (~180 bytes) once more.
            let next = reader.next_entry();
            match &next {
                Ok(Some(entry)) => {
                    if let ControlFlow::Break(end) = self.entry(entry, out)? {
                        return Ok(end);
                    }
                }
                Ok(None) => return Ok(End::Done),
                Err(_) => return Err(StreamError::Read(next.expect_err("matched an error"))),
            }
        }
    }

    /// Streams the pieces of a `ParallelDecryptor`: text its workers wrote, and entries.
    fn stream_pieces(
        &mut self,
        reader: &mut Parallel<'_>,
        out: &mut impl Write,
    ) -> Result<End, StreamError> {
        loop {
            let next = reader.next_piece();
            match &next {
                Ok(Some(Piece::Rendered(text))) => {
                    if let Some(p) = self.progress {
                        p.update(self.consumed.get());
                    }
                    out.write_all(text).map_err(StreamError::Write)?;
                }
                Ok(Some(Piece::Entry(entry))) => {
                    if let ControlFlow::Break(end) = self.entry(entry, out)? {
                        return Ok(end);
                    }
                }
                Ok(None) => return Ok(End::Done),
                Err(_) => return Err(StreamError::Read(next.expect_err("matched an error"))),
            }
        }
    }

    /// Writes one line's output and says on stderr what is to be said of it; `Break` to stop
    /// reading (`--strict` and a line that failed).
    #[inline]
    fn entry(
        &mut self,
        entry: &Entry<'_>,
        out: &mut impl Write,
    ) -> Result<ControlFlow<End>, StreamError> {
        let name = self.name;
        let line_no = match &self.line_map {
            Some(map) => map.source_line(entry.line_no),
            None => entry.line_no,
        };
        if entry.line_no.is_multiple_of(PROGRESS_LINES)
            && let Some(p) = self.progress
        {
            p.update(self.consumed.get());
        }
        let write = match (&entry.outcome, self.format) {
            (Outcome::Plain, Format::Text) => {
                self.text.write_plain(out, entry.raw, entry.terminated)
            }
            (Outcome::Plain, Format::Json) if self.text.authenticated_only => Ok(()),
            (Outcome::Plain, Format::Json) => {
                output::write_json(out, self.name, line_no, JsonLine::Plain(entry.raw))
            }
            (Outcome::Opened(opened), format) if self.text.left_out(opened) => {
                self.tally.failed_lines += 1;
                if format == Format::Json {
                    output::write_json(out, self.name, line_no, JsonLine::Failed(LEFT_OUT))
                        .map_err(StreamError::Write)?;
                }
                out.flush().map_err(StreamError::Write)?;
                self.message(format_args!("{name}:{line_no}: {LEFT_OUT}"));
                Ok(())
            }
            (Outcome::Opened(opened), format) => {
                if output::clear_fields_edited(opened) {
                    out.flush().map_err(StreamError::Write)?;
                    self.message(format_args!(
                        "{name}:{line_no}: warning: clear fields of this field-sealed line \
                         were edited after it was written (changed, renamed or removed; its \
                         sealed values decrypted and are authentic); it is shown marked \
                         [clear fields edited]"
                    ));
                } else if opened.meta_status == MetaStatus::Differs {
                    out.flush().map_err(StreamError::Write)?;
                    self.message(format_args!(
                        "{}:{}: warning: the clear metadata before the token was edited; \
                         the authentic value is {:?} (the line itself decrypted)",
                        name,
                        line_no,
                        String::from_utf8_lossy(opened.meta.unwrap_or_default())
                    ));
                }
                match format {
                    // A close record carries no event: nothing to print.
                    Format::Text if opened.record == RecordKind::Close => Ok(()),
                    Format::Text => self.text.write_opened(out, opened),
                    Format::Json => {
                        let what = if self.text.authenticated_only {
                            JsonLine::OpenedOnly(opened)
                        } else {
                            JsonLine::Opened(opened)
                        };
                        output::write_json(out, self.name, line_no, what)
                    }
                }
            }
            (Outcome::Failed(err), format) => {
                self.tally.failed_lines += 1;
                if format == Format::Json {
                    let message = err.to_string();
                    output::write_json(out, self.name, line_no, JsonLine::Failed(&message))
                        .map_err(StreamError::Write)?;
                }
                if self.strict {
                    out.flush().map_err(StreamError::Write)?;
                    self.message(format_args!("{name}:{line_no}: {err}"));
                    return Ok(ControlFlow::Break(End::Stop));
                }
                if self.first_of_its_kind(err) {
                    // Keep stdout and stderr in order for a reader watching both.
                    out.flush().map_err(StreamError::Write)?;
                    self.message(format_args!("{name}:{line_no}: {err}"));
                }
                Ok(())
            }
            // A kind of line a later library version reads and this command does not
            // show: counted and reported like a line that did not open, never printed.
            (_, _) => {
                self.tally.failed_lines += 1;
                out.flush().map_err(StreamError::Write)?;
                self.message(format_args!(
                    "{name}:{line_no}: this line holds a record this version of enclog cannot show"
                ));
                Ok(())
            }
        };
        write.map_err(StreamError::Write)?;
        Ok(ControlFlow::Continue(()))
    }

    /// Whether to report this failure: every one, except lines under a key we lack, which are
    /// reported once per key id and counted (summarised at the end).
    fn first_of_its_kind(&mut self, err: &LineError) -> bool {
        let LineError::Open(OpenError::UnknownKey { key_id, .. }) = err else {
            return true;
        };
        self.tally.missing_keys.first(*key_id)
    }

    fn message(&mut self, message: std::fmt::Arguments<'_>) {
        if let Some(p) = self.progress {
            p.clear();
        }
        messages::note(message);
    }
}
