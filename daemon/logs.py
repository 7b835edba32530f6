"""Structured logging: one line per event, `ts=... level=... event=... key=value ...`."""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
import time
from pathlib import Path

LOGGER_NAME = "boo.daemon"
log = logging.getLogger(LOGGER_NAME)


def _fmt_value(v) -> str:
    if isinstance(v, float):
        v = round(v, 6)
    s = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), default=str)
    if s == "" or any(c in s for c in ' "=\n\t'):
        s = json.dumps(s)
    return s


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created)) + f".{int(record.msecs):03d}"
        parts = [f"ts={ts}", f"level={record.levelname.lower()}", f"event={_fmt_value(record.getMessage())}",
                 f"pid={record.process}"]
        for k, v in getattr(record, "kv", {}).items():
            parts.append(f"{k}={_fmt_value(v)}")
        if record.exc_info:
            parts.append("exc=" + _fmt_value(self.formatException(record.exc_info)))
        return " ".join(parts)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A size-bounded log (`max_bytes` x (1 + backups)) opened the daemon's way: 0600, never
    through a symlink (O_NOFOLLOW), only a regular file of ours. A link planted under the log's
    name used to make the daemon append to (or truncate) the link's target."""

    def _open(self):
        from boo_shim.endpoints import open_private

        fd = open_private(Path(self.baseFilename), os.O_WRONLY | os.O_APPEND)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


DEFAULT_LOG_MAX_BYTES = 16 << 20
DEFAULT_LOG_BACKUPS = 3


def setup_logging(level: str = "info", log_file: str | None = None, *,
                  max_bytes: int = DEFAULT_LOG_MAX_BYTES, backups: int = DEFAULT_LOG_BACKUPS) -> None:
    handler: logging.Handler
    if log_file:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        handler = PrivateRotatingFileHandler(log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    log.handlers[:] = [handler]
    log.propagate = False
    lvl = logging.getLevelName(str(level).upper())
    if not isinstance(lvl, int):
        raise ValueError(f"--log-level: unknown level {level!r}; use debug, info, warning or error")
    log.setLevel(lvl)


def event(level: int, name: str, **kv) -> None:
    if log.isEnabledFor(level):
        log.log(level, name, extra={"kv": kv})


def debug_enabled() -> bool:
    """Whether debug events are written (so a hot path can skip building their fields)."""
    return log.isEnabledFor(logging.DEBUG)


def debug(name: str, **kv) -> None:
    event(logging.DEBUG, name, **kv)


def info(name: str, **kv) -> None:
    event(logging.INFO, name, **kv)


def warning(name: str, **kv) -> None:
    event(logging.WARNING, name, **kv)


def error(name: str, **kv) -> None:
    event(logging.ERROR, name, **kv)
