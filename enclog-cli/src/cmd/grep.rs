//! `enclog grep`: the events whose field holds one value, found by blind index and decrypted.

use std::cell::Cell;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use enclog::Opener;
use enclog::fields::{ByIndex, IndexKey, Search};
use enclog::format::RecordKind;
use enclog::key::KeyId;
use enclog::read::{Decryptor, LineError, OpenError, Outcome};

use crate::cmd::Status;
use crate::cmd::index::{check_field, value_text};
use crate::input;
use crate::keys::{self, ReaderKeys};
use crate::messages::{self, MissingKeys};
use crate::output::{self, LEFT_OUT, TextOptions, TextOutput};

/// Print the events whose field holds a value, decrypted (found by blind index).
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  enclog grep --key-file app.key user=alice@example.com app.log.1.gz app.log
  enclog grep --key-file app.key -n --json card.last4='\"4242\"' app.log
  enclog grep --key-file identity.key --key-file index.key user=bob app.log
                                  # a log sealed to a recipient, indexed with index.key

How lines are found: a field-sealed line whose field carries a blind index
(written by `encrypt --index`: \"user_idx\":\"…\") is judged by its index alone,
without decrypting it: it matches when the index is VALUE's under one of the
keys given (`enclog index` prints it). Only the lines it matches are decrypted.
Any other line (the field sealed without an index, or in clear, or the line
sealed whole, or a plain JSON line) is decrypted and matches when the field's
value in the restored line equals VALUE. Values compare by their text: a
string's characters, or with --json any JSON value's canonical form (1e3 finds
1000).

FIELD is named as `encrypt --fields` names it: a top-level name (`user`) or a
dotted path (`req.user`). Several files are prefixed with their names, as grep
does; -n adds line numbers. The events come out as `enclog decrypt` prints them:
restored, text no token authenticates dim with colour on, a line whose clear
fields were edited marked [clear fields edited]. The index is clear text: a line
whose index was altered is judged by the altered index (`enclog verify` reports
the edit).

Keys: the keys that open the log (--key-file, --keyring, ...), and its index
key: the writer's symmetric key is both, unless the writer was given an
--index-key-file; for a log sealed to a recipient, give the identity and that
file. An indexed line is judged under the keys given only: with the wrong index
key, no indexed line matches. Without any symmetric key no index can be used,
and every line is decrypted.

Exit status (as grep's): 0 some events were found; 1 none were; 2 usage,
input/output or key error, or a line that was looked at did not decrypt (or,
with --authenticated-only, was left out).")]
pub(crate) struct GrepArgs {
    /// FIELD=VALUE: the field (`user`, `req.user`) and the value to find: a string's characters
    /// (no quotes); with --json a JSON value. `FIELD=-` reads the value from standard input.
    #[arg(value_name = "FIELD=VALUE")]
    query: String,
    /// Log files to read (gzip files too); none or `-` reads standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    keys: ReaderKeys,
    /// VALUE is a JSON value (`42`, `true`, `"alice"`), compared in canonical form.
    #[arg(long)]
    json: bool,
    /// Prefix each event with its line number in its file.
    #[arg(short = 'n', long)]
    line_number: bool,
    /// Prefix each event with its file's name (the default when several files are given).
    #[arg(short = 'H', long, overrides_with = "no_filename")]
    with_filename: bool,
    /// Never prefix events with their file's name.
    #[arg(long, overrides_with = "with_filename")]
    no_filename: bool,
    /// Longest line read, in bytes; longer lines are reported and skipped.
    #[arg(long, value_name = "BYTES", default_value_t = enclog::read::DEFAULT_MAX_LINE)]
    max_line: usize,
    #[command(flatten)]
    text: TextOptions,
}

/// Runs `enclog grep`.
pub(crate) fn run(args: GrepArgs) -> Result<Status> {
    let Some((field, value)) = args.query.split_once('=') else {
        bail!(
            "the first argument is not FIELD=VALUE: give the field and the value to find, joined \
             by `=` (user=VALUE)"
        );
    };
    check_field(field)?;
    let files = input::files_or_stdin(args.files);
    if value == "-" && files.iter().any(|f| input::is_stdin(f)) {
        bail!("{field}=- reads the value from standard input, so the log must be given as a file");
    }
    let loaded = keys::load_keyring(&args.keys)?;
    let index_keys = IndexKey::from_keyring(&loaded.keyring);
    if index_keys.is_empty() {
        messages::note(format_args!(
            "the keys given hold no symmetric key: no blind index can be used, every line is \
             decrypted (for a log sealed to a recipient, add the writer's --index-key-file)"
        ));
    }
    let value = value_text(value, args.json)?;
    let search = Search::new(field, &value, &index_keys);
    drop(value);

    let text = TextOutput::for_stdout(&args.text);
    let mut out = BufWriter::with_capacity(output::STDOUT_BUFFER, io::stdout().lock());
    let mut grep = Grep {
        search,
        text,
        with_filename: (files.len() > 1 || args.with_filename) && !args.no_filename,
        line_number: args.line_number,
        found: 0,
        errors: 0,
        missing_keys: MissingKeys::new(),
    };
    let mut opener = Some(Opener::new(loaded.keyring));
    for path in &files {
        let input = match input::open(path) {
            Ok(input) => input,
            Err(e) => {
                out.flush().map_err(messages::stdout_failed)?;
                messages::note(format_args!("{e:#}"));
                grep.errors += 1;
                continue;
            }
        };
        let mut reader = Decryptor::with_opener(input.reader, opener.take().expect("opener"))
            .max_line(args.max_line);
        let read = grep.file(&input.name, &mut reader, &mut out);
        opener = Some(reader.into_opener());
        read?;
    }
    out.flush().map_err(messages::stdout_failed)?;
    grep.missing_keys.note_unreported();
    Ok(if grep.errors > 0 {
        Status::Error
    } else if grep.found > 0 {
        Status::Clean
    } else {
        Status::Problems
    })
}

struct Grep {
    search: Search,
    text: TextOutput,
    with_filename: bool,
    line_number: bool,
    found: u64,
    errors: u64,
    missing_keys: MissingKeys<KeyId>,
}

impl Grep {
    /// Reads one input, printing the events found. An error reading it is reported and
    /// counted; a write error is returned.
    fn file(
        &mut self,
        name: &str,
        reader: &mut Decryptor<input::Reader>,
        out: &mut impl Write,
    ) -> Result<()> {
        // What the line's index said, kept from the filter for the line it lets through.
        let verdict = Cell::new(ByIndex::NotIndexed);
        loop {
            let entry = reader.next_entry_where(|raw| {
                let by_index = self.search.by_index(raw);
                verdict.set(by_index);
                by_index != ByIndex::Differs
            });
            let entry = match entry {
                Ok(Some(entry)) => entry,
                Ok(None) => return Ok(()),
                Err(e) => {
                    out.flush().map_err(messages::stdout_failed)?;
                    messages::note(format_args!("{name}: cannot read: {e}"));
                    self.errors += 1;
                    return Ok(());
                }
            };
            let line_no = entry.line_no;
            match &entry.outcome {
                Outcome::Plain => {
                    if !self.text.authenticated_only && self.search.in_plaintext(entry.raw) {
                        self.prefix(out, name, line_no)?;
                        self.text
                            .write_plain(out, entry.raw, entry.terminated)
                            .map_err(messages::stdout_failed)?;
                        self.found += 1;
                    }
                }
                Outcome::Opened(opened) if opened.record == RecordKind::Close => {}
                Outcome::Opened(opened) => {
                    let found = verdict.get() == ByIndex::Matches
                        || self.search.in_plaintext(opened.plaintext);
                    if !found {
                        continue;
                    }
                    if self.text.left_out(opened) {
                        out.flush().map_err(messages::stdout_failed)?;
                        messages::note(format_args!("{name}:{line_no}: {LEFT_OUT}"));
                        self.errors += 1;
                        continue;
                    }
                    self.prefix(out, name, line_no)?;
                    self.text
                        .write_opened(out, opened)
                        .map_err(messages::stdout_failed)?;
                    self.found += 1;
                }
                Outcome::Failed(err) => {
                    self.errors += 1;
                    let first = match err {
                        LineError::Open(OpenError::UnknownKey { key_id, .. }) => {
                            self.missing_keys.first(*key_id)
                        }
                        _ => true,
                    };
                    if first {
                        out.flush().map_err(messages::stdout_failed)?;
                        messages::note(format_args!("{name}:{line_no}: {err}"));
                    }
                }
                // A kind of line a later library version reads and this command does not show.
                _ => {
                    self.errors += 1;
                    out.flush().map_err(messages::stdout_failed)?;
                    messages::note(format_args!(
                        "{name}:{line_no}: this line holds a record this version of enclog cannot show"
                    ));
                }
            }
        }
    }

    /// `FILE:` and `N:` before an event, as asked.
    fn prefix(&self, out: &mut impl Write, name: &str, line_no: u64) -> Result<()> {
        let written = (|| {
            if self.with_filename {
                write!(out, "{name}:")?;
            }
            if self.line_number {
                write!(out, "{line_no}:")?;
            }
            Ok::<(), io::Error>(())
        })();
        written.map_err(messages::stdout_failed)
    }
}
