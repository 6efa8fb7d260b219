//! The `enclog` binary under test, started with a clean environment. Shared by the test
//! binaries of enclog-cli through `#[path]`, so every test runs the binary the same way.

use std::process::Command;

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
