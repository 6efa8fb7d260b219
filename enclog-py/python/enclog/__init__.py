"""Encrypted logging for Python: every log record is sealed as one line that only a key holder
can read, by the Rust enclog library (the same line format, keys and tools: ``enclog decrypt``,
``tailf`` and ``verify`` read what Python writes, and this package reads what Rust writes).

Which name for which job:

=============================================  ===============================================
you are…                                       use
=============================================  ===============================================
a service logging to one file                  ``init_file(path, key)``: one call, a handler
                                               that follows logrotate and closes its session
                                               at exit
using your own handlers (stream, syslog,       ``EncryptedFormatter(key, formatter)``: wraps
rotating files, a queue)                       any ``logging.Formatter``; the whole formatted
                                               record (extra, traceback, stack) is sealed
a zato-enclog user                             ``EncryptedLogFormatter(key, fmt)``: its
                                               constructor; a Fernet key writes lines its
                                               ``enclog open`` reads, an enclog key v2 lines
managing keys                                  ``Key``, ``Recipient``, ``Identity``,
                                               ``FernetKey``, ``Keyring``
reading logs                                   ``read_file(path, keyring)`` (an ``Entry`` per
                                               line), ``open_line(line, keyring)``, ``Opener``
only some values secret, the rest searchable   ``SealedFieldsFormatter(key, fields=[…])``: a
                                               JSON line per record, the named ``extra``
                                               values (and tracebacks) sealed in place
sealing outside logging                        ``Sealer(key).seal(text)``
=============================================  ===============================================

Errors are ``EnclogError`` subclasses: ``InvalidKeyError`` for keys, ``OpenError`` and its
subclasses for lines, ``SealError``. No ``repr`` and no message shows key material.
"""

from ._enclog import (
    DEFAULT_MAX_LINE,
    FERNET_MARKER,
    MARKER,
    MAX_EVENT,
    CorruptedLineError,
    EnclogError,
    Entry,
    Event,
    FernetKey,
    Identity,
    InvalidKeyError,
    Key,
    Keyring,
    LineTooLongError,
    LogFileWriter,
    LogReader,
    MalformedLineError,
    NoFernetKeyError,
    OpenError,
    Opener,
    Recipient,
    SealError,
    Sealer,
    TruncatedLineError,
    UnknownKeyError,
    UnsupportedLineError,
    __version__,
    open_line,
    read_file,
)
from ._logging import (
    EncryptedFileHandler,
    EncryptedFormatter,
    EncryptedLogFormatter,
    SealedFieldsFormatter,
    init_file,
    shutdown,
)

__all__ = [
    "SealedFieldsFormatter",
    "DEFAULT_MAX_LINE",
    "FERNET_MARKER",
    "MARKER",
    "MAX_EVENT",
    "CorruptedLineError",
    "EnclogError",
    "EncryptedFileHandler",
    "EncryptedFormatter",
    "EncryptedLogFormatter",
    "Entry",
    "Event",
    "FernetKey",
    "Identity",
    "InvalidKeyError",
    "Key",
    "Keyring",
    "LineTooLongError",
    "LogFileWriter",
    "LogReader",
    "MalformedLineError",
    "NoFernetKeyError",
    "OpenError",
    "Opener",
    "Recipient",
    "SealError",
    "Sealer",
    "TruncatedLineError",
    "UnknownKeyError",
    "UnsupportedLineError",
    "__version__",
    "init_file",
    "open_line",
    "read_file",
    "shutdown",
]
