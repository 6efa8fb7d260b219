//! The Python environments of the tests, each a venv created once under target/ by a script:
//! the real zato-enclog 1.0.7 and `cryptography` (`scripts/zato-venv.sh`), and Dask distributed
//! for `examples/verify_archive.py` (`scripts/dask-venv.sh`). Shared by the test binaries
//! through `#[path]`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's python: `ENCLOG_ZATO_PYTHON` if set, else the one `scripts/zato-venv.sh` creates
/// (once, under target/) from PyPI. A failure to create it fails the test: it must run in CI.
#[allow(dead_code)] // not every test binary uses both venvs
pub(crate) fn zato_python() -> PathBuf {
    venv_python(
        "ENCLOG_ZATO_PYTHON",
        "zato-venv.sh",
        "the real zato-enclog 1.0.7 from PyPI into target/zato-venv",
    )
}

/// The python of the venv with Dask distributed: `ENCLOG_DASK_PYTHON` if set, else the one
/// `scripts/dask-venv.sh` creates (once, under target/) from PyPI.
#[allow(dead_code)] // not every test binary uses both venvs
pub(crate) fn dask_python() -> PathBuf {
    venv_python(
        "ENCLOG_DASK_PYTHON",
        "dask-venv.sh",
        "dask[distributed] from PyPI into target/dask-venv",
    )
}

fn venv_python(var: &str, script: &str, what: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(script);
    let out = Command::new("sh")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed (it installs {what}; needs python3 with venv and pip):\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).expect("a path").trim())
}
