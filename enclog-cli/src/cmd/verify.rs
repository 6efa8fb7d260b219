//! `enclog verify`: nothing deleted, duplicated, reordered, altered or cut off.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::cmd::Status;
use crate::keys::ReaderKeys;
use crate::output::Format;

/// Arguments of `enclog verify`.
#[derive(Args, Debug)]
pub(crate) struct VerifyArgs {
    /// Log files to check, oldest first (gzip files too); none or `-` reads standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    keys: ReaderKeys,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    output: Format,
    /// Accept a last session without its close record (a log still being written).
    #[arg(long)]
    allow_open: bool,
}

/// Runs `enclog verify`.
pub(crate) fn run(args: VerifyArgs) -> Result<Status> {
    let _ = args;
    anyhow::bail!("verify: not wired yet")
}
