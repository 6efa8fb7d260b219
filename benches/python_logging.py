"""Python `logging` through enclog against the same logging plain, and against zato-enclog.

    python="$(scripts/python-venv.sh)"          # builds the wheel (release) into target/
    "$python" benches/python_logging.py [--rounds 41] [--records 5000]

Runs in one process, in alternating rounds (the order of the variants rotates each round): each
variant logs the same records through a logger of its own to a `FileHandler` on /dev/null
(real `write` system calls, one per record, as `FileHandler` flushes each; no disk filling up),
timed in CPU time of the logging thread (`time.thread_time`: time descheduled by other work on
the machine is not counted; the system calls are). Prints, per variant, the median cost per
record and events/s, and the median of the per-round ratios with the lowest and highest round.

Variants (format `%(asctime)s %(levelname)s %(name)s: %(message)s` unless `--format`):
  plain             logging.Formatter                              the baseline
  EncryptedFormatter  enclog.EncryptedFormatter(key, Formatter)    target: <= x1.15 of plain
  init_file handler enclog.EncryptedFileHandler (init_file's)      its own file writer
  drop-in, enclog key  enclog.EncryptedLogFormatter(key, fmt)       v2 lines
  drop-in, Fernet   enclog.EncryptedLogFormatter(fernet_key, fmt)  zato-enclog's lines
  zato-enclog       zato.enclog.EncryptedLogFormatter(fernet_key, fmt), 1.0.7, from the venv
                    scripts/zato-venv.sh makes (same CPython; its site-packages are added)
                    target: EncryptedFormatter >= x1.8 its events/s
"""

import argparse
import gc
import logging
import os
import platform
import site
import statistics
import subprocess
import sys
import time
from pathlib import Path

import enclog

ROOT = Path(__file__).resolve().parents[1]
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def zato_formatter_class():
    """zato-enclog's formatter, from its venv (pure Python over `cryptography`)."""
    python = os.environ.get("ENCLOG_ZATO_PYTHON") or subprocess.run(
        ["sh", str(ROOT / "scripts" / "zato-venv.sh")], check=True, capture_output=True,
        text=True).stdout.strip()
    info = subprocess.run(
        [python, "-c", "import sys, sysconfig; print(sys.version_info[:2]); "
                       "print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.splitlines()
    if info[0] != str(sys.version_info[:2]):
        sys.exit("the zato venv runs Python %s, this one %s: make both from one python3"
                 % (info[0], sys.version_info[:2]))
    site.addsitedir(info[1])  # processes its .pth files: zato's namespace package
    from zato.enclog import EncryptedLogFormatter

    return EncryptedLogFormatter


def variants(fmt):
    key = enclog.Key.generate()
    fernet = enclog.FernetKey.generate()
    zato = zato_formatter_class()

    def file_handler(formatter):
        handler = logging.FileHandler(os.devnull)
        handler.setFormatter(formatter)
        return handler

    return {
        "plain": lambda: file_handler(logging.Formatter(fmt)),
        "EncryptedFormatter": lambda: file_handler(
            enclog.EncryptedFormatter(key, logging.Formatter(fmt))),
        "init_file handler": lambda: enclog.EncryptedFileHandler(
            os.devnull, key, formatter=logging.Formatter(fmt), chain_state=False),
        "drop-in, enclog key": lambda: file_handler(enclog.EncryptedLogFormatter(key, fmt)),
        "drop-in, Fernet": lambda: file_handler(
            enclog.EncryptedLogFormatter(fernet.to_text().encode(), fmt)),
        "zato-enclog": lambda: file_handler(zato(fernet.to_text().encode(), fmt)),
    }


def run(name, make_handler, records, round_no):
    """CPU seconds of this thread for `records` records through a fresh handler."""
    log = logging.getLogger("bench.%s.%d" % (name, round_no))
    log.propagate = False
    log.setLevel(logging.INFO)
    handler = make_handler()
    log.addHandler(handler)
    # A warm-up record: the session starts, the file opens.
    log.info("user %s signed in from %s, request %d", "alice@example.com", "10.0.0.7", -1)
    gc.collect()
    start = time.thread_time()
    for i in range(records):
        log.info("user %s signed in from %s, request %d", "alice@example.com", "10.0.0.7", i)
    spent = time.thread_time() - start
    log.removeHandler(handler)
    handler.close()
    return spent


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--format", default=FORMAT)
    args = parser.parse_args()
    made = variants(args.format)
    names = list(made)
    times = {name: [] for name in names}
    for round_no in range(args.rounds):
        order = names[round_no % len(names):] + names[:round_no % len(names)]
        if round_no % 2:
            order.reverse()
        for name in order:
            times[name].append(run(name, made[name], args.records, round_no))
    plain = times["plain"]
    zato = times["zato-enclog"]
    print("Python %s, %s; %d rounds of %d records, format %r; CPU time of the logging thread\n"
          % (platform.python_version(), platform.machine(), args.rounds, args.records,
             args.format))
    print("| variant | ns/record | events/s | × plain (median, min–max) | events/s ÷ zato-enclog's |")
    print("|---|---|---|---|---|")
    for name in names:
        spent = times[name]
        ns = statistics.median(spent) / args.records * 1e9
        ratios = [s / p for s, p in zip(spent, plain)]
        speed = [z / s for s, z in zip(spent, zato)]
        print("| %s | %.0f | %.0f k | ×%.3f (%.3f–%.3f) | ×%.2f (%.2f–%.2f) |" % (
            name, ns, args.records / statistics.median(spent) / 1000,
            statistics.median(ratios), min(ratios), max(ratios),
            statistics.median(speed), min(speed), max(speed)))


if __name__ == "__main__":
    main()
