"""Secrets escaping in clear: tracebacks, key material in reprs and exception messages,
records that fail to format, pickles."""

import logging
import os
import pickle

import pytest

import enclog
import helpers

SECRET = "sk_live_5f1e8c0d2b9a4471"


def fails_with_secret():
    token = SECRET  # a local of the failing frame
    raise RuntimeError("could not charge card with token " + token)


def bad_key_texts(key_text):
    """The key text damaged in ways a person does: one character changed, cut short, doubled."""
    middle = len(key_text) // 2
    flipped = key_text[:middle] + ("A" if key_text[middle] != "A" else "B") + key_text[middle + 1:]
    return [flipped, key_text[:-3], key_text + key_text[-4:], key_text.lower()]


@pytest.mark.parametrize("kind", ["init_file", "formatter", "zato_fernet", "zato_enclog_key"])
def test_a_traceback_holding_a_secret_never_reaches_the_file(tmp_path, logger, key_file, kind):
    key, key_path = key_file
    path = tmp_path / "app.log"
    fernet = enclog.FernetKey.generate()
    if kind == "init_file":
        handler = enclog.init_file(path, key, logger=logger)
    else:
        handler = logging.FileHandler(path)
        formatter = {
            "formatter": lambda: enclog.EncryptedFormatter(key, logging.Formatter(
                "%(levelname)s %(message)s")),
            "zato_fernet": lambda: enclog.EncryptedLogFormatter(fernet.to_text().encode(),
                                                                "%(levelname)s - %(message)s"),
            "zato_enclog_key": lambda: enclog.EncryptedLogFormatter(key, "%(message)s"),
        }[kind]()
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    try:
        fails_with_secret()
    except RuntimeError:
        logger.exception("payment failed")
    logger.error("state dump", stack_info=True)
    handler.close()

    sealed = path.read_bytes()
    for clear in (SECRET.encode(), b"Traceback", b"RuntimeError", b"fails_with_secret",
                  b"Stack (most recent call last)", b"payment failed"):
        assert clear not in sealed, clear
    # …and all of it is inside the tokens.
    texts = [e.event.text for e in enclog.read_file(path, [key, fernet]) if e.event]
    record = next(t for t in texts if "payment failed" in t)
    assert "Traceback (most recent call last)" in record and SECRET in record
    assert "fails_with_secret" in record
    assert any("Stack (most recent call last)" in t for t in texts)


def test_reprs_of_keys_and_writers_show_no_key_material(tmp_path):
    key = enclog.Key.generate()
    identity = enclog.Identity.generate()
    fernet = enclog.FernetKey.generate()
    secrets = [key.to_text(), identity.to_text(), fernet.to_text()]
    shown = [
        repr(key), str(key), repr(identity), str(identity), repr(fernet), str(fernet),
        repr(enclog.Keyring([key, identity, fernet])),
        repr(enclog.Sealer(key)), repr(enclog.Sealer(fernet)),
        repr(enclog.Opener([key, identity, fernet])),
        repr(enclog.EncryptedFormatter(key)),
        repr(enclog.LogFileWriter(str(tmp_path / "app.log"), key, chain_state=False)),
    ]
    for secret in secrets:
        body = secret.split("-")[-1] if secret.startswith("ENCLOG-") else secret
        # No run of 8 characters of the key's text, anywhere.
        runs = {body[i:i + 8] for i in range(len(body) - 7)}
        for text in shown:
            assert not any(run in text for run in runs), text
    assert repr(key) == "Key(id='%s')" % key.id


@pytest.mark.parametrize("kind", ["Key", "Identity", "FernetKey"])
def test_bad_key_text_is_never_echoed_in_exceptions(kind):
    cls = getattr(enclog, kind)
    good = cls.generate().to_text()
    refused = 0
    for bad in bad_key_texts(good):
        for attempt in (cls.from_text, enclog.Sealer, lambda t: enclog.Keyring([t])):
            try:
                attempt(bad)
            except enclog.InvalidKeyError as e:
                refused += 1
                message = str(e) + repr(e) + repr(e.args)
                for text in (bad, good):
                    assert text not in message and text[13:25] not in message
                assert e.reason in ("malformed", "checksum", "wrong_kind", "identity_for_writer")
    # Every damaged enclog key is refused everywhere (a checksum); a Fernet key has none, so
    # only a cut or lengthened one is refused (a changed character makes another valid key).
    assert refused == (12 if kind != "FernetKey" else 6)


def test_an_identity_given_to_a_writer_is_refused_naming_the_fix():
    identity = enclog.Identity.generate()
    with pytest.raises(enclog.InvalidKeyError) as raised:
        enclog.EncryptedFormatter(identity)
    assert raised.value.reason == "identity_for_writer"
    assert "recipient" in str(raised.value)
    with pytest.raises(enclog.InvalidKeyError):
        enclog.Sealer(identity.to_text())


def test_a_key_file_others_can_read_is_refused_with_the_fix(tmp_path):
    key = enclog.Key.generate()
    path = tmp_path / "app.key"
    helpers.write_secret(path, key.to_text())
    os.chmod(path, 0o644)
    with pytest.raises(enclog.InvalidKeyError) as raised:
        enclog.Key.from_file(path)
    assert raised.value.reason == "loose_permissions"
    assert raised.value.path == str(path)
    assert "chmod 600" in str(raised.value) and key.to_text() not in str(raised.value)
    with pytest.raises(enclog.InvalidKeyError) as missing:
        enclog.Key.from_env("ENCLOG_TEST_NO_SUCH_VARIABLE")
    assert missing.value.reason == "env_missing"
    assert missing.value.variable == "ENCLOG_TEST_NO_SUCH_VARIABLE"


def test_key_from_env_reads_the_variable(monkeypatch):
    key = enclog.Key.generate()
    monkeypatch.setenv("APP_LOG_KEY", key.to_text())
    assert enclog.Key.from_env("APP_LOG_KEY").id == key.id
    monkeypatch.setenv("APP_LOG_KEY", key.to_text()[:-2])
    with pytest.raises(enclog.InvalidKeyError) as raised:
        enclog.Key.from_env("APP_LOG_KEY")
    assert raised.value.variable == "APP_LOG_KEY" and key.to_text()[:-2] not in str(raised.value)


def test_keys_cannot_be_pickled():
    for key in (enclog.Key.generate(), enclog.Identity.generate(), enclog.FernetKey.generate(),
                enclog.Keyring([enclog.Key.generate()])):
        with pytest.raises(TypeError):
            pickle.dumps(key)


def test_a_record_that_fails_to_format_is_sealed_not_printed(tmp_path, logger, key_file, capfd):
    """logging prints a record that fails to format — message and arguments — on stderr, in
    clear. Through enclog it is sealed into the log instead, and stderr says where it came
    from only."""
    key, _ = key_file
    handler = enclog.init_file(tmp_path / "app.log", key, logger=logger)
    plain = logging.FileHandler(tmp_path / "other.log")
    plain.setFormatter(enclog.EncryptedFormatter(key))
    logger.addHandler(plain)
    logger.info("charged %d", SECRET)  # %d of a str: formatting raises
    handler.close()
    plain.close()
    err = capfd.readouterr().err
    assert SECRET not in err and "could not be formatted (TypeError)" in err
    for path in (tmp_path / "app.log", tmp_path / "other.log"):
        assert SECRET.encode() not in path.read_bytes()
        texts = [e.event.text for e in enclog.read_file(path, key) if e.event and e.event.text]
        assert len(texts) == 1
        assert "could not be formatted" in texts[0] and SECRET in texts[0]
        assert "TypeError" in texts[0]


def test_an_events_repr_shows_where_it_sits_not_its_text(key_file):
    key, _ = key_file
    event = enclog.open_line(enclog.Sealer(key).seal(SECRET), key)
    assert event.text == SECRET
    assert SECRET not in repr(event) and "seq=0" in repr(event)
    entry = next(iter(enclog.read_file(
        __import__("io").BytesIO((enclog.Sealer(key).seal(SECRET) + "\n").encode()), key)))
    assert SECRET not in repr(entry)


def test_a_formatter_keeps_no_record_alive_after_it_was_logged(tmp_path, logger, key_file):
    """A record holds its arguments and its traceback's frames: the formatter's memory of the
    last record (which seals a record formatted twice once) must not keep them alive."""
    import gc
    import weakref

    key, _ = key_file
    handler = logging.FileHandler(tmp_path / "app.log")
    handler.setFormatter(enclog.EncryptedFormatter(key))
    logger.addHandler(handler)

    class Payload:
        pass

    payload = Payload()
    alive = weakref.ref(payload)
    logger.info("payload %s", payload)
    del payload
    gc.collect()
    assert alive() is None
