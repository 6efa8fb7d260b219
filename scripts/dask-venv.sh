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
exec "$(dirname "$0")/pip-venv.sh" dask "dask[distributed]==2026.8.0" dask.distributed ${ENCLOG_DASK_VENV:+"$ENCLOG_DASK_VENV"}
