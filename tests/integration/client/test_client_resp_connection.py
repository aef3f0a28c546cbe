"""The lean connection of the inference hot path and the client's request channel, on a
real server: replies and error replies, queued commands, reconnection, timeouts, refused
passwords, and the request-queueing script."""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from insitu import Experiment, Orchestrator
from insitu.client import Client
from insitu.client.config_options import Timeouts
from insitu.client.request_channel import RequestChannel
from insitu.connection.resp import ProtocolViolationError, ServerReplyError
from insitu.connection.resp_connection import Guessed, NotSentError, RespConnection, packed_get
from insitu.errors import (
    RedisConnectionError,
    RedisConnectionLostError,
    RedisKeyError,
    RedisRuntimeError,
)
from insitu.store.readiness import find_free_port_block
from insitu.wire import messages
from insitu.wire.addresses import Address, parse_address
from insitu.wire.endpoint import Credentials, Endpoint
from insitu.wire.tensors import ReplyGuess


@pytest.fixture(scope="module")
def stores() -> Iterator[dict[str, Orchestrator]]:
    """A store over a Unix socket and one over TCP, without inference workers."""
    root = Path(tempfile.mkdtemp(prefix="insitu-resp-"))
    exp = Experiment("resp", exp_path=str(root), launcher="local")
    uds = exp.create_database(
        unix_socket=str(root / "db.sock"), db_identifier="resp_uds", inference_workers=0
    )
    tcp = exp.create_database(
        port=find_free_port_block(1), db_identifier="resp_tcp", inference_workers=0
    )
    exp.start(uds, tcp)
    try:
        yield {"uds": uds, "tcp": tcp}
    finally:
        exp.stop_all()


@pytest.fixture
def store(stores: dict[str, Orchestrator]) -> Orchestrator:
    return stores["uds"]


@pytest.fixture
def conn(store: Orchestrator) -> Iterator[RespConnection]:
    connection = _lean(_address(store), store.password, 5.0)
    connection.call("FLUSHALL")
    yield connection
    connection.close()


def _channel(address: Address, password: str | None, timeouts: Timeouts) -> RequestChannel:
    endpoint = Endpoint(
        address, Credentials(password), connect_timeout=timeouts.command, timeout=timeouts.command
    )
    return RequestChannel(endpoint, timeouts)


def _lean(
    address: Address, password: str | None, timeout: float, idle_check: float | None = None
) -> RespConnection:
    endpoint = Endpoint(address, Credentials(password), connect_timeout=timeout, timeout=timeout)
    return RespConnection(endpoint, idle_check=idle_check)


def _address(store: Orchestrator) -> Address:
    return parse_address(store.get_address()[0])


def test_pipeline_replies_in_order(conn: RespConnection) -> None:
    replies = conn.pipeline([("SET", "k", b"\x00v"), ("GET", "k"), ("GET", "nope"), ("PING",)])
    assert replies == [b"OK", b"\x00v", None, b"PONG"]


def test_error_replies_are_raised_after_reading_all_or_returned(conn: RespConnection) -> None:
    conn.call("RPUSH", "list", "a")
    with pytest.raises(ServerReplyError, match="WRONGTYPE"):
        conn.pipeline([("GET", "list"), ("SET", "after", "1")])
    assert conn.call("GET", "after") == b"1"  # still in step: the SET ran and was read
    replies = conn.pipeline([("GET", "list"), ("PING",)], raise_on_error=False)
    assert isinstance(replies[0], ServerReplyError) and replies[1] == b"PONG"


def test_queued_commands_go_out_with_the_next_call(
    conn: RespConnection, store: Orchestrator
) -> None:
    other = _lean(_address(store), store.password, 5.0)
    conn.send_later([("SET", "q", "1"), ("RPUSH", "q2", "x")])
    assert other.call("EXISTS", "q") == 0  # queued, not sent
    assert conn.call("GET", "q") == b"1"  # sent first, in the same system call
    assert conn.take_late_errors() == []
    conn.send_later([("LPUSH", "q", "x")])  # WRONGTYPE: kept, never raised
    conn.flush()
    assert other.call("LLEN", "q2") == 1
    assert conn.call("PING") == b"PONG"
    errors = conn.take_late_errors()
    assert len(errors) == 1 and "WRONGTYPE" in str(errors[0])
    assert conn.take_late_errors() == []
    other.close()


def test_close_sends_what_was_queued(conn: RespConnection, store: Orchestrator) -> None:
    conn.call("PING")
    conn.send_later([("SET", "closing", "1")])
    conn.close()
    other = _lean(_address(store), store.password, 5.0)
    assert other.call("GET", "closing") == b"1"
    other.close()


@pytest.mark.parametrize("transport", ["uds", "tcp"])
def test_idle_connection_closed_by_the_server_is_replaced(
    stores: dict[str, Orchestrator], transport: str
) -> None:
    store = stores[transport]
    conn = _lean(_address(store), store.password, 5.0, idle_check=0.0)
    conn.call("CLIENT", "SETNAME", "victim")
    killer = _lean(_address(store), store.password, 5.0)
    assert killer.call("CLIENT", "KILL", "USER", "default", "SKIPME", "yes") == 1
    killer.close()
    assert conn.call("PING") == b"PONG"  # on a new connection, not an error
    assert conn.call("CLIENT", "GETNAME") is None
    conn.close()


def test_nothing_listening_is_not_sent() -> None:
    port = find_free_port_block(1)
    conn = _lean(Address("127.0.0.1", port), None, 1.0)
    with pytest.raises(NotSentError, match=f"127.0.0.1:{port}"):
        conn.call("PING")


def test_refused_password_is_an_error_reply(store: Orchestrator) -> None:
    conn = _lean(_address(store), "wrong", 5.0)
    with pytest.raises(ServerReplyError, match=r"WRONGPASS|invalid"):
        conn.call("PING")


def test_silent_server_is_a_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        conn = _lean(Address("127.0.0.1", listener.getsockname()[1]), None, 0.2)
        with pytest.raises(TimeoutError, match="no reply"):
            conn.call("PING")
        conn.close()


def test_channel_gives_up_after_sr_cmd_timeout_when_nothing_listens() -> None:
    port = find_free_port_block(1)
    channel = _channel(
        Address("127.0.0.1", port), None, Timeouts(command=0.3, command_interval=0.05)
    )
    with pytest.raises(RedisConnectionLostError, match="SR_CMD_TIMEOUT") as err:
        channel.pipeline("k", [("PING",)])
    assert err.value.address == f"127.0.0.1:{port}" and "'k'" in str(err.value)
    channel.close()


def test_channel_maps_error_replies_and_refused_passwords(store: Orchestrator) -> None:
    channel = _channel(_address(store), store.password, Timeouts())
    channel.pipeline("l", [("DEL", "l"), ("RPUSH", "l", "a")])
    with pytest.raises(RedisRuntimeError, match="another kind of value"):
        channel.pipeline("l", [("GET", "l")])
    channel.close()
    refused = _channel(_address(store), "wrong", Timeouts())
    with pytest.raises(RedisConnectionError, match="not authorised"):
        refused.pipeline("k", [("PING",)])


def test_queue_script_inlines_the_header_and_small_string_inputs(conn: RespConnection) -> None:
    request = messages.RunRequest(
        "id1", messages.RUN_MODEL, "model", "reply", inputs=("small", "big", "gone", "list")
    )
    conn.pipeline([
        ("HSET", "model", "header", b"{stored header}"),
        ("SET", "small", b"\x00\x01 tensor"),
        ("SET", "big", b"x" * (messages.INLINE_BUDGET + 1)),
        ("RPUSH", "list", "not a tensor"),
    ])  # fmt: skip
    fields = [item for pair in messages.format_request(request).items() for item in pair]
    keys = ["queue", "model", *request.inputs]
    entry_id = conn.call(
        "EVAL", messages.QUEUE_SCRIPT, len(keys), *keys, messages.INLINE_BUDGET, *fields
    )
    (stored,) = conn.call("XRANGE", "queue", "-", "+")  # type: ignore[misc]
    assert stored[0] == entry_id
    flat = stored[1]
    parsed = messages.parse_request(dict(zip(flat[::2], flat[1::2], strict=True)))
    assert parsed.header == b"{stored header}"
    assert parsed.values == (b"\x00\x01 tensor", None, None, None)  # the rest is fetched
    assert parsed.inputs == request.inputs and parsed.request_id == "id1"


def test_queue_script_without_a_model_inlines_no_header(conn: RespConnection) -> None:
    conn.call("SET", "in", b"v")
    request = messages.RunRequest("id2", messages.RUN_MODEL, "absent", "reply", inputs=("in",))
    fields = [item for pair in messages.format_request(request).items() for item in pair]
    conn.call("EVAL", messages.QUEUE_SCRIPT, 3, "queue", "absent", "in", 0, *fields)
    (stored,) = conn.call("XRANGE", "queue", "-", "+")  # type: ignore[misc]
    flat = stored[1]
    parsed = messages.parse_request(dict(zip(flat[::2], flat[1::2], strict=True)))
    assert parsed.header is None and parsed.values == ()  # a budget of 0 inlines nothing


@pytest.mark.parametrize("transport", ["uds", "tcp"])
def test_channel_survives_the_server_closing_its_connection(
    stores: dict[str, Orchestrator], transport: str
) -> None:
    store = stores[transport]
    channel = _channel(_address(store), store.password, Timeouts())
    assert channel.pipeline("k", [("CLIENT", "SETNAME", "victim")]) == [b"OK"]
    killer = _lean(_address(store), store.password, 5.0)
    assert killer.call("CLIENT", "KILL", "USER", "default", "SKIPME", "yes") == 1
    killer.close()
    # Over TCP the closed connection is noticed before sending; over a Unix socket the
    # send is refused (EPIPE) and made again on a new connection. Either way: no error.
    assert channel.pipeline("k", [("CLIENT", "GETNAME")]) == [None]
    channel.close()


def test_channel_in_a_forked_child_connects_anew(store: Orchestrator) -> None:
    channel = _channel(_address(store), store.password, Timeouts())
    channel.pipeline("k", [("CLIENT", "SETNAME", "parent")])
    pid = os.fork()
    if pid == 0:  # the child: its own connection, unnamed
        code = 0 if channel.pipeline("k", [("CLIENT", "GETNAME")]) == [None] else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert channel.pipeline("k", [("CLIENT", "GETNAME")]) == [b"parent"]
    channel.close()


def _voluntary_switches() -> int:
    """Times this thread went to sleep so far (the kernel's per-thread count)."""
    status = Path(f"/proc/self/task/{threading.get_native_id()}/status").read_text()
    (line,) = [row for row in status.splitlines() if row.startswith("voluntary_ctxt_switches")]
    return int(line.split()[1])


def test_a_call_waiting_for_its_reply_sleeps_once(conn: RespConnection) -> None:
    """On a Unix socket the waiting thread is woken by the reply only, not also when the
    server reads its request (which the kernel signals on the same wait queue)."""
    calls = 40
    conn.call("PING")
    before = _voluntary_switches()
    for _ in range(calls):
        assert conn.call("BLPOP", "nothing", "0.01") is None  # answered after 10 ms
    sleeps = _voluntary_switches() - before
    assert sleeps <= calls * 1.25, f"{sleeps} sleeps for {calls} calls"


@pytest.mark.parametrize("kind", ["uds", "tcp"])
def test_get_lands_in_a_writable_buffer_and_errors_keep_the_connection(
    stores: dict[str, Orchestrator], kind: str
) -> None:
    store = stores[kind]
    conn = _lean(_address(store), store.password, 5.0)
    try:
        big = os.urandom(3 * 1024 * 1024 + 17)  # several receives, straight into the buffer
        conn.pipeline([("SET", "small", b"\x00ab"), ("SET", "big", big), ("RPUSH", "l", "x")])
        small = conn.get("small")
        assert small is not None and bytes(small) == b"\x00ab" and not small.readonly
        value = conn.get("big")
        assert value is not None and value.nbytes == len(big) and bytes(value) == big
        assert conn.get("absent") is None
        with pytest.raises(ServerReplyError, match="WRONGTYPE"):
            conn.get("l")
        assert conn.connected and conn.call("PING") == b"PONG"  # still in step
        conn.send_later([("SET", "later", "1")])
        later = conn.get("later")  # the queued SET goes first, its reply is read first
        assert later is not None and bytes(later) == b"1"
    finally:
        conn.close()


def test_client_reads_survive_the_server_dropping_the_read_connection(
    stores: dict[str, Orchestrator],
) -> None:
    """A read or a small put whose lean connection the server closed is answered through
    the transport."""
    store = stores["tcp"]
    with Client(False, store.get_address()[0], password=store.password) as client:
        client.put_tensor("t", np.arange(5.0))
        np.testing.assert_array_equal(client.get_tensor("t"), np.arange(5.0))
        admin = _lean(_address(store), store.password, 5.0)
        try:
            admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        finally:
            admin.close()
        array = client.get_tensor("t")
        np.testing.assert_array_equal(array, np.arange(5.0))
        array[0] = 7.0  # a new writable array, as SmartRedis returns
        admin = _lean(_address(store), store.password, 5.0)
        try:
            admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        finally:
            admin.close()
        client.put_tensor("t", array)  # a small put goes on the same lean connection
        np.testing.assert_array_equal(client.get_tensor("t"), array)
        with pytest.raises(RedisKeyError):
            client.get_tensor("absent")


@pytest.mark.parametrize("kind", ["uds", "tcp"])
def test_get_with_a_packed_command_reads_every_size_in_step(
    stores: dict[str, Orchestrator], kind: str
) -> None:
    """The hot path (one receive into the connection's scratch buffer) and the values that
    leave it (larger than the scratch, or split across receives) give the same bytes, each
    in a buffer of its own, and leave the connection in step."""
    store = stores[kind]
    conn = _lean(_address(store), store.password, 5.0)
    scratch = 128 * 1024 + 64  # resp_connection's _SCRATCH: a reply up to it stays inside
    sizes = [0, 1, 2, 1024, 64 * 1024, scratch - 8, scratch - 7, scratch - 6, scratch, 3 << 20]
    try:
        values = {size: os.urandom(size).replace(b"\r", b"\r\n") for size in sizes}
        conn.pipeline([("SET", f"v{size}", value) for size, value in values.items()])
        got = {size: conn.get(f"v{size}", packed_get(f"v{size}")) for size in sizes}
        for size, value in values.items():
            view = got[size]
            assert view is not None and bytes(view) == value and not view.readonly, size
        assert conn.get("absent", packed_get("absent")) is None
        conn.call("RPUSH", "list", "x")
        with pytest.raises(ServerReplyError, match="WRONGTYPE"):
            conn.get("list", packed_get("list"))
        assert conn.call("PING") == b"PONG"  # still in step
    finally:
        conn.close()


class _ScriptedPeer:
    """A Unix-socket peer that answers each command it reads with the next reply of its
    script, a list of chunks: each chunk is sent only once the previous one was read by
    the client (the kernel's count of unread bytes reached 0), so a reply is received in
    those pieces."""

    def __init__(self, root: Path, script: list[list[bytes]]) -> None:
        self.path = str(root / "peer.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen()
        self._script = script
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            peer, _ = self._listener.accept()
            with peer:
                peer.settimeout(10)
                for chunks in self._script:
                    peer.recv(4096)  # the command (one short GET)
                    for chunk in chunks:
                        peer.sendall(chunk)
                        self._wait_read(peer)
        except BaseException as err:  # reported by close()
            self.errors.append(err)

    @staticmethod
    def _wait_read(peer: socket.socket) -> None:
        deadline = time.monotonic() + 10
        while fcntl.ioctl(peer, termios.TIOCOUTQ, b"\0\0\0\0") != b"\0\0\0\0":
            if time.monotonic() > deadline:
                raise TimeoutError("the client did not read the chunk")
            time.sleep(0.001)  # polling the kernel's counter against a deadline

    def close(self) -> None:
        self._thread.join(timeout=20)
        self._listener.close()
        assert not self._thread.is_alive() and not self.errors, self.errors


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"$5\r\nab", b"cde\r\n"], b"abcde"),
        ([b"$5\r", b"\nabcde\r\n"], b"abcde"),
        ([b"$", b"5\r\nabcde", b"\r", b"\n"], b"abcde"),
        ([b"$0\r\n", b"\r\n"], b""),
        ([b"$-1\r\n"], None),
        ([b"$-", b"1\r\n"], None),
    ],
)
def test_get_reassembles_replies_received_in_pieces(
    tmp_path: Path, chunks: list[bytes], expected: bytes | None
) -> None:
    peer = _ScriptedPeer(tmp_path, [chunks, [b"+PONG\r\n"]])
    conn = _lean(parse_address(f"unix://{peer.path}"), None, 10.0)
    try:
        value = conn.get("k", packed_get("k"))
        assert (None if value is None else bytes(value)) == expected
        assert conn.call("PING") == b"PONG"  # nothing of the reply was left behind
    finally:
        conn.close()
        peer.close()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"+OK\r\n", ProtocolViolationError),  # not a bulk string
        (b"$abc\r\n", ProtocolViolationError),
        (b"$3\r\nabcXY", ProtocolViolationError),  # not terminated by CRLF
        (b"$3\r\nabc\r\n+more\r\n", ProtocolViolationError),  # bytes after the reply
        (b"-ERR nope\r\n+more\r\n", ProtocolViolationError),
        (b"", ConnectionResetError),  # the server closed the connection
    ],
)
def test_get_refuses_malformed_replies_and_drops_the_connection(
    tmp_path: Path, reply: bytes, error: type[BaseException]
) -> None:
    peer = _ScriptedPeer(tmp_path, [[reply] if reply else []])
    conn = _lean(parse_address(f"unix://{peer.path}"), None, 10.0)
    try:
        with pytest.raises(error):
            conn.get("k", packed_get("k"))
        assert not conn.connected  # out of step: never reused
    finally:
        conn.close()
        peer.close()


def _guess(prefix: bytes, size: int) -> ReplyGuess:
    """A guess whose result is the buffer itself (3 bytes of padding before the reply)."""
    return ReplyGuess(prefix, size, 3, lambda buf: buf)  # type: ignore[arg-type, return-value]


@pytest.mark.parametrize(
    ("chunks", "guessed", "expected"),
    [
        ([b"$5\r\nabcde\r\n"], True, b"abcde"),  # as guessed
        ([b"$5\r\nab", b"cde\r\n"], True, b"abcde"),  # as guessed, in pieces
        ([b"$5", b"\r\nabcde\r\n"], False, b"abcde"),  # the prefix came in pieces
        ([b"$4\r\nabcd\r\n"], False, b"abcd"),  # shorter
        ([b"$7\r\nabc", b"defg\r\n"], False, b"abcdefg"),  # longer
        ([b"$-1\r\n"], False, None),  # deleted
    ],
)
def test_get_with_a_guess_takes_it_only_when_the_reply_is_as_guessed(
    tmp_path: Path, chunks: list[bytes], guessed: bool, expected: bytes | None
) -> None:
    peer = _ScriptedPeer(tmp_path, [chunks, [b"+PONG\r\n"]])
    conn = _lean(parse_address(f"unix://{peer.path}"), None, 10.0)
    try:
        value = conn.get("k", packed_get("k"), _guess(b"$5\r\n", 11))
        if guessed:
            assert isinstance(value, Guessed) and value.result == b"\0\0\0$5\r\nabcde\r\n"
        else:
            assert not isinstance(value, Guessed)
            assert (None if value is None else bytes(value)) == expected
        assert conn.call("PING") == b"PONG"  # in step
    finally:
        conn.close()
        peer.close()


def test_a_guess_with_an_error_reply_or_a_bad_end_is_refused(tmp_path: Path) -> None:
    peer = _ScriptedPeer(tmp_path, [[b"-ERR nope\r\n"], [b"$5\r\nabcdeXY"]])
    conn = _lean(parse_address(f"unix://{peer.path}"), None, 10.0)
    try:
        with pytest.raises(ServerReplyError, match="nope"):
            conn.get("k", packed_get("k"), _guess(b"$5\r\n", 11))
        assert conn.connected  # an error reply keeps the connection in step
        with pytest.raises(ProtocolViolationError):
            conn.get("k", packed_get("k"), _guess(b"$5\r\n", 11))
        assert not conn.connected
    finally:
        conn.close()
        peer.close()
