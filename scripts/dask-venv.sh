#!/bin/sh
# Creates (once) a Python virtual environment holding Dask distributed from PyPI and prints the
# path of its python on stdout, for examples/verify_archive.py and its test
# (tests/pipelines/verify_archive.rs). Used by scripts/test.sh and by the test itself:
#
#   ENCLOG_DASK_PYTHON="$(scripts/dask-venv.sh)" && export ENCLOG_DASK_PYTHON
#
# A venv of its own (not zato-venv's): zato-enclog's is pinned to what that old package needs.
# The version is pinned so that CI runs what was tested.
#
# Environment: ENCLOG_DASK_VENV (default: target/dask-venv under the repository root),
# PYTHON (default: python3).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${ENCLOG_DASK_VENV:-$root/target/dask-venv}
python=${PYTHON:-python3}
version=2026.8.0
stamp="$venv/.enclog-dask-$version"

mkdir -p "$(dirname "$venv")"
# Tests run in parallel processes and may all call this at once: one creates, the others wait.
exec 9>"$venv.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ ! -f "$stamp" ]; then
    rm -rf "$venv"
    echo "dask-venv: creating $venv (dask[distributed] $version from PyPI, for examples/verify_archive.py)" >&2
    log="$venv.log"
    if ! {
        "$python" -m venv "$venv" &&
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "dask[distributed]==$version" &&
        "$venv/bin/python" -c 'import dask.distributed'
    } >"$log" 2>&1; then
        cat "$log" >&2
        echo "dask-venv: failed; see above (needs python3 with venv and pip, and PyPI)" >&2
        exit 1
    fi
    touch "$stamp"
fi
echo "$venv/bin/python"
