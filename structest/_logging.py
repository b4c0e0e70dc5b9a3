"""Logging of the command line: one stderr handler on the ``structest`` logger.

Results go to stdout; progress lines, notes and warnings are log records on the
``structest`` logger (progress: INFO records of ``structest.progress.<step>``), written
to stderr by the handler :func:`configure_logging` installs. The root logger and
third-party loggers are never touched.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

#: logger of the command-line progress lines (children: ``structest.progress.<step>``); shown
#: by default, hidden with ``-q`` (see :func:`configure_logging`)
PROGRESS_LOGGER = "structest.progress"

#: the ``structest`` logger's level for -q, (none), -v, -vv
_LEVELS = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}


class _StderrHandler(logging.StreamHandler):
    """A handler that writes to the *current* ``sys.stderr`` (captured by test runners)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ sets it; always stderr
        pass


class _Formatter(logging.Formatter):
    """``message`` for progress and INFO; ``WARNING: ``/``error: `` prefixes; DEBUG named.

    A record with ``extra={"prefix": "note"}`` is written ``note: message``.
    """

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.exc_info and record.levelno <= logging.DEBUG:
            msg += "\n" + self.formatException(record.exc_info)
        prefix = getattr(record, "prefix", None)
        if prefix:
            return f"{prefix}: {msg}"
        if record.levelno >= logging.ERROR:
            return f"error: {msg}"
        if record.levelno >= logging.WARNING:
            return f"WARNING: {msg}"
        if record.levelno <= logging.DEBUG:
            return f"debug [{record.name}]: {msg}"
        return msg


def configure_logging(verbosity: int = 0) -> logging.Logger:
    """Send structest's log records to stderr at the level the CLI flags ask for.

    Only the ``structest`` logger gets a handler (the root logger and third-party loggers
    are left alone; ``structest`` does not propagate to the root, so lines are not written
    twice). Calling it again replaces the handler it added before.

    Parameters
    ----------
    verbosity
        -1 (``-q``): errors only, progress lines and notes hidden (results are still
        printed); 0: warnings, notes and progress lines (default); 1 (``-v``): INFO;
        2 or more (``-vv``): DEBUG.

    Returns
    -------
    logging.Logger
        The ``structest`` logger.
    """
    level = _LEVELS[max(-1, min(2, int(verbosity)))]
    log = logging.getLogger("structest")
    for h in [h for h in log.handlers if isinstance(h, _StderrHandler)]:
        log.removeHandler(h)
    handler = _StderrHandler()
    handler.setFormatter(_Formatter())
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    # progress lines are INFO records of their own logger: shown unless -q
    logging.getLogger(PROGRESS_LOGGER).setLevel(logging.ERROR if verbosity < 0 else logging.INFO)
    return log


def progress(step: str, message: str) -> None:
    """A progress line of ``step`` (``"fit"``, ``"reduced"``...).

    Under the command line (a handler on the ``structest`` logger: :func:`configure_logging`)
    it is an INFO record of ``structest.progress.<step>``, shown by default and hidden by
    ``-q``; from Python it is printed on stderr, as the caller asked for progress.
    """
    if logging.getLogger("structest").handlers:
        logging.getLogger(f"{PROGRESS_LOGGER}.{step}").info("%s", message)
    else:
        print(message, file=sys.stderr, flush=True)
