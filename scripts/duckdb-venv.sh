#!/bin/sh
# Creates (once) a Python virtual environment holding DuckDB from PyPI and prints the path of
# its python on stdout. Used by the pipeline test that loads field-sealed logs into a real
# query engine (tests/pipelines/duckdb.rs) and by scripts/test.sh:
#
#   ENCLOG_DUCKDB_PYTHON="$(scripts/duckdb-venv.sh)" && export ENCLOG_DUCKDB_PYTHON
#
# The version is pinned so that every machine queries with the same engine.
#
# Environment: ENCLOG_DUCKDB_VENV (default: target/duckdb-venv under the repository root),
# PYTHON (default: python3).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${ENCLOG_DUCKDB_VENV:-$root/target/duckdb-venv}
python=${PYTHON:-python3}
version=2.0.0
stamp="$venv/.enclog-duckdb-$version"

mkdir -p "$(dirname "$venv")"
# Tests run in parallel processes and may all call this at once: one creates, the others wait.
exec 9>"$venv.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ ! -f "$stamp" ]; then
    rm -rf "$venv"
    echo "duckdb-venv: creating $venv (duckdb $version from PyPI, for the pipeline tests)" >&2
    log="$venv.log"
    if ! {
        "$python" -m venv "$venv" &&
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "duckdb==$version" &&
        "$venv/bin/python" -c 'import duckdb'
    } >"$log" 2>&1; then
        cat "$log" >&2
        echo "duckdb-venv: failed; see above (needs python3 with venv and pip, and PyPI)" >&2
        exit 1
    fi
    touch "$stamp"
fi
echo "$venv/bin/python"
