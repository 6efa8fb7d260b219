//! The `enclog` binary under test, started with a clean environment. Shared by the test
//! binaries of enclog-cli through `#[path]`, so every test runs the binary the same way.

use std::process::{Command, Output};

/// Variables that would hand `enclog` a key, or change its output, from the environment the
/// tests happen to run in (a developer's shell): every run clears them.
pub(crate) const INHERITED_VARS: [&str; 4] = [
    "ENCLOG_KEY",
    "ENCLOG_KEY_FILE",
    "ENCLOG_KEY_COMMAND",
    "NO_COLOR",
];

/// The binary with none of [`INHERITED_VARS`] set.
pub(crate) fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_enclog"));
    for var in INHERITED_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// What a run of the binary produced.
#[derive(Debug)]
#[allow(dead_code)] // not every test binary reads what the binary printed
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
}

#[allow(dead_code)]
impl Run {
    /// Reads `out`; asserts the binary exited (was not killed) and did not panic.
    pub(crate) fn checked(out: Output) -> Run {
        let run = Run {
            code: out
                .status
                .code()
                .unwrap_or_else(|| panic!("enclog was killed: {:?}", out.status)),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(
            !run.stderr.contains("panicked"),
            "enclog panicked: {}",
            run.stderr
        );
        run
    }

    pub(crate) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}
