//! `enclog completions SHELL` and `enclog man`: generated from the one clap definition.

use std::io::{self, Write};

use anyhow::{Context, Result};
use clap_complete::Shell;

use crate::cmd::Status;

/// Prints the completion script for `shell`.
pub(crate) fn completions(shell: Shell, mut command: clap::Command) -> Result<Status> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "enclog", &mut script);
    print(&script)
}

/// Prints the man page (roff), or with `dir` writes `enclog.1` and one page per command
/// (`enclog-decrypt.1`, …) into it.
pub(crate) fn man(command: clap::Command, dir: Option<&std::path::Path>) -> Result<Status> {
    if let Some(dir) = dir {
        clap_mangen::generate_to(command, dir)
            .with_context(|| format!("cannot write man pages to {}", dir.display()))?;
        crate::output::note(format_args!("man pages written to {}", dir.display()));
        return Ok(Status::Clean);
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .context("cannot render the man page")?;
    print(&page)
}

fn print(bytes: &[u8]) -> Result<Status> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("cannot write to standard output")?;
    Ok(Status::Clean)
}
