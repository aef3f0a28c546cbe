"""A single-shard store on a Unix socket (the transport of colocated stores)."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest
import redis

from insitu import Experiment, JobState
from insitu.errors import InvalidArgumentError, SocketInUseError


def test_store_on_unix_socket_only(exp: Experiment, tmp_path: Path) -> None:
    sock = tmp_path / "db.sock"
    store = exp.create_database(unix_socket=str(sock), socket_permissions=700)
    exp.start(store)
    assert store.get_address() == [f"unix://{sock}"]
    assert stat.S_IMODE(sock.stat().st_mode) == 0o700
    client = redis.Redis(unix_socket_path=str(sock), password=store.password)
    client.set("k", b"v")
    assert client.get("k") == b"v"
    # An owner-only socket is the authentication (for SmartRedis clients, which send no
    # password); another uid cannot open it (tests/integration/store/test_store_access.py).
    assert store.access == "owner-socket"
    with redis.Redis(unix_socket_path=str(sock)) as anonymous:
        assert anonymous.get("k") == b"v"
    model = exp.create_model(
        "env", exp.create_run_settings("sh", exe_args=["-c", 'echo "$SSDB $SR_DB_TYPE"'])
    )
    exp.start(model)
    out = (tmp_path / "env" / "env.out").read_text()
    assert out == f"unix://{sock} Standalone\n"
    client.close()
    exp.stop(store)
    assert exp.get_status(store) == [JobState.STATUS_CANCELLED]


def test_socket_in_use_and_bad_paths(exp: Experiment, tmp_path: Path) -> None:
    sock = tmp_path / "busy.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(sock))
        listener.listen()
        store = exp.create_database(unix_socket=str(sock), db_identifier="busy")
        with pytest.raises(SocketInUseError, match=r"busy\.sock"):
            exp.start(store)
    with pytest.raises(InvalidArgumentError, match="longer than"):
        exp.create_database(unix_socket="/tmp/" + "x" * 200, db_identifier="long")
    with pytest.raises(InvalidArgumentError, match="one shard"):
        exp.create_database(unix_socket=str(tmp_path / "c.sock"), db_nodes=3, db_identifier="c")
    with pytest.raises(InvalidArgumentError, match="octal"):
        exp.create_database(
            unix_socket=str(tmp_path / "p.sock"), socket_permissions=789, db_identifier="p"
        )
