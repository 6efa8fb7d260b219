"""Fixtures of the Python suite: the real `enclog` binary, the zato-enclog venv, a private
chain state folder per test, and loggers that leave no handler behind."""

import itertools
import logging

import pytest

import helpers


@pytest.fixture(scope="session")
def enclog_bin():
    """The `enclog` command built from this workspace (ENCLOG_BIN, or built with cargo)."""
    return helpers.enclog_bin()


@pytest.fixture(scope="session")
def zato_python():
    """The python of the venv holding the real zato-enclog 1.0.7 (scripts/zato-venv.sh)."""
    return helpers.zato_python()


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    """Chain state files go to the test's own folder, never to ~/.local/state or /var/lib."""
    path = tmp_path / "state"
    monkeypatch.setenv("ENCLOG_STATE_DIR", str(path))
    return path


_names = itertools.count()


@pytest.fixture
def logger():
    """A logger of its own (not propagating to the root), at DEBUG; its handlers are closed
    and removed after the test."""
    log = logging.getLogger("enclog-test.%d" % next(_names))
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log
    for handler in list(log.handlers):
        handler.close()
        log.removeHandler(handler)


@pytest.fixture
def key_file(tmp_path):
    """A fresh symmetric key and its key file (mode 0600), as `enclog genkey -o` writes it."""
    import enclog

    key = enclog.Key.generate()
    path = tmp_path / "app.key"
    helpers.write_secret(path, key.to_text())
    return key, path
