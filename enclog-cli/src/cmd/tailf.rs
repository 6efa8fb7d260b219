//! `enclog tailf`: the last lines decrypted, then follow the file like `tail -F`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::cmd::Status;
use crate::keys::ReaderKeys;
use crate::output::ColorChoice;

/// Arguments of `enclog tailf`.
#[derive(Args, Debug)]
pub(crate) struct TailfArgs {
    /// The log file to follow.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    keys: ReaderKeys,
    /// Print the last N lines before following.
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 10)]
    lines: u64,
    /// Print the whole file before following.
    #[arg(long, conflicts_with = "lines")]
    from_start: bool,
    /// Poll the file instead of waiting for file system notifications (network file systems).
    #[arg(long)]
    poll: bool,
}

/// Runs `enclog tailf`.
pub(crate) fn run(args: TailfArgs, color: ColorChoice) -> Result<Status> {
    let _ = (args, color);
    anyhow::bail!("tailf: not wired yet")
}
