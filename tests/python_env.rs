//! The Python environments of the tests, each a venv created once under target/ by a script
//! of scripts/: the real zato-enclog 1.0.7 and `cryptography` (`scripts/zato-venv.sh`), DuckDB
//! (`scripts/duckdb-venv.sh`), and Dask distributed for `examples/verify_archive.py`
//! (`scripts/dask-venv.sh`). Shared by the test binaries through `#[path]`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The zato venv's python: `ENCLOG_ZATO_PYTHON` if set, else the one `scripts/zato-venv.sh`
/// creates (once, under target/) from PyPI. A failure to create it fails the test: it must
/// run in CI.
#[allow(dead_code)] // not every test binary uses every venv
pub(crate) fn zato_python() -> PathBuf {
    venv_python(
        "ENCLOG_ZATO_PYTHON",
        "zato-venv.sh",
        "it installs the real zato-enclog 1.0.7 from PyPI into target/zato-venv",
    )
}

/// The DuckDB venv's python: `ENCLOG_DUCKDB_PYTHON` if set, else the one
/// `scripts/duckdb-venv.sh` creates (once, under target/) from PyPI.
#[allow(dead_code)] // only the pipeline tests query DuckDB
pub(crate) fn duckdb_python() -> PathBuf {
    venv_python(
        "ENCLOG_DUCKDB_PYTHON",
        "duckdb-venv.sh",
        "it installs duckdb from PyPI into target/duckdb-venv",
    )
}

/// The python of the venv with Dask distributed: `ENCLOG_DASK_PYTHON` if set, else the one
/// `scripts/dask-venv.sh` creates (once, under target/) from PyPI.
#[allow(dead_code)] // only the pipeline tests run Dask
pub(crate) fn dask_python() -> PathBuf {
    venv_python(
        "ENCLOG_DASK_PYTHON",
        "dask-venv.sh",
        "it installs dask[distributed] from PyPI into target/dask-venv",
    )
}

/// The python named by `var`, else the one `script` (in scripts/) prints after creating its
/// venv; `what` says what the script does, for its failure message.
fn venv_python(var: &str, script: &str, what: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(script);
    let out = Command::new("sh")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("run scripts/{script}: {e}"));
    assert!(
        out.status.success(),
        "scripts/{script} failed ({what}; needs python3 with venv and pip):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).expect("a path").trim())
}
