"""Logging for insitu: ``get_logger(name)`` as SmartSim's, level from the environment.

The level is read from ``INSITU_LOG_LEVEL``, else ``SMARTSIM_LOG_LEVEL``; values are
``quiet``, ``info`` (default), ``debug``, ``developer`` (SmartSim's vocabulary) or any
standard level name (``WARNING`` …).
"""

from __future__ import annotations

import logging
import os
import sys

_LEVELS = {
    "quiet": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "developer": logging.DEBUG,
}
_FORMAT = "%(asctime)s %(name)s[%(process)d] %(levelname)s %(message)s"
_configured: set[str] = set()


def level_from_env() -> int:
    """The log level asked for by ``INSITU_LOG_LEVEL`` / ``SMARTSIM_LOG_LEVEL`` (default INFO)."""
    raw = os.environ.get("INSITU_LOG_LEVEL") or os.environ.get("SMARTSIM_LOG_LEVEL") or "info"
    key = raw.strip().lower()
    if key in _LEVELS:
        return _LEVELS[key]
    value = logging.getLevelName(raw.strip().upper())
    return value if isinstance(value, int) else logging.INFO


def get_logger(name: str, log_level: str | None = None) -> logging.Logger:
    """Return a logger that writes ``time name[pid] LEVEL message`` lines to stderr.

    ``log_level`` overrides the environment for this logger. Calling twice with one name
    returns the same logger without adding a second handler.
    """
    logger = logging.getLogger(name)
    if name not in _configured:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
        logger.addHandler(handler)
        logger.propagate = False
        _configured.add(name)
    level = _LEVELS.get(log_level.lower(), logging.INFO) if log_level else level_from_env()
    logger.setLevel(level)
    return logger


_LEVEL_NAMES = {**_LEVELS, "warn": logging.WARNING, "warning": logging.WARNING,
                "error": logging.ERROR, "critical": logging.CRITICAL}  # fmt: skip
EXPERIMENT_LOG_FORMAT = "%(asctime)s %(hostname)s %(name)s[%(process)d] %(levelname)s %(message)s"
"""SmartSim's format of the experiment log files (``%(hostname)s`` from HostnameFilter)."""


def _level(value: str | int) -> int:
    if isinstance(value, int):
        return value
    key = value.strip().lower()
    if key not in _LEVEL_NAMES:
        from insitu.errors import InvalidArgumentError

        raise InvalidArgumentError(f"unknown log level {value!r}")
    return _LEVEL_NAMES[key]


class HostnameFilter(logging.Filter):
    """Adds ``record.hostname`` (this host's name) and lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        import socket

        record.hostname = socket.gethostname()
        return True


class LowPassFilter(logging.Filter):
    """Lets through records at or below ``max_level`` (e.g. ``"info"`` for a stdout file
    that leaves warnings to stderr)."""

    def __init__(self, max_level: str | int) -> None:
        super().__init__()
        self.max_level = _level(max_level)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno <= self.max_level


class ContextAwareLogger(logging.Logger):
    """SmartSim's logger class: a standard :class:`logging.Logger` (insitu's experiment
    log goes to the launch record, so there is no per-experiment context to add)."""


def log_to_file(
    filename: str, log_level: str = "debug", logger: logging.Logger | None = None
) -> None:
    """Also write ``logger``'s records (default: ``insitu``) at ``log_level`` and above to
    ``filename`` (appended)."""
    target = logger or logging.getLogger("insitu")
    handler = logging.FileHandler(filename, mode="a", encoding="utf-8")
    handler.setLevel(_level(log_level))
    handler.setFormatter(logging.Formatter(_FORMAT))
    target.addHandler(handler)


def log_to_exp_file(
    filename: str,
    logger: logging.Logger,
    log_level: str = "warn",
    fmt: str | None = EXPERIMENT_LOG_FORMAT,
    log_filter: logging.Filter | None = None,
) -> logging.Handler:
    """Add a handler writing ``logger``'s records at ``log_level`` and above to
    ``filename`` (its directory is created); returns it so the caller can remove it."""
    os.makedirs(os.path.dirname(os.path.abspath(filename)), exist_ok=True)
    handler = logging.FileHandler(filename, mode="a", encoding="utf-8")
    handler.setLevel(_level(log_level))
    handler.addFilter(HostnameFilter())
    if log_filter is not None:
        handler.addFilter(log_filter)
    handler.setFormatter(logging.Formatter(fmt))
    logger.addHandler(handler)
    return handler
