"""Stores of the fault suite, each started in its own Experiment and stopped by its fixture,
with direct (redis-py) handles on every shard for the tests that bring a shard into a state."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from insitu import Experiment, Orchestrator
from insitu.client import Client
from insitu.store.readiness import find_free_port_block


@dataclass(frozen=True)
class RunningStore:
    """A started store, its experiment and a redis-py connection to each shard."""

    exp: Experiment
    orchestrator: Orchestrator
    shards: tuple[redis.Redis, ...]

    @property
    def cluster(self) -> bool:
        return len(self.shards) > 1

    @property
    def address(self) -> str:
        return self.orchestrator.get_address()[0]

    def client(self) -> Client:
        return Client(self.cluster, self.address)


def shard_handle(address: str, password: str) -> redis.Redis:
    host, port = address.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), password=password)


@contextmanager
def running_store(name: str, shards: int, **options: object) -> Iterator[RunningStore]:
    """A store of ``shards`` shards (no inference workers unless ``options`` say so)."""
    root = Path(tempfile.mkdtemp(prefix=f"insitu-rel-{name}-"))
    exp = Experiment(f"rel-{name}", exp_path=str(root), launcher="local")
    try:
        options.setdefault("inference_workers", 0)
        store = exp.create_database(
            port=find_free_port_block(shards), db_nodes=shards, db_identifier=name, **options
        )
        exp.start(store)
        handles = tuple(shard_handle(a, store.password) for a in store.get_address())
        try:
            yield RunningStore(exp, store, handles)
        finally:
            for handle in handles:
                handle.close()
    finally:
        exp.stop_all()
        shutil.rmtree(root, ignore_errors=True)  # its shards' files: nothing left in /tmp
