"""Round trips: what Python writes, the Rust `enclog` command reads back exactly; what Rust
writes (the `enclog encrypt` command, the format's test vectors), Python reads."""

import gzip
import io
import logging
from pathlib import Path

import enclog
import helpers

FMT = "%(asctime)s %(levelname)s %(name)s [%(user)s]: %(message)s"


def log_everything(log):
    """Records with `extra`, arguments, non-ASCII text, a traceback and a stack."""
    log.info("user %s signed in", "alice@example.com", extra={"user": "alice"})
    log.warning("naïve café ✓ %d%%", 91, extra={"user": "bob"})
    try:
        {}["card"]
    except KeyError:
        log.exception("payment failed for card 4111-1111-1111-1111", extra={"user": "carol"})
    log.error("where am I", stack_info=True, extra={"user": "dave"})
    log.debug("multi\nline\nrecord", extra={"user": "erin"})


def test_init_file_writes_a_log_that_enclog_decrypt_reads_back_exactly(tmp_path, logger,
                                                                       key_file):
    key, key_path = key_file
    # The same records through a plain handler with the same formatter: what decrypt must give.
    plain = logging.FileHandler(tmp_path / "plain.log")
    plain.setFormatter(logging.Formatter(FMT))
    logger.addHandler(plain)
    handler = enclog.init_file(tmp_path / "app.log", key, format=FMT, logger=logger,
                               level=logging.DEBUG)
    log_everything(logger)
    handler.close()
    plain.close()

    sealed = (tmp_path / "app.log").read_bytes()
    expected = (tmp_path / "plain.log").read_text()
    assert helpers.decrypt(key_path, tmp_path / "app.log") == expected
    # Nothing of the records is on disk in clear: one line per record, and the close record.
    for secret in (b"alice@example.com", b"4111-1111", b"Traceback", b"KeyError", b"stack",
                   b"multi", "café".encode()):
        assert secret not in sealed
    lines = sealed.splitlines()
    assert len(lines) == 6
    assert [line.split(b" ", 1)[0] for line in lines[:5]] == [
        b"INFO", b"WARNING", b"ERROR", b"ERROR", b"DEBUG"]
    assert helpers.verify(key_path, tmp_path / "app.log").returncode == 0


def test_encrypted_formatter_seals_the_whole_record_for_any_handler(tmp_path, logger, key_file):
    key, key_path = key_file
    plain = logging.FileHandler(tmp_path / "plain.log")
    plain.setFormatter(logging.Formatter(FMT))
    sealed = logging.FileHandler(tmp_path / "app.log")
    sealed.setFormatter(enclog.EncryptedFormatter(key, logging.Formatter(FMT)))
    stream = io.StringIO()
    to_stream = logging.StreamHandler(stream)
    to_stream.setFormatter(enclog.EncryptedFormatter(key, logging.Formatter(FMT),
                                                     clear_level=True))
    for handler in (plain, sealed, to_stream):
        logger.addHandler(handler)
    log_everything(logger)
    plain.close()
    sealed.close()

    expected = (tmp_path / "plain.log").read_text()
    assert helpers.decrypt(key_path, tmp_path / "app.log") == expected
    (tmp_path / "stream.log").write_text(stream.getvalue())
    assert helpers.decrypt(key_path, tmp_path / "stream.log") == expected
    for text in ((tmp_path / "app.log").read_text(), stream.getvalue()):
        # (Short words of letters and digits may occur in base64 by chance: the card with its
        # dashes cannot.)
        assert "alice" not in text and "Traceback" not in text and "4111-1111" not in text
    assert stream.getvalue().startswith("INFO enclog:")


def test_a_recipient_writer_cannot_read_its_log_and_the_identity_can(tmp_path, logger):
    identity = enclog.Identity.generate()
    identity_file = tmp_path / "identity.key"
    helpers.write_secret(identity_file, identity.to_text())
    handler = enclog.init_file(tmp_path / "app.log", identity.recipient, logger=logger)
    logger.info("for the identity's eyes only")
    handler.close()

    events = [e for e in enclog.read_file(tmp_path / "app.log", identity)]
    assert events[0].event.mode == "recipient"
    assert events[0].event.text.endswith("for the identity's eyes only")
    assert helpers.decrypt(identity_file, tmp_path / "app.log").endswith(
        "for the identity's eyes only\n")
    # The writer's side holds only the recipient: no keyring can be made of it.
    try:
        enclog.Keyring([identity.recipient])
    except enclog.InvalidKeyError as e:
        assert e.reason == "recipient_for_reader"
    else:
        raise AssertionError("a recipient was accepted by a reader")


def test_what_enclog_encrypt_writes_reads_in_python_with_line_numbers(tmp_path, key_file):
    key, key_path = key_file
    other = enclog.Key.generate()
    other_path = tmp_path / "other.key"
    helpers.write_secret(other_path, other.to_text())
    log = tmp_path / "mixed.log"
    mine = helpers.enclog("encrypt", "--key-file", key_path,
                          input="first\nnaïve ✓\n".encode(), check=0).stdout
    theirs = helpers.enclog("encrypt", "--key-file", other_path, input=b"not mine\n",
                            check=0).stdout
    log.write_bytes(b"a plain line\n" + mine + theirs + b"plain at the end")

    entries = list(enclog.read_file(log, key))
    assert [e.line_number for e in entries] == [1, 2, 3, 4, 5, 6, 7]
    assert entries[0].is_plain and entries[0].text == "a plain line"
    assert [entries[1].event.text, entries[2].event.text] == ["first", "naïve ✓"]
    assert [entries[1].event.seq, entries[2].event.seq, entries[3].event.seq] == [0, 1, 2]
    assert entries[3].event.record == "close" and entries[3].event.text == ""
    assert entries[1].event.session == entries[3].event.session
    assert isinstance(entries[4].error, enclog.UnknownKeyError)
    assert entries[4].error.line_number == 5 and entries[4].error.key_id == other.id
    assert entries[6].is_plain and not entries[6].terminated
    # Both keys in a keyring: every line opens.
    both = enclog.Keyring([key, other])
    assert [e.error for e in enclog.read_file(log, both)] == [None] * 7


def test_the_formats_test_vectors_open_in_python_exactly():
    """FORMAT.md's v2 vectors (written by the Rust library's reference): every line opens
    under its key to the stated plaintext, record kind, session, sequence and metadata."""
    text = (helpers.ROOT / "tests" / "vectors" / "v2.txt").read_text()
    blocks = [b for b in text.split("\n\n") if "line: " in b]
    assert len(blocks) >= 10
    opened = 0
    for block in blocks:
        fields = {}
        for row in block.splitlines():
            if not row.startswith("#") and ": " in row:
                name, value = row.split(": ", 1)
                fields.setdefault(name, value)
        if fields.get("expect", "opens") != "opens" or "plaintext-hex" not in fields:
            continue
        event = enclog.open_line(fields["line"], fields["key"])
        assert event.plaintext == bytes.fromhex(fields["plaintext-hex"]), fields["name"]
        assert event.record == fields["record"], fields["name"]
        assert event.seq == int(fields["seq"]), fields["name"]
        if "meta" in fields:
            assert event.meta == fields["meta"], fields["name"]
        if "session" in fields:
            assert event.session == fields["session"], fields["name"]
        opened += 1
    assert opened >= 10


def test_open_line_and_opener_open_one_line(key_file):
    key, _ = key_file
    sealer = enclog.Sealer(key)
    line = sealer.seal("disk 91% full", "WARN")
    assert line.startswith("WARN enclog:") and "\n" not in line
    event = enclog.open_line(line, key)
    assert (event.text, event.meta, event.meta_status) == ("disk 91% full", "WARN", "matches")
    assert enclog.open_line("no token here", key) is None
    edited = "DEBUG" + line[len("WARN"):]
    assert enclog.open_line(edited, key).meta_status == "differs"
    opener = enclog.Opener(enclog.Keyring([key]))
    assert opener.open(line.encode()).seq == 0
    assert opener.open(sealer.seal("again")).seq == 1


def test_read_file_takes_a_binary_file_object_such_as_gzip(tmp_path, key_file):
    key, _ = key_file
    sealer = enclog.Sealer(key)
    lines = "\n".join(sealer.seal("event %d" % i) for i in range(1000)) + "\n"
    path = tmp_path / "app.log.gz"
    with gzip.open(path, "wt") as f:
        f.write(lines)
    with gzip.open(path, "rb") as f:
        texts = [e.event.text for e in enclog.read_file(f, key)]
    assert texts == ["event %d" % i for i in range(1000)]


def test_surrogate_escaped_bytes_come_back_as_they_were(tmp_path, logger, key_file):
    """A file name read with surrogateescape is logged; its bytes are sealed as they were
    and the event's text is the same str."""
    key, key_path = key_file
    name = b"caf\xe9.txt".decode("utf-8", "surrogateescape")
    handler = enclog.EncryptedFileHandler(tmp_path / "app.log", key,
                                          formatter=logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.info("opened %s", name)
    handler.close()
    entries = list(enclog.read_file(tmp_path / "app.log", key))
    assert entries[0].event.text == "opened " + name
    assert entries[0].event.plaintext == b"opened caf\xe9.txt"
    assert helpers.enclog("decrypt", "--key-file", key_path, tmp_path / "app.log",
                          check=0).stdout == b"opened caf\xe9.txt\n"


def test_the_package_is_built_from_this_workspace():
    """The wheel under test is the one built from enclog-py/ (not another `enclog`)."""
    assert Path(enclog._enclog.__file__).name.startswith("_enclog")
    assert enclog.__version__ == "0.1.0"
    assert enclog.MAX_EVENT == 12 * 1024 * 1024 - 1024


def test_the_type_stubs_name_exactly_what_the_native_module_holds():
    import ast

    stub = ast.parse((helpers.ROOT / "enclog-py" / "python" / "enclog" / "_enclog.pyi")
                     .read_text())
    named = set()
    for node in stub.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            named.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            named.add(node.target.id)
    named = {n for n in named if not n.startswith("_") or n == "__version__"}
    held = {n for n in dir(enclog._enclog) if not n.startswith("_") or n == "__version__"}
    assert named == held
    # Each class's public methods and properties too.
    for node in stub.body:
        if isinstance(node, ast.ClassDef) and node.body and not isinstance(node.body[0], ast.Expr):
            members = {m.name for m in node.body if isinstance(m, ast.FunctionDef)
                       and not m.name.startswith("_")}
            actual = {m for m in dir(getattr(enclog._enclog, node.name)) if not m.startswith("_")}
            assert members <= actual, node.name


def test_keys_made_by_enclog_genkey_load_in_python(tmp_path):
    """Key files written by the `enclog` command: a key, an identity, its recipient, and a
    folder of them as a keyring."""
    keys = tmp_path / "keys"
    keys.mkdir()
    helpers.enclog("genkey", "-o", keys / "app.key", check=0)
    helpers.enclog("genkey", "--recipient", "-o", keys / "identity.key", check=0)
    recipient_text = helpers.enclog("recipient", keys / "identity.key", check=0).stdout.decode()
    (tmp_path / "writer.recipient").write_text(recipient_text)
    key = enclog.Key.from_file(keys / "app.key")
    identity = enclog.Identity.from_file(keys / "identity.key")
    recipient = enclog.Recipient.from_file(tmp_path / "writer.recipient")
    assert recipient.id == identity.id == identity.recipient.id
    assert recipient.to_text() == identity.recipient.to_text() == recipient_text.strip()
    fernet = enclog.FernetKey.generate()
    helpers.write_secret(keys / "zato.key", fernet.to_text())
    assert enclog.FernetKey.from_file(keys / "zato.key").id == fernet.id

    ring = enclog.Keyring()
    assert sorted(ring.add_dir(keys)) == sorted([key.id, identity.id, fernet.id])
    assert len(ring) == 3
    lines = [enclog.Sealer(k).seal("to %s" % name) for k, name in
             [(key, "key"), (recipient, "recipient"), (fernet, "fernet")]]
    assert [enclog.open_line(line, ring).text for line in lines] == [
        "to key", "to recipient", "to fernet"]
    single = enclog.Keyring()
    assert single.add_file(keys / "identity.key") == identity.id
    assert enclog.open_line(lines[1], single).mode == "recipient"
