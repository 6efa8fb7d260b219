//! `enclog completions SHELL`: a completion script, generated from the one clap definition.

use anyhow::Result;
use clap::Args;
use clap_complete::Shell;

use crate::cmd::Status;
use crate::{messages, output};

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
    output::print(&script).map_err(messages::stdout_failed)?;
    Ok(Status::Clean)
}
