"""The drop-in for zato-enclog users: `EncryptedLogFormatter` with zato-enclog's constructor,
whose Fernet lines the real zato-enclog 1.0.7 `enclog open` reads (in its own venv), and
zato-enclog's own logs read from Python."""

import logging
import subprocess

import pytest

import enclog
import helpers

ZATO_FORMAT = "%(asctime)s - %(levelname)s - %(name)s - %(message)s"
FIXTURES = helpers.ROOT / "tests" / "zato" / "fixtures"


def zato_open(zato_python, log, key_text):
    """zato-enclog's own reader: `enclog open LOG --key KEY`."""
    result = subprocess.run(
        [zato_python, "-c", "from zato.enclog import cli_main; cli_main()", "open", str(log),
         "--key", key_text],
        capture_output=True, env={"PYTHONUTF8": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout.decode()


def log_records(log):
    log.info("user %s signed in", "alice@example.com")
    log.warning("naïve café ✓ 100%% done")
    try:
        raise ValueError("card 4111-1111-1111-1111 declined")
    except ValueError:
        log.exception("payment failed")


@pytest.mark.parametrize("key_form", ["bytes", "str", "FernetKey", "fernet_key="])
def test_the_drop_in_with_a_fernet_key_writes_lines_zato_enclog_open_reads(
        tmp_path, logger, zato_python, key_form):
    fernet = enclog.FernetKey.generate()
    text = fernet.to_text()
    if key_form == "fernet_key=":
        formatter = enclog.EncryptedLogFormatter(fernet_key=text.encode(), fmt=ZATO_FORMAT)
    else:
        key = {"bytes": text.encode(), "str": text, "FernetKey": fernet}[key_form]
        formatter = enclog.EncryptedLogFormatter(key, ZATO_FORMAT)
    sealed = logging.FileHandler(tmp_path / "app.log")
    sealed.setFormatter(formatter)
    plain = logging.FileHandler(tmp_path / "plain.log")
    plain.setFormatter(logging.Formatter(ZATO_FORMAT))
    logger.addHandler(sealed)
    logger.addHandler(plain)
    log_records(logger)
    sealed.close()
    plain.close()

    written = (tmp_path / "app.log").read_text()
    lines = written.splitlines()
    assert len(lines) == 3 and all(line.startswith("enclogdata:") for line in lines)
    # Words long enough not to occur in base64 by chance (a four-character one would, about
    # once in 16 million positions).
    for clear in ("alice", "Traceback", "4111-1111", "INFO ", "payment"):
        assert clear not in written
    # zato-enclog's reader gives exactly what its users' plain formatter would have written,
    # the traceback included (which zato-enclog itself left in clear).
    assert zato_open(zato_python, tmp_path / "app.log", text) == (
        tmp_path / "plain.log").read_text()


def test_the_drop_in_takes_the_formatters_own_arguments(logger):
    fernet = enclog.FernetKey.generate()
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "hello %s", ("bob",),
                               None)
    cases = [
        (enclog.EncryptedLogFormatter(fernet, "{levelname}|{message}", style="{"),
         "INFO|hello bob"),
        (enclog.EncryptedLogFormatter(fernet, "%(asctime)s %(message)s", "%Y"),
         logging.Formatter("%(asctime)s %(message)s", "%Y").format(record)),
        (enclog.EncryptedLogFormatter(fernet), "hello bob"),
    ]
    for formatter, expected in cases:
        line = formatter.format(record)
        assert line.startswith("enclogdata:")
        assert enclog.open_line(line, fernet).text == expected
    with pytest.raises(TypeError):
        enclog.EncryptedLogFormatter()


def test_the_drop_in_with_an_enclog_key_writes_v2_lines(tmp_path, logger, key_file):
    key, key_path = key_file
    handler = logging.FileHandler(tmp_path / "app.log")
    handler.setFormatter(enclog.EncryptedLogFormatter(key.to_text(), ZATO_FORMAT))
    logger.addHandler(handler)
    log_records(logger)
    handler.close()
    enclog.shutdown()
    lines = helpers.decrypt_json(key_path, tmp_path / "app.log")
    assert {(line["version"], line["mode"]) for line in lines} == {(2, "symmetric")}
    assert [line["seq"] for line in lines] == [0, 1, 2, 3]  # three events, the close record
    assert "card 4111-1111-1111-1111 declined" in lines[2]["plaintext"]


@pytest.mark.parametrize("case", ["basic", "exception", "suffix", "message-only"])
def test_zato_enclogs_own_logs_read_in_python_exactly(case):
    """Logs the real zato-enclog wrote (tests/zato/): every line comes back as `enclog
    decrypt` prints it — the text around the token kept, its clear traceback lines plain."""
    key_text = [line for line in (FIXTURES / "fernet.key").read_text().splitlines()
                if line and not line.startswith("#")][0]
    shown = []
    for entry in enclog.read_file(FIXTURES / ("%s.log" % case), enclog.FernetKey.from_text(
            key_text)):
        entry.raise_for_error()
        if entry.event:
            assert entry.event.mode == "fernet" and entry.event.seq is None
            shown.append(entry.event.before.decode() + entry.event.text
                         + entry.event.after.decode())
        else:
            shown.append(entry.text)
    expected = (FIXTURES / ("%s.expected.log" % case)).read_text()
    assert "\n".join(shown) + "\n" == expected
