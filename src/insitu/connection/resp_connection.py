"""One lean RESP2 connection to one server: a socket, hiredis's packer and parser, and
nothing else — for hot paths where redis-py's pool, retry and callback layers cost more
than the round trip itself (an inference request: about 30 µs per command through
redis-py against 6 µs for a Unix-socket round trip on the same CPU).

Contract: :meth:`RespConnection.pipeline` sends its commands back to back and reads one
reply per command. A complete error reply is a :class:`ServerReplyError` — returned in
place with ``raise_on_error=False``, else the first one is raised after every reply was
read, so the connection stays in step (a refused password is one too, raised by any
call). :class:`NotSentError` (an ``OSError``) means that
no byte of the commands reached the server (connecting failed, or the server had closed
the connection): a caller may send them again. Any other failure (``OSError``, a timeout,
:class:`ProtocolViolationError`, an interruption) leaves it unknown whether the commands
were applied. Every failure drops the socket; the next call connects again (and
authenticates). Nothing is retried here: callers decide.

A connection idle for ``idle_check`` seconds or more (default :data:`IDLE_CHECK_S`; 0:
before every send) is first checked for a server that closed it meanwhile (one
non-blocking peek), so that the first request after a store restart goes out on a fresh
connection instead of failing.

:meth:`RespConnection.send_later` queues commands whose replies nobody waits for: they go
out with the next call or :meth:`RespConnection.flush`, whichever comes first, in the same
system call; their replies are read by the next call, and their error replies kept for
:meth:`RespConnection.take_late_errors` (never raised, so they cannot cost that call's
replies). A loop that ends each round with writes and begins the next with a blocking read
so pays one send and one round trip per round. :meth:`RespConnection.close` flushes first
(best effort).

Over TLS (``endpoint.tls``) the server is verified (:mod:`insitu.connection.tls`) during
connecting, within ``connect_timeout``; reads and writes then use Python's socket timeouts
(a TLS socket cannot be peeked at or read without blocking by flags), replies are not
spun for, and the idle check asks whether the socket turned readable while no reply was
due (the server closed it).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn, Protocol

import hiredis

from insitu.connection.resp import (
    BulkReader,
    ProtocolViolationError,
    ServerReplyError,
    encode_text,
)
from insitu.connection.tls import client_context
from insitu.wire.endpoint import Endpoint

Arg = str | bytes | int
IDLE_CHECK_S = 1.0
_RECV = 64 * 1024
_SCRATCH = 128 * 1024 + 64  # GET replies up to this size are received in place (get())


class NotSentError(OSError):
    """The commands certainly did not reach the server (safe to send again)."""


class ReplyGuess(Protocol):
    """What the reply to a ``GET`` likely is (say, the same as last time for that key):
    ``size`` bytes in all, beginning with ``prefix`` (its ``$<length>`` line among them).
    The reply is received at offset ``pad`` of a fresh buffer (so that the value's data
    can be aligned); ``make`` builds the caller's result over that buffer before the
    reply arrives, and is never told whether it did."""

    @property
    def prefix(self) -> bytes: ...
    @property
    def size(self) -> int: ...
    @property
    def pad(self) -> int: ...
    @property
    def make(self) -> Callable[[bytearray], object]: ...


@dataclass(frozen=True, slots=True)
class Guessed:
    """:meth:`RespConnection.get`'s answer for a reply that was as guessed."""

    result: object


class RespConnection:
    """A lazily (re)connected plain connection to the server at ``endpoint``; one user at
    a time (callers that share it across threads hold a lock). Connecting may take
    ``endpoint.connect_timeout``; any one send or receive ``endpoint.timeout``."""

    def __init__(self, endpoint: Endpoint, *, idle_check: float | None = None) -> None:
        self.endpoint = endpoint
        self.address = endpoint.address
        self._timeout = endpoint.timeout
        self._idle_check = IDLE_CHECK_S if idle_check is None else idle_check
        self._sock: socket.socket | None = None
        # A thread asleep in recv() on a Unix socket is also woken when the server reads the
        # request it sent (the kernel signals "writable" on the same wait queue) and sleeps
        # again: two wake-ups per call. poll() for POLLIN alone is woken by the reply only.
        self._poller: select.poll | None = None
        self._reader = hiredis.Reader()
        self._scratch = bytearray(_SCRATCH)  # receives GET replies (see get())
        self._scratch_view = memoryview(self._scratch)
        self._last_used = 0.0
        self._queued: list[bytes] = []  # packed send_later commands not sent yet
        self._queued_count = 0
        self._unread = 0  # replies of sent send_later commands not read yet
        self._late_errors: list[ServerReplyError] = []

    def __del__(self) -> None:
        # A connection its owner forgot (a Client never closed) releases its socket quietly.
        sock = getattr(self, "_sock", None)  # None too if __init__ refused the endpoint
        self._sock = None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    @property
    def connected(self) -> bool:
        """True while a socket is open (every failure but an error reply drops it)."""
        return self._sock is not None

    def call(self, *args: Arg) -> object:
        """One command; its reply (ServerReplyError raised for an error reply)."""
        return self.pipeline([args])[0]

    def pipeline(
        self,
        commands: Sequence[Sequence[Arg]],
        *,
        raise_on_error: bool = True,
        spin: float = 0.0,
    ) -> list[object]:
        """``commands`` in one round trip; their replies (see the module contract). With
        ``spin`` > 0 the replies are polled for, for up to ``spin`` seconds after sending,
        before the thread sleeps on the socket (see :meth:`_receive`)."""
        if not commands:
            return []
        sock = self._send(_packed(commands))
        spin_until = time.perf_counter() + spin if spin > 0 else 0.0
        try:
            if self._unread:
                late, self._unread = self._read(sock, self._unread, spin_until), 0
                self._late_errors += [r for r in late if isinstance(r, ServerReplyError)]
            replies = self._read(sock, len(commands), spin_until)
        except BaseException:
            self.close()
            raise
        if raise_on_error:
            for reply in replies:
                if isinstance(reply, ServerReplyError):
                    raise reply
        return replies

    def get(
        self, key: Arg, packed: bytes | None = None, guess: ReplyGuess | None = None
    ) -> memoryview | Guessed | None:
        """``GET key``: the value in a fresh writable buffer of its size, None if there is
        none; a ServerReplyError for an error reply (the connection stays usable).
        Failures as for :meth:`pipeline`. ``packed``: the command already packed (callers
        that read the same key often keep it), else it is packed here.

        ``guess`` (with ``packed``): what the reply likely is (see :class:`ReplyGuess`).
        Its result is built over a fresh buffer while the server works, the reply is
        received into that buffer, and if it is exactly as guessed the answer is
        :class:`Guessed` with that result: the caller's work after the reply arrived is
        one comparison. A reply not as guessed is answered as without a guess.

        The hot path of small reads (issue 16: within 1.05 times a raw hiredis ``GET``):
        one send, one ``recv_into`` the connection's scratch buffer, the bulk header parsed
        in place and the value copied out. Anything else (an error or nil reply, a reply
        split in a way the scratch cannot hold, a value larger than it) continues on
        :class:`BulkReader` with the bytes received, which receives the rest of a large
        value straight into its own buffer.
        No ``poll()`` before the receive even on a Unix socket: measured, the second
        wake-up it spares costs less than the system call (see docs/benchmarks.md)."""
        sock = self._sock
        now = time.monotonic()
        if (
            sock is None
            or packed is None
            or self._queued
            or self._unread
            or self._reader.has_data()
            or now - self._last_used >= self._idle_check
        ):
            return self._get_slowly(key, packed, guess)
        self._last_used = now
        try:  # _send(), written out: the common case is one send() of a short command
            sent = sock.send(packed)
        except BaseException as err:
            self._send_failed(err, 0)
        if sent < len(packed):
            self._send_rest(sock, packed, sent)
        if guess is not None and guess.size <= _SCRATCH:
            return self._receive_guessed(sock, guess)
        return self._receive_value(sock)

    def _get_slowly(
        self, key: Arg, packed: bytes | None, guess: ReplyGuess | None
    ) -> memoryview | Guessed | None:
        """:meth:`get` when it cannot take the hot path (not connected, replies or
        commands of :meth:`send_later` pending, idle for a while)."""
        if self._queued or self._unread or self._reader.has_data():
            value = self.pipeline([("GET", key)])[0]  # other replies first: the slow road
            if value is None:
                return None
            if not isinstance(value, bytes):
                raise ProtocolViolationError(f"expected a bulk string, got {type(value)}")
            return memoryview(bytearray(value))
        sock = self._send(packed or _packed([("GET", key)]))
        if guess is not None and packed is not None and guess.size <= _SCRATCH:
            return self._receive_guessed(sock, guess)
        return self._receive_value(sock)

    def _receive_value(self, sock: socket.socket) -> memoryview | None:
        """The reply of the ``GET`` just sent on ``sock`` (see :meth:`get`)."""
        scratch = self._scratch
        try:
            got = sock.recv_into(scratch)
            end = scratch.find(b"\r\n", 0, min(got, 24))
            if end > 1 and scratch[0] == 0x24:  # "$<size>" (or "$-1", nil)
                digits = scratch[1:end]
                total = end + int(digits) + 4 if digits.isdigit() else _SCRATCH + 1
                if total <= _SCRATCH:
                    while got < total:  # the rest of a value split across receives
                        more = sock.recv_into(self._scratch_view[got:total])
                        if not more:
                            break
                        got += more
                    if got == total and scratch[total - 2 : total] == b"\r\n":
                        return memoryview(scratch[end + 2 : total - 2])  # a copy of its own
            return self._read_bulk(sock, self._scratch_view[:got])
        except BaseException as err:
            self._receive_failed(err)

    def _receive_guessed(
        self, sock: socket.socket, guess: ReplyGuess
    ) -> memoryview | Guessed | None:
        """The reply of the ``GET`` just sent on ``sock``, received as ``guess`` says."""
        buf = bytearray(guess.pad + guess.size)
        view = memoryview(buf)[guess.pad :]
        try:
            made = guess.make(buf)
            got = sock.recv_into(view)
            if got >= len(guess.prefix) and buf.startswith(guess.prefix, guess.pad):
                # the prefix names the value's length: exactly guess.size bytes will come
                while got < guess.size:
                    more = sock.recv_into(view[got:])
                    if not more:
                        break
                    got += more
                if got == guess.size and buf.endswith(b"\r\n"):
                    return Guessed(made)
            return self._read_bulk(sock, view[:got])
        except BaseException as err:
            self._receive_failed(err)

    def _receive_failed(self, err: BaseException) -> NoReturn:
        """Raise for ``err``, raised while receiving a reply: an error reply as it is,
        anything else after closing the connection (out of step)."""
        if isinstance(err, ServerReplyError):
            raise err
        self.close()
        if isinstance(err, (BlockingIOError, TimeoutError)):  # SO_RCVTIMEO (or TLS) expired
            raise TimeoutError(f"no reply from {self.address} within {self._timeout:g} s") from None
        raise err

    def _read_bulk(self, sock: socket.socket, received: memoryview) -> memoryview | None:
        """One bulk reply whose first bytes were ``received``: nothing may follow it."""
        if not received:
            raise ConnectionResetError(f"the server at {self.address} closed the connection")
        reader = BulkReader(sock, received)
        try:
            value = reader.read_bulk()
        except ServerReplyError:
            if reader.drained:
                raise
            raise ProtocolViolationError("unexpected bytes after an error reply") from None
        if not reader.drained:
            raise ProtocolViolationError("unexpected bytes after the reply")
        return value

    def send_later(self, commands: Sequence[Sequence[Arg]]) -> None:
        """Queue ``commands``; they go out with the next call or :meth:`flush` (see the
        module contract)."""
        if commands:
            self._queued.append(_packed(commands))
            self._queued_count += len(commands)

    def flush(self) -> None:
        """Send the commands queued by :meth:`send_later` now (replies read later)."""
        if self._queued:
            self._send(b"")

    def take_late_errors(self) -> list[ServerReplyError]:
        """The error replies read for :meth:`send_later` commands since the last call."""
        errors, self._late_errors = self._late_errors, []
        return errors

    def forget(self) -> None:
        """Drop the socket without sending or closing anything on it: in a forked child,
        whose parent still uses the connection. The next call connects anew."""
        self._sock, self._poller = None, None
        self._reader = hiredis.Reader()
        self._queued, self._queued_count, self._unread = [], 0, 0

    def close(self) -> None:
        """Send what :meth:`send_later` queued (best effort), then drop the socket
        (idempotent); the next call reconnects."""
        if self._queued and self._sock is not None:
            with contextlib.suppress(OSError):
                self._send(b"")
        sock, self._sock, self._poller = self._sock, None, None
        self._reader = hiredis.Reader()
        self._queued, self._queued_count, self._unread = [], 0, 0
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    # ------------------------------------------------------------------ machinery
    def _send(self, packed: bytes) -> socket.socket:
        """Send the queued commands, then ``packed``; the socket used."""
        now = time.monotonic()
        if self._sock is not None and now - self._last_used >= self._idle_check:
            self._drop_if_closed(self._sock)
        self._last_used = now
        try:
            sock = self._sock or self._connect()
        except OSError as err:
            raise NotSentError(err.errno, f"cannot connect to {self.address}: {err}") from err
        if self._queued:
            packed = b"".join([*self._queued, packed])
            self._unread += self._queued_count
            self._queued, self._queued_count = [], 0
        sent = 0
        try:
            sent = sock.send(packed)
        except BaseException as err:
            self._send_failed(err, 0)
        if sent < len(packed):  # the rest (a long value, or a full socket buffer)
            self._send_rest(sock, packed, sent)
        return sock

    def _send_rest(self, sock: socket.socket, packed: bytes, sent: int) -> None:
        """Send ``packed`` from byte ``sent`` on."""
        data = memoryview(packed)
        try:
            while sent < len(data):
                sent += sock.send(data[sent:])
        except BaseException as err:
            self._send_failed(err, sent)

    def _send_failed(self, err: BaseException, sent: int) -> NoReturn:
        """Close the connection and raise for ``err``, raised by a send after ``sent``
        bytes went out: NotSentError when none did (a caller may send again)."""
        self.close()
        if isinstance(err, BlockingIOError):  # SO_SNDTIMEO expired
            if sent == 0:
                message = f"{self.address} accepted nothing for {self._timeout:g} s"
                raise NotSentError(0, message) from None
            raise TimeoutError(f"{self.address} stopped accepting data") from None
        if sent == 0 and isinstance(err, OSError):
            raise NotSentError(err.errno, f"{self.address}: {err}") from err
        raise err

    def _drop_if_closed(self, sock: socket.socket) -> None:
        """Close ``sock`` if the server closed its end (EOF pending, nothing else)."""
        if isinstance(sock, ssl.SSLSocket):
            # Readable with no reply due: EOF or a close alert (or stray bytes; a socket
            # out of step is dropped as well). With replies due, the next read tells.
            if not self._unread and not sock.pending() and _readable(sock):
                self._drop_keeping_queue()
            return
        try:
            closed = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return  # nothing to read: still open
        except OSError:
            closed = True
        if closed:  # replies still unread are lost with it; queued commands are not
            self._drop_keeping_queue()

    def _drop_keeping_queue(self) -> None:
        queued, count = self._queued, self._queued_count
        self._queued = []
        self.close()
        self._queued, self._queued_count = queued, count

    def _connect(self) -> socket.socket:
        where = self.address
        if where.is_unix:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: str | tuple[str, int] = where.path
        else:
            family = socket.AF_INET6 if ":" in where.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            target = (where.host, where.port)
        sock.settimeout(self.endpoint.connect_timeout)
        try:
            sock.connect(target)
            if self.endpoint.tls is not None:
                sock = self._secure(sock, where.host)
            else:
                # Blocking mode with kernel timeouts: Python polls before every send and
                # recv on a socket with a timeout — a system call per operation saved.
                sock.settimeout(None)
                seconds = int(self._timeout)
                timeval = struct.pack("ll", seconds, int((self._timeout - seconds) * 1e6))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
            self._sock = sock
            if where.is_unix:
                self._poller = select.poll()
                self._poller.register(sock, select.POLLIN)
            auth = self.endpoint.credentials.auth_args
            if auth:
                sock.sendall(_packed([("AUTH", *auth)]))
                (reply,) = self._read(sock, 1)
                if isinstance(reply, ServerReplyError):
                    raise reply  # a refused password: not worth retrying
        except BaseException:
            self.close()
            sock.close()
            raise
        return sock

    def _secure(self, sock: socket.socket, host: str) -> ssl.SSLSocket:
        """``sock`` after a verified TLS handshake (within the connect timeout), set to
        time out reads and writes after ``timeout``."""
        assert self.endpoint.tls is not None
        secure = client_context(self.endpoint.tls).wrap_socket(sock, server_hostname=host)
        secure.settimeout(self._timeout)
        return secure

    def _read(self, sock: socket.socket, count: int, spin_until: float = 0.0) -> list[object]:
        replies: list[object] = []
        reader = self._reader
        while len(replies) < count:
            try:
                reply = reader.gets()
            except hiredis.ProtocolError as err:
                raise ProtocolViolationError(str(err)) from None
            if reply is False:
                chunk = self._receive(sock, spin_until)
                if not chunk:
                    raise ConnectionResetError(
                        f"the server at {self.address} closed the connection"
                    )
                reader.feed(chunk)
            elif isinstance(reply, hiredis.ReplyError):
                replies.append(ServerReplyError(str(reply)))
            else:
                replies.append(reply)
        return replies

    def _receive(self, sock: socket.socket, spin_until: float) -> bytes:
        """The next bytes from ``sock``: polled for until ``spin_until`` (a perf_counter
        time; 0: not at all), then waited for. Polling spares the wake-up of a sleeping
        thread (tens of µs when the sender runs on another CPU); each empty poll yields
        the CPU, so a store sharing it still runs at once."""
        if isinstance(sock, ssl.SSLSocket):
            try:
                return sock.recv(_RECV)
            except TimeoutError:
                message = f"no reply from {self.address} within {self._timeout:g} s"
                raise TimeoutError(message) from None
        while spin_until and time.perf_counter() < spin_until:
            try:
                return sock.recv(_RECV, socket.MSG_DONTWAIT)
            except BlockingIOError:
                os.sched_yield()
        try:
            if self._poller is not None and not self._poller.poll(self._timeout * 1000):
                raise BlockingIOError
            return sock.recv(_RECV)
        except BlockingIOError:  # SO_RCVTIMEO expired
            message = f"no reply from {self.address} within {self._timeout:g} s"
            raise TimeoutError(message) from None


def _readable(sock: socket.socket) -> bool:
    """True if ``sock`` has bytes (or EOF) to read now (one non-blocking poll)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def packed_get(key: Arg) -> bytes:
    """``GET key`` packed for :meth:`RespConnection.get` (UnicodeEncodeError for a key
    with no UTF-8 form)."""
    return _packed([("GET", key)])


def _packed(commands: Sequence[Sequence[Arg]]) -> bytes:
    try:
        return b"".join([hiredis.pack_command(tuple(c)) for c in commands])  # type: ignore[arg-type]
    except UnicodeEncodeError:
        for command in commands:  # name the argument that has no UTF-8 form
            for arg in command:
                if isinstance(arg, str):
                    encode_text(arg)
        raise
