"""Who gets into a store without its password, on bundled valkey and Debian redis-server:
nobody by default; the owner through an owner-only Unix socket; anyone over TCP, restricted
to data and ``AI.*`` commands, once the store opts in (for unmodified SmartRedis clients,
which cannot send a password). The store's own user keeps every permission."""

from __future__ import annotations

import logging
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from store_harness import ShardRunner, free_port_block

from insitu.inference.shard import connect
from insitu.store import Orchestrator
from insitu.store.store_module import MODULE_NAME

NO_RETRY = Retry(NoBackoff(), 0)
TENSOR = b"ISTN\x01\x02\x00\x01" + struct.pack("<Q", 2) + struct.pack("<2f", 1.5, 2.5)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory every user may traverse (pytest's tmp_path is owner-only, which would
    hide what the socket's own permissions do)."""
    path = Path(tempfile.mkdtemp(prefix="insitu-access-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _module_names(orc: Orchestrator) -> set[str]:
    conn = connect(orc.get_address()[0], orc.password)
    try:
        modules = conn.execute_command("MODULE", "LIST")
        return {dict(zip(m[::2], m[1::2], strict=True))[b"name"].decode() for m in modules}
    finally:
        conn.close()


def test_by_default_nobody_gets_in_without_the_password(
    runner: ShardRunner, server: str, tmp_path: Path
) -> None:
    port = free_port_block(1)
    orc = Orchestrator(port=port, server_binary=server)
    runner.start(orc, tmp_path / "orc")
    assert orc.access == "password"
    with (
        redis.Redis(port=port, retry=NO_RETRY) as anonymous,
        pytest.raises(redis.AuthenticationError),
    ):
        anonymous.execute_command("AI.TENSORGET", "t", "META")
    # The store module is loaded (its commands answer the store's own user).
    assert MODULE_NAME in _module_names(orc)


def test_passwordless_tcp_clients_get_data_and_ai_commands_only(
    runner: ShardRunner, server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port_block(1)
    orc = Orchestrator(port=port, server_binary=server, db_identifier="open")
    orc.allow_passwordless_clients()
    assert orc.access == "passwordless-tcp"
    with caplog.at_level(logging.WARNING, logger="insitu.store.orchestrator"):
        runner.start(orc, tmp_path / "orc")
    assert any(
        "without a password" in r.getMessage() and f"127.0.0.1:{port}" in r.getMessage()
        for r in caplog.records
    )
    assert orc.password not in caplog.text

    with redis.Redis(port=port, retry=NO_RETRY) as anonymous:
        assert anonymous.set("k", b"v") and anonymous.get("k") == b"v"
        anonymous.execute_command("AI.TENSORSET", "t", "FLOAT", 2, "BLOB", TENSOR[16:])
        values = anonymous.execute_command("AI.TENSORGET", "t", "VALUES")
        assert [float(v) for v in values] == [1.5, 2.5]
        for refused in (
            ("CONFIG", "GET", "save"),
            ("CONFIG", "SET", "protected-mode", "no"),
            ("MODULE", "LIST"),
            ("ACL", "LIST"),
            ("FLUSHALL",),
            ("SHUTDOWN", "NOSAVE"),
            ("EVAL", "return 1", 0),
            ("INSITU.WORKER.NEXT", "0"),
        ):
            with pytest.raises(redis.ResponseError, match=r"NOPERM|no permissions"):
                anonymous.execute_command(*refused)
    # insitu's own connections are not restricted.
    assert MODULE_NAME in _module_names(orc)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another uid")
def test_owner_only_socket_is_the_authentication(
    runner: ShardRunner, server: str, tmp_path: Path, open_dir: Path
) -> None:
    socket = open_dir / "db.sock"
    orc = Orchestrator(unix_socket=str(socket), socket_permissions=700, server_binary=server)
    assert orc.access == "owner-socket"
    runner.start(orc, tmp_path / "orc")
    assert (socket.stat().st_mode & 0o777) == 0o700

    with redis.Redis(unix_socket_path=str(socket), retry=NO_RETRY) as owner:
        owner.execute_command("AI.TENSORSET", "t", "FLOAT", 2, "BLOB", TENSOR[16:])
        values = owner.execute_command("AI.TENSORGET", "t", "VALUES")
        assert [float(v) for v in values] == [1.5, 2.5]

    # Another uid sees the socket but may not open it.
    probe = (
        "import errno, socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        "    s.connect(sys.argv[1])\n"
        "except PermissionError:\n"
        "    print('refused')\n"
        "else:\n"
        "    print('connected')\n"
    )
    python = shutil.which("python3", path="/usr/bin") or sys.executable
    done = subprocess.run(
        [python, "-c", probe, str(socket)], user=65534, group=65534,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.stdout.strip() == "refused", done.stderr


def test_a_socket_others_may_open_still_needs_the_password(
    runner: ShardRunner, bundled: str, tmp_path: Path, open_dir: Path
) -> None:
    socket = open_dir / "db.sock"
    orc = Orchestrator(unix_socket=str(socket), socket_permissions=770, server_binary=bundled)
    assert orc.access == "password"
    runner.start(orc, tmp_path / "orc")
    with (
        redis.Redis(unix_socket_path=str(socket), retry=NO_RETRY) as anonymous,
        pytest.raises(redis.AuthenticationError),
    ):
        anonymous.ping()
