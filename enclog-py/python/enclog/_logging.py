"""The ``logging`` integration: ``EncryptedFormatter`` (any handler), ``EncryptedFileHandler``
and ``init_file`` (one file that follows logrotate), ``EncryptedLogFormatter`` (zato-enclog's
constructor), and the close records written at exit.

Threat: a formatter that seals only the message, so that the traceback of an exception,
``stack_info`` and every field outside the message go to the file in clear (zato-enclog's).
Here the *whole* text a formatter produces is sealed: there is no clear part to leak into.
"""

import atexit
import datetime
import json
import logging
import os
import sys
import threading
import traceback
import weakref

from . import _enclog

__all__ = [
    "EncryptedFileHandler",
    "EncryptedFormatter",
    "EncryptedLogFormatter",
    "SealedFieldsFormatter",
    "init_file",
    "shutdown",
]

#: ``init_file``'s format when none is given: time, level, logger, message (and the traceback
#: and stack that ``logging.Formatter`` appends).
DEFAULT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class EncryptedFormatter(logging.Formatter):
    """Wraps any ``logging.Formatter`` so that everything it produces for a record — the format
    string's fields, values passed in ``extra``, the ``exc_info`` traceback and ``stack_info``
    — is sealed as one line (several for a record over ``max_event``; see ``Sealer``).

    ``key`` is a ``Key``, a ``Recipient`` (this process then cannot read its own log), a
    zato-enclog ``FernetKey``, or their text. ``clear_level=True`` writes the level name in
    clear before the token for grep and log routers (readers detect an edit of it).
    ``chain_state`` (a path) continues the writer's chain of sessions across runs.

    Give each handler its own formatter: lines are numbered in the order they are sealed, and
    one formatter shared by two handlers writes the same lines to both. A record formatted
    twice (``RotatingFileHandler`` measures each record before writing it) is sealed once.
    ``shutdown()``, run at exit, writes the session's close record through the handlers that
    use the formatter. Handlers that send the record's fields rather than the formatted text
    (``SocketHandler``, ``HTTPHandler``) send them in clear: use text handlers (stream, file,
    rotating, syslog, queue).
    """

    def __init__(self, key, formatter=None, *, clear_level=False, max_event=_enclog.MAX_EVENT,
                 chain_state=None):
        super().__init__()
        self._formatter = formatter if formatter is not None else logging.Formatter()
        self._sealer = _enclog.Sealer(key, max_event=max_event, chain_state=chain_state)
        self._core = _enclog.FormatCore(self._sealer, self._formatter.format,
                                        _formatting_failure, _report_split, clear_level)
        # Handlers call `formatter.format(record)`: this finds the native path first, so a
        # record costs no Python frame beyond the wrapped formatter's.
        self.format = self._core
        _formatters.add(self)

    @property
    def formatter(self):
        """The wrapped formatter."""
        return self._formatter

    @property
    def sealer(self):
        """The ``Sealer`` (its key id, mode and session)."""
        return self._sealer

    def format(self, record):
        """The record's sealed line: the wrapped formatter's text, sealed (several lines for a
        record over ``max_event``). A record formatted again gets the same line."""
        return self._core(record)

    def _close_through(self, handlers):
        """Writes the session's close record through ``handlers`` (under each one's lock)."""
        if not handlers:
            return
        first = handlers[0]
        first.acquire()
        try:
            line = self._sealer.close()
        finally:
            first.release()
        if line is None:
            return
        # The close record is written as a record of its own: each handler's emit formats it,
        # and the formatter answers with the close record.
        record = logging.LogRecord("enclog", logging.INFO, __file__, 0, "", None, None)
        self._core.prime(record, line)
        for handler in handlers:
            handler.acquire()
            try:
                handler.emit(record)
            except Exception:
                handler.handleError(record)
            finally:
                handler.release()


#: The attributes every ``LogRecord`` has: the others of a record came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


class SealedFieldsFormatter(logging.Formatter):
    """Writes each record as one JSON object that keeps its fields in clear and seals only the
    values of those named in ``fields`` (names, dotted paths into ``extra`` values that are
    dicts, ``*`` globs), in place, each a token only a key holder opens (FORMAT.md §11). So log
    stores and ``grep`` see every other field while the sensitive values never leave the
    process in clear. ``index`` names sealed fields to follow with a blind index
    (``"user_idx"``), the same for equal values under one index key: ``enclog index`` /
    ``enclog grep`` find one user's records without decrypting (what it leaks: SECURITY.md).
    With a ``Recipient`` key, indexing needs ``index_key`` (a ``Key``); with a symmetric key the
    index key is derived from it.

    The object: ``timestamp`` (UTC, RFC 3339), ``level``, ``logger``, ``message`` (the record's
    message, its arguments applied), then the record's ``extra`` values (JSON values as they
    are, anything else as its ``str``), and ``exc_info`` / ``stack_info`` when the record has
    them. A traceback and a stack are **always sealed** (they quote locals, arguments and
    secrets); seal ``message`` too by naming it. A record whose line cannot be sealed field by
    field (an ``extra`` named ``enclog``, the text ``enclog:`` in a clear value) is sealed
    whole: nothing of it is ever written in clear. ``enclog decrypt`` gives each line back as
    the JSON object it was.
    """

    def __init__(self, key, fields, *, index=(), index_key=None, max_event=_enclog.MAX_EVENT,
                 chain_state=None):
        super().__init__()
        fields = list(fields) + ["exc_info", "stack_info"]
        self._sealer = _enclog.Sealer(key, max_event=max_event, chain_state=chain_state,
                                      fields=fields, index=list(index), index_key=index_key)
        _formatters.add(self)

    @property
    def sealer(self):
        """The ``Sealer`` (its key id, mode and session)."""
        return self._sealer

    _close = None

    def format(self, record):
        """The record as a JSON line with its chosen fields sealed (see the class)."""
        close = self._close
        if close is not None and close[0] is record:
            return close[1]

        event = {
            "timestamp": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            .isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
        }
        try:
            event["message"] = record.getMessage()
        except Exception as exc:  # a failed %-format: kept (sealed whole), never printed
            event["message"] = f"{record.msg!r} % {record.args!r}: {exc!r}"
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and name not in event:
                event[name] = value
        if record.exc_info:
            event["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            event["exc_info"] = record.exc_text
        if record.stack_info:
            event["stack_info"] = self.formatStack(record.stack_info)
        line = json.dumps(event, ensure_ascii=False, default=str, separators=(",", ":"))
        return self._sealer.seal_json_fields(line)

    def _close_through(self, handlers):
        """Writes the session's close record through ``handlers`` (each one's ``emit`` formats a
        record of its own, and this formatter answers it with the close record)."""
        if not handlers:
            return
        line = self._sealer.close()
        if line is None:
            return
        record = logging.LogRecord("enclog", logging.INFO, __file__, 0, "", None, None)
        self._close = (record, line)
        try:
            for handler in handlers:
                handler.acquire()
                try:
                    handler.emit(record)
                except Exception:
                    handler.handleError(record)
                finally:
                    handler.release()
        finally:
            self._close = None


class EncryptedLogFormatter(EncryptedFormatter):
    """zato-enclog's ``EncryptedLogFormatter(key, fmt, datefmt, style)``, as a drop-in.

    ``key`` may also be passed as ``fernet_key=``, as zato-enclog allows. With a Fernet key
    (``str`` or ``bytes``, as ``Fernet.generate_key()`` gives it) each record is written as
    ``enclogdata:`` and a Fernet token, which zato-enclog's ``enclog open`` (and ``enclog
    decrypt``) read — but the whole formatted record is in the token, the traceback too, where
    zato-enclog left everything but the message in clear. With an enclog key (``Key``, a
    ``Recipient``, or their text) it writes enclog's own lines, with sequence numbers.
    """

    def __init__(self, key=None, *args, **kwargs):
        key = key or kwargs.pop("fernet_key", None)
        if key is None:
            raise TypeError("EncryptedLogFormatter needs a key (or fernet_key=)")
        options = {name: kwargs.pop(name) for name in ("clear_level", "max_event", "chain_state")
                   if name in kwargs}
        super().__init__(key, logging.Formatter(*args, **kwargs), **options)


class EncryptedFileHandler(logging.Handler):
    """A handler that seals each record into the log file at ``path`` (created with mode 0640
    if missing) and follows the path across log rotations, as the Rust ``init_file`` does:
    after logrotate renames the file (``create``) or deletes it, the session's close record
    goes into the old file and the next record to the new one, in a linked session.

    The handler's formatter (any; ``logging.Formatter()`` by default) makes the text that is
    sealed. ``clear_level`` (default on) keeps the level name in clear before the token.
    ``chain_state``: ``True`` keeps the writer's chain of sessions across runs in the per-log
    state file the Rust ``init_file`` uses (``~/.local/state/enclog/`` or
    ``$ENCLOG_STATE_DIR``), ``False`` for none, or a path.

    Writing never raises into your code: a failed write is counted (``lost_lines``) and stderr
    says so once (and once when it works again); a record whose formatting fails is sealed as a
    note holding its message, arguments and the error, never printed in clear. ``close()``
    writes the session's close record; ``init_file`` has it run at exit.
    """

    def __init__(self, path, key, *, level=logging.NOTSET, formatter=None, clear_level=True,
                 chain_state=True, max_event=_enclog.MAX_EVENT):
        super().__init__(level)
        self._file = _enclog.LogFileWriter(os.fspath(path), key, chain_state=chain_state,
                                           max_event=max_event)
        self._write = self._file.write
        self._clear_level = clear_level
        self._max_event = max_event
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record):
        try:
            text = self.format(record)
        except Exception:
            text = _formatting_failure(record)
        if self._clear_level:
            pieces = self._write(text, record.levelname)
        else:
            pieces = self._write(text)
        if pieces > 1:
            _report_split(record, text, pieces, self._max_event)

    def flush(self):
        """Nothing to flush: each record is written with one system call."""

    def close(self):
        """Writes the session's close record (a record logged afterwards starts a new one)."""
        self.acquire()
        try:
            self._file.close()
        finally:
            self.release()
        super().close()

    def reopen(self):
        """Reopens the path now (logrotate's ``postrotate``): returns whether another file was
        opened, the close record written into the old one."""
        self.acquire()
        try:
            return self._file.reopen()
        finally:
            self.release()

    def handleError(self, record):
        # logging's own handleError prints the record's message and arguments: in clear.
        if logging.raiseExceptions and sys.stderr:
            kind = sys.exc_info()[0]
            sys.stderr.write(
                "enclog: a log record from %s:%s could not be sealed (%s); it was lost (its "
                "text is not shown here: it may hold secrets)\n"
                % (record.pathname, record.lineno, kind.__name__ if kind else "error"))

    @property
    def lost_lines(self):
        """Lines lost because writing failed."""
        return self._file.lost_lines

    @property
    def chain_state_path(self):
        """The chain state file the chain of sessions continues through, or None."""
        return self._file.chain_state_path

    @property
    def path(self):
        """The log file's path."""
        return self._file.path

    @property
    def writer(self):
        """The ``LogFileWriter`` (key id, mode, session)."""
        return self._file

    def __repr__(self):
        return "<EncryptedFileHandler %s (%s)>" % (self._file.path,
                                                    logging.getLevelName(self.level))


def init_file(path, key, *, level=logging.INFO, format=DEFAULT_FORMAT, datefmt=None,
              logger=None, clear_level=True, chain_state=True):
    """Logs to the encrypted file at ``path`` in one call, like the Rust ``enclog::init_file``:
    an ``EncryptedFileHandler`` (rotation-following file, level in clear, chain of sessions
    kept across runs) with a ``logging.Formatter(format, datefmt)`` on ``logger`` (the root
    logger by default), whose level is set to ``level``. The session's close record is written
    at exit (``atexit``), or by ``handler.close()``. Returns the handler.

    ``key``: a ``Key`` (``Key.from_file("app.key")``), a ``Recipient`` (this host then cannot
    read its own log), a ``FernetKey`` (zato-enclog's format), or their text.

    A second call for the same logger and file raises ``EnclogError`` (every record would be
    written twice, and the second writer could not take the chain state).
    """
    target = logger if logger is not None else logging.getLogger()
    if isinstance(target, str):
        target = logging.getLogger(target)
    full = os.path.abspath(os.fspath(path))
    for existing in target.handlers:
        if isinstance(existing, EncryptedFileHandler) and os.path.abspath(existing.path) == full:
            raise _enclog.EnclogError(
                "init_file was already called for %s on this logger: call it once, at start"
                % full)
    handler = EncryptedFileHandler(path, key, formatter=logging.Formatter(format, datefmt),
                                   clear_level=clear_level, chain_state=chain_state)
    target.addHandler(handler)
    target.setLevel(level)
    _file_handlers.add(handler)
    return handler


def shutdown():
    """Writes the close record of every session this package opened: through the handlers of
    each ``EncryptedFormatter``, and into each ``init_file`` log. Runs at exit (before
    ``logging.shutdown``); call it yourself before ``os._exit`` (a ``multiprocessing`` worker,
    a forked child), else readers see those sessions as cut short. Records logged afterwards
    start new sessions."""
    with _shutdown_lock:
        for handler in list(_file_handlers):
            handler.close()
        formatters = list(_formatters)
        if not formatters:
            return
        # logging's own list of live handlers (what logging.shutdown walks).
        handlers = [ref() for ref in list(getattr(logging, "_handlerList", []))]
        handlers = [h for h in handlers if h is not None]
        for formatter in formatters:
            formatter._close_through([h for h in handlers if h.formatter is formatter])


_formatters = weakref.WeakSet()
_file_handlers = weakref.WeakSet()
_shutdown_lock = threading.Lock()
# Registered after logging's own atexit hook (logging is imported above), so it runs first:
# the close records are written before logging.shutdown flushes and closes the handlers.
atexit.register(shutdown)


def _formatting_failure(record, exc=None):
    """What is sealed for a record whose formatting raised ``exc`` (the exception being
    handled if None): the error, the message and the arguments, all inside the token. logging
    would print them on stderr, in clear."""
    if exc is None:
        exc = sys.exc_info()[1]
    error = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        message = repr(record.msg)
    except Exception:
        message = "<message that cannot be shown>"
    try:
        arguments = repr(record.args)
    except Exception:
        arguments = "<arguments that cannot be shown>"
    if logging.raiseExceptions and sys.stderr:
        sys.stderr.write(
            "enclog: a log record from %s:%s could not be formatted (%s); it was sealed into the "
            "log with its message and arguments (not shown here)\n"
            % (record.pathname, record.lineno, type(exc).__name__))
    return ("enclog: this record could not be formatted; message %s, arguments %s\n%s"
            % (message, arguments, error.rstrip("\n")))


def _report_split(record, text, pieces, max_event):
    """Says on stderr that a record was sealed as several events, as ``enclog encrypt`` does
    for a line over its ``--max-line`` (the size, never the text)."""
    try:
        length = len(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:
        length = len(text.encode("utf-8", "backslashreplace"))
    if sys.stderr:
        sys.stderr.write(
            "enclog: a log record from %s:%s is %d bytes, longer than the %d-byte limit; it was "
            "sealed as %d consecutive events, which decrypt shows as %d lines (raise max_event "
            "to keep such records whole)\n"
            % (record.pathname, record.lineno, length, max_event, pieces, pieces))
