"""SmartRedis-compatible logging: ``log_data``/``log_warning``/``log_error`` and the ``LL*`` levels.

Contract (SmartRedis 0.6):

* ``SR_LOG_LEVEL`` is ``quiet``, ``info`` (default), ``debug`` or ``developer`` (any case);
  a message is written when its level is at most the configured one, so ``LLQuiet``
  messages are always written.
* ``SR_LOG_FILE`` names a file the lines are appended to; unset or empty means stdout.
* Each message is one line ``<context>@HH-MM-SS:<message>`` (local time). Warnings and
  errors carry ``WARNING: `` / ``ERROR: `` before the message.
* The configuration is process-wide and read again whenever a ``Client`` is created
  (:func:`configure_logging`); an unknown level or an unwritable file raises
  :class:`~insitu.errors.RedisRuntimeError` there.

Writing to the file or stdout is the purpose of these functions (they are the user's log),
so this module writes directly instead of going through :mod:`logging`.
"""

from __future__ import annotations

import enum
import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from insitu._checks import check_type
from insitu.errors import RedisRuntimeError


class SRLoggingLevel(enum.IntEnum):
    """Logging levels, least to most verbose (values as in SmartRedis)."""

    LLQuiet = 1
    LLInfo = 2
    LLDebug = 3
    LLDeveloper = 4


LLQuiet = SRLoggingLevel.LLQuiet
LLInfo = SRLoggingLevel.LLInfo
LLDebug = SRLoggingLevel.LLDebug
LLDeveloper = SRLoggingLevel.LLDeveloper

LOG_LEVEL_VAR = "SR_LOG_LEVEL"
LOG_FILE_VAR = "SR_LOG_FILE"
_LEVELS = {
    "quiet": LLQuiet,
    "info": LLInfo,
    "debug": LLDebug,
    "developer": LLDeveloper,
}


@dataclass(frozen=True)
class LogConfig:
    """Where log lines go (``path`` "" = stdout) and up to which level."""

    level: SRLoggingLevel = LLInfo
    path: str = ""


def parse_log_config(env: Mapping[str, str]) -> LogConfig:
    """The configuration ``env`` asks for (pure; the file is not checked here).

    Raises :class:`RedisRuntimeError` for an unknown ``SR_LOG_LEVEL``.
    """
    raw = env.get(LOG_LEVEL_VAR, "").strip()
    if raw and raw.lower() not in _LEVELS:
        raise RedisRuntimeError(
            f"Unrecognized logging level: {raw!r} ({LOG_LEVEL_VAR} must be one of "
            f"{', '.join(_LEVELS)})"
        )
    level = _LEVELS.get(raw.lower(), LLInfo)
    return LogConfig(level, env.get(LOG_FILE_VAR, "").strip())


def format_line(context: str, message: str, when: time.struct_time) -> str:
    """One log line, without the newline: ``<context>@HH-MM-SS:<message>``."""
    return f"{context}@{time.strftime('%H-%M-%S', when)}:{message}"


class _State:
    """The process-wide configuration (None until first configured)."""

    config: LogConfig | None = None


_lock = threading.Lock()
_state = _State()


def configure_logging() -> LogConfig:
    """Read ``SR_LOG_LEVEL``/``SR_LOG_FILE`` now; raises RedisRuntimeError if unusable."""
    config = parse_log_config(os.environ)
    if config.path:
        try:
            with open(config.path, "a", encoding="utf-8"):
                pass
        except OSError as err:
            raise RedisRuntimeError(f"Cannot write to file: {config.path} ({err})") from err
    with _lock:
        _state.config = config
    return config


def _current() -> LogConfig:
    with _lock:
        config = _state.config
    if config is None:
        try:
            config = configure_logging()
        except RedisRuntimeError:
            config = LogConfig()  # module-level logging before any Client: never fail
    return config


def write_log(context: str, level: SRLoggingLevel, message: str) -> None:
    """Write ``message`` for ``context`` if ``level`` is enabled (internal entry point)."""
    config = _current()
    if level > config.level:
        return
    line = format_line(context, message, time.localtime()) + "\n"
    with _lock:
        if config.path:
            try:
                with open(config.path, "a", encoding="utf-8") as handle:
                    handle.write(line)
                return
            except OSError:
                pass  # the file became unwritable: fall back to stdout, as SmartRedis does
        sys.stdout.write(line)
        sys.stdout.flush()


def _checked(context: str, level: object, data: object) -> tuple[str, SRLoggingLevel, str]:
    check_type("context", context, str, "a str")
    lvl = check_type("level", level, SRLoggingLevel, "an SRLoggingLevel (LLQuiet, LLInfo, ...)")
    return context, lvl, check_type("data", data, str, "a str")


def log_data(context: str, level: SRLoggingLevel, data: str) -> None:
    """Log ``data`` under ``context`` if ``level`` is enabled. TypeError for wrong types."""
    write_log(*_checked(context, level, data))


def log_warning(context: str, level: SRLoggingLevel, data: str) -> None:
    """Like :func:`log_data`, with ``WARNING: `` before the message."""
    ctx, lvl, text = _checked(context, level, data)
    write_log(ctx, lvl, "WARNING: " + text)


def log_error(context: str, level: SRLoggingLevel, data: str) -> None:
    """Like :func:`log_data`, with ``ERROR: `` before the message."""
    ctx, lvl, text = _checked(context, level, data)
    write_log(ctx, lvl, "ERROR: " + text)


class LogContext:
    """``log_data``/``log_warning``/``log_error`` methods bound to a context name
    (the Client's ``logger_name``, the Dataset's name), as SmartRedis's ``SRObject``."""

    _log_context: str

    def __init__(self, context: str) -> None:
        self._log_context = check_type("context", context, str, "a str")

    def log_data(self, level: SRLoggingLevel, data: str) -> None:
        """Log ``data`` if ``level`` is enabled."""
        log_data(self._log_context, level, data)

    def log_warning(self, level: SRLoggingLevel, data: str) -> None:
        """Log a warning if ``level`` is enabled."""
        log_warning(self._log_context, level, data)

    def log_error(self, level: SRLoggingLevel, data: str) -> None:
        """Log an error if ``level`` is enabled."""
        log_error(self._log_context, level, data)


SRObject = LogContext
"""SmartRedis's base of logging objects (``Client``, ``Dataset``, ``LogContext``)."""
