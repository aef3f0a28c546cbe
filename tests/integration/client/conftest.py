"""Real stores for the client suite: one standalone store over TCP, one over a Unix socket
and one 3-shard cluster, started once for the package (their start-up dominates otherwise) and
emptied with ``flush_db`` before every test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from insitu import Experiment, Orchestrator
from insitu.client import Client
from insitu.store.readiness import find_free_port_block

TOPOLOGIES = ("tcp", "uds", "cluster")
_CLIENT_VARS = ("SSKEYIN", "SSKEYOUT", "SR_LOG_LEVEL", "SR_LOG_FILE")


@dataclass(frozen=True)
class Store:
    """A running store of the suite and how to reach it."""

    name: str
    orchestrator: Orchestrator
    cluster: bool

    @property
    def addresses(self) -> list[str]:
        return self.orchestrator.get_address()

    @property
    def address(self) -> str:
        return self.addresses[0]

    def client(self, **kwargs: object) -> Client:
        return Client(self.cluster, self.address, **kwargs)  # type: ignore[call-overload]


@pytest.fixture(scope="package")
def stores() -> Iterator[dict[str, Store]]:
    """The three stores, started in one Experiment and stopped after this package (their
    inference workers must not outlive the suite)."""
    root = Path(tempfile.mkdtemp(prefix="insitu-client-"))
    exp = Experiment("client-suite", exp_path=str(root), launcher="local")
    try:
        tcp = exp.create_database(port=find_free_port_block(1), db_identifier="c_tcp")
        uds = exp.create_database(unix_socket=str(root / "db.sock"), db_identifier="c_uds")
        cluster = exp.create_database(
            port=find_free_port_block(3), db_nodes=3, db_identifier="c_cluster"
        )
        exp.start(tcp, uds, cluster)
        yield {
            "tcp": Store("tcp", tcp, False),
            "uds": Store("uds", uds, False),
            "cluster": Store("cluster", cluster, True),
        }
    finally:
        exp.stop_all()


@pytest.fixture(autouse=True)
def clean_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees prefixing or logging variables it did not set itself; failures of a
    dead shard surface within a second instead of SmartRedis's 100 s default."""
    for name in list(os.environ):
        if name.startswith(("SSDB", "SR_DB_TYPE")) or name in _CLIENT_VARS:
            monkeypatch.delenv(name)
    monkeypatch.setenv("SR_CONN_TIMEOUT", "2")
    monkeypatch.setenv("SR_CONN_INTERVAL", "50")
    monkeypatch.setenv("SR_CMD_TIMEOUT", "2")
    monkeypatch.setenv("SR_CMD_INTERVAL", "50")


@pytest.fixture(params=TOPOLOGIES)
def store(request: pytest.FixtureRequest, stores: dict[str, Store]) -> Store:
    """Each topology in turn."""
    return stores[request.param]


@pytest.fixture
def client(store: Store) -> Iterator[Client]:
    """A driver-side client of ``store`` (password from the Experiment), on an empty store."""
    with store.client() as c:
        c.flush_db(store.addresses)
        yield c
