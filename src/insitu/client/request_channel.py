"""The connection that carries a Client's inference requests to a standalone store: one
lean :class:`~insitu.connection.resp_connection.RespConnection` (redis-py's layers would
cost more than the request's own round trip), with the transport's error semantics.

Contract of :meth:`RequestChannel.pipeline`: the commands go out in one round trip and
their raw replies come back; a server error reply raises the SmartRedis error
:func:`~insitu.client.transport.reply_error` gives (after every reply was read). While
the store cannot be reached and nothing was sent, it retries every ``SR_CMD_INTERVAL`` up
to ``SR_CMD_TIMEOUT``, then raises RedisConnectionLostError; once something was sent, a
lost connection raises RedisConnectionLostError at once (a request is never queued twice).
Replies are polled for during ``INSITU_REPLY_SPIN_US`` before the thread sleeps (see
:class:`~insitu.client.config_options.ConfigOptions`): a small model's reply then costs no
wake-up.
Safe to share between threads (each running request has a connection of its own; idle
ones are kept for reuse) and across ``fork`` (a child connects anew).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar

from insitu.client.config_options import Timeouts
from insitu.client.reply_errors import reply_error
from insitu.connection.resp import ProtocolViolationError, ServerReplyError
from insitu.connection.resp_connection import (
    Arg,
    Guessed,
    NotSentError,
    ReplyGuess,
    RespConnection,
)
from insitu.errors import RedisConnectionLostError, RedisInvalidUseError
from insitu.wire.endpoint import Endpoint

T = TypeVar("T")
_forks = [0]  # how many times this process was forked into (0 in the original)


def _forked() -> None:
    _forks[0] += 1


os.register_at_fork(after_in_child=_forked)


class RequestChannel:
    """See the module docs."""

    def __init__(self, endpoint: Endpoint, timeouts: Timeouts, *, reads: bool = False) -> None:
        """``reads``: the channel carries only commands that are safe to repeat (reads, a
        ``SET`` of a whole value), whose caller repeats them elsewhere when a connection
        was lost: no check for a closed connection before each TCP send (a system call per
        request saved)."""
        self._reads = reads
        self._endpoint = endpoint
        self._address = endpoint.address
        self._timeouts = timeouts
        self._idle: list[RespConnection] = []  # one per thread that used the channel at once
        self._closed = False
        self._lock = threading.Lock()
        self._generation = _forks[0]

    def pipeline(
        self, key: str, commands: Sequence[Sequence[Arg]], *, raise_on_error: bool = True
    ) -> list[object]:
        """``commands`` about ``key`` in one round trip; their raw replies (with
        ``raise_on_error=False`` an error reply is returned in place, a ServerReplyError).
        Threads run their requests side by side, each on a connection of its own."""
        conn = self._take()
        try:
            replies = self._retried(
                conn, key, lambda: conn.pipeline(commands, raise_on_error=False,
                                                 spin=self._timeouts.reply_spin)
            )  # fmt: skip
        except BaseException:
            conn.close()
            raise
        self._give_back(conn)
        if raise_on_error:
            for reply in replies:
                if isinstance(reply, ServerReplyError):
                    raise _command_error(reply, key)
        return replies

    def get(
        self, key: str, packed: bytes | None = None, guess: ReplyGuess | None = None
    ) -> memoryview | Guessed | None:
        """``GET key`` (``packed``, ``guess``: see :meth:`RespConnection.get`), with the
        same retries and errors as :meth:`pipeline`: the value in a fresh writable buffer,
        None if there is none, or :class:`Guessed`."""
        # The small reads' hot path takes an idle connection without the lock (list.pop
        # is atomic; _take() below does the rest under it).
        try:
            if self._generation != _forks[0]:
                raise IndexError  # forked: _take() drops the parent's connections
            conn = self._idle.pop()
        except IndexError:
            conn = self._take()
        try:
            value = conn.get(key, packed, guess)
        except NotSentError as err:
            value = self._get_again(conn, key, packed, err)
        except ServerReplyError as err:
            self._get_failed(conn, key, err)
        except BaseException as err:
            conn.close()
            if isinstance(err, (OSError, ProtocolViolationError)):
                raise self._lost(key, err) from err
            raise
        self._give_back(conn)
        return value

    def _get_again(
        self, conn: RespConnection, key: str, packed: bytes | None, first: NotSentError
    ) -> memoryview | Guessed | None:
        """:meth:`get` after its first send reached nothing (``first``): retried as the
        module says."""
        try:
            return self._retried(conn, key, lambda: conn.get(key, packed), first=first)
        except ServerReplyError as err:
            self._get_failed(conn, key, err)
        except BaseException:
            conn.close()
            raise

    def _get_failed(self, conn: RespConnection, key: str, err: ServerReplyError) -> NoReturn:
        """Raise the SmartRedis error for ``GET``'s error reply ``err``."""
        if not conn.connected:  # a refused password
            raise reply_error(str(err), key) from None
        self._give_back(conn)
        raise _command_error(err, key) from None

    def close(self) -> None:
        """Drop the idle connections (idempotent); one in use is dropped when its request
        ends."""
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for conn in idle:
            conn.close()

    def _take(self) -> RespConnection:
        with self._lock:
            if self._generation != _forks[0]:  # forked: the sockets belong to the parent
                for conn in self._idle:
                    conn.forget()
                self._idle, self._generation = [], _forks[0]
            if self._idle:
                return self._idle.pop()
        # A request is never sent twice, so one sent into a connection the store closed
        # (it restarted) would be an error, not a retry: check before each send over TCP,
        # where such a send seems to succeed. A Unix socket refuses it at once (EPIPE:
        # NotSentError, retried).
        idle_check = None if self._address.is_unix or self._reads else 0.0
        return RespConnection(self._endpoint, idle_check=idle_check)

    def _give_back(self, conn: RespConnection) -> None:
        with self._lock:
            keep = not self._closed
            if keep:
                self._idle.append(conn)
        if not keep:
            conn.close()

    def _retried(
        self,
        conn: RespConnection,
        key: str,
        call: Callable[[], T],
        *,
        first: NotSentError | None = None,
    ) -> T:
        """``call()`` on ``conn``, sent again while nothing reached the store (see the
        module docs; ``first``: a first attempt already reached nothing); a refused
        password and lost connections raised as the module says. A ServerReplyError of
        the command itself passes through."""
        deadline = time.monotonic() + self._timeouts.command
        failed = first
        while True:
            if failed is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._not_answered(key, failed) from failed
                time.sleep(min(self._timeouts.command_interval, remaining))
            try:
                return call()
            except NotSentError as err:
                failed = err
            except ServerReplyError as err:
                if conn.connected:  # the command's own error reply
                    raise
                raise reply_error(str(err), key) from None  # a refused password
            except (OSError, ProtocolViolationError) as err:
                raise self._lost(key, err) from err

    def _not_answered(self, key: str, err: NotSentError) -> RedisConnectionLostError:
        return RedisConnectionLostError(
            f"the store did not answer for {self._timeouts.command:g} s (SR_CMD_TIMEOUT) "
            f"while accessing {key!r}: {err}",
            str(self._address),
        )

    def _lost(self, key: str, err: BaseException) -> RedisConnectionLostError:
        return RedisConnectionLostError(
            f"connection lost while sending a request about {key!r}; it may or may not "
            f"have been queued: {err}",
            str(self._address),
        )


def _command_error(err: ServerReplyError, key: str) -> Exception:
    """The SmartRedis error for a command's error reply ``err`` about ``key``: a
    redirection says that the store is a cluster the Client took for a standalone one."""
    if str(err).startswith(("MOVED ", "ASK ")):
        return RedisInvalidUseError(
            f"the store is a Redis Cluster ({err}); connect with cluster=True"
        )
    return reply_error(str(err), key)
