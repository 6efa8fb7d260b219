"""A writer's life: close records at exit (atexit), the chain of sessions across runs, log
rotation (init_file follows its path), and RotatingFileHandler (each record sealed once)."""

import logging
import os

import enclog
import helpers

EXITING_PROGRAM = """
import logging, logging.handlers, os, enclog
key = enclog.Key.from_file(os.environ["KEY"])
enclog.init_file(os.path.join(os.environ["DIR"], "app.log"), key)
formatted = logging.FileHandler(os.path.join(os.environ["DIR"], "formatter.log"))
formatted.setFormatter(enclog.EncryptedFormatter(
    key, logging.Formatter("%(message)s"),
    chain_state=os.path.join(os.environ["ENCLOG_STATE_DIR"], "formatter.chain")))
rotating = logging.handlers.RotatingFileHandler(os.path.join(os.environ["DIR"], "rotating.log"),
                                                maxBytes=2000, backupCount=20)
rotating.setFormatter(enclog.EncryptedFormatter(key))
for handler in (formatted, rotating):
    logging.getLogger().addHandler(handler)
for i in range(int(os.environ.get("RECORDS", "40"))):
    logging.getLogger("app").info("record %d of run %s", i, os.environ["RUN"])
# No close, no shutdown call: the program just ends.
"""


def test_every_session_is_closed_at_exit_and_verify_is_clean(tmp_path, key_file):
    _, key_path = key_file
    helpers.run_python(EXITING_PROGRAM, env={"KEY": str(key_path), "DIR": str(tmp_path),
                                             "RUN": "1"})
    # init_file's log: its chain state makes the run's first session a root, not a new chain.
    result = helpers.verify(key_path, tmp_path / "app.log")
    assert result.returncode == 0, result.stdout.decode()
    assert b"1 closed" in result.stdout
    lines = helpers.decrypt_json(key_path, tmp_path / "formatter.log")
    assert lines[-1]["record"] == "close" and len(lines) == 41
    # The formatter's chain state (chain_state=): a root session, not a new chain.
    assert helpers.verify(key_path, tmp_path / "formatter.log").returncode == 0


def test_rotating_file_handler_seals_each_record_once_across_its_files(tmp_path, key_file):
    """RotatingFileHandler formats each record twice (to measure it, then to write it): the
    formatter seals it once, so the files, oldest first, hold one gapless session."""
    _, key_path = key_file
    helpers.run_python(EXITING_PROGRAM, env={"KEY": str(key_path), "DIR": str(tmp_path),
                                             "RUN": "1", "RECORDS": "100"})
    backups = sorted(tmp_path.glob("rotating.log.*"), key=lambda p: -int(p.suffix[1:]))
    files = backups + [tmp_path / "rotating.log"]
    assert len(files) > 3
    lines = helpers.decrypt_json(key_path, *files)
    assert [line["seq"] for line in lines] == list(range(101))  # 100 events, then the close
    result = helpers.verify(key_path, "--allow-new-chains", *files)
    assert result.returncode == 0, result.stdout.decode()


def test_a_second_run_continues_the_chain_of_the_first(tmp_path, key_file, state_dir):
    _, key_path = key_file
    env = {"KEY": str(key_path), "DIR": str(tmp_path), "ENCLOG_STATE_DIR": str(state_dir)}
    for run in ("1", "2"):
        helpers.run_python(EXITING_PROGRAM, env=dict(env, RUN=run))
    states = list(state_dir.glob("app.log-*.chain"))
    assert len(states) == 1
    # Two runs, one chain: clean without --allow-new-chains, and it reaches the state's end;
    # for init_file's log and for the formatter given a chain state.
    for log, state in ((tmp_path / "app.log", states[0]),
                       (tmp_path / "formatter.log", state_dir / "formatter.chain")):
        result = helpers.verify(key_path, "--chain", state, log)
        assert result.returncode == 0, result.stdout.decode()
        lines = helpers.decrypt_json(key_path, log)
        firsts = [line for line in lines if line.get("link")]
        assert [f["link"]["from"] for f in firsts] == ["root", "successor"]


def test_init_file_follows_a_rename_and_verify_is_clean_across_the_files(tmp_path, logger,
                                                                         key_file):
    key, key_path = key_file
    path = tmp_path / "app.log"
    handler = enclog.init_file(path, key, logger=logger)
    logger.info("before the rotation")
    os.rename(path, tmp_path / "app.log.1")  # logrotate's `create`: rename…
    path.touch(mode=0o600)                   # …then a new file (its mode is kept)
    assert handler.reopen()  # what postrotate asks for (the writer also notices by itself)
    logger.info("after the rotation")
    handler.close()

    old = helpers.decrypt_json(key_path, tmp_path / "app.log.1")
    new = helpers.decrypt_json(key_path, path)
    assert [line["record"] for line in old] == ["event", "close"]
    assert [line["record"] for line in new] == ["event", "close"]
    assert new[0]["link"]["from"] == "successor"
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    result = helpers.verify(key_path, tmp_path / "app.log.1", path)
    assert result.returncode == 0, result.stdout.decode()


def test_a_write_failure_is_counted_and_reported_never_raised(tmp_path, logger, key_file, capfd):
    key, _ = key_file
    handler = enclog.EncryptedFileHandler("/dev/full", key, chain_state=False,
                                          formatter=logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    for i in range(5):
        logger.info("secret payload %d", i)
    assert handler.lost_lines == 5
    err = capfd.readouterr().err
    assert err.count("cannot write to the log /dev/full") == 1
    assert "secret payload" not in err


def test_the_handlers_name_their_chain_state_and_key(tmp_path, logger, key_file, state_dir):
    key, _ = key_file
    handler = enclog.init_file(tmp_path / "app.log", key, logger=logger)
    assert str(handler.chain_state_path).startswith(str(state_dir))
    assert handler.writer.key_id == key.id and handler.writer.mode == "symmetric"
    assert handler.writer.session_id is not None  # started before the first record
    assert logger.level == logging.INFO
    # Called twice (a module imported twice): refused, not every record written twice.
    try:
        enclog.init_file(tmp_path / "app.log", key, logger=logger)
    except enclog.EnclogError as e:
        assert "already called" in str(e)
    else:
        raise AssertionError("a second init_file was accepted")
    assert logger.handlers == [handler]
    # A second writer of the same log cannot take its chain state: it goes on without it.
    second = enclog.EncryptedFileHandler(tmp_path / "app.log", key)
    assert second.chain_state_path is None
    second.close()
