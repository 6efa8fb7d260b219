//! One module per subcommand: its arguments, its help and examples, and what it does.

pub(crate) mod completions;
pub(crate) mod decrypt;
pub(crate) mod demo;
pub(crate) mod encrypt;
pub(crate) mod genkey;
pub(crate) mod man;
pub(crate) mod recipient;
pub(crate) mod tailf;
pub(crate) mod verify;

use std::process::ExitCode;

/// How a command ended, as an exit status (documented in `--help`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// 0: everything was fine.
    Clean,
    /// 1: some lines did not decrypt, or `verify` found problems.
    Problems,
    /// 2: a usage, input/output or key error.
    Error,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        match status {
            Status::Clean => ExitCode::SUCCESS,
            Status::Problems => ExitCode::from(1),
            Status::Error => ExitCode::from(2),
        }
    }
}
