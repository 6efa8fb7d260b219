//! One module per subcommand: its arguments, its help and examples, and what it does.

pub(crate) mod completions;
pub(crate) mod decrypt;
pub(crate) mod demo;
pub(crate) mod encrypt;
pub(crate) mod genkey;
pub(crate) mod grep;
pub(crate) mod index;
pub(crate) mod man;
pub(crate) mod recipient;
pub(crate) mod tailf;
pub(crate) mod verify;

use std::process::ExitCode;
use std::time::Duration;

/// How a command ended, as an exit status (documented in `--help`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// 0: everything was fine.
    Clean,
    /// 1: some lines did not decrypt, `verify` found problems, or `grep` found nothing.
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

/// A duration option (`encrypt --rotate-after`, `tailf --grace`): a number with a unit (`ms`,
/// `s`, `m`, `h`), e.g. `500ms`, `90s` or `15m`.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit: write e.g. 30s, 15m or 1h"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number: write e.g. 30s, 15m or 1h"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{text}`: use ms, s, m or h"
            ));
        }
    };
    if duration.is_zero() {
        return Err("the duration must be more than zero".into());
    }
    Ok(duration)
}
