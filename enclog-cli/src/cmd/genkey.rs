//! `enclog genkey`: a new key, to stdout or to a file only its owner can read.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use enclog::Key;

use crate::cmd::Status;
use crate::output;

/// Arguments of `enclog genkey`.
#[derive(Args, Debug)]
pub(crate) struct GenkeyArgs {
    /// Write the key to FILE (created with mode 0600) instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace FILE if it exists (the old key is lost, and with it the logs it sealed).
    #[arg(long, requires = "output")]
    force: bool,
}

/// Runs `enclog genkey`.
pub(crate) fn run(args: GenkeyArgs) -> Result<Status> {
    let key = Key::generate().context("cannot generate a key")?;
    let text = key.to_text();
    match &args.output {
        Some(path) => {
            enclog::write_secret_file(path, &text, args.force)?;
            output::note(format_args!(
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
                .context("cannot write the key to standard output")?;
            output::note(format_args!("key id {}", key.id()));
        }
    }
    Ok(Status::Clean)
}
