//! `enclog man`: the man pages, generated from the one clap definition.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::cmd::Status;
use crate::{messages, output};

/// Print the man page (roff).
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  enclog man > enclog.1 && man ./enclog.1
  enclog man --dir ~/.local/share/man/man1     # enclog.1 and enclog-COMMAND.1 for each command")]
pub(crate) struct ManArgs {
    /// Write enclog.1 and one page per command (enclog-decrypt.1, …) into DIR instead.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Runs `enclog man`: prints the man page of `command`, or with `--dir` writes `enclog.1` and
/// one page per command (`enclog-decrypt.1`, …) into the folder.
pub(crate) fn run(args: ManArgs, command: clap::Command) -> Result<Status> {
    // `enclog help` gets no page of its own (`generate_to` leaves it out), so no page may list
    // it: the single page is rendered without it too, and is then the `enclog.1` of `--dir`.
    let command = command.disable_help_subcommand(true);
    if let Some(dir) = &args.dir {
        clap_mangen::generate_to(command, dir)
            .with_context(|| format!("cannot write man pages to {}", dir.display()))?;
        messages::note(format_args!("man pages written to {}", dir.display()));
        return Ok(Status::Clean);
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .context("cannot render the man page")?;
    output::print(&page).map_err(messages::stdout_failed)?;
    Ok(Status::Clean)
}
