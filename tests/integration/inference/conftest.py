"""Real stores for the inference suite — standalone over TCP, standalone over a Unix socket
and a 3-shard cluster — each with the inference workers its Orchestrator starts beside every
shard. Started once for the package; every test starts on an emptied store whose workers are
serving again."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from insitu import Experiment, Orchestrator
from insitu.client import Client
from insitu.inference.launch import worker_is_ready
from insitu.store.readiness import find_free_port_block

TOPOLOGIES = ("tcp", "uds", "cluster")
READY_DEADLINE = 30.0
_CLIENT_VARS = ("SSKEYIN", "SSKEYOUT", "SR_LOG_LEVEL", "SR_LOG_FILE", "SR_MODEL_TIMEOUT")


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

    def client(self) -> Client:
        return Client(self.cluster, self.address)

    def wait_for_workers(self) -> None:
        """Poll until a worker serves every shard (fails the test after the deadline)."""
        deadline = time.monotonic() + READY_DEADLINE
        password = self.orchestrator.password
        for index, address in enumerate(self.addresses):
            while not worker_is_ready(address, password, index):
                if time.monotonic() > deadline:
                    pytest.fail(f"no inference worker serves shard {index} of {self.name}")
                time.sleep(0.02)


@pytest.fixture(scope="package")
def stores() -> Iterator[dict[str, Store]]:
    """The three stores, started in one Experiment and stopped after this package's tests
    (so that their workers do not outlive the suite)."""
    root = Path(tempfile.mkdtemp(prefix="insitu-inference-"))
    exp = Experiment("inference-suite", exp_path=str(root), launcher="local")
    try:
        tcp = exp.create_database(port=find_free_port_block(1), db_identifier="i_tcp")
        uds = exp.create_database(unix_socket=str(root / "db.sock"), db_identifier="i_uds")
        cluster = exp.create_database(
            port=find_free_port_block(3), db_nodes=3, db_identifier="i_cluster"
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
    """No test sees prefixing variables it did not set; a dead shard fails fast."""
    for name in list(os.environ):
        if name.startswith(("SSDB", "SR_DB_TYPE")) or name in _CLIENT_VARS:
            monkeypatch.delenv(name)
    monkeypatch.setenv("SR_CONN_TIMEOUT", "5")
    monkeypatch.setenv("SR_CMD_TIMEOUT", "5")
    monkeypatch.setenv("SR_CMD_INTERVAL", "50")
    monkeypatch.setenv("SR_MODEL_TIMEOUT", "60000")


@pytest.fixture(params=TOPOLOGIES)
def store(request: pytest.FixtureRequest, stores: dict[str, Store]) -> Store:
    """Each topology in turn."""
    return stores[request.param]


@pytest.fixture
def client(store: Store) -> Iterator[Client]:
    """A driver-side client of ``store`` on an emptied store served by its workers."""
    with store.client() as c:
        c.flush_db(store.addresses)
        store.wait_for_workers()
        yield c
