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
