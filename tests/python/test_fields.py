"""Sealed fields from Python's logging: `SealedFieldsFormatter` writes each record as a JSON
line whose named `extra` values (and any traceback) are sealed in place, read back by the Rust
`enclog` command (decrypt, index, grep, verify)."""

import json
import logging
import subprocess

import enclog
import helpers


def write_log(path, log, formatter):
    handler = logging.FileHandler(path)
    handler.setFormatter(formatter)
    log.addHandler(handler)
    log.info("signed in", extra={"user": "alice@example.com", "plan": "pro", "n": 3})
    log.info("paid", extra={"user": "bob@example.com", "card": {"pan": "4111 1111 1111 1111",
                                                                 "exp": "12/29"}})
    try:
        raise ValueError("token s3cr3t-t0k3n rejected")
    except ValueError:
        log.exception("failed", extra={"user": "alice@example.com"})
    log.info("see enclog:AAAAAAAAAAAAAAAA", extra={"user": "carol@example.com"})
    enclog.shutdown()
    handler.close()
    log.removeHandler(handler)


def test_named_extra_values_and_tracebacks_are_sealed_and_decrypt_back(tmp_path, logger,
                                                                        key_file):
    key, key_path = key_file
    log_path = tmp_path / "app.log"
    formatter = enclog.SealedFieldsFormatter(key, fields=["user", "card.pan"], index=["user"])
    write_log(log_path, logger, formatter)
    text = log_path.read_text()
    for secret in ["alice@", "bob@", "4111 1111", "s3cr3t-t0k3n", "carol@"]:
        assert secret not in text, secret
    lines = text.splitlines()
    # Clear fields stay searchable; the line with the marker in clear was sealed whole.
    first = json.loads(lines[0])
    assert first["plan"] == "pro" and first["n"] == 3 and first["message"] == "signed in"
    assert first["user"].startswith("enclog:") and "user_idx" in first
    assert json.loads(lines[1])["card"]["exp"] == "12/29"
    assert lines[3].startswith("enclog:")

    out = subprocess.run([helpers.enclog_bin(), "decrypt", "--key-file", str(key_path),
                          str(log_path)], check=True, capture_output=True, text=True).stdout
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["user"] for e in events] == ["alice@example.com", "bob@example.com",
                                           "alice@example.com", "carol@example.com"]
    assert events[1]["card"] == {"pan": "4111 1111 1111 1111", "exp": "12/29"}
    assert "s3cr3t-t0k3n" in events[2]["exc_info"] and "ValueError" in events[2]["exc_info"]
    assert events[3]["message"] == "see enclog:AAAAAAAAAAAAAAAA"

    # One user's records by blind index, without decrypting anything else; and the log
    # verifies clean (sequence numbers, close record).
    index = subprocess.run([helpers.enclog_bin(), "index", "--key-file", str(key_path),
                            "--field", "user", "alice@example.com"], check=True,
                           capture_output=True, text=True).stdout.strip()
    assert [i for i, line in enumerate(lines) if index in line] == [0, 2]
    verify = subprocess.run([helpers.enclog_bin(), "verify", "--allow-new-chains", "--key-file",
                             str(key_path), str(log_path)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_recipient_writer_needs_an_index_key_to_index(tmp_path, logger):
    identity = enclog.Identity.generate()
    index_key = enclog.Key.generate()
    log_path = tmp_path / "app.log"
    formatter = enclog.SealedFieldsFormatter(identity.recipient, fields=["user"],
                                             index=["user"], index_key=index_key)
    write_log(log_path, logger, formatter)
    lines = log_path.read_text().splitlines()
    assert "alice@" not in "".join(lines) and "user_idx" in lines[0]
    keyring = enclog.Keyring([identity])
    assert json.loads(enclog.open_line(lines[0], keyring).text)["user"] == "alice@example.com"

    # Without an index key, the indexed field cannot be indexed: sealed whole, never in clear.
    no_index = enclog.SealedFieldsFormatter(identity.recipient, fields=["user"],
                                            index=["user"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hi", None, None)
    record.user = "dave@example.com"
    line = no_index.format(record)
    assert line.startswith("enclog:") and "dave" not in line


def test_an_index_on_a_field_not_sealed_is_refused():
    try:
        enclog.SealedFieldsFormatter(enclog.Key.generate(), fields=["user"], index=["email"])
    except enclog.EnclogError as e:
        assert "email" in str(e)
    else:
        raise AssertionError("accepted an index of a field it does not seal")
