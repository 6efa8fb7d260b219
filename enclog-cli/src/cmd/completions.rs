//! `enclog completions SHELL`: a completion script, generated from the one clap definition.

use std::io::{self, Write};

use anyhow::{Context, Result};
use clap::Args;
use clap_complete::Shell;

use crate::cmd::Status;

/// Print a shell completion script.
#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  enclog completions bash > ~/.local/share/bash-completion/completions/enclog
  enclog completions zsh > ~/.zfunc/_enclog")]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
}

/// Runs `enclog completions`: prints the script for the shell asked, completing `command`.
pub(crate) fn run(args: CompletionsArgs, mut command: clap::Command) -> Result<Status> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "enclog", &mut script);
    let mut out = io::stdout().lock();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .context("cannot write to standard output")?;
    Ok(Status::Clean)
}
