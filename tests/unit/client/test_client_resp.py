"""RESP framing of the bulk path, over a real socket pair."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from insitu.connection.resp import (
    BulkReader,
    ProtocolViolationError,
    ServerReplyError,
    Value,
    pack,
    pack_many,
    send_all,
)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.settimeout(5)
    b.settimeout(5)
    yield a, b
    a.close()
    b.close()


def test_pack_is_resp2_and_keeps_big_parts_separate() -> None:
    assert b"".join(pack("SET", "k", 12)) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n"
    big = memoryview(bytes(100_000))
    parts = pack("SET", "k", Value((b"head", big)))
    assert any(p is big for p in parts)
    assert b"".join(bytes(p) for p in parts).startswith(
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100004\r\nhead"
    )
    assert len(pack_many([("GET", "a"), ("GET", "b")])) == 1  # small commands: one buffer


def test_send_all_and_read_bulks(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    payload = np.random.default_rng(0).integers(0, 255, 3_000_000, dtype=np.uint8)
    replies = [b"$3\r\nabc\r\n", b"$-1\r\n", b"-ERR oops\r\n", b"$%d\r\n" % payload.size]
    writer = threading.Thread(
        target=send_all, args=(a, [*replies, memoryview(payload), b"\r\n$0\r\n\r\n"])
    )
    writer.start()
    reader = BulkReader(b)
    first = reader.read_bulk()
    assert first is not None and bytes(first) == b"abc"
    first[0] = ord("x")  # writable
    assert reader.read_bulk() is None
    with pytest.raises(ServerReplyError, match="ERR oops"):
        reader.read_bulk()
    big = reader.read_bulk()
    assert big is not None and np.array_equal(np.frombuffer(big, np.uint8), payload)
    empty = reader.read_bulk()
    assert empty is not None and empty.nbytes == 0
    assert reader.drained
    writer.join()


def test_protocol_violations(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    a.sendall(b"+OK\r\n$2\r\nabXY")
    reader = BulkReader(b)
    with pytest.raises(ProtocolViolationError, match="bulk string"):
        reader.read_bulk()
    with pytest.raises(ProtocolViolationError, match="CRLF"):
        reader.read_bulk()
    a.close()
    with pytest.raises(ConnectionError):
        BulkReader(b).read_bulk()
