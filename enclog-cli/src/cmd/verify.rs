//! `enclog verify`: nothing deleted, duplicated, reordered, altered or cut off.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use enclog::read::Decryptor;
use enclog::seal::ChainState;
use enclog::verify::{
    Finding, FindingKind, Report, StateKey, Verifier, VerifyOptions, VerifyState,
};
use enclog::{Keyring, Opener};
use serde_json::{Map, Value};

use crate::cmd::Status;
use crate::input;
use crate::keys::{self, ReaderKeys};
use crate::messages::{self, MissingKeys};
use crate::output::{self, Format};

/// Check that nothing was deleted, duplicated, reordered, altered or cut off.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  enclog verify --key-file app.key app.log
  enclog verify --keyring keys/ app.log.2.gz app.log.1 app.log   # oldest first
  enclog verify --allow-open --key-file app.key /var/log/app.log  # a log still written to

Reports each finding as FILE:LINE: kind: message, then a summary line. Nothing
unauthenticated is called clean: a line without a token is a finding (unless
--allow-plain), text around a token is counted (a finding with --strict), and
lines in zato-enclog's format, which carry no sequence numbers, are counted apart.

Beyond each session's lines, the sessions of each writer form a chain (each
names the one before it): a deleted, moved, replayed or forged session is a
finding, and so is a session of a writer not seen before in the input (unless
--allow-new-chains). The first session given starts the chain, and the end of a
log cannot be seen: give every file, oldest first, and --chain FILE (the
writer's chain state, or a copy of it) to check that the log starts at the
writer's first session and reaches the latest one the state names. Lines of
format version 1 are counted as unchained.

A log too big for one run, or for one machine, is verified in parts:
  enclog verify --state app.verify --key-file app.key app.log.1 app.log   # cron
  enclog verify --save-state web1.state --state-key-file verify.key \\
      --key-file web1.key web1/app.log.1 web1/app.log                # a shard
  enclog verify --merge-state web1.state db1.state --state-key-file verify.key
--state FILE carries the verification from run to run: files verified before
are known again under any name (logrotate's app.log.1, app.log.2.gz) and only
lines added since are read; sessions still open are left to the next run,
unless --final. --save-state writes a shard's state; --merge-state merges
shards' states and reports what one run over all their files would (lines
and sessions out of order are each shard's own findings). States are sealed
with a key of the keyring, or --state-key-file FILE: a state edited by hand is
refused.

Exit status: 0 clean; 1 problems found; 2 usage, I/O or key error.")]
pub(crate) struct VerifyArgs {
    /// Log files to check, oldest first (gzip files too); none or `-` reads standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    keys: ReaderKeys,
    /// Output format: one line per finding, or one JSON object per finding (then a summary).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Text)]
    output: Format,
    /// Accept a last session without its close record, and a last line still being written
    /// (a live log). A crashed writer then goes unreported.
    #[arg(long)]
    allow_open: bool,
    /// Accept lines without a token (another program writing to the same file). A forged
    /// plain line then goes unreported; they are still counted.
    #[arg(long)]
    allow_plain: bool,
    /// Also report text before or after a token (a syslog header, a JSON wrapper, forged
    /// words): it is not authenticated. Without this it is only counted.
    #[arg(long)]
    strict: bool,
    /// Accept sessions that start a chain not seen before in the input (several writers
    /// sharing the log, or a writer restarted without its chain state). A session forged as a
    /// new chain then goes unreported; chains are still counted.
    #[arg(long)]
    allow_new_chains: bool,
    /// The writer's chain state file (`encrypt --chain FILE`, or `init_file`'s), or a private
    /// copy of it: the log must start at the writer's first session and reach the latest
    /// session the state names (the ends of a log are otherwise invisible).
    #[arg(long, value_name = "FILE")]
    chain: Option<PathBuf>,
    #[command(flatten)]
    state: StateArgs,
}

/// Verifying in runs (a cron job) and in parts (shards on several machines).
#[derive(Args, Debug)]
#[command(next_help_heading = "Verifying in runs and in parts")]
struct StateArgs {
    /// Carry the verification from run to run in FILE (created if missing): files verified
    /// before are known again under any name and only lines added since are read; findings
    /// are reported by the run that finds them. Sessions still open are left to the next run
    /// (see --final).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["save_state", "merge_state"])]
    state: Option<PathBuf>,
    /// With --state: this run ends the log (the service is gone, the archive is complete):
    /// sessions without a close record are findings, and --chain is checked.
    #[arg(long = "final", requires = "state")]
    last: bool,
    /// Write this run's state to FILE, to merge it with other shards' (--merge-state). Only
    /// the findings no other shard can change are reported here (damaged lines, lines or
    /// sessions out of order within the shard); the merge reports them all.
    #[arg(long, value_name = "FILE")]
    save_state: Option<PathBuf>,
    /// Merge the states of shards verified apart (--save-state) instead of reading files:
    /// report what one run over all their files would (missing lines and sessions,
    /// duplicates, unclosed sessions, chains), whatever their order. With --save-state, the
    /// merged state is written too (to merge it again).
    #[arg(long, value_name = "STATE", num_args = 1.., conflicts_with = "files")]
    merge_state: Vec<PathBuf>,
    /// The key (or identity) file whose derived key seals and opens states; default: the key
    /// that sealed the state read, else the first key (or identity) given. A key made for
    /// this (`enclog genkey`) lets a merging machine do without the logs' keys.
    #[arg(long = "state-key-file", value_name = "FILE")]
    state_key: Option<PathBuf>,
}

/// Runs `enclog verify`.
pub(crate) fn run(args: VerifyArgs) -> Result<Status> {
    let options = options(&args)?;
    let state_ring = match &args.state.state_key {
        Some(path) => {
            let mut ring = Keyring::new();
            ring.add_file(path).context("--state-key-file")?;
            Some(ring)
        }
        None => None,
    };
    if !args.state.merge_state.is_empty() {
        return merge(&args, options, state_ring);
    }
    let keys = keys::load_keyring(&args.keys)?;
    let mut notes = Vec::new();
    let (report, bad_inputs) = match (&args.state.state, &args.state.save_state) {
        (Some(path), _) => {
            let _lock = VerifyState::lock(path).context("--state")?;
            let opening = with_state_key(&keys.keyring, args.state.state_key.as_deref())?;
            let loaded = VerifyState::load(path, &opening).context("--state")?;
            let prefer = loaded.as_ref().and_then(VerifyState::key_id);
            let key = state_key(&opening, state_ring.as_ref(), prefer)?;
            let live = options
                .clone()
                .allow_open_sessions(args.allow_open || !args.state.last);
            let mut verifier = match loaded {
                Some(state) => Verifier::resume(state, live),
                None => Verifier::with_options(live),
            };
            let mut opener = Opener::new(keys.keyring);
            let bad = read_files(&mut verifier, &args.files, &mut opener, &mut notes);
            let report = if args.state.last {
                verifier.checkpoint_final()
            } else {
                verifier.checkpoint()
            };
            verifier
                .state()
                .save(path, &key)
                .context("--state: the findings above were not saved")?;
            (report, bad)
        }
        (None, Some(path)) => {
            let opening = with_state_key(&keys.keyring, args.state.state_key.as_deref())?;
            let key = state_key(&opening, state_ring.as_ref(), None)?;
            let mut verifier = Verifier::with_options(options);
            let mut opener = Opener::new(keys.keyring);
            let bad = read_files(&mut verifier, &args.files, &mut opener, &mut notes);
            verifier.state().save(path, &key).context("--save-state")?;
            notes.push(format!(
                "the state of this shard is in {}: missing lines and sessions, duplicates across \
                 shards, new chains and unclosed sessions are reported by `enclog verify \
                 --merge-state`",
                messages::file_name(path)
            ));
            (verifier.report_part(), bad)
        }
        (None, None) => {
            let mut verifier = Verifier::with_options(options);
            let bad = read_all(&mut verifier, &args.files, Opener::new(keys.keyring));
            (verifier.finish(), bad)
        }
    };
    print(&args, &report, bad_inputs, &notes)
}

/// The options of `args` (what to accept, what to add, the anchor).
fn options(args: &VerifyArgs) -> Result<VerifyOptions> {
    let mut options = VerifyOptions::default()
        .allow_open_sessions(args.allow_open)
        .allow_plain_lines(args.allow_plain)
        .strict(args.strict)
        .allow_new_chains(args.allow_new_chains);
    if let Some(path) = &args.chain {
        let name = messages::file_name(path);
        let head = ChainState::head(path)
            .with_context(|| format!("--chain {name}"))?
            .with_context(|| {
                format!(
                    "--chain {name}: there is no chain state there (a writer creates it at its \
                     first line: give the path its `encrypt --chain` or `init_file` uses)"
                )
            })?;
        options = options.anchor(head);
    }
    Ok(options)
}

/// `enclog verify --merge-state STATE…`: the shards' states merged, reported as one run.
fn merge(args: &VerifyArgs, options: VerifyOptions, state_ring: Option<Keyring>) -> Result<Status> {
    // With --state-key-file, the states open without the logs' keys: needed only if given.
    let keyring = if state_ring.is_none() || args.keys.given() {
        keys::load_keyring(&args.keys)?.keyring
    } else {
        Keyring::new()
    };
    let opening = with_state_key(&keyring, args.state.state_key.as_deref())?;
    let mut verifier = Verifier::with_options(options);
    let mut first_key = None;
    for path in &args.state.merge_state {
        let name = messages::file_name(path);
        let state = VerifyState::load(path, &opening)
            .with_context(|| format!("--merge-state {name}"))?
            .with_context(|| format!("--merge-state {name}: no such file (check the path)"))?;
        first_key = first_key.or(state.key_id());
        verifier.merge(state);
    }
    let mut notes = Vec::new();
    if let Some(path) = &args.state.save_state {
        let key = state_key(&opening, state_ring.as_ref(), first_key)?;
        verifier.state().save(path, &key).context("--save-state")?;
        notes.push(format!(
            "the merged state is in {} (merge it again with other shards' states)",
            messages::file_name(path)
        ));
    }
    print(args, &verifier.report(), 0, &notes)
}

/// `keyring` with the `--state-key-file` file's key added, if one was given: what states open with.
fn with_state_key(keyring: &Keyring, state_key: Option<&std::path::Path>) -> Result<Keyring> {
    let mut ring = keyring.clone();
    if let Some(path) = state_key {
        ring.add_file(path).context("--state-key-file")?;
    }
    Ok(ring)
}

/// The key that seals the state: `--state-key-file`'s, else the one the state was sealed with (when
/// given), else the first key or identity given.
fn state_key(
    keyring: &Keyring,
    state_ring: Option<&Keyring>,
    prefer: Option<enclog::key::KeyId>,
) -> Result<StateKey> {
    if let Some(ring) = state_ring {
        return StateKey::from_keyring(ring, None).context(
            "--state-key-file: the file holds a zato-enclog key; give an enclog key or \
                 identity (`enclog genkey`)",
        );
    }
    match StateKey::from_keyring(keyring, prefer) {
        Some(key) => Ok(key),
        None => bail!(
            "no enclog key or identity to seal the verify state with (zato-enclog keys cannot): \
             give one with --state-key-file FILE (`enclog genkey -o FILE` makes one)"
        ),
    }
}

/// Reads every file through `verifier.observe_file` (what a state knows is skipped); returns
/// how many inputs could not be read, and adds a note per file read in part.
fn read_files(
    verifier: &mut Verifier,
    files: &[PathBuf],
    opener: &mut Opener,
    notes: &mut Vec<String>,
) -> u64 {
    let mut bad_inputs = 0;
    for path in &input::files_or_stdin(files.to_vec()) {
        let input = match input::open(path) {
            Ok(input) => input,
            Err(e) => {
                messages::note(format_args!("{e:#}"));
                bad_inputs += 1;
                continue;
            }
        };
        match verifier.observe_file(&input.name, input.reader, opener) {
            Ok(read) => {
                if read.lines_skipped > 0 {
                    let was = read
                        .known_as
                        .as_deref()
                        .filter(|&was| was != input.name)
                        .map_or_else(String::new, |was| format!(" (as {was})"));
                    notes.push(format!(
                        "{}: lines 1-{} were verified by an earlier run{was}; {} new line{} read",
                        input.name,
                        read.lines_skipped,
                        read.lines_read,
                        if read.lines_read == 1 { "" } else { "s" }
                    ));
                }
                if read.partial_line_left {
                    notes.push(format!(
                        "{}: its last line has no newline yet (still being written): left to the \
                         next run",
                        input.name
                    ));
                }
            }
            Err(e) => {
                let what = input::read_failure(input.gzip);
                messages::note(format_args!(
                    "{}: {what}: {e} (the lines before were checked)",
                    input.name
                ));
                bad_inputs += 1;
            }
        }
    }
    bad_inputs
}

/// Reads every file in one run, with no state; returns how many inputs could not be read.
fn read_all(verifier: &mut Verifier, files: &[PathBuf], opener: Opener) -> u64 {
    let mut opener = Some(opener);
    let mut bad_inputs = 0u64;
    for path in &input::files_or_stdin(files.to_vec()) {
        let input = match input::open(path) {
            Ok(input) => input,
            Err(e) => {
                messages::note(format_args!("{e:#}"));
                bad_inputs += 1;
                continue;
            }
        };
        let mut reader = Decryptor::with_opener(input.reader, opener.take().expect("opener"));
        if let Err(e) = verifier.observe_all(&input.name, &mut reader) {
            let what = input::read_failure(input.gzip);
            messages::note(format_args!(
                "{}: {what}: {e} (the lines before were checked)",
                input.name
            ));
            bad_inputs += 1;
        }
        opener = Some(reader.into_opener());
    }
    bad_inputs
}

/// Prints the report; the exit status it calls for.
fn print(args: &VerifyArgs, report: &Report, bad_inputs: u64, notes: &[String]) -> Result<Status> {
    let mut out = BufWriter::new(io::stdout().lock());
    match args.output {
        Format::Text => write_text(&mut out, report, bad_inputs, notes),
        Format::Json => write_json(&mut out, report, bad_inputs),
    }
    .and_then(|()| out.flush())
    .map_err(messages::stdout_failed)?;

    Ok(if bad_inputs > 0 {
        Status::Error
    } else if report.is_clean() {
        Status::Clean
    } else {
        Status::Problems
    })
}

fn write_text(
    out: &mut impl Write,
    report: &Report,
    bad_inputs: u64,
    notes: &[String],
) -> io::Result<()> {
    // A finding under a missing key names the key only in its message: the same message, the
    // same key.
    let mut missing_keys = MissingKeys::new();
    for finding in &report.findings {
        if finding.kind == FindingKind::UnknownKey && !missing_keys.first(&finding.message) {
            continue;
        }
        writeln!(out, "{finding}")?;
    }
    for (_, lines) in missing_keys.unreported() {
        writeln!(
            out,
            "… and {} more lines under the same missing key (not listed)",
            lines - 1
        )?;
    }
    if report.findings_dropped() > 0 {
        writeln!(
            out,
            "… and {} more findings not listed (counted below)",
            report.findings_dropped()
        )?;
    }
    if report.unsequenced > 0 {
        writeln!(
            out,
            "note: {} line{} in zato-enclog's format carry no sequence numbers: deletions among \
             them cannot be seen",
            report.unsequenced,
            if report.unsequenced == 1 { "" } else { "s" }
        )?;
    }
    if report.unchecked_links > 0 {
        writeln!(
            out,
            "note: {} {} a session whose first record is missing (reported above): the link \
             could not be checked",
            report.unchecked_links,
            if report.unchecked_links == 1 {
                "session names"
            } else {
                "sessions name"
            }
        )?;
    }
    let version_1 = report.unchained_lines - report.unsequenced;
    if version_1 > 0 {
        writeln!(
            out,
            "note: {version_1} line{} of format version 1 carry no links: whole sessions deleted \
             among them cannot be seen",
            if version_1 == 1 { "" } else { "s" }
        )?;
    }
    if report.unauthenticated_text > 0 && report.count(FindingKind::UnauthenticatedText) == 0 {
        writeln!(
            out,
            "note: {} line{} have text before or after the token that is not authenticated \
             (a syslog header, a JSON wrapper, or forged words); verify with --strict to list \
             them",
            report.unauthenticated_text,
            if report.unauthenticated_text == 1 {
                ""
            } else {
                "s"
            }
        )?;
    }
    for note in notes {
        writeln!(out, "note: {note}")?;
    }
    if bad_inputs > 0 {
        // Threat: a check that read nothing passing for one that found nothing.
        let plural = if bad_inputs == 1 { "" } else { "s" };
        return writeln!(
            out,
            "FAILED: {bad_inputs} input{plural} could not be read (see standard error); of \
             what was read: {report:#}{}",
            if report.is_clean() {
                String::new()
            } else {
                format!("; {}", findings_summary(report))
            }
        );
    }
    writeln!(
        out,
        "{}: {report}",
        if report.is_clean() { "ok" } else { "FAILED" }
    )
}

/// `2 missing, 1 plain_line`: the number of findings of each kind.
fn findings_summary(report: &Report) -> String {
    FindingKind::ALL
        .iter()
        .filter(|&&kind| report.count(kind) > 0)
        .map(|&kind| format!("{} {}", report.count(kind), kind.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_json(out: &mut impl Write, report: &Report, bad_inputs: u64) -> io::Result<()> {
    for finding in &report.findings {
        output::write_json_value(out, &finding_json(finding))?;
    }
    let mut summary = Map::new();
    summary.insert("summary".into(), true.into());
    summary.insert(
        "clean".into(),
        (report.is_clean() && bad_inputs == 0).into(),
    );
    for (name, value) in [
        ("lines", report.lines),
        ("events", report.events),
        ("close_records", report.close_records),
        ("plain_lines", report.plain_lines),
        ("failed_lines", report.failed_lines),
        ("unsequenced", report.unsequenced),
        ("unauthenticated_text", report.unauthenticated_text),
        ("unchained_lines", report.unchained_lines),
        ("unchecked_links", report.unchecked_links),
        ("inputs_failed", bad_inputs),
        ("sessions", report.sessions),
        ("closed_sessions", report.closed_sessions),
        ("open_sessions", report.open_sessions),
        ("chains", report.chains),
        ("findings", report.findings_total),
        ("findings_not_listed", report.findings_dropped()),
    ] {
        summary.insert(name.into(), value.into());
    }
    output::write_json_value(out, &Value::Object(summary))
}

fn finding_json(finding: &Finding) -> Value {
    let mut map = Map::new();
    map.insert("file".into(), (*finding.at.file).into());
    map.insert("line".into(), finding.at.line.into());
    map.insert("kind".into(), finding.kind.as_str().into());
    map.insert("message".into(), finding.message.clone().into());
    map.insert(
        "session".into(),
        finding
            .session
            .map_or(Value::Null, |s| s.to_string().into()),
    );
    map.insert("seq".into(), finding.seq.map_or(Value::Null, Value::from));
    map.insert(
        "missing".into(),
        finding
            .missing
            .as_ref()
            .map_or(Value::Null, |r| Value::from(vec![*r.start(), *r.end()])),
    );
    map.insert(
        "through".into(),
        finding
            .through
            .as_ref()
            .map_or(Value::Null, |l| l.to_string().into()),
    );
    map.insert(
        "related".into(),
        finding
            .related
            .as_ref()
            .map_or(Value::Null, |l| l.to_string().into()),
    );
    Value::Object(map)
}
