//! The command line: `enclog` and its subcommands, one clap definition from which `--help`,
//! the completion scripts and the man pages are all generated. Each subcommand's arguments,
//! help and examples live together in its file under `cmd/`.

use std::sync::LazyLock;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::cmd;

const MAIN_HELP: &str = "\
Start with `enclog demo`.

Exit status:
  0  success (tailf: stopped by Ctrl-C, having reported bad lines as they came)
  1  some lines did not decrypt (decrypt), verify found problems, encrypt
     split a line longer than --max-line, or grep found no event
  2  usage, input/output or key error (missing file, bad key, ...); grep: also
     a line it looked at did not decrypt";

/// `--version`: the program's version and the line format it writes.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} (writes enclog line format v{})",
        env!("CARGO_PKG_VERSION"),
        enclog::format::FORMAT_VERSION
    )
});

/// Encrypted logs: every event sealed as one line that only a key holder can read.
#[derive(Parser, Debug)]
#[command(
    name = "enclog",
    after_help = MAIN_HELP,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

// The variants carry no doc comment: clap would show it instead of the one-line help written
// on each command's arguments.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    Genkey(cmd::genkey::GenkeyArgs),
    Recipient(cmd::recipient::RecipientArgs),
    Decrypt(cmd::decrypt::DecryptArgs),
    Tailf(cmd::tailf::TailfArgs),
    Verify(cmd::verify::VerifyArgs),
    Encrypt(cmd::encrypt::EncryptArgs),
    Index(cmd::index::IndexArgs),
    Grep(cmd::grep::GrepArgs),
    Demo(cmd::demo::DemoArgs),
    Completions(cmd::completions::CompletionsArgs),
    Man(cmd::man::ManArgs),
}

/// The whole definition, with the version line (`completions` and `man` generate from it).
pub(crate) fn command() -> clap::Command {
    Cli::command().version(VERSION.as_str())
}

/// Parses the command line; a usage error, `--help` or `--version` ends the program here.
pub(crate) fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}
