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
///
/// On Linux the process is also made non-dumpable (`PR_SET_DUMPABLE` = 0), which a core limit
/// does not do: other processes of the same user can then no longer attach to it with ptrace
/// or read its memory and environment (`/proc/PID/mem`, `/proc/PID/environ`, where a key is
/// while enclog runs), and a core handler piping to a program (`core_pattern` = `|…`), which
/// ignores `RLIMIT_CORE`, gets no dump.
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
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `prctl(PR_SET_DUMPABLE, 0)` takes integer arguments only and changes a flag
        // of this process; no memory is passed.
        #[allow(unsafe_code)]
        let _ = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong) };
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
        Command::Index(args) => cmd::index::run(args),
        Command::Grep(args) => cmd::grep::run(args),
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
