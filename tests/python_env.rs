//! The Python environment of the tests: a venv with the real zato-enclog 1.0.7 and
//! `cryptography`, created once under target/ by `scripts/zato-venv.sh`. Shared by the test
//! binaries through `#[path]`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's python: `ENCLOG_ZATO_PYTHON` if set, else the one `scripts/zato-venv.sh` creates
/// (once, under target/) from PyPI. A failure to create it fails the test: it must run in CI.
pub(crate) fn zato_python() -> PathBuf {
    if let Some(path) = std::env::var_os("ENCLOG_ZATO_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/zato-venv.sh");
    let out = Command::new("sh")
        .arg(&script)
        .output()
        .expect("run scripts/zato-venv.sh");
    assert!(
        out.status.success(),
        "scripts/zato-venv.sh failed (it installs the real zato-enclog 1.0.7 from PyPI into \
         target/zato-venv; needs python3 with venv and pip):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).expect("a path").trim())
}
