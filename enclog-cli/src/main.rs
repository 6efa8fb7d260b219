//! The `enclog` command: generate keys; decrypt, follow and verify enclog logs; encrypt the
//! output of programs in any language. A thin layer over the `enclog` library.

mod cmd;
mod input;
mod keys;
mod output;
mod secret_file;
mod unwrap;

use std::process::ExitCode;
use std::sync::LazyLock;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::cmd::Status;

const MAIN_HELP: &str = "\
Start with `enclog demo`.

Exit status:
  0  success (tailf: stopped by Ctrl-C, having reported bad lines as they came)
  1  some lines did not decrypt (decrypt), or verify found problems
  2  usage, input/output or key error (missing file, bad key, ...)";

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
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a new key (or, with --recipient, an identity for the public-key mode).
    #[command(after_help = "\
Examples:
  enclog genkey -o app.key          # a new key file, mode 0600; its id on stderr
  enclog genkey | pass insert -m logs/app
  enclog genkey --recipient -o identity.key > recipient.txt
                                    # public-key mode: the identity reads, the recipient writes")]
    Genkey(cmd::genkey::GenkeyArgs),

    /// Print the recipient (public key) of an identity file, for the writers.
    #[command(after_help = "\
Example:
  enclog recipient identity.key     # ENCLOG-RECIPIENT-1-…: give it to writers (public)

Exit status: 0 success; 2 usage, I/O or key error.")]
    Recipient(cmd::genkey::RecipientArgs),

    /// Decrypt logs: each token replaced by its plaintext, other text kept.
    #[command(after_help = DECRYPT_HELP)]
    Decrypt(cmd::decrypt::DecryptArgs),

    /// Print the last lines of a log decrypted, then follow it (like `tail -F`).
    #[command(after_help = TAILF_HELP)]
    Tailf(cmd::tailf::TailfArgs),

    /// Check that nothing was deleted, duplicated, reordered, altered or cut off.
    #[command(after_help = VERIFY_HELP)]
    Verify(cmd::verify::VerifyArgs),

    /// Encrypt lines read on standard input, one sealed line each, live.
    #[command(after_help = ENCRYPT_HELP)]
    Encrypt(cmd::encrypt::EncryptArgs),

    /// Show what enclog does, with a throwaway key (no setup needed).
    #[command(after_help = "Example:\n  enclog demo")]
    Demo(output::ColorOption),

    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  enclog completions bash > ~/.local/share/bash-completion/completions/enclog
  enclog completions zsh > ~/.zfunc/_enclog")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff).
    #[command(after_help = "\
Examples:
  enclog man > enclog.1 && man ./enclog.1
  enclog man --dir ~/.local/share/man/man1     # enclog.1 and enclog-COMMAND.1 for each command")]
    Man {
        /// Write enclog.1 and one page per command (enclog-decrypt.1, …) into DIR instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

const DECRYPT_HELP: &str = "\
Examples:
  enclog decrypt --key-file app.key app.log
  enclog decrypt --keyring keys --color always --escape always app.log.1.gz app.log | less -R
  journalctl -u app -o cat | ENCLOG_KEY_FILE=app.key enclog decrypt
  enclog decrypt --key-command 'pass show logs/app' --output json app.log | jq .
  enclog decrypt --unwrap --key-file app.key /var/lib/docker/containers/*/*-json.log

Lines without a token pass through unchanged; gzip files are read transparently.
A line that does not decrypt is reported on stderr as FILE:LINE: reason, and the
others still come out (exit status 1 at the end; --strict stops at the first).

Keys are read from --key-file / --keyring / --key-command, else ENCLOG_KEY_FILE,
ENCLOG_KEY, ENCLOG_KEY_COMMAND, else a hidden prompt on a terminal; never argv.

Exit status: 0 all lines fine; 1 some lines did not decrypt; 2 usage, I/O or key error.";

const TAILF_HELP: &str = "\
Examples:
  enclog tailf --key-file app.key /var/log/app.log
  enclog tailf --keyring /etc/enclog/keys -n 100 /var/log/app.log

Survives rotation (rename and create, copy and truncate, delete and recreate).
With --keyring, a key added to the folder while following is picked up.
Ctrl-C stops (exit status 0).

Exit status: 0 stopped by Ctrl-C; 2 usage, I/O or key error.";

const VERIFY_HELP: &str = "\
Examples:
  enclog verify --key-file app.key app.log
  enclog verify --keyring keys/ app.log.2.gz app.log.1 app.log   # oldest first
  enclog verify --allow-open --key-file app.key /var/log/app.log  # a log still written to

Reports each finding as FILE:LINE: kind: message, then a summary line.

Exit status: 0 clean; 1 problems found; 2 usage, I/O or key error.";

const ENCRYPT_HELP: &str = "\
Examples:
  legacy-app 2>&1 | enclog encrypt --key-file app.key >> app.log
  legacy-app 2>&1 | enclog encrypt --key-file app.key -o app.log

Each input line becomes one sealed line as soon as it is read; a session close
record is written at the end of input. `enclog decrypt` gives the lines back
byte for byte (a trailing \\r is data and is kept). Reading a pipe, Ctrl-C is
ignored: encrypt stops when its input ends, so what the program logs while
shutting down is still sealed and the session is closed cleanly.

Exit status: 0 success; 2 usage, I/O or key error.";

fn command() -> clap::Command {
    Cli::command().version(VERSION.as_str())
}

/// Threat: a crash of `enclog`, which holds keys and plaintext while it runs, writing both into
/// a core file. Core dumps are turned off for this process only (`RLIMIT_CORE` = 0).
fn disable_core_dumps() {
    #[cfg(unix)]
    {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `setrlimit` only reads the `rlimit` behind the pointer, a live local value.
        #[allow(unsafe_code)]
        let _ = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
    }
}

fn main() -> ExitCode {
    disable_core_dumps();
    let matches = command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Genkey(args) => cmd::genkey::run(args),
        Command::Recipient(args) => cmd::genkey::recipient(args),
        Command::Decrypt(args) => cmd::decrypt::run(args),
        Command::Tailf(args) => cmd::tailf::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Encrypt(args) => cmd::encrypt::run(args),
        Command::Demo(args) => cmd::demo::run(args.color),
        Command::Completions { shell } => cmd::completions::completions(shell, command()),
        Command::Man { dir } => cmd::completions::man(command(), dir.as_deref()),
    };
    match result {
        Ok(status) => status.into(),
        // The reader of our output went away (`enclog decrypt big.log | head`): done.
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            output::note(format_args!("{err:#}"));
            Status::Error.into()
        }
    }
}
