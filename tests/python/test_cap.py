"""A record over the sealing cap: sealed as several consecutive events cut exactly as
`enclog encrypt` cuts a line over its --max-line, reported on stderr, never lost."""

import logging

import enclog
import helpers

# Multi-byte characters everywhere, so that cuts fall inside characters.
TEXT = "aé€🦀b🦀🦀" * 3


def encrypt_pieces(key_path, text, *extra):
    """The events `enclog encrypt` makes of `text` (one input line), decrypted."""
    result = helpers.enclog("encrypt", "--key-file", key_path, *extra,
                            input=text.encode() + b"\n")
    assert result.returncode == 1, result.stderr  # 1: a line was split, and said so
    assert b"consecutive events" in result.stderr
    return result.stdout


def test_a_record_over_the_cap_is_split_exactly_as_enclog_encrypt_splits_a_line(
        tmp_path, key_file):
    key, key_path = key_file
    for limit in range(4, 12):
        by_cli = tmp_path / ("cli-%d.log" % limit)
        by_cli.write_bytes(encrypt_pieces(key_path, TEXT, "--max-line", str(limit)))
        by_python = tmp_path / ("python-%d.log" % limit)
        by_python.write_text(enclog.Sealer(key, max_event=limit).seal(TEXT) + "\n")
        expected = helpers.decrypt(key_path, by_cli)
        assert helpers.decrypt(key_path, by_python) == expected, limit
        pieces = expected.splitlines()
        assert len(pieces) > 1 and "".join(pieces) == TEXT
        assert all(len(p.encode()) <= limit for p in pieces)


def test_a_record_over_the_default_cap_is_split_reported_and_every_byte_comes_back(
        tmp_path, logger, key_file, capfd):
    key, key_path = key_file
    # 13 MiB of 3-byte characters: the 12 MiB less 1 KiB cap falls inside one.
    record = "€" * (13 * 1024 * 1024 // 3)
    handler = enclog.init_file(tmp_path / "app.log", key, logger=logger, format="%(message)s")
    logger.info("small before")
    logger.info(record)
    logger.info("small after")
    handler.close()
    err = capfd.readouterr().err
    assert ("is %d bytes, longer than the %d-byte limit; it was sealed as 2 consecutive events"
            % (len(record.encode()), enclog.MAX_EVENT)) in err
    assert "€" not in err

    texts = [e.event.text for e in enclog.read_file(tmp_path / "app.log", key)
             if e.event and e.event.record == "event"]
    assert len(texts) == 4
    assert texts[0] == "small before" and texts[3] == "small after"
    assert texts[1] + texts[2] == record
    assert len(texts[1].encode()) <= enclog.MAX_EVENT
    # The same cut as `enclog encrypt` with its default limit.
    (tmp_path / "cli.log").write_bytes(encrypt_pieces(key_path, record))
    assert [e.event.text for e in enclog.read_file(tmp_path / "cli.log", key)
            if e.event and e.event.record == "event"] == texts[1:3]
    # Every sealed line is under the readers' default limit: the command reads them all.
    assert helpers.verify(key_path, tmp_path / "app.log").returncode == 0


def test_the_formatter_reports_a_split_record_and_keeps_every_piece(tmp_path, logger, key_file,
                                                                    capfd):
    key, key_path = key_file
    handler = logging.FileHandler(tmp_path / "app.log")
    handler.setFormatter(enclog.EncryptedFormatter(key, logging.Formatter("%(message)s"),
                                                   max_event=10))
    logger.addHandler(handler)
    logger.info(TEXT)
    handler.close()
    assert "it was sealed as" in capfd.readouterr().err
    out = helpers.decrypt(key_path, tmp_path / "app.log")
    assert "".join(out.splitlines()) == TEXT
