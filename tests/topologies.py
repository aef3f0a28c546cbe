"""The three store topologies every data-plane suite runs over: a standalone store over TCP,
one over a Unix socket and a 3-shard cluster, started together in one Experiment."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from insitu import Experiment, Orchestrator
from insitu.client import Client
from insitu.inference.launch import worker_is_ready
from insitu.store.readiness import find_free_port_block

TOPOLOGIES = ("tcp", "uds", "cluster")
WORKER_READY_DEADLINE = 30.0


@dataclass(frozen=True)
class Store:
    """A running store of a suite and how to reach it."""

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

    def wait_for_workers(self) -> None:
        """Poll until an inference worker serves every shard (fails the test otherwise)."""
        deadline = time.monotonic() + WORKER_READY_DEADLINE
        password = self.orchestrator.password
        for index, address in enumerate(self.addresses):
            while not worker_is_ready(address, password, index):
                if time.monotonic() > deadline:
                    pytest.fail(f"no inference worker serves shard {index} of {self.name}")
                time.sleep(0.02)


@contextmanager
def three_stores(suite: str) -> Iterator[dict[str, Store]]:
    """Start the three topologies (ids prefixed with ``suite``); stop everything on exit."""
    root = Path(tempfile.mkdtemp(prefix=f"insitu-{suite}-"))
    exp = Experiment(f"{suite}-suite", exp_path=str(root), launcher="local")
    try:
        tcp = exp.create_database(port=find_free_port_block(1), db_identifier=f"{suite}_tcp")
        uds = exp.create_database(unix_socket=str(root / "db.sock"), db_identifier=f"{suite}_uds")
        cluster = exp.create_database(
            port=find_free_port_block(3), db_nodes=3, db_identifier=f"{suite}_cluster"
        )
        exp.start(tcp, uds, cluster)
        yield {
            "tcp": Store("tcp", tcp, False),
            "uds": Store("uds", uds, False),
            "cluster": Store("cluster", cluster, True),
        }
    finally:
        exp.stop_all()
