#!/usr/bin/env bash
# The whole test suite: the command README.md gives a newcomer, and what .ci/run runs.
#
# Needs the Rust toolchain, cargo-nextest, Python 3 with pip, and network access to the package
# registries. It installs what the tests need beyond that:
#   - rsyslog and logrotate (Debian packages) for the pipeline tests, with apt-get (as root, or
#     through sudo);
#   - a Python venv under target/ with the real zato-enclog 1.0.7 and `cryptography`
#     (scripts/zato-venv.sh; the tests would create it on first use, this does it up front);
#   - a Python venv under target/ with DuckDB, the query engine of the field-sealed log
#     pipeline test (scripts/duckdb-venv.sh; likewise);
#   - another with Dask distributed, for examples/verify_archive.py (scripts/dask-venv.sh);
#   - another with pytest and the Python package built from enclog-py/
#     (scripts/python-venv.sh: `pip install ./enclog-py`, as the README tells users), for the
#     pytest suite in tests/python/.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test.sh: cargo-nextest is missing; install it with: cargo install --locked cargo-nextest" >&2
  exit 2
fi

missing=""
if ! command -v rsyslogd >/dev/null 2>&1 && [ ! -x /usr/sbin/rsyslogd ]; then
  missing="$missing rsyslog"
fi
if ! command -v logrotate >/dev/null 2>&1 && [ ! -x /usr/sbin/logrotate ]; then
  missing="$missing logrotate"
fi
if [ -n "$missing" ]; then
  echo "test.sh: installing Debian's$missing for the pipeline tests" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
zato_python=$(scripts/zato-venv.sh)
scripts/duckdb-venv.sh >/dev/null
scripts/dask-venv.sh >/dev/null
python=$(scripts/python-venv.sh)

cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc

# The Python package against the real `enclog` binary (built above) and zato-enclog.
cargo build --quiet -p enclog-cli
target_dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' \
  <<<"$(cargo metadata --format-version 1 --no-deps)")
ENCLOG_BIN="$target_dir/debug/enclog" ENCLOG_ZATO_PYTHON="$zato_python" \
  "$python" -m pytest tests/python
