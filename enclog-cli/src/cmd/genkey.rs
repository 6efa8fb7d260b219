//! `enclog genkey`: a new key, to stdout or to a file only its owner can read.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use enclog::{Identity, Key};

use crate::cmd::Status;
use crate::{messages, output, secret_file};

/// Generate a new key (or, with --recipient, an identity for the public-key mode).
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  enclog genkey -o app.key          # a new key file, mode 0600; its id on stderr
  enclog genkey | pass insert -m logs/app
  enclog genkey --recipient -o identity.key > recipient.txt
                                    # public-key mode: the identity reads, the recipient writes")]
pub(crate) struct GenkeyArgs {
    /// Write the key to FILE (created with mode 0600) instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace FILE if it exists (the old key is lost, and with it the logs it sealed).
    #[arg(long, requires = "output")]
    force: bool,
    /// Generate an identity for the public-key mode instead: the secret that reads logs (keep
    /// it on reading hosts only). Its recipient, for the writers, is printed on stdout (or on
    /// stderr when the identity itself goes to stdout) and kept in a comment of the file.
    #[arg(long)]
    recipient: bool,
}

/// Runs `enclog genkey`.
pub(crate) fn run(args: GenkeyArgs) -> Result<Status> {
    if args.recipient {
        return identity(&args);
    }
    let key = Key::generate().context("cannot generate a key")?;
    let text = key.to_text();
    match &args.output {
        Some(path) => {
            secret_file::write_secret_file(path, &text, args.force)?;
            messages::note(format_args!(
                "key {} written to {} (mode 0600); keep a copy in a safe place: the logs it seals cannot be read without it",
                key.id(),
                path.display()
            ));
        }
        None => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush())
                .map_err(messages::stdout_failed_writing("the key"))?;
            messages::note(format_args!("key id {}", key.id()));
            warn_if_readers_refuse_stdout("enclog genkey -o FILE");
        }
    }
    Ok(Status::Clean)
}

/// `enclog genkey --recipient`: an identity file, and its recipient.
fn identity(args: &GenkeyArgs) -> Result<Status> {
    let identity = Identity::generate().context("cannot generate an identity")?;
    let recipient = identity.recipient();
    match &args.output {
        Some(path) => {
            secret_file::write_secret_file(path, &identity.to_file_text(), args.force)?;
            messages::note(format_args!(
                "identity {} written to {} (mode 0600): keep it on the hosts that read logs, and a copy in a safe place; give the writers the recipient printed on stdout",
                identity.id(),
                path.display()
            ));
            output::print(format!("{recipient}\n").as_bytes())
                .map_err(messages::stdout_failed_writing("the recipient"))?;
        }
        None => {
            output::print(identity.to_file_text().as_bytes())
                .map_err(messages::stdout_failed_writing("the identity"))?;
            messages::note(format_args!("recipient {recipient} (id {})", identity.id()));
            warn_if_readers_refuse_stdout("enclog genkey --recipient -o FILE");
        }
    }
    Ok(Status::Clean)
}

/// After a secret went to standard output: when that is a file readers will refuse (`enclog
/// genkey > app.key`), say so now rather than at the first `decrypt`, and how to fix it. The
/// secret was written all the same: standard output is what was asked for, and the file is
/// not ours to change. `instead`: the command that writes such a file with the right mode.
fn warn_if_readers_refuse_stdout(instead: &str) {
    let Some(loose) = secret_file::loose_stdout() else {
        return;
    };
    let (file, chmod) = match &loose.path {
        Some(path) => (
            format!("the file {}", path.display()),
            format!("`chmod 600 {}`", path.display()),
        ),
        None => ("a file".to_owned(), "`chmod 600` on it".to_owned()),
    };
    messages::note(format_args!(
        "warning: standard output is {file}, which group or others can read (mode {:04o}); \
         enclog refuses to load a key from such a file: run {chmod}, or write it with \
         `{instead}` (mode 0600)",
        loose.mode
    ));
}
