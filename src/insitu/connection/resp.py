"""RESP2 framing for the bulk data path: commands whose values are sent straight from the
caller's memory, and bulk replies read straight into fresh memory.

redis-py (with hiredis) copies a large reply three times (socket buffer, parser, ``bytes``)
and returns read-only ``bytes``; a tensor must then be copied once more to be writable.
Here a bulk reply is read with ``recv_into`` directly into its final buffer, and a command
value may be several buffers (a tensor header and the array's memory) sent without joining.
Only ``GET``-style replies are read here; everything else goes through redis-py's parser.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from insitu.errors import RedisParameterError

Buffer = bytes | bytearray | memoryview
"""A contiguous byte buffer (memoryviews must be C-contiguous, format ``B``)."""

_COALESCE = 16 * 1024  # smaller pieces are joined so that small commands cost one send
_SMALL_REPLY = 64 * 1024  # replies up to this size land in a zero-filled bytearray
_RECV = 64 * 1024
_IOV_MAX = 512  # buffers per sendmsg call (the kernel allows 1024)


@dataclass(frozen=True)
class Value:
    """One command argument made of several buffers (sent back to back, never joined)."""

    parts: tuple[Buffer, ...]

    @property
    def nbytes(self) -> int:
        """Total length in bytes."""
        return sum(memoryview(p).nbytes for p in self.parts)


Arg = str | bytes | int | Value


class ServerReplyError(Exception):
    """The server answered a bulk read with an error reply (``-ERR ...``)."""


class ProtocolViolationError(Exception):
    """The reply did not follow RESP2 (the connection must be dropped)."""


def pack(*args: Arg) -> list[Buffer]:
    """The RESP2 encoding of a command as buffers, small pieces joined, big ones as given."""
    return pack_many([args])


def pack_many(commands: Sequence[Sequence[Arg]]) -> list[Buffer]:
    """Several commands back to back (a pipeline), encoded as :func:`pack` does."""
    out: list[Buffer] = []
    pending = bytearray()
    for command in commands:
        pending = _pack_into(command, pending, out)
    out.append(pending)
    return [b for b in out if len(b)]


def _pack_into(args: Sequence[Arg], pending: bytearray, out: list[Buffer]) -> bytearray:
    pending += b"*%d\r\n" % len(args)
    for arg in args:
        parts: tuple[Buffer, ...]
        if isinstance(arg, Value):
            parts, size = arg.parts, arg.nbytes
        else:
            data = _encode(arg)
            parts, size = (data,), len(data)
        pending += b"$%d\r\n" % size
        for part in parts:
            if memoryview(part).nbytes < _COALESCE:
                pending += part
            else:
                out.append(pending)
                out.append(part)
                pending = bytearray()
        pending += b"\r\n"
    return pending


def _encode(arg: str | bytes | int) -> bytes:
    if isinstance(arg, str):
        return encode_text(arg)
    return b"%d" % arg if isinstance(arg, int) else arg


def encode_text(text: str, what: str = "a key or argument") -> bytes:
    """``text`` as UTF-8, the encoding of every key and name in the store;
    RedisParameterError (naming ``what``) for text that has none, such as a lone surrogate
    (``"\\ud800"``, which ``os.fsdecode`` makes of undecodable file names)."""
    try:
        return text.encode()
    except UnicodeEncodeError as err:
        raise RedisParameterError(
            f"{what} {text!r} is not valid Unicode text ({err.reason} at position "
            f"{err.start}); keys and names are stored as UTF-8"
        ) from None


def send_all(sock: socket.socket, buffers: Sequence[Buffer]) -> None:
    """Send ``buffers`` in order with as few system calls as possible (``sendmsg``
    gathers them, so nothing is joined); partial sends are continued. A TLS socket has
    no ``sendmsg``: each buffer is sent whole in turn (TLS copies into records anyway)."""
    if isinstance(sock, ssl.SSLSocket):
        for buffer in buffers:
            sock.sendall(buffer)
        return
    pending = [memoryview(b).cast("B") for b in buffers]
    while pending:
        sent = sock.sendmsg(pending[:_IOV_MAX])
        while pending and sent >= pending[0].nbytes:
            sent -= pending[0].nbytes
            pending.pop(0)
        if sent:
            pending[0] = pending[0][sent:]


class BulkReader:
    """Reads consecutive bulk-string replies from ``sock``.

    Each payload lands in a new writable buffer of exactly its size: bytes already
    received are moved there, the rest is received into it directly. Bytes that belong to
    later replies stay buffered; :attr:`drained` tells whether any are left over.
    """

    def __init__(self, sock: socket.socket, received: bytes | memoryview = b"") -> None:
        """``received``: bytes already read from ``sock`` that begin the first reply."""
        self._sock = sock
        self._buf = bytearray(received)

    @property
    def drained(self) -> bool:
        """True when no bytes beyond the replies read so far were received."""
        return not self._buf

    def read_bulk(self) -> memoryview | None:
        """The next reply's payload (``None`` for a nil reply).

        Raises ServerReplyError for an error reply, ProtocolViolationError for anything else
        that is not a bulk string, ``OSError``/``ConnectionError`` for socket failures.
        """
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"-":
            raise ServerReplyError(rest.decode("utf-8", "replace"))
        if kind == b"_":
            return None  # RESP3 null, should a server answer in RESP3
        if kind != b"$" or not rest.lstrip(b"-").isdigit():
            raise ProtocolViolationError(f"expected a bulk string, got {line[:40]!r}")
        size = int(rest)
        if size < 0:
            return None
        # The payload and its CRLF are received together: one system call less per reply.
        total = size + 2
        fresh = bytearray(total) if total <= _SMALL_REPLY else np.empty(total, np.uint8).data
        view = memoryview(fresh)
        have = min(len(self._buf), total)
        view[:have] = self._buf[:have]
        del self._buf[:have]
        while have < total:
            got = self._sock.recv_into(view[have:])
            if not got:
                raise ConnectionError("the server closed the connection")
            have += got
        if bytes(view[size:]) != b"\r\n":
            raise ProtocolViolationError("bulk string not terminated by CRLF")
        return view[:size]

    def _line(self) -> bytes:
        while True:
            end = self._buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[: end + 2]
                return line
            self._fill()

    def _fill(self) -> None:
        chunk = self._sock.recv(_RECV)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self._buf += chunk
