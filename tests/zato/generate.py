"""Writes zato-enclog 1.0.7 log fixtures with zato-enclog's own EncryptedLogFormatter.

Run through tests/zato/make-fixtures.sh (it creates the virtual environment). For each case
NAME it writes, under tests/zato/fixtures/:

  NAME.log            what zato-enclog wrote: Python logging lines whose message is
                      `enclogdata:<Fernet token>`; tracebacks and stack traces stay in clear
  NAME.expected.log   the same records through a plain logging.Formatter with the same format:
                      what decrypting NAME.log must give back, byte for byte
  NAME.messages.json  the plaintext of every token, in order (record.getMessage())

The key is fernet.key (kept across runs; created with Fernet.generate_key() the first time).
Tokens carry random IVs and the current time, so every run writes different ciphertext for the
same plaintext.
"""

import json
import linecache
import logging
import os
import pathlib
import platform
import sys
from importlib import metadata

from zato.enclog import EncryptedLogFormatter, genkey

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "fixtures"
KEY_FILE = OUT / "fernet.key"

# zato-enclog's documented setup (its _core.py `__main__` block) uses this shape of format.
ZATO_FORMAT = "%(asctime)s - %(levelname)s - %(name)s - %(message)s"


def load_or_create_key():
    if KEY_FILE.exists():
        for line in KEY_FILE.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                return line
        sys.exit(f"{KEY_FILE} holds no key line")
    key = genkey().decode("ascii")
    fd = os.open(KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(
            "# Test key of the zato-enclog fixtures: public, never use it for real logs.\n"
            "# git does not keep file modes: copy it to a 0600 file before giving it to enclog.\n"
        )
        f.write(key + "\n")
    return key


class Capture(logging.Handler):
    """Records each message before the encrypting formatter replaces it."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def write_case(name, key, fmt, body):
    """Runs body(logger) with three handlers, in this order: the plain formatter (expected
    output), the capture, and zato-enclog's EncryptedLogFormatter, which must come last because
    it rewrites record.msg and record.args."""
    logger = logging.getLogger(f"app.{name}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    plain = logging.FileHandler(OUT / f"{name}.expected.log", mode="w", encoding="utf-8")
    plain.setFormatter(logging.Formatter(fmt))
    capture = Capture()
    encrypted = logging.FileHandler(OUT / f"{name}.log", mode="w", encoding="utf-8")
    encrypted.setFormatter(EncryptedLogFormatter(key.encode("ascii"), fmt))
    for handler in (plain, capture, encrypted):
        logger.addHandler(handler)
    try:
        body(logger)
    finally:
        for handler in (plain, capture, encrypted):
            logger.removeHandler(handler)
            handler.close()
    with open(OUT / f"{name}.messages.json", "w", encoding="utf-8") as f:
        json.dump(capture.messages, f, ensure_ascii=False, indent=1)
        f.write("\n")


LONG = "".join(
    "abcdefghijklmnopqrstuvwxyz0123456789 "[(i * 7) % 37] for i in range(5000)
)


def basic(log):
    log.info("user signed in")
    log.info("user %s signed in from %s", "alice@example.com", "10.0.0.7")
    log.warning("disk %(pct)d%% full on %(host)s", {"pct": 91, "host": "web1"})
    log.info("100% literal percent, no arguments")
    log.info("Zażółć gęślą jaźń — 日本語のログ — 🔐 — Grüße")
    log.error("first line\nsecond line\n\tindented third\n\nafter a blank line")
    log.info("")
    log.debug(LONG)
    log.info(12345)
    log.info('{"user":"Jane Xi"}')
    log.critical("last %s", "line")


# The traceback comes from code that claims a fixed file name (registered in linecache), so the
# fixture does not depend on where the repository is checked out.
APP_FILE = "app/payments.py"
APP_SOURCE = '''\
def parse_amount(text):
    return int(text)


def charge(log, order, amount):
    try:
        parse_amount(amount)
    except ValueError as e:
        raise RuntimeError(f"cannot charge order {order}") from e


def run(log):
    log.info("charging %s", "ord-1")
    try:
        charge(log, "ord-1", "12,50 zł")
    except RuntimeError:
        log.exception("payment %s failed", "ord-1")
    try:
        {}["missing"]
    except KeyError:
        log.error("lookup failed: %r", "missing", exc_info=True)
    log.warning("slow request (%d ms)", 1500)
    log.info("after the tracebacks")
'''


def exception(log):
    linecache.cache[APP_FILE] = (
        len(APP_SOURCE),
        None,
        APP_SOURCE.splitlines(keepends=True),
        APP_FILE,
    )
    namespace = {}
    exec(compile(APP_SOURCE, APP_FILE, "exec"), namespace)
    namespace["run"](log)


def suffix(log):
    log.info("request %s done", "GET /health")
    log.warning("line one\nline two")
    log.info("")
    log.error("über-ünïcödé ✓")
    log.info("x" * 300)


def message_only(log):
    log.info("only the message")
    log.info("two\nlines")
    log.info("")
    log.info("%s=%d", "answer", 42)


CASES = [
    ("basic", ZATO_FORMAT, basic),
    ("exception", ZATO_FORMAT, exception),
    ("suffix", "%(levelname)s [%(name)s] %(message)s (%(funcName)s) end", suffix),
    ("message-only", "%(message)s", message_only),
]


def main():
    OUT.mkdir(exist_ok=True)
    key = load_or_create_key()
    for name, fmt, body in CASES:
        write_case(name, key, fmt, body)
    with open(OUT / "VERSIONS", "w", encoding="utf-8") as f:
        f.write(f"python {platform.python_version()}\n")
        for package in ("zato-enclog", "cryptography"):
            f.write(f"{package} {metadata.version(package)}\n")
    print(f"wrote {len(CASES)} cases to {OUT}")


if __name__ == "__main__":
    main()
