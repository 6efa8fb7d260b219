"""Typed errors: each reason a line does not open is its own exception class, with the line
number and key ids a caller acts on; a bad line never stops the lines after it."""

import io

import pytest

import enclog


def test_a_wrong_key_raises_unknown_key_error_naming_both_ids():
    writer, reader = enclog.Key.generate(), enclog.Key.generate()
    line = enclog.Sealer(writer).seal("hello")
    with pytest.raises(enclog.UnknownKeyError) as raised:
        enclog.open_line(line, reader)
    e = raised.value
    assert isinstance(e, enclog.OpenError) and isinstance(e, enclog.EnclogError)
    assert e.key_id == writer.id and e.known_key_ids == [reader.id]
    assert writer.id in str(e) and e.line_number is None


def test_an_altered_line_raises_corrupted_line_error():
    key = enclog.Key.generate()
    line = enclog.Sealer(key).seal("amount=100")
    position = len(line) - 10
    altered = line[:position] + ("A" if line[position] != "A" else "B") + line[position + 1:]
    with pytest.raises(enclog.CorruptedLineError) as raised:
        enclog.open_line(altered, key)
    assert raised.value.key_id == key.id


def test_a_fernet_line_without_a_fernet_key_says_which_key_is_missing():
    fernet = enclog.FernetKey.generate()
    line = enclog.Sealer(fernet).seal("zato")
    assert line.startswith(enclog.FERNET_MARKER)
    with pytest.raises(enclog.NoFernetKeyError):
        enclog.open_line(line, enclog.Key.generate())
    assert enclog.open_line(line, fernet).text == "zato"


def test_a_token_of_an_unknown_version_raises_unsupported_line_error():
    with pytest.raises(enclog.UnsupportedLineError) as raised:
        enclog.open_line("enclog:" + "A" * 60, enclog.Key.generate())
    assert "newer enclog" in str(raised.value)


def test_read_file_reports_each_bad_line_with_its_number_and_goes_on():
    key = enclog.Key.generate()
    sealer = enclog.Sealer(key)
    good = [sealer.seal("event %d" % i) for i in range(4)]
    cut = good[3][:-12]
    malformed = sealer.seal("cut, then a newline")[:40]  # damaged on the way
    log = "\n".join([good[0], malformed, good[1], good[2][:30] + "x" + good[2][31:], cut])
    entries = list(enclog.read_file(io.BytesIO(log.encode()), key))
    assert [e.line_number for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].event.text == "event 0"
    assert isinstance(entries[1].error, enclog.MalformedLineError)
    assert entries[1].error.line_number == 2
    assert entries[2].event.text == "event 1"
    assert isinstance(entries[3].error, (enclog.CorruptedLineError, enclog.MalformedLineError))
    # The last line has no newline and does not open: a writer cut off mid-line.
    assert isinstance(entries[4].error, enclog.TruncatedLineError)
    assert not entries[4].terminated
    with pytest.raises(enclog.TruncatedLineError):
        entries[4].raise_for_error()
    entries[0].raise_for_error()  # nothing to raise


def test_a_line_over_the_readers_limit_is_skipped_and_reported():
    key = enclog.Key.generate()
    sealer = enclog.Sealer(key)
    log = "%s\n%s\n%s\n" % (sealer.seal("short"), "x" * 5000, sealer.seal("after"))
    entries = list(enclog.read_file(io.BytesIO(log.encode()), key, max_line=1000))
    assert isinstance(entries[1].error, enclog.LineTooLongError)
    assert (entries[1].error.length, entries[1].error.limit) == (5000, 1000)
    assert entries[1].error.line_number == 2
    assert [entries[0].event.text, entries[2].event.text] == ["short", "after"]


def test_a_missing_file_is_a_file_not_found_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError) as raised:
        enclog.read_file(tmp_path / "nope.log", enclog.Key.generate())
    assert raised.value.filename == str(tmp_path / "nope.log")
    with pytest.raises(IsADirectoryError):
        enclog.init_file(tmp_path, enclog.Key.generate(), logger="enclog-test.dir")


def test_a_file_objects_own_error_comes_back_as_raised():
    class Failing(io.RawIOBase):
        def read(self, n=-1):
            raise ConnectionResetError("the pipe broke")

    with pytest.raises(ConnectionResetError, match="the pipe broke"):
        list(enclog.read_file(Failing(), enclog.Key.generate()))


def test_wrong_argument_types_are_type_errors():
    with pytest.raises(TypeError):
        enclog.Sealer(42)
    with pytest.raises(TypeError):
        enclog.Keyring([3.5])
    with pytest.raises(TypeError):
        enclog.Sealer(enclog.Key.generate()).seal(b"bytes are not a record")
