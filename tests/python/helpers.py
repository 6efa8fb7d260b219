"""Helpers of the Python suite: running the real `enclog` binary and child Pythons."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def target_dir():
    out = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return Path(json.loads(out)["target_directory"])


def enclog_bin():
    """ENCLOG_BIN if set, else `cargo build -p enclog-cli` (a no-op when it is built)."""
    if os.environ.get("ENCLOG_BIN"):
        return os.environ["ENCLOG_BIN"]
    subprocess.run(["cargo", "build", "--quiet", "-p", "enclog-cli"], cwd=ROOT, check=True)
    return str(target_dir() / "debug" / "enclog")


def zato_python():
    """ENCLOG_ZATO_PYTHON if set, else the venv scripts/zato-venv.sh creates once."""
    if os.environ.get("ENCLOG_ZATO_PYTHON"):
        return os.environ["ENCLOG_ZATO_PYTHON"]
    out = subprocess.run(["sh", str(ROOT / "scripts" / "zato-venv.sh")], check=True,
                         capture_output=True, text=True).stdout
    return out.strip()


def write_secret(path, text):
    """A key file as `enclog genkey -o` writes it: the key and a newline, mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


def enclog(*args, input=None, check=None):
    """Runs the `enclog` binary; `check` is the exit status expected (None: any)."""
    result = subprocess.run([enclog_bin_cached(), *map(str, args)], input=input,
                            capture_output=True)
    if check is not None:
        assert result.returncode == check, (
            "enclog %s: exit %d\n%s" % (" ".join(map(str, args)), result.returncode,
                                        result.stderr.decode(errors="replace")))
    return result


_bin = None


def enclog_bin_cached():
    global _bin
    if _bin is None:
        _bin = enclog_bin()
    return _bin


def decrypt(key_file, *logs):
    """`enclog decrypt`'s output (exit 0 required), as text."""
    return enclog("decrypt", "--key-file", key_file, *logs, check=0).stdout.decode()


def decrypt_json(key_file, *logs):
    """`enclog decrypt --output json`: one dict per line."""
    out = enclog("decrypt", "--key-file", key_file, "--output", "json", *logs).stdout
    return [json.loads(line) for line in out.decode().splitlines()]


def verify(key_file, *args):
    return enclog("verify", "--key-file", key_file, *args)


def run_python(code, *, env=None, check=True):
    """Runs `code` in a child of this python (so that it exits, forks or runs atexit as a
    program does)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    result = subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True,
                            text=True)
    if check:
        assert result.returncode == 0, result.stderr
    return result
