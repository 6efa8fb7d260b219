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
exec "$(dirname "$0")/pip-venv.sh" duckdb "duckdb==2.0.0" duckdb ${ENCLOG_DUCKDB_VENV:+"$ENCLOG_DUCKDB_VENV"}
