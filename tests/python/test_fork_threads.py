"""Concurrency: threads sharing a handler write every record once, in sequence order; a
forked child (a pre-fork server's worker) seals in a session of its own, so no (session,
sequence number) pair — a nonce — is ever used twice."""

import collections
import logging
import threading

import pytest

import enclog
import helpers

FORKING_PROGRAM = """
import logging, os, threading, enclog
key = enclog.Key.from_file(os.environ["KEY"])
if os.environ["KIND"] == "init_file":
    enclog.init_file(os.environ["LOG"], key, format="%(process)d %(message)s")
else:
    handler = logging.FileHandler(os.environ["LOG"])
    handler.setFormatter(enclog.EncryptedFormatter(key, logging.Formatter("%(process)d %(message)s")))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
log = logging.getLogger("app")
stop = threading.Event()
def background():
    i = 0
    while not stop.is_set():
        log.info("background %d", i)
        i += 1
thread = threading.Thread(target=background)
thread.start()
for i in range(300):
    log.info("parent before the fork %d", i)
pid = os.fork()
if pid == 0:
    for i in range(500):
        log.info("child %d", i)
    enclog.shutdown()  # os._exit runs no atexit: close the child's session by hand
    os._exit(0)
for i in range(500):
    log.info("parent after the fork %d", i)
stop.set()
thread.join()
assert os.waitpid(pid, 0)[1] == 0
"""


@pytest.mark.parametrize("kind", ["init_file", "formatter"])
def test_a_forked_child_never_repeats_a_session_and_sequence_number(tmp_path, key_file, kind):
    key, key_path = key_file
    log = tmp_path / "app.log"
    helpers.run_python(FORKING_PROGRAM, env={"KEY": str(key_path), "LOG": str(log),
                                             "KIND": kind})
    lines = helpers.decrypt_json(key_path, log)
    assert all(line["type"] == "opened" for line in lines)
    nonces = collections.Counter((line["session"], line["seq"]) for line in lines)
    assert max(nonces.values()) == 1, "a (session, seq) pair was sealed twice"
    sessions = collections.defaultdict(set)
    for line in lines:
        sessions[line["plaintext"].split(" ", 1)[0]].add(line["session"])
    pids = [pid for pid in sessions if pid]  # close records have no text
    assert len(pids) == 2
    parent, child = sorted(pids, key=lambda pid: "child" in str(
        [l["plaintext"] for l in lines if l["plaintext"].startswith(pid)][0]))
    assert not sessions[parent] & sessions[child], "the child sealed in its parent's session"
    messages = [line["plaintext"] for line in lines if line["record"] == "event"]
    assert sum(" child " in m for m in messages) == 500
    assert sum(" parent after the fork " in m for m in messages) == 500
    # Every session closed, sequences without a gap, the child's chain branching off the
    # parent's: verify finds nothing (without a chain state, each run is a new chain).
    flags = [] if kind == "init_file" else ["--allow-new-chains"]
    result = helpers.verify(key_path, *flags, log)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


@pytest.mark.parametrize("kind", ["init_file", "formatter"])
def test_threads_sharing_a_handler_write_every_record_once_in_sequence_order(
        tmp_path, logger, key_file, kind):
    key, key_path = key_file
    log = tmp_path / "app.log"
    if kind == "init_file":
        handler = enclog.init_file(log, key, logger=logger, format="%(message)s")
    else:
        handler = logging.FileHandler(log)
        handler.setFormatter(enclog.EncryptedFormatter(key, logging.Formatter("%(message)s")))
        logger.addHandler(handler)

    def work(n):
        for i in range(500):
            logger.info("thread %d record %d", n, i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handler.close()
    if kind == "formatter":
        enclog.shutdown()  # the formatter's close record, through its (closed) handler

    lines = helpers.decrypt_json(key_path, log)
    events = [line for line in lines if line["record"] == "event"]
    assert sorted(e["plaintext"] for e in events) == sorted(
        "thread %d record %d" % (n, i) for n in range(8) for i in range(500))
    # One session, numbered in the order the lines are in the file: nothing reordered.
    assert len({line["session"] for line in lines}) == 1
    assert [line["seq"] for line in lines] == list(range(len(lines)))
