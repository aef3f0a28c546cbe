"""The store connection behind a Client: the :class:`Transport` protocol and its redis-py
(+ hiredis) implementation for a standalone server or a Redis Cluster.

Contract of every operation:

* A shard that cannot be reached (refused, reset, timed out) is retried every
  ``SR_CMD_INTERVAL`` until ``SR_CMD_TIMEOUT`` has passed since the call began; then
  :class:`~insitu.errors.RedisConnectionLostError` (a ``RedisConnectionError``). The next
  call reconnects by itself, so a client recovers when the shard is back.
* A shard that answers but refuses to serve for now — the cluster is down or failing over
  (``CLUSTERDOWN``, ``MASTERDOWN``, ``TRYAGAIN``), it is loading its data (``LOADING``),
  busy (``BUSY``) or a replica (``READONLY``) — is retried the same way (the layout is
  re-learnt between tries; a refused command was not applied, so writes are retried too);
  then the :class:`~insitu.errors.StoreUnavailableError` of that condition.
* A command that changes state and is not idempotent (``RPUSH``) is never sent twice: if
  the connection fails after it was sent, the error says the outcome is unknown.
* Server error replies become the matching SmartRedis error, one class per condition,
  whichever operation met it and whether redis-py or insitu's own reader parsed the reply
  (see :func:`reply_error`): out of memory is :class:`~insitu.errors.StoreOutOfMemoryError`
  naming the shard's limit, an ACL refusal :class:`~insitu.errors.PermissionDeniedError`.
* Values above 1 MiB are checked against the shard's ``proto-max-bulk-len`` before
  anything is sent, so an oversized value raises ValueTooLargeError instead of getting
  the connection dropped by the server.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

import redis
import redis.exceptions as rex
from redis.connection import AbstractConnection

from insitu.client.config_options import Timeouts
from insitu.client.durability import NO_WAIT, Durability
from insitu.client.reply_errors import UNAVAILABLE, error_text, memory_limit, reply_error
from insitu.client.routing import Router
from insitu.connection.redis_clients import checked_out, node_address, raw_socket
from insitu.connection.resp import (
    Arg,
    Buffer,
    BulkReader,
    ProtocolViolationError,
    ServerReplyError,
    Value,
    encode_text,
    pack,
    pack_many,
    send_all,
)
from insitu.errors import (
    ClientError,
    RedisConnectionError,
    RedisConnectionLostError,
    RedisDatabaseError,
    RedisInternalError,
    RedisInvalidUseError,
    RedisReplyError,
    ValueTooLargeError,
)
from insitu.wire.addresses import Address

T = TypeVar("T")
Reader = Callable[[AbstractConnection], T]

_RETRYABLE = (rex.ConnectionError, rex.TimeoutError, rex.RedisClusterException,
              ConnectionError, OSError)  # fmt: skip
_REDIRECTS = 5
_MIN_LIMIT = 1024 * 1024  # no server accepts a smaller proto-max-bulk-len
_LIMIT_TTL = 5.0
# copy/rename move values (tensors, datasets) only: a model or script key (a hash) is
# refused with WRONGTYPE, as SmartRedis refused to copy a RedisAI model as a tensor.
_VALUE_CHECK = (
    "local t = redis.call('TYPE', KEYS[1]).ok "
    "if t == 'none' then return 0 end "
    "if t ~= 'string' then return redis.error_reply("
    "'WRONGTYPE ' .. KEYS[1] .. ' holds a ' .. t .. ', not a tensor or dataset') end "
)
_COPY_VALUE = _VALUE_CHECK + "return redis.call('COPY', KEYS[1], KEYS[2], 'REPLACE')"
_RENAME_VALUE = _VALUE_CHECK + "redis.call('RENAME', KEYS[1], KEYS[2]) return 1"


class Transport(Protocol):
    """What a Client needs from a store (keys are final: prefixes already applied)."""

    @property
    def clustered(self) -> bool: ...
    def addresses(self) -> list[Address]: ...
    def put(self, key: str, value: Value) -> None: ...
    def check_size(self, key: str, size: int) -> None: ...
    def get(self, key: str) -> memoryview | None: ...
    def get_many(self, keys: Sequence[str]) -> list[memoryview | None]: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> bool: ...
    def copy(self, src: str, dst: str) -> bool:
        """Copy the value (tensor, dataset) ``src`` to ``dst``; False if ``src`` is
        missing, RedisRuntimeError if it holds something else (a model)."""
        ...

    def rename(self, src: str, dst: str) -> bool:
        """Move the value ``src`` to ``dst``; the same results as :meth:`copy`."""
        ...

    def rpush(self, key: str, values: Sequence[str]) -> int: ...
    def llen(self, key: str) -> int: ...
    def lrange(self, key: str, start: int, end: int) -> list[str]: ...
    def copy_list(self, src: str, dst: str) -> bool: ...
    def node_command(self, address: Address, *args: Arg) -> object: ...
    def command(self, key: str, *args: Arg, idempotent: bool = True) -> object: ...
    def transaction(self, key: str, commands: Sequence[Sequence[Arg]]) -> list[object]: ...
    def pipeline(
        self, key: str, commands: Sequence[Sequence[Arg]], *, idempotent: bool = True
    ) -> list[object]: ...
    def pipeline_many(
        self, groups: Sequence[tuple[str, Sequence[Sequence[Arg]]]]
    ) -> list[list[object]]: ...
    def refresh(self) -> None:
        """Re-learn the cluster layout now (after a failover); nothing on a standalone."""
        ...

    def close(self) -> None: ...


class RedisTransport:
    """:class:`Transport` over redis-py connection pools (see the module contract)."""

    def __init__(
        self, router: Router, timeouts: Timeouts, durability: Durability = NO_WAIT
    ) -> None:
        self._router = router
        self._timeouts = timeouts
        self._durability = durability.bounded(int(timeouts.command * 500))
        self._limits: dict[int, tuple[float, int]] = {}

    @property
    def clustered(self) -> bool:
        return self._router.clustered

    def addresses(self) -> list[Address]:
        return [address for address, _ in self._router.nodes()]

    # ----------------------------------------------------------------- values
    def put(self, key: str, value: Value) -> None:
        self.check_size(key, value.nbytes)
        self._run(key, pack("SET", key, value), _read_one, write=True)

    def check_size(self, key: str, size: int) -> None:
        """ValueTooLargeError if a value of ``size`` bytes is over the limit of ``key``'s
        shard: callers check before they build a big value (a broadcast view), not after."""
        if size > _MIN_LIMIT:
            limit = self._limit(key)
            if size > limit:
                raise ValueTooLargeError(key, size, limit)

    def get(self, key: str) -> memoryview | None:
        return self._run(key, pack("GET", key), _bulk_reader(1))[0]

    def get_many(self, keys: Sequence[str]) -> list[memoryview | None]:
        groups: dict[int, list[int]] = {}
        for index, key in enumerate(keys):
            groups.setdefault(id(self._router.node_for(key)), []).append(index)
        out: list[memoryview | None] = [None] * len(keys)
        for indices in groups.values():
            batch = [keys[i] for i in indices]
            commands = pack_many([("GET", k) for k in batch])
            values = self._run(batch[0], commands, _bulk_reader(len(batch)))
            for i, value in zip(indices, values, strict=True):
                out[i] = value
        return out

    def exists(self, key: str) -> bool:
        return self._run(key, pack("EXISTS", key), _read_one) == 1

    def delete(self, key: str) -> bool:
        return self._run(key, pack("DEL", key), _read_one, write=True) == 1

    def copy(self, src: str, dst: str) -> bool:
        if self._router.same_slot(src, dst):
            reply = self._run(src, pack("EVAL", _COPY_VALUE, 2, src, dst), _read_one, write=True)
            return reply == 1
        value = self.get(src)
        if value is None:
            return False
        self.put(dst, Value((value,)))
        return True

    def rename(self, src: str, dst: str) -> bool:
        if not self._router.same_slot(src, dst):
            copied = self.copy(src, dst)
            if copied:
                self.delete(src)
            return copied
        reply = self._run(src, pack("EVAL", _RENAME_VALUE, 2, src, dst), _read_one, write=True)
        return reply == 1

    # ----------------------------------------------------------------- lists
    def rpush(self, key: str, values: Sequence[str]) -> int:
        reply = self._run(key, pack("RPUSH", key, *values), _read_one, idempotent=False, write=True)
        return _int(reply)

    def llen(self, key: str) -> int:
        return _int(self._run(key, pack("LLEN", key), _read_one))

    def lrange(self, key: str, start: int, end: int) -> list[str]:
        reply = self._run(key, pack("LRANGE", key, start, end), _read_one)
        if not isinstance(reply, list):
            raise RedisInternalError(f"LRANGE {key!r} returned {type(reply).__name__}")
        return [bytes(item).decode("utf-8", "replace") for item in reply]

    def copy_list(self, src: str, dst: str) -> bool:
        if self._router.same_slot(src, dst):
            return self._run(src, pack("COPY", src, dst, "REPLACE"), _read_one, write=True) == 1
        values = self.lrange(src, 0, -1)
        if not values:
            return False
        commands = pack_many([("MULTI",), ("DEL", dst), ("RPUSH", dst, *values), ("EXEC",)])
        self._run(dst, commands, _read_all(4), write=True)
        return True

    # ----------------------------------------------------------------- admin
    def node_command(self, address: Address, *args: Arg) -> object:
        node = self._router.node_at(address)
        return self._run(str(address), pack(*args), _read_one, node=node)

    # ----------------------------------------------------------------- generic
    def command(self, key: str, *args: Arg, idempotent: bool = True) -> object:
        """One command on the shard of ``key``; the raw reply (bytes undecoded)."""
        write = not idempotent or _is_write(args)
        return self._run(key, pack(*args), _read_one, idempotent=idempotent, write=write)

    def transaction(self, key: str, commands: Sequence[Sequence[Arg]]) -> list[object]:
        """``commands`` (all on the slot of ``key``) in one MULTI/EXEC, never sent twice;
        the EXEC reply (one entry per command)."""
        packed = pack_many([("MULTI",), *commands, ("EXEC",)])
        replies = self._run(key, packed, _read_all(len(commands) + 2), idempotent=False, write=True)
        result = replies[-1]
        if not isinstance(result, list):
            raise RedisInternalError(f"MULTI/EXEC on {key!r} was aborted")
        return result

    def pipeline(
        self, key: str, commands: Sequence[Sequence[Arg]], *, idempotent: bool = True
    ) -> list[object]:
        """``commands`` (all on the slot of ``key``) sent back to back, one round trip;
        their raw replies (the first error reply is raised after all were read)."""
        write = not idempotent or any(_is_write(c) for c in commands)
        return self._run(
            key, pack_many(commands), _read_all(len(commands)), idempotent=idempotent, write=write
        )

    def pipeline_many(
        self, groups: Sequence[tuple[str, Sequence[Sequence[Arg]]]]
    ) -> list[list[object]]:
        """Read-only ``groups`` of commands, each about the slot of its key: every group of
        one shard in one round trip; each group's raw replies (the first error reply is
        raised after all were read)."""
        by_node: dict[int, list[int]] = {}
        for index, (key, _) in enumerate(groups):
            by_node.setdefault(id(self._router.node_for(key)), []).append(index)
        out: list[list[object]] = [[] for _ in groups]
        for indices in by_node.values():
            commands = [command for i in indices for command in groups[i][1]]
            replies = self._run(
                groups[indices[0]][0], pack_many(commands), _read_all(len(commands))
            )
            at = 0
            for i in indices:
                out[i] = replies[at : at + len(groups[i][1])]
                at += len(groups[i][1])
        return out

    def refresh(self) -> None:
        self._refresh()

    def close(self) -> None:
        self._router.close()

    # ----------------------------------------------------------------- machinery
    def _limit(self, key: str) -> int:
        """The shard's largest accepted value (cached for a few seconds)."""
        node = self._router.node_for(key)
        now = time.monotonic()
        cached = self._limits.get(id(node))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            reply = self._run(key, pack("CONFIG", "GET", "proto-max-bulk-len"), _read_one)
            limit = int(reply[1])  # type: ignore[index]
        except (RedisReplyError, IndexError, ValueError, TypeError):
            limit = 512 * 1024 * 1024  # the server default, if CONFIG is not allowed
        self._limits[id(node)] = (now + _LIMIT_TTL, limit)
        return limit

    def _run(
        self,
        key: str,
        commands: list[Buffer],
        read: Reader[T],
        *,
        idempotent: bool = True,
        node: redis.Redis | None = None,
        write: bool = False,
    ) -> T:
        """Send ``commands`` to the shard of ``key`` (or ``node``) and ``read`` the replies,
        retrying as the module contract says; a ``write`` waits for replicas when the
        client's durability asks for it (:mod:`insitu.client.durability`)."""
        if write and self._durability.enabled:
            commands = [*commands, *pack(*self._durability.wait_command())]
        deadline = time.monotonic() + self._timeouts.command
        redirects = 0
        target: redis.Redis | None = node
        while True:
            sent = [False]
            try:
                target = node if node is not None else self._router.node_for(key)
                if write and self._durability.enabled:
                    return _attempt(target, commands, self._waited(read, key, target), sent)
                return _attempt(target, commands, read, sent)
            except (rex.MovedError, rex.AskError) as err:
                redirects = self._redirected(err, redirects)
            except rex.AuthenticationError as err:
                raise RedisConnectionError(
                    f"authentication failed: {err}", _endpoint(target)
                ) from err
            except (ServerReplyError, rex.ResponseError) as err:
                text = error_text(err)
                if text.startswith(("MOVED ", "ASK ")):
                    redirects = self._redirected(err, redirects)
                    continue
                code = text.split(" ", 1)[0]
                if code not in UNAVAILABLE:
                    raise self._reply_error(text, key, target) from err
                final = reply_error(text, key, address=_endpoint(target))
                self._pause_or_fail(deadline, err, key, _endpoint(target), final)
            except ProtocolViolationError as err:
                raise RedisInternalError(f"protocol error talking to the store: {err}") from err
            except UnicodeEncodeError:  # redis-py hashing a key that has no UTF-8 form
                encode_text(key, "key")
                raise
            except rex.SlotNotCoveredError as err:  # nothing was sent: no shard owns the slot
                final = reply_error(f"CLUSTERDOWN {err}", key, address=_endpoint(target))
                self._pause_or_fail(deadline, err, key, _endpoint(target), final)
            except _RETRYABLE as err:
                if sent[0] and not idempotent:
                    raise RedisConnectionLostError(
                        f"connection lost while writing {key!r}; the write may or may not "
                        f"have been applied: {err}",
                        _endpoint(target),
                    ) from err
                self._pause_or_fail(deadline, err, key, _endpoint(target))

    def _waited(self, read: Reader[T], key: str, target: redis.Redis) -> Reader[T]:
        """``read``, then the reply of the WAIT sent after the write (read even after an
        error reply, so that the connection stays in step), checked."""

        def both(conn: AbstractConnection) -> T:
            try:
                result = read(conn)
            except (ServerReplyError, rex.ResponseError):
                conn.read_response(disable_decoding=True)
                raise
            reply = conn.read_response(disable_decoding=True)
            self._durability.check(reply, key, _endpoint(target))
            return result

        return both

    def _reply_error(self, text: str, key: str, node: redis.Redis | None) -> ClientError:
        """:func:`reply_error` for ``text``, with the shard's memory limit for OOM."""
        limit = memory_limit(node) if text.startswith("OOM") else 0
        return reply_error(text, key, address=_endpoint(node), limit=limit)

    def _redirected(self, err: Exception, count: int) -> int:
        if not self._router.clustered:
            raise RedisInvalidUseError(
                f"the store is a Redis Cluster ({err}); connect with cluster=True"
            ) from None
        if count >= _REDIRECTS:
            raise RedisDatabaseError(f"the cluster keeps redirecting: {err}") from None
        self._refresh()
        return count + 1

    def _pause_or_fail(
        self,
        deadline: float,
        err: BaseException,
        key: str,
        where: str,
        final: ClientError | None = None,
    ) -> None:
        """Wait ``SR_CMD_INTERVAL`` and re-learn the layout; past ``deadline`` raise
        ``final`` (default: RedisConnectionLostError) instead."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if final is not None:
                raise final from err
            raise RedisConnectionLostError(
                f"the store did not answer for {self._timeouts.command:g} s "
                f"(SR_CMD_TIMEOUT) while accessing {key!r}: {err}",
                where,
            ) from err
        time.sleep(min(self._timeouts.command_interval, remaining))
        self._refresh()

    def _refresh(self) -> None:
        # IndexError: redis-py's layout refresh fails so when every node it reached answers
        # with no slots at all (a cluster being restarted, before its slots are assigned);
        # the old layout is kept and the next try refreshes again.
        with contextlib.suppress(rex.RedisError, rex.RedisClusterException, OSError, IndexError):
            self._router.refresh()


def _attempt(node: redis.Redis, commands: list[Buffer], read: Reader[T], sent: list[bool]) -> T:
    """One try on one connection; on any failure the connection is dropped, not reused."""
    with checked_out(node) as conn:
        sock = raw_socket(conn)
        if sock is None:  # not connected yet: let redis-py connect and send
            conn.send_packed_command(commands, check_health=False)  # type: ignore[no-untyped-call]
        else:
            send_all(sock, commands)
        sent[0] = True
        return read(conn)


def _endpoint(node: redis.Redis | None) -> str:
    """The address of ``node`` as clients write it ("" when not known)."""
    address = None if node is None else node_address(node)
    return "" if address is None else str(address)


_READ_ONLY = frozenset({
    "GET", "MGET", "EXISTS", "LLEN", "LRANGE", "TYPE", "TTL", "PTTL", "SCAN", "KEYS",
    "INFO", "CONFIG", "CLUSTER", "PING", "DBSIZE", "HGET", "HGETALL", "HMGET", "HEXISTS",
    "AI.TENSORGET", "AI.MODELGET", "AI.SCRIPTGET", "AI.INFO", "INSITU.STATUS",
    "INSITU.STATS", "XLEN", "XRANGE", "XPENDING", "STRLEN", "GETRANGE", "WAIT",
})  # fmt: skip


def _is_write(command: Sequence[Arg]) -> bool:
    """True unless ``command`` is known to change nothing (a write waits for replicas)."""
    if not command:
        return False
    name = command[0]
    text = name.decode("ascii", "replace") if isinstance(name, bytes | bytearray) else str(name)
    return text.upper() not in _READ_ONLY


def _int(reply: object) -> int:
    if not isinstance(reply, int):
        raise RedisInternalError(f"expected an integer reply, got {type(reply).__name__}")
    return reply


def _read_one(conn: AbstractConnection) -> object:
    return conn.read_response(disable_decoding=True)


def _read_all(count: int) -> Reader[list[object]]:
    """Read ``count`` replies; the first error reply is raised after all were read."""

    def read(conn: AbstractConnection) -> list[object]:
        replies: list[object] = []
        error: rex.ResponseError | None = None
        for _ in range(count):
            try:
                replies.append(conn.read_response(disable_decoding=True))
            except rex.ResponseError as err:
                error = error or err
        if error is not None:
            raise error
        return replies

    return read


def _bulk_reader(count: int) -> Reader[list[memoryview | None]]:
    """Read ``count`` bulk replies zero-copy into fresh writable buffers."""

    def read(conn: AbstractConnection) -> list[memoryview | None]:
        sock = raw_socket(conn)
        if sock is None:
            raise rex.ConnectionError("connection closed before the reply was read")
        reader = BulkReader(sock)
        values: list[memoryview | None] = []
        error: ServerReplyError | None = None
        for _ in range(count):
            try:
                values.append(reader.read_bulk())
            except ServerReplyError as err:
                error = error or err
                values.append(None)
        if not reader.drained:
            raise ProtocolViolationError("unexpected bytes after the last reply")
        if error is not None:
            raise error
        return values

    return read
