//! `enclog recipient`: the recipient (public key) of an identity file, for the writers.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use enclog::Identity;

use crate::cmd::Status;
use crate::{messages, output};

/// Print the recipient (public key) of an identity file, for the writers.
#[derive(Args, Debug)]
#[command(after_help = "\
Example:
  enclog recipient identity.key     # ENCLOG-RECIPIENT-1-…: give it to writers (public)

Exit status: 0 success; 2 usage, I/O or key error.")]
pub(crate) struct RecipientArgs {
    /// The identity file (as written by `enclog genkey --recipient -o FILE`).
    #[arg(value_name = "IDENTITY_FILE")]
    identity: PathBuf,
}

/// Runs `enclog recipient`: prints the recipient of an identity file.
pub(crate) fn run(args: RecipientArgs) -> Result<Status> {
    let identity = Identity::from_file(&args.identity)?;
    output::print(format!("{}\n", identity.recipient()).as_bytes())
        .map_err(messages::stdout_failed_writing("the recipient"))?;
    Ok(Status::Clean)
}
