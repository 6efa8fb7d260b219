//! The `enclog` command: generate keys; decrypt, follow and verify enclog logs; encrypt the
//! output of programs in any language. A thin layer over the `enclog` library.

mod cli;
mod cmd;
mod input;
mod keys;
mod messages;
mod output;
mod secret_file;
mod unwrap;

use std::process::ExitCode;

use crate::cli::Command;
use crate::cmd::Status;

/// Threat: a crash of `enclog`, which holds keys and plaintext while it runs, writing both into
/// a core file. Core dumps are turned off for this process only (`RLIMIT_CORE` = 0).
fn disable_core_dumps() {
    #[cfg(unix)]
    {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `setrlimit` only reads the `rlimit` behind the pointer, a live local value.
        #[allow(unsafe_code)]
        let _ = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
    }
}

fn main() -> ExitCode {
    disable_core_dumps();
    let result = match cli::parse().command {
        Command::Genkey(args) => cmd::genkey::run(args),
        Command::Recipient(args) => cmd::recipient::run(args),
        Command::Decrypt(args) => cmd::decrypt::run(args),
        Command::Tailf(args) => cmd::tailf::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Encrypt(args) => cmd::encrypt::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Completions(args) => cmd::completions::run(args, cli::command()),
        Command::Man(args) => cmd::man::run(args, cli::command()),
    };
    match result {
        Ok(status) => status.into(),
        // The reader of our output went away (`enclog decrypt big.log | head`): done.
        Err(err) if messages::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            messages::note(format_args!("{err:#}"));
            Status::Error.into()
        }
    }
}
