"""THE mapping of store error replies to insitu errors: one class per condition, whichever
operation met it and whichever parser (redis-py's or insitu's own reader) read the reply.

=====================================================  =====================================
reply code                                             error
=====================================================  =====================================
``CLUSTERDOWN``, ``MASTERDOWN``, ``TRYAGAIN``          :class:`~insitu.errors.ClusterDownError`
``LOADING``                                            :class:`~insitu.errors.StoreLoadingError`
``BUSY``                                               :class:`~insitu.errors.StoreBusyError`
``READONLY``                                           :class:`~insitu.errors.ReadOnlyStoreError`
``OOM``                                                :class:`~insitu.errors.StoreOutOfMemoryError`
``NOPERM``                                             :class:`~insitu.errors.PermissionDeniedError`
``NOAUTH``, ``WRONGPASS``                              :class:`~insitu.errors.RedisConnectionError`
``WRONGTYPE``                                          :class:`~insitu.errors.RedisRuntimeError`
``CROSSSLOT``                                          :class:`~insitu.errors.RedisInternalError`
``... no such key``                                    :class:`~insitu.errors.RedisKeyError`
anything else                                          :class:`~insitu.errors.RedisReplyError`
=====================================================  =====================================

The first four are *unavailable* conditions (:data:`UNAVAILABLE`): the transport retries
them until ``SR_CMD_TIMEOUT`` before it raises their error (see
:mod:`insitu.client.transport`).
"""

from __future__ import annotations

import contextlib

import redis
import redis.exceptions as rex

from insitu.errors import (
    ClientError,
    ClusterDownError,
    PermissionDeniedError,
    ReadOnlyStoreError,
    RedisConnectionError,
    RedisInternalError,
    RedisKeyError,
    RedisReplyError,
    RedisRuntimeError,
    StoreBusyError,
    StoreLoadingError,
    StoreOutOfMemoryError,
    StoreUnavailableError,
)

UNAVAILABLE: dict[str, type[StoreUnavailableError]] = {
    "CLUSTERDOWN": ClusterDownError, "MASTERDOWN": ClusterDownError,
    "TRYAGAIN": ClusterDownError, "LOADING": StoreLoadingError, "BUSY": StoreBusyError,
    "READONLY": ReadOnlyStoreError,
}  # fmt: skip
# redis-py turns these replies into its own classes and strips the code from the message;
# the code is put back so that one mapping (reply_error) sees every reply alike.
_REDIS_PY_CODES: tuple[tuple[type[Exception], str], ...] = (
    (rex.MasterDownError, "MASTERDOWN"), (rex.ClusterDownError, "CLUSTERDOWN"),
    (rex.TryAgainError, "TRYAGAIN"), (rex.BusyLoadingError, "LOADING"),
    (rex.ReadOnlyError, "READONLY"), (rex.OutOfMemoryError, "OOM"),
    (rex.NoPermissionError, "NOPERM"), (rex.ExecAbortError, "EXECABORT"),
    (rex.NoScriptError, "NOSCRIPT"), (rex.ClusterCrossSlotError, "CROSSSLOT"),
)  # fmt: skip


def error_text(err: BaseException) -> str:
    """A server error reply as the server wrote it (``CLUSTERDOWN The cluster is down``),
    whether insitu's reader or redis-py parsed it (redis-py strips the code of the
    replies it has its own class for)."""
    text = str(err)
    for cls, code in _REDIS_PY_CODES:
        if isinstance(err, cls):
            return text if text.startswith(code) else f"{code} {text}"
    return text


def reply_error(message: str, key: str, *, address: str = "", limit: int = 0) -> ClientError:
    """THE mapping of a server error reply (``message``, as :func:`error_text` gives it)
    about ``key`` to an insitu error, one class per condition: ``address`` names the shard
    for conditions that are about it, ``limit`` is its ``maxmemory`` for OOM (0: unknown)."""
    code = message.split(" ", 1)[0]
    unavailable = UNAVAILABLE.get(code)
    if unavailable is not None:
        return unavailable(
            f"the store refused {key!r} until SR_CMD_TIMEOUT passed: {message}", address, code
        )
    if code == "WRONGTYPE":
        return RedisRuntimeError(f"key {key!r} holds another kind of value: {message}")
    if code == "OOM":
        return StoreOutOfMemoryError(key, limit, message)
    if code in ("NOAUTH", "WRONGPASS"):
        return RedisConnectionError(f"not authorised for {key!r}: {message}", address or key)
    if code == "NOPERM":
        return PermissionDeniedError(key, message)
    if code == "CROSSSLOT":
        return RedisInternalError(f"keys in different slots: {message}")
    if "no such key" in message:
        return RedisKeyError(key)
    return RedisReplyError(f"the store rejected the operation on {key!r}: {message}")


def memory_limit(node: redis.Redis | None) -> int:
    """The shard's ``maxmemory`` in bytes (0 if it cannot be read, e.g. CONFIG is not
    permitted)."""
    if node is None:
        return 0
    try:
        reply = node.config_get("maxmemory")
    except (rex.RedisError, OSError):
        return 0
    for name, value in dict(reply).items():
        if _text(name) == "maxmemory":
            with contextlib.suppress(ValueError):
                return int(_text(value))
    return 0


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
